"""The torch runtime's batch cache: many rows' transformers caches as one, for the scheduler.

Owns: `Batch` (what the scheduler asks of any runtime's batch cache) and
`TorchBatch` (left-padded keys/values of full-attention layers, stacked
conv/recurrent states of gated-delta-net layers, each row's padding and
multimodal rope delta). Rows that arrive together are prefilled in one
left-padded forward (`TorchBatch.prefill_group`) when every layer is attention
and the prompts are text: padding is masked out of keys and values, so it
costs nothing but compute. A gated-delta-net layer would run its recurrence
over the padding (its state has no mask), and multimodal rope needs each row's
own position grid, so Qwen3.5 rows and rows with images are prefilled one at a time.

Joining at the next step works for both of Qwen3.5's layer types: a
full-attention layer's keys and values are left-padded to a common length
(the padding masked out, each row keeping its own positions), and a
gated-delta-net layer's conv and recurrent states have no length at all,
so rows are stacked as they are.

Leaves admitting, stepping and dropping rows to `scheduler.py`, and building
the batch to the runtime (`torch_runtime.Runtime.new_batch`); the llama.cpp
runtime batches with its own sequence ids (`LlamaBatch` in `llamacpp.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from engine.runtimes.layers import has_linear_attention


class Batch(Protocol):
    """A runtime's cache for the rows decoded together (in the scheduler's row order)."""

    def prefill(self, inputs: dict[str, Any]) -> torch.Tensor: ...  # a joining row's first logits [V]
    # optional: def prefill_group(self, group: list[dict]) -> list[torch.Tensor] | None
    def keep(self, indices: list[int]) -> None: ...
    def step(self, inputs: list[int | torch.Tensor], positions: list[int]) -> torch.Tensor: ...  # [B, V]


@dataclass
class TorchBatch:
    """Batched transformers cache: left-padded keys/values, stacked linear-attention states."""

    rt: Any  # engine.runtimes.torch_runtime.Runtime (not imported: the runtime imports this)
    cache: Any = None
    pads: list[int] = field(default_factory=list)  # left padding of each row
    deltas: list[int] = field(default_factory=list)  # each row's multimodal rope delta
    length: int = 0  # padded length of the cached positions

    def prefill(self, inputs: dict[str, Any]) -> torch.Tensor:
        """Prefill a joining row alone, then join its cache to the batch; its first logits `[V]`."""
        logits, cache = self.rt.prefill(inputs)
        self.join(cache, self.rt.rope_delta)
        return logits

    def prefill_group(self, group: list[dict[str, Any]]) -> list[torch.Tensor] | None:
        """Prefill several joining text rows in one left-padded forward and join them; each
        row's first logits `[V]`, or None (nothing done) when these rows cannot share one."""
        rt = self.rt
        if rt.mrope or rt.fast is not None or has_linear_attention(rt.model):
            return None
        if any(set(inputs) - {"input_ids", "attention_mask"} for inputs in group):
            return None
        ids = [inputs["input_ids"].reshape(-1) for inputs in group]
        n = max(len(x) for x in ids)
        pads = [n - len(x) for x in ids]
        input_ids = torch.stack([torch.nn.functional.pad(x, (p, 0)) for x, p in zip(ids, pads, strict=True)])
        mask = (torch.arange(n).unsqueeze(0) >= torch.tensor(pads).unsqueeze(1)).long()  # [B, n]
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out = rt.model(input_ids=input_ids.to(rt.device), attention_mask=mask.to(rt.device),
                       position_ids=positions.to(rt.device), use_cache=True, logits_to_keep=1)  # fmt: skip
        self.join(out.cache, 0, pads)
        return list(out.logits[:, -1])

    def join(self, cache: Any, rope_delta: int, pads: list[int] | None = None) -> None:
        """Append the rows of `cache` (left-padded by `pads`, none by default) to the batch."""
        pads = pads or [0]
        n = _cached_length(cache)
        if self.cache is None:
            self.cache, self.pads, self.deltas, self.length = cache, list(pads), [rope_delta] * len(pads), n
            return
        grow, shift = max(0, n - self.length), max(0, self.length - n)
        for mine, theirs in zip(self.cache.layers, cache.layers, strict=True):
            _merge_layer(mine, theirs, grow, shift)
        self.pads = [p + grow for p in self.pads] + [p + shift for p in pads]
        self.deltas += [rope_delta] * len(pads)
        self.length = max(self.length, n)

    def keep(self, indices: list[int]) -> None:
        if not indices:
            self.cache, self.pads, self.deltas, self.length = None, [], [], 0
            return
        idx = torch.tensor(indices, device=self.rt.device)
        for layer in self.cache.layers:
            _select_layer(layer, idx)
        self.pads = [self.pads[i] for i in indices]
        self.deltas = [self.deltas[i] for i in indices]
        trim = min(self.pads)  # columns every row pads: drop them
        if trim:
            for layer in self.cache.layers:
                _trim_layer(layer, trim)
            self.pads, self.length = [p - trim for p in self.pads], self.length - trim

    def step(self, inputs: list[int | torch.Tensor], positions: list[int]) -> torch.Tensor:
        rt, b = self.rt, len(inputs)
        embed = rt.model.get_input_embeddings()
        rows = [embed(torch.tensor([x], device=rt.device))[0] if isinstance(x, int) else x for x in inputs]
        embeds = torch.stack([r.to(embed.weight.dtype) for r in rows]).unsqueeze(1)  # [B, 1, H]
        mask = torch.ones(b, self.length + 1, dtype=torch.long, device=rt.device)  # [B, L + 1]
        for i, pad in enumerate(self.pads):
            mask[i, :pad] = 0
        pos = torch.tensor([p + d for p, d in zip(positions, self.deltas, strict=True)], device=rt.device)
        pos = pos.view(1, b, 1).expand(3, b, 1) if rt.mrope else pos.view(b, 1)
        out = rt.model(
            inputs_embeds=embeds, attention_mask=mask, position_ids=pos, cache=self.cache, use_cache=True
        )
        self.length += 1
        return out.logits[:, -1]  # [B, V]


def _cached_length(cache: Any) -> int:
    return int(cache.get_seq_length())


def _pad_left(x: torch.Tensor, n: int) -> torch.Tensor:
    """Left-pad the length dimension (-2) of `[B, heads, L, d]` with n zero positions."""
    if n == 0:
        return x
    return torch.nn.functional.pad(x, (0, 0, n, 0))


def _kv(layer: Any) -> bool:
    return getattr(layer, "keys", None) is not None and getattr(layer, "is_initialized", False)


def _states(layer: Any) -> list[dict]:
    return [d for d in (getattr(layer, "conv_states", None), getattr(layer, "recurrent_states", None)) if d]


def _merge_layer(mine: Any, theirs: Any, pad_mine: int, pad_theirs: int) -> None:
    if _kv(mine):
        mine.keys = torch.cat([_pad_left(mine.keys, pad_mine), _pad_left(theirs.keys, pad_theirs)])
        mine.values = torch.cat([_pad_left(mine.values, pad_mine), _pad_left(theirs.values, pad_theirs)])
    for a, b in zip(_states(mine), _states(theirs), strict=True):
        for k in a:
            a[k] = torch.cat([a[k], b[k]])


def _select_layer(layer: Any, idx: torch.Tensor) -> None:
    if _kv(layer):
        layer.keys, layer.values = layer.keys[idx], layer.values[idx]
    for states in _states(layer):
        for k in states:
            states[k] = states[k][idx]


def _trim_layer(layer: Any, n: int) -> None:
    if _kv(layer):
        layer.keys, layer.values = layer.keys[:, :, n:], layer.values[:, :, n:]
