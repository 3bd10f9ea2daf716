"""Decode speed of the trained tiny-moe against the random tiny model of the same architecture.

Both are loaded in this run and decode the same held-out prompts (text, image, video from
tasks/tiny_moe/) with the same loop (`LocalBackend.chat`, greedy CoT and greedy SwiR, a fixed
number of new tokens at most), interleaved, medians over repeats. Prints the tokens/s of each
and the ratio trained / random; the numbers depend on the machine and its load, the ratio is
the point (the trained weights must decode as fast as any tiny model).
Run: `python bench/bench_tiny_moe.py [--repeats 3] [--tokens 48]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.local import LocalBackend  # noqa: E402
from engine.config import DecodeSettings, SamplingParams, SwirParams  # noqa: E402
from engine.events import Done  # noqa: E402
from engine.models.tiny_moe import ensure_random_tiny_moe  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from engine.runtimes.torch_runtime import load_runtime  # noqa: E402

TASKS = ROOT / "tasks" / "tiny_moe"


def prompts() -> list[Turn]:
    turns = []
    for name in ("text", "image", "shapes", "video"):
        task = json.loads((TASKS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()[0])
        images = tuple(str(TASKS / p) for p in task.get("images", []))
        videos = tuple(str(TASKS / p) for p in task.get("videos", []))
        turns.append(Turn("user", task["question"], images, videos))
    return turns


def rate(backend: LocalBackend, turn: Turn, settings: DecodeSettings) -> tuple[float, int]:
    done = [e for e in backend.chat([turn], settings) if isinstance(e, Done)][-1]
    return done.summary.tokens_per_s or 0.0, done.summary.tokens


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=48)
    args = ap.parse_args()
    backends = {
        "trained": LocalBackend(load_runtime("tiny-moe", device="cpu")),
        "random": LocalBackend(load_runtime(str(ensure_random_tiny_moe()), device="cpu")),
    }
    methods = {
        "cot-greedy": DecodeSettings(method="cot-greedy", max_new_tokens=args.tokens),
        "swir-greedy": DecodeSettings(method="swir", max_new_tokens=args.tokens,
                                      sampling=SamplingParams(greedy=True), swir=SwirParams(window=512)),
    }  # fmt: skip
    rates: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.repeats):
        for turn in prompts():
            for method, settings in methods.items():
                for name, backend in backends.items():  # interleaved: load changes hit both alike
                    r, _ = rate(backend, turn, settings)
                    rates.setdefault((name, method), []).append(r)
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print("| method | trained tok/s | random tok/s | trained / random |")
    print("|---|---|---|---|")
    for method in methods:
        t = statistics.median(rates[("trained", method)])
        r = statistics.median(rates[("random", method)])
        print(f"| {method} | {t:.1f} | {r:.1f} | {t / r:.3f}× |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
