"""Batched decoding: aggregate tokens/s of N rows in one batch against one row alone, in one run.

Owns: one measurement. The same model and scheduler serve a single run (one
row), then N runs submitted at once to the batching scheduler (`engine.runtimes.scheduler`), each
with its own prompt, method and seed; every run decodes exactly
`--max-new-tokens` tokens (EOS is ignored by asking for CoT on prompts that
answer at length, and runs that end early are counted by the tokens they
made). Prints aggregate tokens/s, each row's own tokens/s, and the ratio to
one row, and writes docs/benchmarks/batching.md.

    python bench/bench_batching.py [--model smollm2-offline] [--rows 8] [--max-new-tokens 48]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.config import DecodeSettings, SamplingParams, SwirParams  # noqa: E402
from engine.events import Done, Step  # noqa: E402
from engine.prompt import Turn  # noqa: E402

PROMPTS = [
    "Write a long story about a lighthouse keeper and the sea.",
    "Explain in detail how bread is made, step by step.",
    "Describe a walk through a busy market in the morning.",
    "Tell me everything you know about volcanoes.",
    "Write a letter to a friend about your summer holidays.",
    "Explain how a bicycle works, part by part.",
    "Describe the life of a honey bee from egg to adult.",
    "Write a long poem about the mountains in winter.",
]


def settings(method: str, n: int, seed: int) -> DecodeSettings:
    return DecodeSettings(method=method, max_new_tokens=n, seed=seed, swir=SwirParams(window=16),
                          sampling=SamplingParams(greedy=method == "cot-greedy"))  # fmt: skip


def one_run(backend, prompt: str, s: DecodeSettings, out: list, k: int) -> None:
    t0, n, first = time.perf_counter(), 0, None
    for ev in backend.chat([Turn("user", prompt)], s):
        if isinstance(ev, Step):
            n += 1
            first = first or time.perf_counter()
        elif isinstance(ev, Done):
            out[k] = (n, time.perf_counter() - t0, (time.perf_counter() - first) if first else 0.0)


def measure(backend, rows: int, method: str, n: int) -> tuple[float, list[float]]:
    """(aggregate tokens/s, each row's own tokens/s) of `rows` runs submitted at once."""
    out: list = [None] * rows
    threads = [threading.Thread(target=one_run, args=(backend, PROMPTS[k % len(PROMPTS)],
                                                       settings(method, n, k), out, k)) for k in range(rows)]  # fmt: skip
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    total = sum(tokens for tokens, _, _ in out)
    own = [tokens / decode_s for tokens, _, decode_s in out if decode_s > 0]
    return total / wall, own


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-offline")
    ap.add_argument("--rows", type=int, default=8)
    ap.add_argument("--backend", choices=("local", "llamacpp"), default="local")
    ap.add_argument("--max-new-tokens", type=int, default=48)
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks/batching.md"))
    args = ap.parse_args(argv)
    from engine.backends.local import LocalBackend
    from engine.runtimes.torch_runtime import load_runtime

    if args.backend == "llamacpp":
        from engine.runtimes.llamacpp import LlamaOptions, load_llama

        rt = load_llama(args.model, LlamaOptions(n_ctx=1024, seqs=args.rows))
    else:
        rt = load_runtime(args.model)
    # one row and N rows both through the scheduler, so that both decode on its one thread
    # (a second thread decoding torch work would share the cores' OpenMP workers: engine/runtimes/threads.py)
    batched = LocalBackend(rt, max_batch_rows=args.rows)
    measure(batched, 1, "cot-greedy", 8)  # warm up
    lines = ["| method | one row tok/s | rows | aggregate tok/s | ratio | a row's own tok/s (median, min) |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for method in ("cot-greedy", "swir"):
        one, _ = measure(batched, 1, method, args.max_new_tokens)
        agg, own = measure(batched, args.rows, method, args.max_new_tokens)
        lines.append(f"| {method} | {one:.1f} | {args.rows} | {agg:.1f} | **{agg / one:.2f}×** | "
                     f"{statistics.median(own):.1f}, {min(own):.1f} |")  # fmt: skip
    batched.scheduler.close()
    load = os.getloadavg()[0]
    runtime = "llama.cpp" if args.backend == "llamacpp" else "torch CPU"
    machine = f"{platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at the end, {runtime}"
    text = "\n".join([f"## {args.model} on {runtime}, {args.max_new_tokens} new tokens", "",
                      f"`python bench/bench_batching.py --model {args.model} --rows {args.rows} --backend "
                      f"{args.backend}`; {machine}.", "",
                      *lines, ""])  # fmt: skip
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as f:  # one section per run
        f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
