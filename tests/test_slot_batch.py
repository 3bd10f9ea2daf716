"""The slot batch (engine/runtimes/slot_batch.py) on the CPU: the static path a CUDA graph replays, without graphs.

Pure decisions first (buckets, slot compaction, the serving path, ZeroGPU),
then, in float32 on the random tiny qwen3_5_moe (gated delta net, multimodal
rope, experts) and a tiny dense Qwen3.5 text model: teacher-forced logits of
the eager, single-run static and batched static paths within 1e-5 of each
other (ids and soft embeddings alike), and rows decoded together through
LocalBackend's scheduler giving the greedy tokens each gives alone while
others join and leave by slot. The capture itself and speed are
bench/gpu_bench.py's.
"""

from __future__ import annotations

import threading

import pytest
import torch

from engine.backends import local
from engine.backends.local import LocalBackend, decode_path, on_zero_gpu
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.events import Done, Step
from engine.prompt import Turn
from engine.runtimes import parity, slot_batch
from engine.runtimes.slot_batch import bucket_for, bucket_sizes, choose_path, compact

# ---------------------------------------------------------------- pure decisions


def test_buckets_are_powers_of_two_up_to_the_rows():
    assert bucket_sizes(20) == (1, 2, 4, 8, 16, 20)
    assert bucket_sizes(32) == (1, 2, 4, 8, 16, 32)
    assert bucket_sizes(1) == (1,) and bucket_sizes(2) == (1, 2)
    sizes = bucket_sizes(20)
    assert [bucket_for(n, sizes) for n in (1, 2, 3, 5, 8, 9, 17, 20)] == [1, 2, 4, 8, 8, 16, 20, 20]
    with pytest.raises(ValueError):
        bucket_for(21, sizes)


def test_compaction_keeps_rows_in_the_lowest_slots_with_the_fewest_moves():
    assert compact([0, 1, 2, 3], [0, 1, 2, 3]) == ([0, 1, 2, 3], [])
    assert compact([0, 1, 2, 3], [0, 2, 3]) == ([0, 2, 1], [(3, 1)])  # the top row fills the hole
    assert compact([0, 1, 2, 3], [3]) == ([0], [(3, 0)])
    slots, moves = compact([2, 0, 1], [0, 2])  # rows in slots 2 and 1 stay: slot 2 moves to 0
    assert slots == [0, 1] and moves == [(2, 0)]
    assert compact([0, 1], []) == ([], [])
    # invariant: any keep of any permutation leaves the kept rows in slots 0..n-1, all different
    for keep in ([1, 4], [0, 2, 5], [5], [3, 4, 5]):
        slots, moves = compact([5, 3, 0, 4, 1, 2], keep)
        assert sorted(slots) == list(range(len(keep))) and all(d < len(keep) <= s for s, d in moves)


@pytest.mark.parametrize(
    "kw, want",
    [
        (dict(rows=20, zero_gpu=True, mode="auto", one_cuda_device=True), "single"),  # ZeroGPU: in the call
        (dict(rows=1, zero_gpu=False, mode="auto", one_cuda_device=True), "single"),
        (dict(rows=20, zero_gpu=False, mode="auto", one_cuda_device=True), "graph"),
        (dict(rows=20, zero_gpu=False, mode="on", one_cuda_device=True), "graph"),
        (dict(rows=20, zero_gpu=False, mode="auto", one_cuda_device=False), "eager"),  # CPU, accelerate
        (dict(rows=20, zero_gpu=False, mode="on", one_cuda_device=False), "static"),
        (dict(rows=20, zero_gpu=False, mode="static", one_cuda_device=True), "static"),
        (dict(rows=20, zero_gpu=False, mode="off", one_cuda_device=True), "eager"),
        (
            dict(rows=20, zero_gpu=False, mode="auto", one_cuda_device=True, no_graph="eager experts"),
            "static",
        ),
        (
            dict(rows=20, zero_gpu=False, mode="auto", one_cuda_device=True, no_static="no static cache"),
            "eager",
        ),
    ],
)
def test_the_serving_path_choice(kw, want):
    assert choose_path(**{"no_static": None, "no_graph": None, **kw}) == want


def test_zero_gpu_is_read_from_the_environment():
    assert on_zero_gpu({"SPACES_ZERO_GPU": "true"}) and on_zero_gpu({"SPACES_ZERO_GPU": "1"})
    assert not on_zero_gpu({}) and not on_zero_gpu({"SPACES_ZERO_GPU": "0"})


class _FakeRuntime:
    """What `_scheduler` asks of a runtime that batches."""

    name, fast, max_rows = "fake", None, 8

    def plan_batching(self, rows, *, zero_gpu=False):
        self.batch_path = choose_path(rows=rows, zero_gpu=zero_gpu, mode="auto", one_cuda_device=True,
                                      no_static=None, no_graph=None)  # fmt: skip
        return self.batch_path

    def new_batch(self, _rt=None):
        raise AssertionError("not reached")


def test_on_zero_gpu_runs_decode_inside_the_call_one_at_a_time():
    rt = _FakeRuntime()
    assert local._scheduler(rt, 20, zero_gpu=True) is None  # no worker thread outliving spaces.GPU
    assert decode_path(rt, None) == "one run at a time, plain step"
    scheduler = local._scheduler(rt, 20)
    assert scheduler is not None and rt.batch_path == "graph"
    assert decode_path(rt, scheduler) == "batched, CUDA graphs per bucket (1, 2, 4, 8, 16, 20)"
    scheduler.close()


# ---------------------------------------------------------------- models (float32, CPU, no graphs)


@pytest.fixture(scope="module")
def moe_rt():
    from engine.models.tiny_moe import ensure_random_tiny_moe
    from engine.runtimes.torch_runtime import load_runtime

    return load_runtime(str(ensure_random_tiny_moe()), device="cpu")


@pytest.fixture(scope="module")
def dense_rt(moe_rt):
    """A tiny random dense Qwen3.5 text model (bench/gpu_bench.py's tiny 0.8B shape), the MoE's tokenizer."""
    from transformers import AutoModelForCausalLM

    from bench.gpu_bench import text_config
    from engine.runtimes.torch_runtime import Runtime

    config = text_config("0.8B", tiny=True)
    config.vocab_size = moe_rt.vocab_size
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    return Runtime("tiny-dense", "random", model, moe_rt.tokenizer, None, None, frozenset({"text"}),
                   torch.device("cpu"), 4096)  # fmt: skip


def _ids(rt, text: str) -> dict:
    return {"input_ids": rt.tokenizer(text, return_tensors="pt")["input_ids"]}


# A row's float32 logits in a slot batch against the same row decoded alone: the batched
# matmuls add in another order, which moves a logit by about 1e-5 on some CPUs (1.1e-5 seen on
# an AMD EPYC, under 1e-5 on Xeons); a row reading another row's state is off by far more.
ROW_TOL = 5e-5
PROMPTS = ["What is 17 times 23? Think it through.", "hi", "a much longer question about many things at once"]


@pytest.mark.model
@pytest.mark.parametrize("which", ["moe", "dense"])
def test_teacher_forced_paths_agree_to_float_rounding(which, request):
    rt = request.getfixturevalue(f"{which}_rt")
    companions = [_ids(rt, p) for p in PROMPTS[1:]]
    report = parity.teacher_forced(rt, _ids(rt, PROMPTS[0]), steps=10, companions=companions)
    for path, diffs in report.items():
        worst = parity.worst(diffs)
        assert len(diffs) == 10 and worst.max_abs < ROW_TOL and worst.kl < 1e-9, (path, worst)


def _settings(method: str, n: int) -> DecodeSettings:
    return DecodeSettings(method=method, max_new_tokens=n, sampling=SamplingParams(greedy=True),
                          swir=SwirParams(window=4, max_switch_count=None))  # fmt: skip


def _trace(events) -> list[tuple[int, bool]]:
    return [(e.token_id, e.latent) for e in events if isinstance(e, Step)]


@pytest.mark.model
def test_rows_through_the_slot_scheduler_equal_rows_alone(moe_rt, monkeypatch):
    """Rows of different lengths and methods, one joining late, two leaving early (slots compacted)."""
    cases = [([Turn("user", q)], _settings(m, n)) for q, m, n in
             [(PROMPTS[0], "cot-greedy", 14), (PROMPTS[1], "swir", 6), (PROMPTS[2], "cot-greedy", 4),
              ("one more late row", "swir", 10)]]  # fmt: skip
    alone = [_trace(LocalBackend(moe_rt).chat(t, s)) for t, s in cases]
    monkeypatch.setenv("RIO_FAST_STEP", "static")  # the slot path without graphs (CPU)
    backend = LocalBackend(moe_rt, max_batch_rows=4)
    assert moe_rt.batch_path == "static" and backend.info.decode_path == "batched, static slots (no graphs)"
    started = threading.Event()
    out: list = [None] * len(cases)

    def run(j: int) -> None:
        if j == 3:
            started.wait(timeout=120)
        events = []
        for ev in backend.chat(*cases[j]):
            events.append(ev)
            if j == 0 and sum(isinstance(e, Step) for e in events) == 5:
                started.set()  # the late row joins while row 0 runs and rows 1, 2 have left or are leaving
        started.set()
        out[j] = events

    threads = [threading.Thread(target=run, args=(j,)) for j in range(len(cases))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert [_trace(ev) for ev in out] == alone
    assert all(isinstance(ev[-1], Done) for ev in out)
    assert any(latent for tr in alone for _, latent in tr)  # soft embeddings went through the slots
    assert isinstance(moe_rt.slots, slot_batch.SlotBatch) and moe_rt.slots.mode == "static"
    backend.scheduler.close()
    moe_rt.plan_batching(1)


@pytest.mark.model
def test_a_row_outgrowing_the_slots_grows_them_and_keeps_its_states(moe_rt):
    inputs = _ids(moe_rt, PROMPTS[0])
    n = int(inputs["input_ids"].shape[-1])
    want = parity.teacher_inputs(moe_rt, inputs, 12)
    batch = slot_batch.SlotBatch(moe_rt, 2, graphs=False, length=n + 4)  # grows twice in 12 steps
    with torch.inference_mode():
        got = [batch.prefill(inputs).float()]
        for t, feed in enumerate(want[0]):
            got.append(batch.step([feed], [n + t])[0].float())
    assert batch.length > n + 12
    assert max(d.max_abs for d in parity.compare(want[1], got)) < ROW_TOL


@pytest.mark.model
def test_rows_leaving_move_down_by_slot_and_keep_their_logits(moe_rt, monkeypatch):
    """Row 0 leaves after 3 steps (the top row moves into its slot), then a row joins at the top."""
    prompts = [*PROMPTS, "late"]
    ref = [parity.teacher_inputs(moe_rt, _ids(moe_rt, p), 8) for p in prompts]  # (feeds, logits) alone
    lengths = [int(_ids(moe_rt, p)["input_ids"].shape[-1]) for p in prompts]
    moves: list = []
    batch = slot_batch.SlotBatch(moe_rt, 4, graphs=False)
    real_move = batch._move
    monkeypatch.setattr(batch, "_move", lambda s, d: (moves.append((s, d)), real_move(s, d)))
    rows, got = [0, 1, 2], {j: [] for j in range(4)}
    with torch.inference_mode():
        for j in rows:
            got[j].append(batch.prefill(_ids(moe_rt, prompts[j])).float())
        for t in range(7):
            if t == 3:
                batch.keep([1, 2])
                rows = [1, 2]
                got[3].append(batch.prefill(_ids(moe_rt, prompts[3])).float())
                rows.append(3)
            steps = [t if j < 3 else t - 3 for j in rows]
            logits = batch.step([ref[j][0][k] for j, k in zip(rows, steps, strict=True)],
                                [lengths[j] + k for j, k in zip(rows, steps, strict=True)])  # fmt: skip
            for j, lg in zip(rows, logits, strict=True):
                got[j].append(lg.float())
    assert moves == [(2, 0)] and batch.slots == [1, 0, 2]
    for j in range(4):
        diffs = parity.compare(ref[j][1][: len(got[j])], got[j])
        assert max(d.max_abs for d in diffs) < ROW_TOL, j


@pytest.mark.model
@pytest.mark.parametrize("which", ["moe", "dense"])
def test_a_slot_step_reads_nothing_back_to_the_host(which, request):
    """What a capture needs: the bucket's forward (mask, scatter, states) without `.item()` or
    data-dependent shapes, for ids and soft embeddings alike."""
    from tests.test_fast_step import HostReads

    rt = request.getfixturevalue(f"{which}_rt")
    batch = slot_batch.SlotBatch(rt, 4, graphs=False)
    with torch.inference_mode():
        for p in PROMPTS:
            batch.prefill(_ids(rt, p))
        batch.step([5, rt.embed[7], 9], [20, 21, 22])  # loads the input buffers
        with HostReads() as reads:
            batch._forward(4)  # what a replay of bucket 4 runs
    assert reads.seen == []


# ---------------------------------------------------------------- kernel choice


def test_the_kernel_rule_per_phase():
    from engine.runtimes.kernels import experts_for, linear_kernels

    assert [linear_kernels(p, "cuda", True) for p in ("prefill", "graph-step", "eager-step")] == [
        "fast", "fast", "torch"]  # fmt: skip
    assert {linear_kernels(p, "cpu", True) for p in ("prefill", "graph-step", "eager-step")} == {"torch"}
    assert linear_kernels("prefill", "cuda", False) == "torch"  # fla not installed
    with pytest.raises(ValueError):
        linear_kernels("decode", "cuda", True)
    assert experts_for("graph-step", "cuda", "eager") == "grouped_mm"  # the eager loop reads routing
    assert experts_for("eager-step", "cpu", "batched_mm") == "batched_mm"
    assert experts_for("graph-step", "cuda", None) is None  # dense


@pytest.mark.model
@pytest.mark.parametrize("impl", ["eager", "batched_mm", "grouped_mm"])
def test_every_experts_implementation_gives_the_eager_blocks_logits(moe_rt, impl):
    inputs = _ids(moe_rt, PROMPTS[0])
    companions = [_ids(moe_rt, p) for p in PROMPTS[1:]]
    moe_rt.model.set_experts_implementation("eager")
    try:
        feeds, ref = parity.teacher_inputs(moe_rt, inputs, 6)
        moe_rt.model.set_experts_implementation(impl)
        got = parity.batched_static(moe_rt, inputs, feeds, companions, graphs=False)
    finally:
        moe_rt.model.set_experts_implementation("grouped_mm")
    assert parity.worst(parity.compare(ref, got)).max_abs < ROW_TOL


def test_the_header_names_the_decode_path():
    from types import SimpleNamespace

    from engine.backends.base import BackendInfo
    from engine.config import METHODS
    from rio_app.handlers import header_html

    info = BackendInfo("m", "x", frozenset({"text"}), "cuda:0", METHODS, decode_path="batched, static slots")
    assert "cuda:0 (batched, static slots)" in header_html(SimpleNamespace(info=info), "en")
    plain = BackendInfo("m", "x", frozenset({"text"}), "remote", METHODS)
    assert "remote (" not in header_html(SimpleNamespace(info=plain), "en")
