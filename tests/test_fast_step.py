"""The fast decode step (engine/runtimes/fast_step.py) and the sync-free sampler (engine/sampling.py), on the CPU.

What runs here: the static-cache path without graphs (what a CUDA graph
replays) against the plain dynamic-cache path, through `engine.decode`, on the
random tiny `qwen3_5_moe` and on SmolLM2: the same greedy tokens, bucket growth
mid-run, reuse across runs, the fallback when capture fails, and that a step
reads nothing back to the host (which a graph capture would refuse). The
sampler: the same tokens, the same generator state, one transfer per step,
against a frozen copy of the sliced implementation it replaced. What needs a
GPU (the capture itself, replay timings) is bench/gpu_bench.py's.
"""

from __future__ import annotations

import pytest
import torch
from torch.overrides import TorchFunctionMode

from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.decode import decode
from engine.events import Step
from engine.runtimes import fast_step
from engine.sampling import (
    choose_token,
    filtered_candidates,
    masked_candidates,
    probs_and_entropy,
    sample_step,
)


class HostReads(TorchFunctionMode):
    """Records every tensor -> host read (what syncs a GPU, and what a CUDA graph capture refuses)."""

    NAMES = {"item", "tolist", "__bool__", "__int__", "__float__", "__index__", "nonzero", "cpu", "numpy",
             "masked_select", "unique", "unique_consecutive"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", str(func))
        masked_index = name == "__getitem__" and any(
            torch.is_tensor(a) and a.dtype == torch.bool for a in args[1:]
        )
        if name in self.NAMES or masked_index:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


# ---------------------------------------------------------------- the sliced sampler it replaced (frozen copy)


def legacy_filtered_candidates(
    logits: torch.Tensor, params: SamplingParams
) -> tuple[torch.Tensor, torch.Tensor]:
    scaled = logits.float() / params.temperature
    if params.top_k and params.top_k < scaled.shape[-1]:
        vals, ids = torch.topk(scaled, params.top_k)
    else:
        vals, ids = torch.sort(scaled, descending=True)
    if params.top_p < 1.0:
        p = torch.softmax(vals, dim=-1)
        mass_before = torch.cumsum(p, dim=-1) - p
        keep = int((mass_before <= params.top_p).sum())
        vals, ids = vals[: max(keep, 1)], ids[: max(keep, 1)]
    if params.min_p > 0:
        p = torch.softmax(vals, dim=-1)
        keep = int((p >= params.min_p * p[0]).sum())
        vals, ids = vals[: max(keep, 1)], ids[: max(keep, 1)]
    return ids, vals


def legacy_choose_token(logits, params, greedy, generator) -> int:
    if greedy:
        return int(torch.argmax(logits))
    ids, vals = legacy_filtered_candidates(logits, params)
    p = torch.softmax(vals, dim=-1)
    pick = torch.multinomial(p, num_samples=1, generator=generator)
    return int(ids[pick])


SETTINGS = [
    SamplingParams(),  # the reference chat: 0.6, top-p 0.95, top-k 20
    SamplingParams(temperature=1.0, top_p=0.5, top_k=0),
    SamplingParams(temperature=0.8, top_p=1.0, top_k=7),
    SamplingParams(temperature=1.3, top_p=0.9, top_k=50, min_p=0.05),
    SamplingParams(temperature=1.0, top_p=1.0, top_k=0),
    SamplingParams(temperature=0.7, top_p=0.99, top_k=0, min_p=0.02),
    SamplingParams(temperature=2.0, top_p=0.3, top_k=1000, min_p=0.1),
]


@pytest.mark.parametrize("params", SETTINGS)
def test_sampler_gives_the_sliced_implementations_tokens_and_generator_state(params):
    for seed in range(12):
        vocab = (500, 4000, 20000)[seed % 3]
        logits_gen = torch.Generator().manual_seed(1000 + seed)
        old, new = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed)
        for step in range(6):
            logits = torch.randn(vocab, generator=logits_gen) * (1 + step % 4)
            want = legacy_choose_token(logits, params, False, old)
            got = (
                sample_step(logits, params, False, new)[2]
                if step % 2
                else choose_token(logits, params, False, new)
            )
            assert got == want, (seed, step)
        assert torch.equal(old.get_state(), new.get_state())  # the next draws stay the same too
        ids, vals = filtered_candidates(logits, params)
        want_ids, want_vals = legacy_filtered_candidates(logits, params)
        assert torch.equal(ids, want_ids) and torch.equal(vals, want_vals)


def test_sampler_without_a_seed_draws_from_the_global_generator_like_before():
    logits, params = torch.randn(3000, generator=torch.Generator().manual_seed(5)) * 2, SamplingParams()
    torch.manual_seed(11)
    want = [legacy_choose_token(logits, params, False, None) for _ in range(20)]
    torch.manual_seed(11)
    assert [choose_token(logits, params, False, None) for _ in range(20)] == want


def test_masked_distribution_is_the_sliced_one_bit_for_bit():
    gen = torch.Generator().manual_seed(0)
    for params in SETTINGS:
        logits = torch.randn(5000, generator=gen) * 3
        _, vals, kept = masked_candidates(logits, params)
        _, sliced = legacy_filtered_candidates(logits, params)
        k = int(kept)
        p = torch.softmax(vals, dim=-1)
        assert k == sliced.shape[0] and torch.equal(p[:k], torch.softmax(sliced, dim=-1))
        assert torch.all(p[k:] == 0)


def test_one_transfer_per_step_and_the_same_numbers_as_the_two_calls():
    logits, params = torch.randn(2000, generator=torch.Generator().manual_seed(3)) * 3, SamplingParams()
    for greedy in (False, True):
        with HostReads() as reads:
            p, h, tok = sample_step(logits, params, greedy, torch.Generator().manual_seed(9))
        assert reads.seen == ["tolist"]  # token, entropy and kept length in one go
        want_p, want_h = probs_and_entropy(logits)
        assert torch.equal(p, want_p) and h == want_h
        assert tok == legacy_choose_token(logits, params, greedy, torch.Generator().manual_seed(9))
    with HostReads() as reads:
        choose_token(logits, params, False, torch.Generator().manual_seed(9))
    assert reads.seen == ["tolist"]


# ---------------------------------------------------------------- the fast step


@pytest.fixture(scope="module")
def moe_rt():
    """The random tiny qwen3_5_moe (vision-language: multimodal rope, experts, gated delta net)."""
    from engine.models.tiny_moe import ensure_random_tiny_moe
    from engine.runtimes.torch_runtime import load_runtime

    rt = load_runtime(str(ensure_random_tiny_moe()), device="cpu")
    yield rt
    rt.fast = None


@pytest.fixture()
def smollm2_rt(smollm2_runtime):
    yield smollm2_runtime
    smollm2_runtime.fast = None


def _prompt(rt, text: str = "What is 17 times 23? Think it through.") -> dict:
    return {"input_ids": rt.tokenizer(text, return_tensors="pt")["input_ids"]}


def _run(rt, fast, settings, inputs) -> list[Step]:
    rt.fast = fast
    try:
        return [e for e in decode(rt, inputs, settings) if isinstance(e, Step)]
    finally:
        rt.fast = None


def _same(a: list[Step], b: list[Step]) -> bool:
    return [(s.token_id, s.latent) for s in a] == [(s.token_id, s.latent) for s in b]


COT = DecodeSettings(method="cot-greedy", max_new_tokens=16)
SWIR = DecodeSettings(method="swir", max_new_tokens=14, sampling=SamplingParams(greedy=True),
                      swir=SwirParams(window=4, max_switch_count=None))  # fmt: skip


@pytest.mark.model
@pytest.mark.parametrize("which", ["moe", "smollm2"])
def test_static_cache_gives_the_plain_paths_greedy_tokens(which, request):
    rt = request.getfixturevalue("moe_rt" if which == "moe" else "smollm2_rt")
    inputs = _prompt(rt)
    for settings in (COT, SWIR):
        plain = _run(rt, None, settings, inputs)
        fast = fast_step.FastStep(rt, graphs=False, reserve=4, round_to=8)  # small buckets: it grows mid-run
        got = _run(rt, fast, settings, inputs)
        assert _same(got, plain), settings.method
        assert fast.mode == "static" and fast.bucket.length > inputs["input_ids"].shape[-1] + 8
        assert max(abs(x.entropy - y.entropy) for x, y in zip(got, plain, strict=True)) < 1e-2


@pytest.mark.model
def test_sampled_runs_match_with_the_same_seed(smollm2_rt):
    settings = DecodeSettings(method="swir", max_new_tokens=14, seed=4, swir=SwirParams(window=4))
    inputs = _prompt(smollm2_rt)
    assert _same(_run(smollm2_rt, fast_step.FastStep(smollm2_rt, graphs=False), settings, inputs),
                 _run(smollm2_rt, None, settings, inputs))  # fmt: skip


@pytest.mark.model
def test_bucket_is_reused_across_runs_and_a_stale_run_is_refused(moe_rt):
    fast = fast_step.FastStep(moe_rt, graphs=False, reserve=64)
    inputs, other = _prompt(moe_rt), _prompt(moe_rt, "Describe a cat.")
    first = _run(moe_rt, fast, COT, inputs)
    cache = fast.bucket.cache
    _run(moe_rt, fast, COT, other)
    assert fast.bucket.cache is cache  # reset, same buffers (what a captured graph needs)
    assert _same(_run(moe_rt, fast, COT, inputs), first)
    with torch.inference_mode():
        _, old = fast.prefill(inputs)
        fast.prefill(other)
        with pytest.raises(RuntimeError, match="later prefill"):
            fast.step(old, 0, input_ids=torch.tensor([[1]]))


@pytest.mark.model
@pytest.mark.parametrize("which", ["moe", "smollm2"])
def test_a_static_step_reads_nothing_back_to_the_host(which, request):
    """What a CUDA graph capture needs: no `.item()`, no data-dependent shapes, ids and embeddings alike."""
    rt = request.getfixturevalue("moe_rt" if which == "moe" else "smollm2_rt")
    fast = fast_step.FastStep(rt, graphs=False)
    inputs = _prompt(rt)
    n = inputs["input_ids"].shape[-1]
    with torch.inference_mode():
        _, cache = fast.prefill(inputs)
        with HostReads() as reads:
            fast.step(cache, n, input_ids=torch.tensor([[5]]))
            fast.step(cache, n + 1, inputs_embeds=rt.embed[7].view(1, 1, -1))
    assert reads.seen == []


@pytest.mark.model
def test_a_failed_capture_falls_back_to_the_plain_path(moe_rt):
    fast = fast_step.FastStep(moe_rt, graphs=True)  # no CUDA here: the capture raises
    inputs = _prompt(moe_rt)
    assert _same(_run(moe_rt, fast, COT, inputs), _run(moe_rt, None, COT, inputs))
    assert fast.mode.startswith("off: ") and fast.prefill(inputs) is None


@pytest.mark.model
def test_selection_is_never_on_by_surprise_on_a_cpu(moe_rt, monkeypatch):
    monkeypatch.delenv(fast_step.ENV, raising=False)
    assert fast_step.select(moe_rt) is None  # auto: CUDA only
    assert fast_step.select(moe_rt, "off") is None
    forced = fast_step.select(moe_rt, "on")
    assert isinstance(forced, fast_step.FastStep) and forced.mode == "static"
    monkeypatch.setenv(fast_step.ENV, "on")
    assert fast_step.select(moe_rt) is not None
    assert fast_step.unsupported(moe_rt.model, graphs=False) is None
    assert fast_step.unsupported(object(), graphs=False) == "not a torch model"


@pytest.mark.model
def test_moe_with_eager_experts_gets_no_graph(moe_rt):
    text = moe_rt.model.config.get_text_config(decoder=True)
    assert text._experts_implementation == "grouped_mm"  # transformers' default: no host reads
    moe_rt.model.set_experts_implementation("eager")
    try:
        assert "eager loop" in fast_step.unsupported(moe_rt.model, graphs=True)
        assert fast_step.unsupported(moe_rt.model, graphs=False) is None
    finally:
        moe_rt.model.set_experts_implementation("grouped_mm")


@pytest.mark.model
def test_the_batch_scheduler_turns_it_off(moe_rt):
    moe_rt.fast = fast_step.FastStep(moe_rt, graphs=False)
    moe_rt.new_batch()
    assert moe_rt.fast is None
