"""What a loaded model's layers are, read from its config: a leaf the runtime and its batch cache share.

Owns `has_linear_attention` (Qwen3.5's gated-delta-net layers: the kernel
notice of the torch runtime and the batch cache's grouped prefill both ask).
Imports nothing of the engine and loads nothing; leaves loading to
`torch_runtime.py` and batching to `batch_cache.py`.
"""

from __future__ import annotations

from typing import Any


def has_linear_attention(model: Any) -> bool:
    """Whether the model has Qwen3.5's gated-delta-net (linear-attention) layers."""
    config = getattr(model, "config", None)
    text = getattr(config, "text_config", None) or config
    return "linear_attention" in (getattr(text, "layer_types", None) or ())
