"""The tiny random qwen3_5_moe checkpoint: build, load, template, generate.

Builds the checkpoint once per session into a temporary folder and loads it
through the same Auto classes a real Qwen3.5 checkpoint goes through.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from engine.errors import ModelUnavailable
from engine.tiny_moe import MARKER, build_tiny_moe, ensure_tiny_moe

pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    return ensure_tiny_moe(tmp_path_factory.mktemp("tiny") / "tiny-moe-v1")


@pytest.fixture(scope="session")
def loaded(tiny_dir):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(tiny_dir, dtype=torch.float32).eval()
    return model, AutoProcessor.from_pretrained(tiny_dir)


def _chat(processor, content, **kwargs):
    messages = [{"role": "user", "content": content}]
    return processor.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=True, return_dict=True, return_tensors="pt", **kwargs
    )


def _image() -> Image.Image:
    pixels = np.random.RandomState(0).randint(0, 256, (64, 96, 3), dtype=np.uint8)  # [H, W, 3]
    return Image.fromarray(pixels)


def _video_inputs(processor):
    from transformers.video_utils import VideoMetadata

    frames = np.random.RandomState(1).randint(0, 256, (8, 64, 64, 3), dtype=np.uint8)  # [T, H, W, 3]
    meta = VideoMetadata(total_num_frames=8, fps=4.0, frames_indices=list(range(8)), width=64, height=64)
    content = [{"type": "video", "video": frames}, {"type": "text", "text": "What happens?"}]
    kwargs = {"video_metadata": [meta], "do_sample_frames": False}
    return _chat(processor, content, processor_kwargs=kwargs)


def _greedy_entropies(model, inputs, steps: int) -> tuple[list[int], list[float]]:
    out = model.generate(
        **inputs,
        do_sample=False,
        max_new_tokens=steps,
        min_new_tokens=steps,
        output_logits=True,
        return_dict_in_generate=True,
    )
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


def test_folder_holds_safetensors_only(tiny_dir):
    names = {p.name for p in tiny_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja"} <= names
    assert {"processor_config.json", "generation_config.json", MARKER} <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".ckpt"))]
    assert not [n for n in tiny_dir.parent.iterdir() if n.name.startswith(".")]  # no temp folder left


def test_config_keeps_the_architecture(loaded):
    model, _ = loaded
    assert type(model).__name__ == "Qwen3_5MoeForConditionalGeneration"
    assert model.config.model_type == "qwen3_5_moe"
    text = model.config.text_config
    assert {"linear_attention", "full_attention"} <= set(text.layer_types)
    assert text.num_experts >= 4 and 1 < text.num_experts_per_tok < text.num_experts
    mlp = model.model.language_model.layers[0].mlp
    assert mlp.experts.gate_up_proj.shape[0] == text.num_experts
    assert hasattr(mlp, "shared_expert")
    assert model.lm_head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr()
    assert model.dtype == torch.float32


def test_generation_config_stops_on_both_eos(loaded, tiny_dir):
    _, processor = loaded
    tok = processor.tokenizer
    eos = json.loads((tiny_dir / "generation_config.json").read_text())["eos_token_id"]
    assert eos == [tok.convert_tokens_to_ids("<|im_end|>"), tok.convert_tokens_to_ids("<|endoftext|>")]


@pytest.mark.parametrize(
    "text",
    [
        "The answer is 42, because 6 * 7 = 42.",
        "Olá! A água ferve a cem graus; não é? São Paulo, ação, coração.",
        'def f(x):\n    return "a\\nb"  # \\frac{1}{2}',
    ],
)
def test_tokenizer_round_trips(loaded, text):
    tok = loaded[1].tokenizer
    ids = tok.encode(text, add_special_tokens=False)
    assert tok.decode(ids) == text
    assert len(ids) < len(text.encode())  # merges were learned


def test_special_tokens_are_single_tokens(loaded):
    tok = loaded[1].tokenizer
    for t in ["<think>", "</think>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|image_pad|>"]:
        ids = tok.encode(t, add_special_tokens=False)
        assert ids == [tok.convert_tokens_to_ids(t)], t
    assert tok.convert_tokens_to_ids("\\n") is not None  # the reference's backslash-n token
    assert 1000 <= len(tok) <= 2000


def test_chat_template_thinking_flag(loaded):
    _, processor = loaded
    messages = [{"role": "user", "content": [{"type": "text", "text": "Oi"}]}]

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


def test_generate_text(loaded):
    model, processor = loaded
    inputs = _chat(processor, [{"type": "text", "text": "Hello, what is 2+2?"}])
    assert {"input_ids", "attention_mask", "mm_token_type_ids"} <= set(inputs)
    out = model.generate(**inputs, do_sample=False, max_new_tokens=8, min_new_tokens=8)
    assert out.shape == (1, inputs["input_ids"].shape[1] + 8)
    assert int(out.max()) < len(processor.tokenizer)


def test_generate_image(loaded):
    model, processor = loaded
    inputs = _chat(processor, [{"type": "image", "image": _image()}, {"type": "text", "text": "Describe."}])
    grid = inputs["image_grid_thw"][0].tolist()  # [t, h, w] in 16-pixel patches
    n_pad = int((inputs["input_ids"] == model.config.image_token_id).sum())
    assert n_pad == math.prod(grid) // 4 and 4 <= n_pad <= 16  # small pixel budget
    assert int(inputs["mm_token_type_ids"].sum()) == n_pad
    out = model.generate(**inputs, do_sample=False, max_new_tokens=8, min_new_tokens=8)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 8


def test_generate_video_from_decoded_frames(loaded):
    model, processor = loaded
    inputs = _video_inputs(processor)
    assert inputs["video_grid_thw"].tolist() == [[4, 4, 4]]  # 8 frames / temporal patch 2, 64 px / 16
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    assert "<0.1 seconds>" in text and "<1.6 seconds>" in text  # timestamps from the metadata
    out = model.generate(**inputs, do_sample=False, max_new_tokens=8, min_new_tokens=8)
    assert out.shape[1] == inputs["input_ids"].shape[1] + 8


@pytest.mark.parametrize("embeds", [False, True])
def test_manual_decode_matches_generate(loaded, embeds):
    """Prefill, then one step at a time with positions built from rope_deltas."""
    model, processor = loaded
    inputs = _video_inputs(processor)
    steps = 12
    expected, _ = _greedy_entropies(model, inputs, steps)
    model.model.rope_deltas = None  # a stale value from an earlier prompt must not leak in
    with torch.no_grad():
        out = model(**inputs, use_cache=True)
        cache, delta = out.cache, model.model.rope_deltas  # delta: [B, 1]
        emb = model.get_input_embeddings().weight  # [V, hidden]
        got = []
        for _ in range(steps):
            tok = int(out.logits[0, -1].argmax())
            got.append(tok)
            t = torch.full((1, 1), cache.get_seq_length(), dtype=torch.long)  # [B, 1]
            pos = torch.stack([t, t + delta, t + delta, t + delta])  # [4, B, 1]
            step = {"inputs_embeds": emb[tok][None, None]} if embeds else {"input_ids": torch.tensor([[tok]])}
            out = model(**step, position_ids=pos, cache=cache, use_cache=True)
    assert int(delta) != 0 and got == expected


def test_entropy_swings_and_switches_both_ways(loaded):
    model, processor = loaded
    inputs = _chat(processor, [{"type": "text", "text": "Qual é a capital do Brasil?"}])
    _, entropies = _greedy_entropies(model, inputs, 40)
    assert max(entropies) - min(entropies) > 1.0
    to_explicit, to_latent = _switches(entropies, window=4)
    assert to_explicit >= 1 and to_latent >= 1


def test_build_is_deterministic(tiny_dir, tmp_path):
    build_tiny_moe(tmp_path)
    first, second = load_file(tiny_dir / "model.safetensors"), load_file(tmp_path / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert (tiny_dir / "tokenizer.json").read_text() == (tmp_path / "tokenizer.json").read_text()


def test_ensure_reuses_a_complete_folder(tiny_dir):
    stamp = (tiny_dir / "model.safetensors").stat().st_mtime_ns
    assert ensure_tiny_moe(tiny_dir) == tiny_dir
    assert (tiny_dir / "model.safetensors").stat().st_mtime_ns == stamp


def test_ensure_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelUnavailable, match="not a complete tiny model"):
        ensure_tiny_moe(tmp_path)
