"""The step interface: what the decode loop needs from a loaded model.

Owns: `StepRuntime`, the small protocol that `decode.py` (one run) and the
batching scheduler (many runs) drive, and that every runtime implements: the
torch runtime (`engine/runtimes/torch_runtime.py`) and the llama.cpp runtime
(`engine/runtimes/llamacpp.py`). A run is a prefill, then one step per token, each
step fed either a token id or an embedding (a SwiReasoning soft mix, built by
the loop from `embed`). Nothing here runs a model.

Positions are absolute (prompt length + steps so far); a runtime may ignore
them where its cache knows them, but multimodal-rope models need them.
Callers hold `lock` for the whole run: a runtime serves one run at a time
unless it says it batches (`engine/runtimes/scheduler.py`).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

import torch


class StepRuntime(Protocol):
    name: str  # preset name, or the id/file the user gave
    source: str  # what was loaded
    tokenizer: Any  # a transformers tokenizer (encode, decode, chat template, token ids)
    processor: Any | None  # None for text-only models
    modalities: frozenset[str]
    trim_margins: bool  # pictures are cropped to their content before the processor (`media.trim_margins`)
    context_length: int
    device: torch.device  # where `embed` and the logits live
    lock: threading.Lock
    embed: torch.Tensor  # [V, H] input embedding matrix, read by soft mixes
    eos_ids: frozenset[int]
    math_ids: frozenset[int]  # tokens SwiReasoning always decodes explicitly (set once, at load)
    line_end_ids: frozenset[int]  # tokens whose text ends a line (set once, at load)

    @property
    def has_think_tokens(self) -> bool: ...

    def prefill(self, inputs: dict[str, Any]) -> tuple[torch.Tensor, Any]:
        """Run the prompt (`input_ids`, and pixel inputs for media); return the last
        position's logits `[V]` and the run's cache."""
        ...

    def step_ids(self, token: int, cache: Any, position: int) -> torch.Tensor:
        """Feed one token id at `position`; return logits `[V]`."""
        ...

    def step_embeds(self, embedding: torch.Tensor, cache: Any, position: int) -> torch.Tensor:
        """Feed one input embedding `[H]` at `position`; return logits `[V]`."""
        ...

    def mix(self, probs: torch.Tensor) -> torch.Tensor:
        """The soft mixes of whole distributions, `probs @ embed`: `[k, V] -> [k, H]`."""
        ...
