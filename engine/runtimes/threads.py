"""Which thread does a model's CPU work: loads on a thread of their own, decoding on one thread.

Owns: `on_own_thread` (run a call on a short-lived thread and hand back its
result or its error). Leaves the decode thread itself to the callers (the
batching scheduler's worker, or the thread that calls `decode`).

Why: torch and llama.cpp both parallelise with GNU OpenMP, and OpenMP keeps a
pool of worker threads for every thread that has run a parallel region, for as
long as that thread lives. Once the pooled workers outnumber the cores, libgomp
stops spinning between parallel regions and puts its workers to sleep, and
every small matrix product then pays for waking them. Measured on a 2-core
x86_64 with torch 2.14: a 576x1536 matrix-vector product takes 36 us on the
only thread that has a pool and 130 us on a second one; a SmolLM2-135M token
step 50 ms against 74 ms. A model loaded on the main thread (whose pool lives
as long as the process) therefore slowed every step the scheduler's thread ran
afterwards. Loading on a thread that ends leaves no pool behind, so the thread
that decodes is the only one with a pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def on_own_thread(fn: Callable[..., T], /, *args: object, name: str = "rio-load", **kwargs: object) -> T:
    """`fn(*args, **kwargs)` run on a new thread that ends with it; its result, or its error raised here."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as err:  # handed to the caller, traceback included
            box["error"] = err

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
