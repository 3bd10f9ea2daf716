"""The tiny qwen3_5_moe checkpoints: the trained one shipped in models/tiny-moe/, and the random one.

The shipped folder loads offline through the Auto classes a real Qwen3.5 checkpoint goes
through; its tokenizer, template and processor follow the real layout; decoding by hand
matches `generate` (text, image, video, two turns); the trained weights answer held-out
questions through the CLI. The random builder runs once per session into a temporary folder.
The task generator's arithmetic and split are checked without a model.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from engine.errors import ModelUnavailable
from engine.models.tiny_moe import (
    DATA_DIR,
    MARKER,
    QWEN_DIR,
    added_tokens,
    build_tiny_moe,
    ensure_random_tiny_moe,
    ensure_tiny_moe,
)
from train import tiny_moe_data as data

pytestmark = pytest.mark.model

TASKS = Path(__file__).resolve().parents[1] / "tasks" / "tiny_moe"
FACTS = json.loads((QWEN_DIR / "tokenizer_facts.json").read_text())
# Held-out items the shipped folder answers under both methods (a regression test of the
# multimodal path, not an accuracy claim: see docs/MODEL-tiny-moe.md for the accuracy). The
# pictures of 17 and 94 are read trimmed (a label of about a third of a wide picture), 35's whole.
CLI_TASKS = ("image.jsonl", 17), ("image.jsonl", 35), ("image.jsonl", 94), ("video.jsonl", 6)
BROWSER_TASK = ("image.jsonl", 17)


@pytest.fixture(scope="session")
def tiny_dir():
    return ensure_tiny_moe()


@pytest.fixture(scope="session")
def loaded(tiny_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    return model, AutoProcessor.from_pretrained(tiny_dir)


@pytest.fixture(scope="session")
def random_dir(tmp_path_factory):
    return ensure_random_tiny_moe(tmp_path_factory.mktemp("tiny") / "tiny-moe-random")


def _chat(processor, messages, **kwargs):
    return processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt", **kwargs
    )


def _user(content) -> list[dict]:
    return [{"role": "user", "content": content}]


def _image() -> Image.Image:
    pixels = np.random.RandomState(0).randint(0, 256, (64, 96, 3), dtype=np.uint8)  # [H, W, 3]
    return Image.fromarray(pixels)


def _video_inputs(processor):
    from transformers.video_utils import VideoMetadata

    frames = np.random.RandomState(1).randint(0, 256, (8, 64, 64, 3), dtype=np.uint8)  # [T, H, W, 3]
    meta = VideoMetadata(total_num_frames=8, fps=4.0, frames_indices=list(range(8)), width=64, height=64)
    content = [{"type": "video", "video": frames}, {"type": "text", "text": "What is the sum?"}]
    kwargs = {"video_metadata": [meta], "do_sample_frames": False}
    return _chat(processor, _user(content), processor_kwargs=kwargs)


def _greedy_entropies(model, inputs, steps: int) -> tuple[list[int], list[float]]:
    model.model.rope_deltas = None
    out = model.generate(
        **inputs, do_sample=False, max_new_tokens=steps, min_new_tokens=steps, output_logits=True,
        return_dict_in_generate=True,
    )  # fmt: skip
    logp = torch.cat(out.logits).float().log_softmax(-1)  # [steps, V]
    entropies = (-(logp.exp() * logp).sum(-1)).tolist()
    return out.sequences[0, inputs["input_ids"].shape[1] :].tolist(), entropies


def _switches(entropies: list[float], window: int) -> tuple[int, int]:
    """Latent->explicit and explicit->latent switches of the SwiReasoning rule."""
    mode, ref, steps, to_explicit, to_latent = "latent", entropies[0], 0, 0, 0
    for h in entropies[1:]:
        steps += 1
        if mode == "latent" and h < ref:
            mode, ref, steps, to_explicit = "explicit", h, 0, to_explicit + 1
        elif mode == "explicit" and h > ref and steps >= window:
            mode, ref, steps, to_latent = "latent", h, 0, to_latent + 1
    return to_explicit, to_latent


# ---------------------------------------------------------------- the shipped folder


def test_folder_holds_safetensors_only_and_is_small(tiny_dir):
    names = {p.name for p in tiny_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    assert {"processor_config.json", "generation_config.json", MARKER} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".ckpt"))]
    assert sum(p.stat().st_size for p in tiny_dir.rglob("*") if p.is_file()) <= 20 * 2**20
    info = json.loads((tiny_dir / MARKER).read_text())
    assert info["trained"] is True and info["steps"] > 0


def test_config_keeps_the_architecture(loaded):
    model, _ = loaded
    assert type(model).__name__ == "Qwen3_5MoeForConditionalGeneration"
    assert model.config.model_type == "qwen3_5_moe"
    text = model.config.text_config
    assert len(text.layer_types) % 4 == 0
    assert text.layer_types[:4] == ["linear_attention"] * 3 + ["full_attention"]
    assert text.num_experts >= 4 and 1 < text.num_experts_per_tok < text.num_experts
    mlp = model.model.language_model.layers[0].mlp
    assert mlp.experts.gate_up_proj.shape[0] == text.num_experts and hasattr(mlp, "shared_expert")
    rope = text.rope_parameters
    rotary = int(text.head_dim * rope["partial_rotary_factor"])
    assert rope["mrope_interleaved"] and sum(rope["mrope_section"]) == rotary // 2
    vision = model.config.vision_config
    assert (vision.patch_size, vision.temporal_patch_size, vision.spatial_merge_size) == (16, 2, 2)
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    assert model.dtype == torch.float32


def test_generation_config_stops_on_both_eos(loaded, tiny_dir):
    tok = loaded[1].tokenizer
    eos = json.loads((tiny_dir / "generation_config.json").read_text())["eos_token_id"]
    assert eos == [tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")]
    assert tok.eos_token == "<|im_end|>" and tok.pad_token == "<|endoftext|>"


def test_added_tokens_follow_the_real_layout(loaded):
    tok = loaded[1].tokenizer
    real = FACTS["special_tokens"]
    base, real_base = tok.convert_tokens_to_ids("<|endoftext|>"), real["<|endoftext|>"]
    assert {t: tok.convert_tokens_to_ids(t) - base for t in real} == {
        t: i - real_base for t, i in real.items()
    }
    assert len(tok) == base + len(real)  # the BPE ids first, then the 33 added tokens
    flags = {t.content: t.special for t in tok.added_tokens_decoder.values()}
    assert not any(flags[t] for t in FACTS["not_special_in_tokenizer"])
    assert all(flags[t] for t in ("<|im_start|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>"))
    assert (tok.image_token, tok.video_token, tok.vision_bos_token) == ("<|image_pad|>", "<|video_pad|>",
                                                                        "<|vision_start|>")  # fmt: skip


def test_data_files_agree_with_the_real_facts():
    listed = added_tokens()["tokens"]
    real = FACTS["special_tokens"]
    assert [t["content"] for t in listed] == sorted(real, key=real.get)
    assert [t["offset"] for t in listed] == [real[t["content"]] - real["<|endoftext|>"] for t in listed]
    for name in ("corpus_general.jsonl", "corpus_tasks.jsonl"):
        assert all(isinstance(json.loads(line), str) for line in (DATA_DIR / name).read_text().splitlines())


@pytest.mark.parametrize(
    "text",
    [
        "The image shows 27 + 48. 7 + 8 = 15, write 5, carry 1.",
        "Olá! A água ferve a cem graus; não é? São Paulo, ação, coração. Quantos quadrados há na imagem?",
        'def f(x):\n    return "a\\nb"  # \\frac{1}{2} \\boxed{75}',
    ],
)
def test_tokenizer_round_trips(loaded, text):
    tok = loaded[1].tokenizer
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    assert len(ids) < len(text.encode())  # merges were learned
    assert [tok.decode([i]) for i in tok.encode("1234", add_special_tokens=False)] == list("1234")


def test_special_tokens_are_single_tokens(loaded):
    tok = loaded[1].tokenizer
    for t in ["<think>", "</think>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|image_pad|>"]:
        assert tok.encode(t, add_special_tokens=False) == [tok.convert_tokens_to_ids(t)], t
    assert tok.convert_tokens_to_ids("\\n") is not None  # the reference's backslash-n token
    assert 1000 <= len(tok) <= 3000


def test_chat_template_is_qwen35s(loaded, tiny_dir):
    _, processor = loaded
    assert (tiny_dir / "chat_template.jinja").read_text() == (QWEN_DIR / "chat_template.jinja").read_text()
    messages = _user([{"type": "text", "text": "Oi"}])

    def render(**kw):
        return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kw)

    assert render() == "<|im_start|>user\nOi<|im_end|>\n<|im_start|>assistant\n<think>\n"
    assert render(enable_thinking=True) == render()
    assert render(enable_thinking=False).endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_chat_template_drops_old_thinking(loaded):
    _, processor = loaded
    messages = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "<think>\nold\n</think>\n\nb"},
        {"role": "user", "content": "c"},
    ]
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert "old" not in text and "<|im_start|>assistant\nb<|im_end|>" in text


def test_processor_uses_the_real_patch_settings(loaded):
    model, processor = loaded
    for sub in (processor.image_processor, processor.video_processor):
        assert (sub.patch_size, sub.temporal_patch_size, sub.merge_size) == (16, 2, 2)
        assert list(sub.image_mean) == list(sub.image_std) == [0.5, 0.5, 0.5]
    inputs = _chat(processor, _user([{"type": "image", "image": _image()}, {"type": "text", "text": "?"}]))
    grid = inputs["image_grid_thw"][0].tolist()  # [t, h, w] in 16-pixel patches
    n_pad = int((inputs["input_ids"] == model.config.image_token_id).sum())
    size = processor.image_processor.size  # pixels; one vision token is 32 x 32 of them
    lo, hi = size["shortest_edge"] // 1024, size["longest_edge"] // 1024
    assert lo >= 4 and hi <= 64  # small pixel budgets (4-32 tokens in the first weights, 16-64 later)
    assert n_pad == math.prod(grid) // 4 and lo <= n_pad <= hi
    assert int(inputs["mm_token_type_ids"].sum()) == n_pad
    video = _video_inputs(processor)
    assert video["video_grid_thw"].tolist() == [[4, 4, 4]]  # 8 frames / temporal patch 2, 64 px / 16
    text = processor.tokenizer.decode(video["input_ids"][0])
    assert "<0.1 seconds>" in text and "<1.6 seconds>" in text  # timestamps from the metadata


def test_the_folder_reads_pictures_with_the_budget_training_writes(loaded):
    from train.tiny_moe_train import TrainConfig

    model, processor = loaded
    size = processor.image_processor.size
    read = (size["shortest_edge"] // 1024, size["longest_edge"] // 1024)
    assert read == TrainConfig().read_tokens and read[0] > TrainConfig().image_tokens[0]
    small = Image.new("RGB", (96, 40), "white")  # 3.75 tokens of pixels: enlarged, aspect kept
    inputs = _chat(processor, _user([{"type": "image", "image": small}, {"type": "text", "text": "?"}]))
    t, h, w = inputs["image_grid_thw"][0].tolist()
    assert read[0] <= h * w // 4 <= read[1] and w > h


def test_the_folder_reads_pictures_trimmed_as_training_writes(
    tiny_dir, random_dir, tiny_moe_runtime, tmp_path
):
    """The shipped folder's marker says its pictures are read cropped to their content, and the
    engine does so: a small label in a wide picture reaches the processor as the trimmed crop."""
    from PIL import ImageDraw

    from engine.config import DecodeSettings
    from engine.media import load_image, trim_margins
    from engine.models.paths import reads_trimmed
    from engine.prompt import Turn, prepare
    from train.tiny_moe_train import TrainConfig

    assert reads_trimmed(tiny_dir) and TrainConfig().read_trimmed
    assert not reads_trimmed(random_dir)  # the random model reads pictures whole
    assert tiny_moe_runtime.trim_margins
    picture = Image.new("RGB", (400, 120), (235, 240, 250))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((170, 42, 236, 74), outline=(40, 40, 40), width=2)
    draw.text((182, 52), "7 + 5", fill=(0, 0, 0))
    path = tmp_path / "label.png"
    picture.save(path)
    prepared = prepare(tiny_moe_runtime, [Turn("user", "?", images=(str(path),))], DecodeSettings())
    reader = tiny_moe_runtime.processor.image_processor

    def grid(im: Image.Image) -> list[int]:
        return reader(images=[im], return_tensors="pt")["image_grid_thw"][0].tolist()

    trimmed = trim_margins(load_image(path))
    assert trimmed.width < 150 and trimmed.height < 80
    assert prepared.inputs["image_grid_thw"][0].tolist() == grid(trimmed) != grid(picture)


def test_training_pictures_are_trimmed_only_when_asked(loaded):
    """`--trim-pictures`: an example's picture reaches the processor as `trim_margins` crops it."""
    from dataclasses import replace

    from engine.media import trim_margins
    from train.tiny_moe_train import TrainConfig, encode

    _, processor = loaded
    cfg = TrainConfig(p_jpeg=0.0)
    reader = processor.image_processor
    cropped = 0
    for seed in range(12):  # pictures whose content leaves margins, and pictures it fills
        ex = data.make_example("image", "en", random.Random(seed))
        whole = reader(images=list(ex.images), return_tensors="pt")["image_grid_thw"].tolist()
        cut = reader(images=[trim_margins(ex.images[0])], return_tensors="pt")["image_grid_thw"].tolist()
        assert encode(ex, processor, random.Random(0), cfg)["image_grid_thw"].tolist() == whole
        trained = encode(ex, processor, random.Random(0), replace(cfg, trim_pictures=True))
        assert trained["image_grid_thw"].tolist() == cut
        cropped += cut != whole
    assert cropped  # the two settings were told apart


# ---------------------------------------------------------------- decoding by hand == generate


def _parity_inputs(processor, case: str):
    if case == "video":
        return _video_inputs(processor)
    if case == "image":
        return _chat(processor, _user([{"type": "image", "image": _image()}, {"type": "text", "text": "?"}]))
    if case == "text":
        return _chat(processor, _user([{"type": "text", "text": "What is 23 + 45 - 12?"}]))
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "What is 23 + 45?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "The answer is \\boxed{68}."}]},
        {"role": "user", "content": [{"type": "text", "text": "Now double it."}]},
    ]
    return _chat(processor, messages)


@pytest.mark.parametrize(("case", "embeds"), [("text", False), ("image", True), ("video", False),
                                              ("video", True), ("two-turn", False)])  # fmt: skip
def test_manual_decode_matches_generate(loaded, case, embeds):
    """Prefill, then one step at a time with positions built from rope_deltas."""
    model, processor = loaded
    inputs = _parity_inputs(processor, case)
    steps = 12
    expected, _ = _greedy_entropies(model, inputs, steps)
    model.model.rope_deltas = None  # a stale value from an earlier prompt must not leak in
    with torch.no_grad():
        out = model(**inputs, use_cache=True)
        cache, delta = out.cache, model.model.rope_deltas  # delta: [B, 1] (None for text)
        delta = delta if delta is not None else torch.zeros((1, 1), dtype=torch.long)
        emb = model.get_input_embeddings().weight  # [V, hidden]
        got = []
        for _ in range(steps):
            tok = int(out.logits[0, -1].argmax())
            got.append(tok)
            t = torch.full((1, 1), cache.get_seq_length(), dtype=torch.long)  # [B, 1]
            pos = torch.stack([t, t + delta, t + delta, t + delta])  # [4, B, 1]
            step = {"inputs_embeds": emb[tok][None, None]} if embeds else {"input_ids": torch.tensor([[tok]])}
            out = model(**step, position_ids=pos, cache=cache, use_cache=True)
    assert got == expected
    assert (int(delta) != 0) == (case in ("image", "video"))


# ---------------------------------------------------------------- the trained weights answer


def task_line(name: str, index: int) -> dict:
    return json.loads((TASKS / name).read_text(encoding="utf-8").splitlines()[index])


@pytest.mark.parametrize(
    "method",
    [["--method", "cot-greedy"], ["--method", "swir", "--greedy"]],  # the preset's SwiR knobs
)
@pytest.mark.parametrize(("name", "index"), CLI_TASKS)
def test_cli_answers_held_out_media_questions(capsys, name, index, method):
    from engine.cli import main
    from engine.eval import last_boxed

    task = task_line(name, index)
    media = [("--image", p) for p in task.get("images", [])] + [
        ("--video", p) for p in task.get("videos", [])
    ]
    argv = [task["question"], "--model", "tiny-moe", *method, "--max-new-tokens", "320"]
    argv += [x for flag, path in media for x in (flag, str(TASKS / path))]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "[answer]" in out and last_boxed(out.split("[answer]")[-1]) == task["answer"], out


# ---------------------------------------------------------------- the random model


def test_random_model_entropy_swings_and_switches_both_ways(random_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(random_dir, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(random_dir)
    assert json.loads((random_dir / MARKER).read_text())["trained"] is False
    inputs = _chat(processor, _user([{"type": "text", "text": "Qual é a capital do Brasil?"}]))
    _, entropies = _greedy_entropies(model, inputs, 40)
    assert max(entropies) - min(entropies) > 1.0
    to_explicit, to_latent = _switches(entropies, window=4)
    assert to_explicit >= 1 and to_latent >= 1


def test_random_build_is_deterministic_and_shares_the_tokenizer(random_dir, tiny_dir, tmp_path):
    build_tiny_moe(tmp_path)
    first, second = load_file(random_dir / "model.safetensors"), load_file(tmp_path / "model.safetensors")
    assert first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
    assert (tiny_dir / "tokenizer.json").read_text() == (tmp_path / "tokenizer.json").read_text()


def test_ensure_random_reuses_a_complete_folder(random_dir):
    stamp = (random_dir / "model.safetensors").stat().st_mtime_ns
    assert ensure_random_tiny_moe(random_dir) == random_dir
    assert (random_dir / "model.safetensors").stat().st_mtime_ns == stamp
    assert not [n for n in random_dir.parent.iterdir() if n.name.startswith(".")]  # no temp folder left


def test_ensure_refuses_a_foreign_or_missing_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelUnavailable, match="not a complete tiny model"):
        ensure_random_tiny_moe(tmp_path)
    with pytest.raises(ModelUnavailable, match="train.tiny_moe_train"):
        ensure_tiny_moe(tmp_path / "missing")


def test_training_can_start_from_a_trained_folder(tiny_dir, loaded, tmp_path, capsys):
    """`--init FOLDER`: a fresh model takes the folder's weights and computes what it computes;
    a folder of another size is refused with the tensors that differ."""
    from dataclasses import replace

    from engine.models.tiny_moe import TinyMoeSpec, make_tokenizer, new_model
    from train.tiny_moe_train import load_weights, main

    model, processor = loaded
    tokenizer = make_tokenizer()
    started = new_model(TinyMoeSpec(seed=7), tokenizer)
    inputs = _chat(processor, _user([{"type": "text", "text": "Quanto é 12 + 30?"}]))
    with torch.no_grad():
        assert not torch.allclose(started(**inputs).logits, model(**inputs).logits)
        load_weights(started, tiny_dir)
        assert torch.equal(started.eval()(**inputs).logits, model(**inputs).logits)
    smaller = new_model(replace(TinyMoeSpec(), hidden_size=64), tokenizer)
    with pytest.raises(ValueError, match="not this architecture"):
        load_weights(smaller, tiny_dir)
    with pytest.raises(SystemExit):  # refused before any training starts
        main(["--init", str(tmp_path), "--out", str(tmp_path / "out")])
    assert "not a complete tiny-moe folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--trim-pictures", "--out", str(tmp_path / "out")])
    assert "--trim-pictures needs --freeze-vision" in capsys.readouterr().err


def test_freeze_vision_trains_the_language_model_around_a_fixed_tower(tiny_dir, tmp_path):
    """`--freeze-vision`: no vision stage, every vision-tower tensor comes out as it went in,
    and the language model does learn."""
    from safetensors.torch import load_file

    from train.tiny_moe_train import main

    out = tmp_path / "out"
    folders = ["--init", str(tiny_dir), "--out", str(out), "--ckpt-dir", str(tmp_path / "ckpt")]
    steps = ["--steps", "2", "--warmup", "1", "--lr", "1e-3", "--eval-n", "0", "--threads", "1"]
    assert main([*folders, *steps, "--freeze-vision"]) == 0
    before, after = load_file(tiny_dir / "model.safetensors"), load_file(out / "model.safetensors")
    vision = [k for k in before if k.startswith("model.visual.")]
    assert vision and all(torch.equal(before[k], after[k]) for k in vision)
    assert any(not torch.equal(before[k], after[k]) for k in before if k not in vision)
    log = [json.loads(line) for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert log and not any("vision_step" in rec for rec in log)  # stage 1 never ran
    marker = json.loads((out / MARKER).read_text())
    assert marker["reading"] == {"trim_margins": True}  # the folder reads as the shipped one


# ---------------------------------------------------------------- the task generator (no model)

ARITH = re.compile(r"[\d(][\d ()+×-]*$")  # the formula that ends the text left of an "="


def _statements(trace: str) -> list[tuple[str, int]]:
    """(formula, stated value) for every `formula = value` in a trace."""
    found = []
    for line in trace.splitlines():
        for part in re.split(r"[,:]", line):
            if " = " in part:
                left, right = part.split(" = ", 1)
                formula, value = ARITH.search(left.strip()), re.fullmatch(r"(\d+)\.?", right.strip())
                if formula and value:
                    found.append((formula.group(0).strip(), int(value.group(1))))
    return found


@pytest.mark.parametrize("kind", data.KINDS)
def test_traces_compute_right_and_box_the_answer(kind):
    rng = random.Random(3)
    for i in range(60):
        ex = data.make_example(kind, data.LANGS[i % 2], rng, render=False)
        statements = _statements(ex.thinking)
        assert statements, ex.thinking
        for formula, value in statements:
            assert eval(formula.replace("×", "*")) == value, (
                formula,
                value,
                ex.thinking,
            )  # digits and + - * ( ) only
        assert f"\\boxed{{{ex.answer}}}" in ex.answer_text
        assert ex.answer in ex.thinking.splitlines()[-1]


@pytest.mark.parametrize("kind", data.KINDS)
def test_every_trace_of_a_kind_opens_one_way(kind):
    """One opening per kind and language: SwiReasoning's latent first step then mixes one token,
    not the blend of several openings. A story opens with its person's name, then fixed words."""
    rng = random.Random(4)
    openings: dict[tuple, set] = {}
    for i in range(80):
        ex = data.make_example(kind, data.LANGS[i % 2], rng, render=False)
        words = ex.thinking.splitlines()[0].split()
        form = ex.params[0] if kind == "text" else kind
        openings.setdefault((ex.lang, form), set()).add(
            " ".join(words[1:3] if form == "story" else words[:1])
        )
    assert len(openings) == (4 if kind == "text" else 2)
    assert all(len(found) == 1 for found in openings.values()), openings


def test_held_out_split_is_disjoint_from_training():
    rng = random.Random(5)
    for kind in ("text", "image", "video", "shapes"):
        train = [data.fresh_params(kind, rng, heldout=False) for _ in range(200)]
        held = [data.fresh_params(kind, rng, heldout=True) for _ in range(50)]
        assert not {data.held_out(kind, p) for p in train} - {False}
        assert {data.held_out(kind, p) for p in held} == {True}


def test_task_files_load_for_the_eval_harness():
    from engine.eval import load_tasks

    for name in ("text", "image", "shapes", "video", "double"):
        tasks = load_tasks(TASKS / f"{name}.jsonl")
        assert len(tasks) >= 50 and {t.kind for t in tasks} == {name}
        assert len({t.id for t in tasks}) == len(tasks)
        assert all(Path(p).is_file() for t in tasks for p in (*t.images, *t.videos))
