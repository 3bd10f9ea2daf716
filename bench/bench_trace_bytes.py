"""Bytes and server time per streamed update: the live trace chart vs gr.LinePlot.

Owns: one measurement run. A tiny gr.Blocks app on a loopback port streams
4,000 fake SwiReasoning steps through a generator that yields every N steps
(the app's throttling), once into `rio_app.trace_chart.TraceChart` and once
into a `gr.LinePlot` fed a growing DataFrame (and, for the record, into a
gr.HTML fed one small list per step, the layout the chart does not use). A plain HTTP client reads the
queue's SSE stream and counts the bytes of every update (uncompressed); the
generator measures the server time per update as the gap between handing a
value over and being asked for the next one (postprocess + diff + send).
Prints a markdown table and writes it to docs/benchmarks/trace.md.

    python bench/bench_trace_bytes.py [--steps 4000] [--every 10] [--out docs/benchmarks/trace.md]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import socket
import statistics
import sys
import time
import uuid
from pathlib import Path

import gradio as gr
import httpx
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.events import Step  # noqa: E402
from rio_app.trace_chart import TraceChart, append_steps, chart_meta, chart_value  # noqa: E402
from rio_app.visualize import step_rows  # noqa: E402

MARKS = (100, 1000, 4000)
GAPS: dict[str, list[float]] = {}  # method -> server seconds per update


def fake_steps(n: int, seed: int = 0) -> list[Step]:
    """A SwiReasoning-like run: noisy entropy, switches when it crosses the reference."""
    rnd, out, mode, ref, since = random.Random(seed), [], "latent", 0.0, 0
    for t in range(n):
        h = abs(1.2 + math.sin(t / 37) * 0.9 + rnd.gauss(0, 0.35))
        sw = None
        if t == 0:
            ref = h
        elif mode == "latent" and h < ref * 0.5:
            mode, sw, ref, since = "explicit", "to_explicit", h, 0
        elif mode == "explicit" and h > ref and since >= 40:
            mode, sw, ref, since = "latent", "to_latent", h, 0
        since += 1
        latent = mode == "latent"
        mix = (
            tuple((2000 + k, f" tok{t % 50 + k}", round(0.5 / (k + 1), 3)) for k in range(5))
            if latent
            else ()
        )
        out.append(Step(t, 1000 + t, f" word{t}", h, ref, latent, sw, False, t % 250 == 1, "thinking", mix))
    return out


def timed(name: str, gen):
    """Wrap a generator: record the gap between each yield and the next resume."""
    GAPS[name] = []
    for item in gen:
        t0 = time.perf_counter()
        yield item
        GAPS[name].append(time.perf_counter() - t0)


def chart_gen(steps: list[Step], every: int, skip: bool = True):
    value = chart_value(chart_meta("swir", 2))
    for i in range(0, len(steps), every):
        value = append_steps(value, steps[i : i + every])
        yield value
    if skip:
        yield gr.skip()


def rows_gen(steps: list[Step], every: int):
    """The same rows as one small list per step (the layout the chart does not use)."""
    value = {"meta": chart_meta("swir", 2), "rows": []}
    for i in range(0, len(steps), every):
        value = {"meta": value["meta"], "rows": value["rows"] + step_rows(steps[i : i + every])}
        yield value
    yield gr.skip()


def plot_gen(steps: list[Step], every: int):
    for i in range(every, len(steps) + 1, every):
        yield pd.DataFrame({"t": [s.t for s in steps[:i]], "entropy": [s.entropy for s in steps[:i]]})


def runner(name: str, make):
    """A generator function Gradio can stream from (it checks for one, not a lambda)."""

    def run():
        yield from timed(name, make())

    return run


def build_app(steps: list[Step], every: int) -> gr.Blocks:
    with gr.Blocks() as demo:
        chart, plot = TraceChart(), gr.LinePlot(x="t", y="entropy")
        runs = {
            "chart": (lambda: chart_gen(steps, every), chart),
            "chart_noskip": (lambda: chart_gen(steps, every, skip=False), chart),
            "rows": (lambda: rows_gen(steps, every), TraceChart()),
            "lineplot": (lambda: plot_gen(steps, every), plot),
        }
        for name, (make, out) in runs.items():
            gr.Button(name).click(runner(name, make), outputs=out, api_name=name, concurrency_limit=None)
    return demo


def fn_index(demo: gr.Blocks, api_name: str) -> int:
    return next(i for i, fn in demo.fns.items() if fn.api_name == api_name)


def stream_bytes(base: str, index: int) -> tuple[list[int], int]:
    """Run one event through the queue; bytes of each update and of the completion message."""
    session = uuid.uuid4().hex[:11]
    updates, final = [], 0
    with httpx.Client(base_url=base, timeout=600) as client:
        client.post("/gradio_api/queue/join", json={"data": [], "fn_index": index, "session_hash": session})
        with client.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as r:
            for line in r.iter_lines():
                if not line.startswith("data:"):
                    continue
                size = len(line.encode()) + 2  # the event's blank-line terminator
                msg = json.loads(line[5:]).get("msg")
                if msg == "process_generating":
                    updates.append(size)
                elif msg == "process_completed":
                    final = size
                    break
    return updates, final


def around(values: list[float], k: int, r: int = 5) -> float:
    return statistics.median(values[max(0, k - r) : k + r + 1])


def measure(demo: gr.Blocks, base: str, every: int, n: int) -> dict:
    results = {}
    for name in ("chart", "chart_noskip", "rows", "lineplot"):
        t0 = time.perf_counter()
        updates, final = stream_bytes(base, fn_index(demo, name))
        wall = time.perf_counter() - t0
        ks = [m // every - 1 for m in MARKS if m <= n]
        results[name] = {
            "bytes": [updates[k] for k in ks],
            "ms": [1000 * around(GAPS[name], k) for k in ks],
            "mean_ms": 1000 * statistics.fmean(GAPS[name]),
            "final": final,
            "updates": len(updates),
            "wall": wall,
        }
    return results


def table(results: dict, every: int, n: int) -> str:
    marks = " → ".join(f"{m:,}" for m in MARKS if m <= n)
    rows = [
        f"| how the trace is shown | bytes/update at {marks} steps | server ms/update at {marks} | mean server ms/update | completion message | updates | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    names = {
        "chart": "`TraceChart` (gr.HTML canvas), rows appended, ends with `yield gr.skip()`",
        "chart_noskip": "`TraceChart`, same, generator just returns",
        "rows": "gr.HTML fed the same rows as one list per step, `gr.skip()` at the end (not used)",
        "lineplot": "`gr.LinePlot` fed a growing DataFrame",
    }
    for key, label in names.items():
        r = results[key]
        b = " → ".join(f"{x:,}" for x in r["bytes"])
        ms = " → ".join(f"{x:.1f}" for x in r["ms"])
        mean = f"{r['mean_ms']:.1f}"
        rows.append(
            f"| {label} | {b} | {ms} | {mean} | {r['final']:,} B | {r['updates']} | {r['wall']:.1f} |"
        )
    return "\n".join(rows) + f"\n\nOne update every {every} steps ({n:,} steps in all)."


def write_doc(path: Path, text: str, every: int) -> None:
    machine = f"{os.cpu_count()} cores, no GPU, {platform.system()} {platform.machine()}, Python {platform.python_version()}"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    machine += f" (load average {load} at the end: the machine was shared)"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Live trace: bytes and server time per streamed update\n\n"
        f"Measured by `python bench/bench_trace_bytes.py --every {every}` on {machine}, "
        f"gradio {gr.__version__}; bytes counted on the queue's SSE stream (uncompressed), "
        "server ms = time from handing a value to Gradio until the generator is resumed "
        "(postprocess + diff + send), median of the 11 updates around the mark, and the mean over the run. All rows come from one run.\n\n"
        + text
        + "\n\n"
        "Reading it: every update of the chart carries only the new chunk (10 rows), so bytes per "
        "update do not depend on the trace length (the small rise is longer step numbers). Gradio "
        "still postprocesses and diffs the whole value each update; as a few chunk strings that walk "
        "stays short, while one list per step (or a DataFrame) makes it grow with the trace. Ending "
        "the generator with `yield gr.skip()` keeps the completion message small.\n",
        encoding="utf-8",
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs/benchmarks/trace.md"
    )
    args = ap.parse_args()
    demo = build_app(fake_steps(args.steps), args.every)
    port = free_port()
    demo.queue(default_concurrency_limit=None).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    try:
        results = measure(demo, f"http://127.0.0.1:{port}", args.every, args.steps)
    finally:
        demo.close()
    text = table(results, args.every, args.steps)
    print(text)
    c, p = results["chart"], results["lineplot"]
    print(
        f"\nbytes/update growth 100 → {MARKS[-1]}: chart x{c['bytes'][-1] / c['bytes'][0]:.2f}, lineplot x{p['bytes'][-1] / p['bytes'][0]:.2f}"
    )
    print(f"server ms at {MARKS[-1]} steps, lineplot / chart: x{p['ms'][-1] / c['ms'][-1]:.1f}")
    if args.out:
        write_doc(args.out, text, args.every)


if __name__ == "__main__":
    main()
