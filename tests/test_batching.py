"""The batching scheduler: rows decoded together give what they give alone, and leave at once.

Rows of different prompt lengths and methods (SwiR, CoT, CoT greedy), text and
an image, join one batch; each must produce the same greedy tokens and modes
as the same run decoded alone by `engine.decode.decode`. A row that joins
while others run, and a row cancelled mid-run, leave the others unchanged.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from engine.backends.local import LocalBackend
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.events import Done, Started, Step
from engine.prompt import Turn

pytestmark = pytest.mark.model


def settings(method: str, n: int = 24, window: int = 8) -> DecodeSettings:
    return DecodeSettings(method=method, max_new_tokens=n, sampling=SamplingParams(greedy=True),
                          swir=SwirParams(window=window))  # fmt: skip


def trace(events) -> list[tuple[int, bool, str | None]]:
    return [(e.token_id, e.latent, e.switch) for e in events if isinstance(e, Step)]


def run_together(backend: LocalBackend, cases: list, start_after: dict | None = None) -> list:
    """Run every case on its own thread at once. `start_after={j: (i, n)}`: case j starts only
    once case i has emitted n steps (so that it joins a batch already running)."""
    waits = start_after or {}
    thresholds = {i: n for i, n in waits.values()}
    reached = {i: threading.Event() for i in thresholds}
    out: list = [None] * len(cases)

    def run(j: int) -> None:
        if j in waits:
            reached[waits[j][0]].wait(timeout=120)
        events = []
        for ev in backend.chat(*cases[j]):
            events.append(ev)
            if j in reached and sum(isinstance(e, Step) for e in events) >= thresholds[j]:
                reached[j].set()
        if j in reached:
            reached[j].set()
        out[j] = events

    threads = [threading.Thread(target=run, args=(j,)) for j in range(len(cases))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    return out


@pytest.fixture(scope="session")
def smol_batched(smollm2_runtime):
    return LocalBackend(smollm2_runtime, max_batch_rows=4)


@pytest.fixture(scope="session")
def tiny_batched(tiny_moe_runtime):
    return LocalBackend(tiny_moe_runtime, max_batch_rows=4)


SMOL_CASES = [
    ("What is the capital of France?", "cot-greedy"),
    ("Write a long poem about the sea, the wind and the old lighthouse keeper.", "swir"),
    ("Hi", "cot"),
    ("List three colours.", "swir"),
]


def test_smollm2_rows_in_a_batch_equal_rows_alone(smollm2_backend, smol_batched):
    cases = [([Turn("user", q)], settings(m)) for q, m in SMOL_CASES]
    cases[2] = (cases[2][0], DecodeSettings(method="cot", max_new_tokens=24, seed=5))  # sampled, seeded
    alone = [trace(smollm2_backend.chat(t, s)) for t, s in cases]
    together = run_together(smol_batched, cases)
    assert [trace(ev) for ev in together] == alone
    assert all(isinstance(ev[0], Started) and isinstance(ev[-1], Done) for ev in together)
    assert smol_batched.info.max_batch_rows == 4


def test_tiny_moe_rows_with_an_image_equal_rows_alone(tiny_moe_backend, tiny_batched, tmp_path):
    img = tmp_path / "a.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(img)
    # CoT rows here: on this model a SwiR row's soft inputs amplify the last-bit differences of a
    # batched product into different switches after a dozen steps (measured: 3e-6 on the logits
    # of the first step); the SmolLM2 test above mixes SwiR rows.
    cases = [
        ([Turn("user", "hello, what is this?")], settings("cot-greedy", 20, 4)),
        ([Turn("user", "what is in the image?", images=(str(img),))], settings("cot-greedy", 20, 4)),
        (
            [Turn("user", "a much longer question about many different things")],
            DecodeSettings(method="cot", max_new_tokens=20, seed=3),
        ),
        ([Turn("user", "and this image?", images=(str(img),))], settings("cot-greedy", 20, 4)),
    ]
    alone = [trace(tiny_moe_backend.chat(t, s)) for t, s in cases]
    assert [trace(ev) for ev in run_together(tiny_batched, cases)] == alone


def test_a_row_joining_mid_run_changes_nothing(smollm2_backend, smol_batched):
    cases = [([Turn("user", q)], settings(m, 30)) for q, m in SMOL_CASES[:2]]
    alone = [trace(smollm2_backend.chat(t, s)) for t, s in cases]
    together = run_together(smol_batched, cases, start_after={1: (0, 10)})  # row 1 joins after 10 steps
    assert [trace(ev) for ev in together] == alone


def test_cancelling_one_row_frees_it_within_one_step_and_leaves_the_others(smollm2_backend, smol_batched):
    cases = [([Turn("user", q)], settings(m, 30)) for q, m in SMOL_CASES[:3]]
    cases[2] = (cases[2][0], settings("cot-greedy", 30))
    alone = [trace(smollm2_backend.chat(t, s)) for t, s in cases]
    cancel = threading.Event()
    out: dict = {}

    def cancelled() -> None:
        events = []
        for ev in smol_batched.chat(*cases[1], cancel):
            events.append(ev)
            if isinstance(ev, Step) and ev.t == 4:
                cancel.set()
        out["cancelled"] = events

    th = threading.Thread(target=cancelled)
    th.start()
    others = run_together(smol_batched, [cases[0], cases[2]])
    th.join(timeout=300)
    done = out["cancelled"][-1]
    # the worker runs ahead of its consumer by at most the step in flight
    assert done.summary.stop_reason == "cancelled" and done.summary.tokens in (5, 6)
    got = trace(out["cancelled"])
    assert got == alone[1][: len(got)]
    assert [trace(ev) for ev in others] == [alone[0], alone[2]]


def test_rows_sharing_a_stop_flag_end_by_themselves(smol_batched):
    """A race's two rows share the visitor's stop flag: the end of the shorter one must not
    stop the longer one (the scheduler never sets a caller's flag), and the flag still works."""
    turns = [Turn("user", SMOL_CASES[1][0])]
    stop = threading.Event()
    short, long = run_together(
        smol_batched, [(turns, settings("cot-greedy", 3), stop), (turns, settings("cot-greedy", 24), stop)]
    )
    assert short[-1].summary.stop_reason == "max_new_tokens" and short[-1].summary.tokens == 3
    assert long[-1].summary.stop_reason == "max_new_tokens" and long[-1].summary.tokens == 24
    assert not stop.is_set()
    # the visitor's Stop ends both
    out: dict = {}

    def run(k: int) -> None:
        events = []
        for ev in smol_batched.chat(turns, settings("cot-greedy", 200), stop):
            events.append(ev)
            if k == 0 and isinstance(ev, Step) and ev.t == 2:
                stop.set()
        out[k] = events

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=300)
    assert [out[k][-1].summary.stop_reason for k in range(2)] == ["cancelled", "cancelled"]
    assert all(out[k][-1].summary.tokens < 200 for k in range(2))


def test_closing_a_consumer_cancels_its_row(smol_batched):
    gen = smol_batched.chat([Turn("user", "Tell me a long story.")], settings("cot-greedy", 200))
    steps = 0
    for ev in gen:
        steps += isinstance(ev, Step)
        if steps == 3:
            break
    gen.close()
    follow = trace(smol_batched.chat([Turn("user", "Hi")], settings("cot-greedy", 4)))
    assert len(follow) == 4  # the scheduler serves the next request


def test_llama_cpp_rows_as_sequences_of_one_context_equal_rows_alone():
    pytest.importorskip("llama_cpp")
    from engine.runtimes.llamacpp import LlamaOptions, load_llama

    alone_backend = LocalBackend(load_llama("smollm2-offline", LlamaOptions(n_ctx=1024, threads=2)))
    batched = LocalBackend(load_llama("smollm2-offline", LlamaOptions(n_ctx=1024, threads=2, seqs=4)),
                           max_batch_rows=4)  # fmt: skip
    cases = [([Turn("user", q)], settings(m)) for q, m in SMOL_CASES]
    cases[2] = (cases[2][0], DecodeSettings(method="cot", max_new_tokens=24, seed=5))
    alone = [trace(alone_backend.chat(t, s)) for t, s in cases]
    assert [trace(ev) for ev in run_together(batched, cases)] == alone
    assert batched.info.max_batch_rows == 4 and batched.info.runtime == "llama.cpp"
    batched.scheduler.close()


def _greedy(first, step, n: int) -> list[int]:
    """n greedy tokens: `first` logits, then `step(token) -> logits`."""
    out, logits = [], first
    for _ in range(n):
        out.append(int(logits.argmax()))
        logits = step(out[-1])
    return out


def test_rows_arriving_together_share_one_left_padded_prefill(smollm2_backend):
    """Three prompts of different lengths prefilled in one forward, then a fourth joining alone:
    each row's first logits and greedy tokens are those it gets alone."""
    import torch

    rt = smollm2_backend.runtime
    prompts = ["Hi", "What is the capital of France?", "Write a long poem about the sea and the wind."]
    inputs = [smollm2_backend.prepare([Turn("user", q)], settings("cot-greedy")).inputs for q in prompts]
    late = smollm2_backend.prepare([Turn("user", "List three colours.")], settings("cot-greedy")).inputs
    lengths = [x["input_ids"].shape[-1] for x in [*inputs, late]]
    assert len(set(lengths)) == 4  # every row padded differently
    n = 10
    with rt.lock, torch.inference_mode():
        alone = []
        for x in [*inputs, late]:
            logits, cache = rt.prefill(x)
            pos = iter(range(x["input_ids"].shape[-1], 10_000))
            alone.append(
                (logits, _greedy(logits, lambda tok, c=cache, p=pos: rt.step_ids(tok, c, next(p)), n))
            )
        batch = rt.new_batch()
        firsts = batch.prefill_group(inputs)
        assert firsts is not None and len(firsts) == 3
        firsts.append(batch.prefill(late))
        assert batch.pads == [max(lengths) - k for k in lengths]  # each row left-padded to the longest
        tokens = [[int(f.argmax())] for f in firsts]
        positions = list(lengths)
        for _ in range(n - 1):
            logits = batch.step([t[-1] for t in tokens], positions)  # [4, V]
            positions = [p + 1 for p in positions]
            for row, lg in zip(tokens, logits, strict=True):
                row.append(int(lg.argmax()))
    for (first_alone, tokens_alone), first, got in zip(alone, firsts, tokens, strict=True):
        torch.testing.assert_close(first, first_alone, atol=2e-4, rtol=1e-4)  # padding masked out
        assert got == tokens_alone


def test_qwen35_rows_are_never_left_padded_into_one_prefill(tiny_moe_backend):
    """A gated-delta-net layer would run its recurrence over the padding: such a batch declines."""
    rt = tiny_moe_backend.runtime
    inputs = [
        tiny_moe_backend.prepare([Turn("user", q)], settings("cot-greedy")).inputs
        for q in ("hi", "hello there")
    ]
    assert rt.new_batch().prefill_group(inputs) is None


def test_the_worker_ends_when_the_batch_empties_and_the_next_request_starts_one(smol_batched):
    """No thread (and so no OpenMP pool, nor a reference to the model) outlives the work."""
    scheduler = smol_batched.scheduler
    for _ in range(2):
        events = list(smol_batched.chat([Turn("user", "Hi")], settings("cot-greedy", 4)))
        assert isinstance(events[-1], Done) and sum(isinstance(e, Step) for e in events) == 4
        worker = scheduler._thread
        if worker is not None:  # it may still be leaving
            worker.join(timeout=30)
        assert not scheduler.running


def test_a_closed_scheduler_ends_new_requests_unloaded(smollm2_runtime):
    """Not "cancelled": the visitor did not press stop, and the page says what happened."""
    backend = LocalBackend(smollm2_runtime, max_batch_rows=2)
    backend.scheduler.close()
    events = list(backend.chat([Turn("user", "Hi")], settings("cot-greedy", 4)))
    assert isinstance(events[-1], Done) and events[-1].summary.stop_reason == "unloaded"


def test_a_replaced_backend_and_its_scheduler_are_freed(smollm2_runtime):
    """After a model switch the old backend goes: nothing (a thread, atexit) keeps its scheduler."""
    import gc
    import weakref

    backend = LocalBackend(smollm2_runtime, max_batch_rows=2)
    list(backend.chat([Turn("user", "Hi")], settings("cot-greedy", 3)))
    worker = backend.scheduler._thread
    if worker is not None:
        worker.join(timeout=30)
    ref = weakref.ref(backend.scheduler)
    del backend, worker
    gc.collect()
    assert ref() is None
