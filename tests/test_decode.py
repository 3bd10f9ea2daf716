"""The decode loop: parity with `generate`, the SwiR rule step by step, seeds, cancel."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import av
import numpy as np
import pytest
import torch
from PIL import Image

from engine import tokens
from engine.cli import early_close_note
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.decode import decode, soft_embedding
from engine.eval import opening_latent, run_step
from engine.events import LONG_LATENT_OPENING, Done, Started, Step
from engine.prompt import Turn
from engine.runtimes.torch_runtime import Runtime
from engine.swir import schedule
from rio_app.render import answer_warnings

pytestmark = pytest.mark.model


def tokens_of(events) -> list[int]:
    return [e.token_id for e in events if isinstance(e, Step)]


def reference_greedy(rt: Runtime, inputs: dict, n: int) -> list[int]:
    if rt.mrope:
        rt.model.model.rope_deltas = None
    out = rt.model.generate(**inputs, max_new_tokens=n, do_sample=False)
    return out[0, inputs["input_ids"].shape[-1] :].tolist()


def write_video(path, frames=16, fps=8, size=(64, 48)):
    w, h = size
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(frames):
            img = np.zeros((h, w, 3), np.uint8)
            img[:, (i * 4) % w : (i * 4) % w + 8] = (255, 128, 0)
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return str(path)


@pytest.mark.parametrize(
    "question",
    ["What is 12 times 7?", "Write one sentence about the sea.", "Liste três cores."],
)
def test_cot_greedy_equals_generate_on_smollm2(smollm2_backend, question):
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=24)
    prepared = smollm2_backend.prepare([Turn("user", question)], settings)
    ours = tokens_of(smollm2_backend.chat([Turn("user", question)], settings))
    assert ours == reference_greedy(smollm2_backend.runtime, prepared.inputs, 24)[: len(ours)]
    assert len(ours) > 3


def test_cot_greedy_equals_generate_on_tiny_moe_text_image_video(tiny_moe_backend, tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(
        tmp_path / "a.png"
    )
    video = write_video(tmp_path / "v.mp4")
    cases = [
        [Turn("user", "hello, what is this?")],
        [Turn("user", "what is in the image?", images=(str(tmp_path / "a.png"),))],
        [Turn("user", "what happens here?", videos=(video,))],
        [
            Turn("user", "look", images=(str(tmp_path / "a.png"),)),
            Turn("assistant", "a picture"),
            Turn("user", "and now this video?", videos=(video,)),
        ],
    ]
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=16)
    for turns in cases:
        prepared = tiny_moe_backend.prepare(turns, settings)
        ours = tokens_of(tiny_moe_backend.chat(turns, settings))
        ref = reference_greedy(tiny_moe_backend.runtime, prepared.inputs, 16)
        assert ours == ref[: len(ours)] and len(ours) == len(ref)


def test_video_prompt_wraps_each_frame_once(tiny_moe_backend, tmp_path):
    """The video prompt the model reads: each temporal patch is `<t seconds>` then one
    vision-start ... vision-end pair around its pads, with no outer pair around the whole clip.
    transformers 5.24 added that outer pair (5.25 removed it); a release that changes the
    layout again changes what every Qwen3.5 model reads, and this test names it."""
    tok = tiny_moe_backend.runtime.tokenizer
    video = write_video(tmp_path / "v.mp4")
    prepared = tiny_moe_backend.prepare([Turn("user", "describe", videos=(video,))], DecodeSettings())
    ids = prepared.inputs["input_ids"][0].tolist()
    patches = int(prepared.inputs["video_grid_thw"][0, 0])
    start, end = (tok.convert_tokens_to_ids(t) for t in ("<|vision_start|>", "<|vision_end|>"))
    assert ids.count(start) == ids.count(end) == patches
    first = ids.index(start)
    assert "seconds" in tok.decode(ids[first - 6 : first])  # a timestamp opens the first frame


def test_swir_runs_with_media_and_gives_a_full_trace(tiny_moe_backend, tmp_path, monkeypatch):
    # Latent steps by construction, not by the weights' luck: with no maths tokens to force
    # explicit steps, the rule makes step 0 latent (unless the model chose `</think>` there).
    monkeypatch.setattr(tiny_moe_backend.runtime, "math_ids", frozenset())
    video = write_video(tmp_path / "v.mp4")
    turns = [Turn("user", "describe", videos=(video,))]
    settings = DecodeSettings(method="swir", max_new_tokens=40, seed=3, swir=SwirParams(window=4))
    events = list(tiny_moe_backend.chat(turns, settings))
    steps = [e for e in events if isinstance(e, Step)]
    assert isinstance(events[0], Started) and isinstance(events[-1], Done)
    assert len(steps) == events[-1].summary.tokens
    assert steps[0].text != "</think>", "the model closed its thinking at once; the premise fails"
    assert steps[0].latent
    assert all(len(s.mix) == 5 and s.mix[0][2] >= s.mix[-1][2] for s in steps if s.latent)
    assert all(s.mix == () for s in steps if not s.latent)
    assert all(s.entropy is not None and s.ref_entropy is not None for s in steps)


# ---- a scripted model: the SwiR rule checked by hand -----------------------
class ScriptedLM(torch.nn.Module):
    """Returns scripted logits step by step and records every input it is fed."""

    def __init__(self, embed: torch.Tensor, script: list[torch.Tensor]) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding.from_pretrained(embed, freeze=True)
        self.script, self.fed = script, []
        self.generation_config = SimpleNamespace(eos_token_id=None)

    def get_input_embeddings(self):
        return self.emb

    def forward(self, input_ids=None, inputs_embeds=None, cache=None, **_):
        if cache is not None:  # a decode step (the prefill is not recorded)
            self.fed.append(
                ("ids", int(input_ids[0, 0])) if input_ids is not None else ("emb", inputs_embeds[0, 0])
            )
        logits = self.script[len(self.fed)].view(1, 1, -1)
        return SimpleNamespace(logits=logits, cache=cache or ["cache"])


def logits_with(top: int, entropy_scale: float, vocab: int) -> torch.Tensor:
    x = torch.linspace(0, -entropy_scale, vocab)  # smaller scale -> flatter -> higher entropy
    x = x.roll(top)
    return x


@pytest.mark.parametrize("variant", ["reference", "strict"])
def test_swir_matches_the_spec_step_by_step(tiny_moe_runtime, variant):
    tok = tiny_moe_runtime.tokenizer
    vocab = tiny_moe_runtime.vocab_size
    embed = torch.randn(vocab, 8, generator=torch.Generator().manual_seed(0))
    plain = [
        i
        for i in range(300, vocab)
        if i not in tiny_moe_runtime.math_ids and i not in tiny_moe_runtime.eos_ids
    ]
    a, b, c = plain[:3]  # ordinary tokens: no math forcing
    # entropies fall, rise, fall: with a huge window only the first fall switches
    script = [logits_with(a, 2.0, vocab), logits_with(b, 40.0, vocab), logits_with(c, 1.0, vocab),
              logits_with(a, 60.0, vocab), logits_with(b, 60.0, vocab)]  # fmt: skip
    model = ScriptedLM(embed, script)
    rt = Runtime(
        "scripted", "scripted", model, tok, None, None, frozenset({"text"}), torch.device("cpu"), 1000
    )
    settings = DecodeSettings(
        method="swir", max_new_tokens=5, sampling=SamplingParams(greedy=True),
        swir=SwirParams(window=10_000, max_switch_count=None, variant=variant),
    )  # fmt: skip
    inputs = {"input_ids": torch.tensor([[a, b]])}
    steps = [e for e in decode(rt, inputs, settings) if isinstance(e, Step)]
    h = [torch.distributions.Categorical(logits=s).entropy().item() for s in script]
    soft = [torch.softmax(s, -1) @ embed for s in script]
    assert [s.entropy for s in steps] == pytest.approx(h, rel=1e-4)
    assert [s.token_id for s in steps] == [a, b, c, a, b]
    assert [s.latent for s in steps] == [True, False, False, False, False]
    assert [s.switch for s in steps] == [None, "to_explicit", None, None, None]
    assert [s.ref_entropy for s in steps] == pytest.approx([h[0], h[1], h[1], h[1], h[1]], rel=1e-4)
    # the reference looks up the two characters backslash-n; strict uses a real line break
    nl = rt.token_id("\\n") if variant == "reference" else tokens.linebreak_id(tok)
    end = rt.token_id("</think>")
    assert nl != tok.unk_token_id
    beta = schedule(0.7, 1, 5)
    kinds = [k for k, _ in model.fed]
    assert kinds == ["emb", "emb", "ids", "ids"]
    torch.testing.assert_close(model.fed[0][1], 0.9 * soft[0] + 0.1 * embed[nl])
    torch.testing.assert_close(model.fed[1][1], beta * soft[1] + (1 - beta) * embed[end])
    assert model.fed[2][1] == c and model.fed[3][1] == a


def test_soft_embedding_is_softmax_times_embedding_matrix_and_truncation_is_close():
    gen = torch.Generator().manual_seed(0)
    embed, logits = torch.randn(300, 16, generator=gen), torch.randn(300, generator=gen) * 4
    p = torch.softmax(logits, -1)
    torch.testing.assert_close(soft_embedding(p, embed, None, None), p @ embed)
    approx = soft_embedding(p, embed, 0.999, None)
    assert torch.nn.functional.cosine_similarity(approx, p @ embed, dim=0) > 0.999
    top1 = soft_embedding(p, embed, None, 1)
    torch.testing.assert_close(top1, embed[p.argmax()])


# ---- seeds, cancel, errors ---------------------------------------------------
def test_seeded_sampling_is_reproducible(tiny_moe_backend):
    turns = [Turn("user", "tell me something")]
    run = lambda seed: tokens_of(  # noqa: E731
        tiny_moe_backend.chat(turns, DecodeSettings(method="swir", max_new_tokens=20, seed=seed))
    )
    first, again, other = run(11), run(11), run(12)
    assert first == again
    assert first != other


def test_cancel_stops_within_one_step_and_frees_the_model(tiny_moe_backend):
    cancel = threading.Event()
    events = []
    for ev in tiny_moe_backend.chat(
        [Turn("user", "hi")], DecodeSettings(method="cot", max_new_tokens=200), cancel
    ):
        events.append(ev)
        if isinstance(ev, Step) and ev.t == 2:
            cancel.set()
    done = events[-1]
    assert isinstance(done, Done) and done.summary.stop_reason == "cancelled"
    assert done.summary.tokens == 3
    assert tiny_moe_backend.runtime.lock.acquire(blocking=False)
    tiny_moe_backend.runtime.lock.release()


def test_closing_the_generator_releases_the_model(tiny_moe_backend):
    gen = tiny_moe_backend.chat([Turn("user", "hi")], DecodeSettings(method="cot", max_new_tokens=200))
    for ev in gen:
        if isinstance(ev, Step):
            break
    gen.close()
    assert tiny_moe_backend.runtime.lock.acquire(blocking=False)
    tiny_moe_backend.runtime.lock.release()


def test_eos_ends_the_run_with_reason(smollm2_backend):
    events = list(
        smollm2_backend.chat(
            [Turn("user", "Say hi.")], DecodeSettings(method="cot-greedy", max_new_tokens=60)
        )
    )
    assert events[-1].summary.stop_reason == "eos"
    assert events[-2].token_id in smollm2_backend.runtime.eos_ids and events[-2].text == ""


def test_truncated_mix_keeps_the_smallest_set_and_falls_back_to_exact_when_flat():
    gen = torch.Generator().manual_seed(1)
    embed = torch.randn(4000, 8, generator=gen)
    peaked = torch.softmax(torch.randn(4000, generator=gen) * 6, -1)
    vals, ids = torch.sort(peaked, descending=True)
    k = int((torch.cumsum(vals, 0) < 0.99).sum()) + 1  # smallest prefix holding 0.99
    assert k < 500
    expected = (vals[:k] / vals[:k].sum()) @ embed[ids[:k]]
    torch.testing.assert_close(soft_embedding(peaked, embed, 0.99, None), expected)
    flat = torch.softmax(torch.zeros(4000), -1)  # the set would be most of the vocabulary
    torch.testing.assert_close(soft_embedding(flat, embed, 0.99, None), flat @ embed)


@pytest.mark.parametrize("model_closes", [True, False])
def test_a_cap_close_where_the_model_chose_end_think_too_is_not_an_early_close(
    tiny_moe_runtime, model_closes
):
    """The control's `</think>` goes in at step 2; the model's own choice there is `</think>`
    or an ordinary token. Only the second is a thinking closed before the model was done."""
    tok, vocab = tiny_moe_runtime.tokenizer, tiny_moe_runtime.vocab_size
    plain = [
        i
        for i in range(300, vocab)
        if i not in tiny_moe_runtime.math_ids and i not in tiny_moe_runtime.eos_ids
    ]
    end, nl, eos = (
        tiny_moe_runtime.token_id("</think>"),
        tokens.linebreak_id(tok),
        tok.eos_token_id,
    )
    own = end if model_closes else plain[1]
    # step 0 latent; step 1 more certain (a switch: the cap of 1 queues `</think>`) on a line
    # break, so the strict control injects at step 2 at once; then one answer token and EOS
    script = [logits_with(plain[0], 2.0, vocab), logits_with(nl, 40.0, vocab), logits_with(own, 40.0, vocab),
              logits_with(plain[2], 40.0, vocab), logits_with(eos, 40.0, vocab)]  # fmt: skip
    model = ScriptedLM(torch.randn(vocab, 8, generator=torch.Generator().manual_seed(0)), script)
    rt = Runtime(
        "scripted", "scripted", model, tok, None, None, frozenset({"text"}), torch.device("cpu"), 1000
    )
    settings = DecodeSettings(
        method="swir", max_new_tokens=8, sampling=SamplingParams(greedy=True),
        swir=SwirParams(window=10_000, max_switch_count=1),
    )  # fmt: skip
    events = list(decode(rt, {"input_ids": torch.tensor([[plain[0]]])}, settings))
    steps = [e for e in events if isinstance(e, Step)]
    summary = events[-1].summary
    assert [s.token_id for s in steps] == [plain[0], nl, end, plain[2], eos]
    assert [s.injected for s in steps] == [False, False, True, False, False]
    assert summary.thinking_end == "convergence" and summary.stop_reason == "eos"
    assert summary.model_chose_end is model_closes
    assert summary.early_close is not model_closes
    assert summary.record()["early_close"] is not model_closes


@pytest.mark.parametrize("held", [3, 30])
def test_a_run_held_latent_from_its_start_is_counted_and_noted(tiny_moe_runtime, held):
    """A near-certain first step sets a reference that the next `held` steps do not get under:
    they stay latent, and only a step more certain than the first switches. The run counts its
    opening latent steps (the first step with them); from `LONG_LATENT_OPENING` on, the page and
    the CLI say why its thinking may read as noise, and the eval counts them too."""
    tok, vocab = tiny_moe_runtime.tokenizer, tiny_moe_runtime.vocab_size
    plain = [
        i
        for i in range(300, vocab)
        if i not in tiny_moe_runtime.math_ids and i not in tiny_moe_runtime.eos_ids
    ]
    script = [logits_with(plain[0], 40.0, vocab)]
    script += [logits_with(plain[1 + i % 5], 20.0, vocab) for i in range(held)]
    script += [logits_with(plain[7], 80.0, vocab), logits_with(tok.eos_token_id, 80.0, vocab)]
    model = ScriptedLM(torch.randn(vocab, 8, generator=torch.Generator().manual_seed(0)), script)
    rt = Runtime(
        "scripted", "scripted", model, tok, None, None, frozenset({"text"}), torch.device("cpu"), 1000
    )
    settings = DecodeSettings(
        method="swir", max_new_tokens=held + 4, sampling=SamplingParams(greedy=True), swir=SwirParams(window=10_000)
    )  # fmt: skip
    events = list(decode(rt, {"input_ids": torch.tensor([[plain[0]]])}, settings))
    steps = [e for e in events if isinstance(e, Step)]
    summary = events[-1].summary
    assert [s.latent for s in steps] == [True] * (held + 1) + [False, False]
    assert steps[held + 1].switch == "to_explicit"
    assert summary.opening_latent_steps == held + 1
    assert summary.record()["opening_latent_steps"] == held + 1
    assert opening_latent([run_step(s) for s in steps]) == held + 1
    long = held + 1 >= LONG_LATENT_OPENING
    assert summary.long_latent_opening is long
    notes = answer_warnings(summary, "en")
    assert bool(notes) is long and all(f"first {held + 1} steps" in n for n in notes)
    assert (early_close_note(events[-1]) is not None) is long
