"""Many runs at once: a scheduler that decodes the rows of one batch together, each with its own policy.

Owns: `Scheduler` (a worker thread that owns the model: at every step
boundary it admits the requests waiting, up to `max_rows`, prefills them
(together where it can, below) and joins them to the batch, lets every row take its step — its own
method, settings, seed, policy state and stop flag, the same `decode.Row`
the single-run loop uses — sends each row's events to that row's consumer,
drops finished or cancelled rows at once, and runs one batched forward for
the rest) and the torch runtime's batch cache (`TorchBatch`). The llama.cpp
runtime batches with its own sequence ids (`LlamaBatch` in llamacpp.py).

Rows that arrive together are prefilled in one left-padded forward
(`TorchBatch.prefill_group`) when every layer is attention and the prompts are
text: padding is masked out of keys and values, so it costs nothing but
compute. A gated-delta-net layer would run its recurrence over the padding
(its state has no mask), and multimodal rope needs each row's own position
grid, so Qwen3.5 rows and rows with images are prefilled one at a time.

Joining at the next step works for both of Qwen3.5's layer types: a
full-attention layer's keys and values are left-padded to a common length
(the padding masked out, each row keeping its own positions), and a
gated-delta-net layer's conv and recurrent states have no length at all,
so rows are stacked as they are. Nothing of a row leaks into another's
entropy or soft mix: those come from the row's own logits.

Exactness: a row gives the same greedy tokens in a batch as alone up to
float rounding of the batched matrix products (tested on SmolLM2 and the
tiny qwen3_5_moe, text and image).
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from engine.config import DecodeSettings
from engine.decode import Row, next_inputs
from engine.events import Event
from engine.runtime import has_linear_attention
from engine.steps import StepRuntime

log = logging.getLogger(__name__)


class Batch(Protocol):
    """A runtime's cache for the rows decoded together (in the scheduler's row order)."""

    def prefill(self, inputs: dict[str, Any]) -> torch.Tensor: ...  # a joining row's first logits [V]
    # optional: def prefill_group(self, group: list[dict]) -> list[torch.Tensor] | None
    def keep(self, indices: list[int]) -> None: ...
    def step(self, inputs: list[int | torch.Tensor], positions: list[int]) -> torch.Tensor: ...  # [B, V]


# ---------------------------------------------------------------- the torch batch


@dataclass
class TorchBatch:
    """Batched transformers cache: left-padded keys/values, stacked linear-attention states."""

    rt: Any  # engine.runtime.Runtime
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


# ---------------------------------------------------------------- the scheduler


@dataclass
class _Slot:
    """One request in the scheduler: its row (policy state, tallies), its consumer's queue,
    and the logits its next step reads."""

    row: Row
    inputs: dict[str, Any]
    stop: threading.Event | None = None  # the caller's stop flag: read here, never set
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    logits: torch.Tensor | None = None  # [V]

    @property
    def cancelled(self) -> bool:
        """The caller asked to stop, or the consumer left (the row's own flag)."""
        return self.row.cancel.is_set() or (self.stop is not None and self.stop.is_set())

    def send(self, item: Any) -> None:
        self.events.put(item)

    def end(self, item: Any = None) -> None:
        if item is not None:
            self.events.put(item)
        self.events.put(_END)


_END = object()  # the last item of a request's event queue


def _close_at_exit(ref: weakref.ref) -> None:
    if (scheduler := ref()) is not None:
        scheduler.close()


class Scheduler:
    """Decodes up to `max_rows` runs together on one runtime; `submit` from any thread."""

    def __init__(self, rt: StepRuntime, new_batch: Any, max_rows: int = 8) -> None:
        self.rt, self.new_batch, self.max_rows = rt, new_batch, max_rows
        self._waiting: deque[_Slot] = deque()
        self._wake = threading.Condition()
        self._closed = False
        # The worker runs while there is work and ends when the batch empties, so that its
        # OpenMP pool ends with it (engine/threads.py) and a replaced model's scheduler
        # leaves nothing behind; the next request starts a new one.
        self._thread: threading.Thread | None = None
        atexit.register(_close_at_exit, weakref.ref(self))

    def close(self) -> None:
        """Stop the worker after its current step (rows still running end there); later
        requests end at once, cancelled."""
        with self._wake:
            self._closed = True
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    @property
    def running(self) -> bool:
        """Whether a worker thread is alive (it ends when the batch empties)."""
        with self._wake:
            return self._thread is not None

    def submit(
        self,
        inputs: dict[str, Any],
        settings: DecodeSettings,
        cancel: threading.Event | None = None,
        *,
        opens_thinking: bool = False,
    ) -> Iterator[Event]:
        """Queue a prepared prefill; yield its events as the batch produces them.
        Setting `cancel` stops the row at the next step; the scheduler never sets it (several
        rows may share one, e.g. a race's two). Closing the iterator (a client that left)
        sets the row's own flag, which cancels this row only."""
        ids = tuple(int(i) for i in inputs["input_ids"].reshape(-1).tolist())
        row = Row(self.rt, settings, ids, opens_thinking=opens_thinking, cancel=threading.Event())
        slot = _Slot(row, inputs, cancel)
        yield row.started()
        with self._wake:
            if self._closed:
                slot.end(row.done("cancelled"))
            else:
                self._waiting.append(slot)
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="rio-batch", daemon=True)
                    self._thread.start()
                self._wake.notify()
        try:
            while (item := slot.events.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            row.cancel.set()

    # ---- the worker ------------------------------------------------------
    def _run(self) -> None:
        live: list[_Slot] = []
        batch: Any = None
        while True:
            with self._wake:
                if self._closed:
                    for slot in [*live, *self._waiting]:
                        slot.end(slot.row.done("cancelled"))
                    self._waiting.clear()
                    self._thread = None
                    return
                if not live and not self._waiting:  # idle: end (submit starts the next worker)
                    self._thread = None
                    return
                room = self.max_rows - len(live)
                joining = [self._waiting.popleft() for _ in range(min(room, len(self._waiting)))]
            with self.rt.lock, torch.inference_mode():
                batch = batch or self.new_batch(self.rt)
                live += self._admit(joining, batch)
                live, batch = self._step(live, batch)

    def _admit(self, joining: list[_Slot], batch: Any) -> list[_Slot]:
        """Prefill the joining requests (together where the batch can) and join them to the
        batch; a failure ends that request only. The ones admitted."""
        waiting, joining = joining, []
        for slot in waiting:
            if slot.cancelled:
                slot.end(slot.row.done("cancelled"))
            else:
                joining.append(slot)
        group = getattr(batch, "prefill_group", None)
        if group is not None and len(joining) > 1:
            try:
                logits = group([slot.inputs for slot in joining])
            except Exception:  # the batch is untouched: retry one at a time, so a bad request ends alone
                log.exception("grouped prefill failed; prefilling one at a time")
                logits = None
            if logits is not None:
                for slot, first in zip(joining, logits, strict=True):
                    slot.logits = first
                return joining
        return [slot for slot in joining if self._admit_one(slot, batch)]

    def _admit_one(self, slot: _Slot, batch: Any) -> bool:
        try:
            slot.logits = batch.prefill(slot.inputs)
        except Exception as err:
            log.exception("prefill failed")
            slot.end(err)
            return False
        return True

    def _step(self, slots: list[_Slot], batch: Any) -> tuple[list[_Slot], Any]:
        """One step for every row: choose and emit; drop the finished; one batched forward."""
        live, keep = [], []
        for i, slot in enumerate(slots):
            row = slot.row
            slot.send(row.step(slot.logits))
            if row.stop is None and slot.cancelled:
                row.stop = "cancelled"
            if row.stop is not None:
                slot.end(row.done())
                continue
            live.append(slot)
            keep.append(i)
        if len(keep) < len(slots):
            batch.keep(keep)
        if not live:
            return [], None
        try:
            logits = batch.step(next_inputs([s.row for s in live]), [s.row.position for s in live])  # [B, V]
        except Exception as err:  # a fault in the batched forward ends every row in it
            log.exception("batched step failed")
            for slot in live:
                slot.end(err)
            return [], None
        for k, slot in enumerate(live):
            slot.logits = logits[k]
        return live, batch
