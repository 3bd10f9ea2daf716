"""Where a CPU token step loses time: memory-mapped weights and a second OpenMP pool, in one run.

Owns: one measurement on SmolLM2-135M (float32, torch, CPU), a token step's
median time in three cases, in this order in one process:

1. weights left memory-mapped from the safetensors file (transformers' default);
2. the same weights copied into the process's own memory (`torch_runtime._own_memory`,
   what the engine does after a CPU load);
3. as 2, while another live thread has run torch work and so holds an OpenMP
   pool of its own (what a model loaded on the main thread did to the
   scheduler's thread before loads moved to a thread of their own).

Prints the table with each case's ratio to case 2 (recorded in docs/BENCHMARKS.md).
Case 1 depends on how the kernel holds the file's page cache: run it after
`echo 3 > /proc/sys/vm/drop_caches` (root) to see what a fresh start sees.

    python bench/bench_cpu_step.py [--steps 40]
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

import torch  # noqa: E402


def step_ms(model, steps: int) -> float:
    """Median ms of a one-token step after a 40-token prompt."""
    ids = torch.arange(100, 140).view(1, -1)
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True)
        cache, times = out.cache, []
        for i in range(steps + 5):
            t0 = time.perf_counter()
            model(input_ids=torch.tensor([[5]]), cache=cache, use_cache=True)
            if i >= 5:
                times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    args = ap.parse_args(argv)
    from transformers import AutoModelForCausalLM

    from engine.runtimes.torch_runtime import _own_memory, smollm2_base_folder

    model = AutoModelForCausalLM.from_pretrained(smollm2_base_folder(), dtype=torch.float32).eval()
    t_mapped = step_ms(model, args.steps)
    _own_memory(model)
    t_own = step_ms(model, args.steps)
    stop = threading.Event()

    def other() -> None:  # a thread that has run torch work and stays alive
        torch.randn(256, 256) @ torch.randn(256, 256)
        stop.wait()

    holder = threading.Thread(target=other, daemon=True)
    holder.start()
    time.sleep(0.2)  # let it run its product; it then waits, holding its pool
    t_two = step_ms(model, args.steps)
    stop.set()
    rows = [
        ("weights memory-mapped from the file", t_mapped),
        ("weights in the process's own memory (the engine's load)", t_own),
        ("as above, another live thread holding an OpenMP pool", t_two),
    ]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    lines = [f"`python bench/bench_cpu_step.py --steps {args.steps}`; SmolLM2-135M float32; {machine}.", "",
             "| case | token step (median) | ÷ engine's load |", "|---|---|---|",
             *(f"| {name} | {ms:.1f} ms | {ms / t_own:.2f}× |" for name, ms in rows)]  # fmt: skip
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
