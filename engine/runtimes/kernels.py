"""Which kernels each phase of a decode runs: the written rule, and the switch that applies it.

Owns: `linear_kernels` (gated-delta-net and causal-conv kernels per phase),
`experts_for` (the MoE experts implementation per phase), and
`torch_linear_kernels` (a context in which Qwen3.5's modules call
transformers' PyTorch reference functions instead of flash-linear-attention's
/ causal-conv1d's). Leaves the phases to `slot_batch.py` and `fast_step.py`,
and measuring the rule to bench/gpu_bench.py.

The rule (GPU speed unmeasured; the reasons are launch counts):
- prefill (many tokens): the fast kernels where installed (fla's chunked
  delta rule, causal-conv1d): one long sequence, where they win by far;
- a one-token step inside a CUDA graph: the fast kernels too (a replay has
  no launch cost, and they are a few fused kernels);
- an eager one-token step on a GPU: transformers' PyTorch functions (a Triton
  kernel's Python-side launch costs more than one token's arithmetic; the
  reference is a few small tensor ops);
- a CPU: always the PyTorch functions (fla and causal-conv1d are CUDA-only).
Experts: never the eager loop inside a graph (it reads the routing back to
the host, which a capture refuses); `grouped_mm` where graphs run or on a GPU
(one kernel for all experts), otherwise the model's own choice. All three
implementations give the eager block's logits within float rounding on the
CPU (tests/test_slot_batch.py).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

LINEAR_FUNCTIONS = ("causal_conv1d_update", "causal_conv1d_fn", "torch_chunk_gated_delta_rule",
                    "torch_recurrent_gated_delta_rule")  # fmt: skip
PHASES = ("prefill", "graph-step", "eager-step")


def linear_kernels(phase: str, device_type: str, fast_installed: bool) -> str:
    """`fast` (fla / causal-conv1d) or `torch` (transformers' reference) for `phase` (see the rule)."""
    if phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; expected one of {PHASES}")
    if device_type != "cuda" or not fast_installed:
        return "torch"
    return "torch" if phase == "eager-step" else "fast"


def experts_for(phase: str, device_type: str, current: str | None) -> str | None:
    """The MoE `experts_implementation` for `phase` (None: a dense model, leave it)."""
    if current is None:
        return None
    if phase == "graph-step" or device_type == "cuda":
        return "grouped_mm"
    return current


@contextlib.contextmanager
def torch_linear_kernels() -> Iterator[None]:
    """Make the qwen3_5 modules call transformers' PyTorch gated-delta-net/conv functions, not fla's.
    Module-wide while it lasts: hold it only around a step of the one thread that runs the model."""
    import transformers.models.qwen3_5.modeling_qwen3_5 as dense
    import transformers.models.qwen3_5_moe.modeling_qwen3_5_moe as moe

    saved = [(mod, n, getattr(mod, n)) for mod in (dense, moe) for n in LINEAR_FUNCTIONS if hasattr(mod, n)]
    try:
        for mod, n, fn in saved:
            setattr(mod, n, _torch_only(fn))
        yield
    finally:
        for mod, n, fn in saved:
            setattr(mod, n, fn)


def _torch_only(fn: Any) -> Any:
    ref = inspect.unwrap(fn)
    params = inspect.signature(ref).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())

    def call(*args: Any, **kwargs: Any) -> Any:
        return ref(*args, **(kwargs if takes_any else {k: v for k, v in kwargs.items() if k in params}))

    return call


def fast_installed() -> bool:
    """Whether transformers finds flash-linear-attention (the fast delta rule)."""
    from transformers.utils.import_utils import is_flash_linear_attention_available

    return bool(is_flash_linear_attention_available())
