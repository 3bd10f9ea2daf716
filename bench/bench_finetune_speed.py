"""Decode speed of smollm2-think against the SmolLM2 it was fine-tuned from, in one run.

Both models are loaded here and decode the same prompts with the same loop (`LocalBackend.chat`,
greedy CoT, a fixed number of new tokens at most), interleaved so that load changes hit both
alike; medians over repeats. The fine-tune has the base's shapes plus two vocabulary rows, so
the ratio should sit at 1. The fine-tune also runs with its calculator on (the preset's default:
the engine writes the results of the arithmetic in the thinking), whose cost is a text check per
step; that ratio should sit at 1 too.
Run: `python bench/bench_finetune_speed.py [--repeats 5] [--tokens 64]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.backends.local import LocalBackend  # noqa: E402
from engine.config import DecodeSettings  # noqa: E402
from engine.events import Done  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from engine.runtimes.torch_runtime import load_runtime  # noqa: E402

PROMPTS = (
    "Mia buys 3 packs of 6 pencils and 2 packs of 10 pencils. How many pencils does she buy?",
    "Write a two-line poem about rain.",
    "Uma prateleira tem 56 biscoitos. Tiago tira 34 e põe mais 12. Quantos biscoitos há na prateleira?",
)


def rate(backend: LocalBackend, prompt: str, settings: DecodeSettings) -> float:
    done = [e for e in backend.chat([Turn("user", prompt)], settings) if isinstance(e, Done)][-1]
    return done.summary.tokens_per_s or 0.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=64)
    args = ap.parse_args()
    backends = {n: LocalBackend(load_runtime(n, device="cpu")) for n in ("smollm2-offline", "smollm2-think")}
    plain = DecodeSettings(method="cot-greedy", max_new_tokens=args.tokens)
    runs = {  # label -> (backend, settings)
        "smollm2-offline": (backends["smollm2-offline"], plain),
        "smollm2-think": (backends["smollm2-think"], plain),
        "smollm2-think, calculator on": (backends["smollm2-think"], replace(plain, calculator=True)),
    }
    rates: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.repeats):
        for prompt in PROMPTS:
            for label, (backend, settings) in runs.items():
                rates[label].append(rate(backend, prompt, settings))
    print(f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    med = {label: statistics.median(r) for label, r in rates.items()}
    print("| model | tok/s (median) |\n|---|---|")
    for label, value in med.items():
        print(f"| {label} | {value:.1f} |")
    print(f"\nsmollm2-think / smollm2-offline: **{med['smollm2-think'] / med['smollm2-offline']:.3f}×**")
    print(f"calculator on / off: **{med['smollm2-think, calculator on'] / med['smollm2-think']:.3f}×**")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
