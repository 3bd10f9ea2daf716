"""The app's own decode path in bench/gpu_bench.py: LocalBackend.chat through the batching scheduler.

Owns `app_section`: on a runtime gpu_bench built, a `LocalBackend` with the
scheduler (`--batch-rows` = the largest concurrency) runs 1, 8 and 32
visitors at once (threads calling `chat`, as the Gradio workers do), CoT
greedy and SwiR exact mix, after a warm-up that captures every bucket's
graph; then the teacher-forced check (engine/runtimes/parity.py) of the
eager, single-run static and batched static paths (graphs on a GPU). Reports
per case the aggregate decode rate (all rows' tokens ÷ wall time), the mean
per-run rate, the decode path the backend says it runs, and the ratios of
the issue's targets. Leaves model building and the single-run variants to
gpu_bench.py, which calls this and writes the report.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import torch

from engine.backends.local import LocalBackend
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.events import Done, Step
from engine.prompt import Turn
from engine.runtimes import parity
from engine.runtimes.slot_batch import bucket_sizes

CONCURRENCY = (1, 8, 32)
METHODS = ("cot-greedy", "swir")
PARITY_STEPS = 24
KL_GOAL = 1e-3  # bf16 rounding level


def settings(method: str, n: int, window: int) -> DecodeSettings:
    if method == "cot-greedy":
        return DecodeSettings(method="cot-greedy", max_new_tokens=n)
    swir = SwirParams(window=window, max_switch_count=None)
    return DecodeSettings(method="swir", max_new_tokens=n, sampling=SamplingParams(greedy=True), swir=swir)


def visitors(backend: LocalBackend, k: int, s: DecodeSettings) -> dict:
    """k visitors' runs at once, each its own thread and prompt; tokens, wall time, per-run rates."""
    out: list[Any] = [None] * k

    def run(j: int) -> None:
        turns = [Turn("user", f"Visitor {j}: what is {j + 17} times {j + 23}? Think it through.")]
        steps = latent = 0
        rate = None
        for ev in backend.chat(turns, s):
            steps += isinstance(ev, Step)
            latent += isinstance(ev, Step) and ev.latent
            if isinstance(ev, Done):
                rate = ev.summary.tokens_per_s
        out[j] = (steps, latent, rate)

    threads = [threading.Thread(target=run, args=(j,)) for j in range(k)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    tokens = sum(o[0] for o in out)
    rates = [o[2] for o in out if o[2]]
    return {"concurrency": k, "tokens": tokens, "latent_steps": sum(o[1] for o in out), "wall_s": wall,
            "aggregate_tok_s": tokens / wall, "per_run_tok_s": sum(rates) / len(rates) if rates else None}  # fmt: skip


def app_section(
    rt: Any, n: int, window: int, single_fast_tok_s: float | None, prompt: torch.Tensor,
    concurrency: tuple[int, ...] = CONCURRENCY,
) -> dict:  # fmt: skip
    """The app path's runs, ratios and teacher-forced parity on `rt` (which it leaves unbatched)."""
    backend = LocalBackend(rt, max_batch_rows=max(concurrency))
    try:
        for k in bucket_sizes(max(concurrency)):  # warm-up: every bucket's capture happens here
            visitors(backend, k, settings("swir", 4, window))
        runs = [
            dict(method=m, **visitors(backend, k, settings(m, n, window)))
            for m in METHODS
            for k in concurrency
        ]
        path = backend.info.decode_path
        slots = getattr(rt, "slots", None)
        mode = slots.mode if slots is not None else rt.batch_path
    finally:
        if backend.scheduler is not None:
            backend.scheduler.close()
        rt.plan_batching(1)
    return {"decode_path": path, "slot_mode": mode, "runs": runs,
            "ratios": app_ratios(runs, single_fast_tok_s, concurrency), "parity": parity_report(rt, prompt)}  # fmt: skip


def app_ratios(runs: list[dict], single_fast: float | None, concurrency: tuple[int, ...]) -> dict:
    rate = {(r["method"], r["concurrency"]): r["aggregate_tok_s"] for r in runs}
    one, most = rate.get(("cot-greedy", 1)), max(concurrency)
    return {
        "one_visitor_vs_single_fast_step": one / single_fast if one and single_fast else None,
        "most_vs_1_visitors": rate[("cot-greedy", most)] / one if one and ("cot-greedy", most) in rate else None,
        **{f"swir_vs_cot_at_{k}": rate[("swir", k)] / rate[("cot-greedy", k)] for k in concurrency
           if ("swir", k) in rate and ("cot-greedy", k) in rate},
    }  # fmt: skip


def parity_report(rt: Any, prompt: torch.Tensor) -> dict:
    """Teacher-forced max |logit diff| and KL per path (graphs where the device has them)."""
    graphs = rt.device.type == "cuda"
    companions = [{"input_ids": prompt[:, : max(2, prompt.shape[-1] // d)]} for d in (2, 3)]
    try:
        report = parity.teacher_forced(rt, {"input_ids": prompt}, PARITY_STEPS, companions, graphs=graphs)
    except Exception as err:  # reported, not raised: the speed numbers stand
        return {"status": f"error: {type(err).__name__}: {str(err)[:200]}"}
    out = {"status": "ok", "graphs": graphs, "steps": PARITY_STEPS, "kl_goal": KL_GOAL}
    for path, diffs in report.items():
        worst = parity.worst(diffs)
        out[path] = {"max_abs": worst.max_abs, "kl": worst.kl, "met": worst.kl <= KL_GOAL}
    return out
