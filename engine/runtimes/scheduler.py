"""Many runs at once: a scheduler that decodes the rows of one batch together, each with its own policy.

Owns: `Scheduler` (a worker thread that owns the model: at every step
boundary it admits the requests waiting, up to `max_rows`, prefills them
(together where the batch cache can) and joins them to the batch, lets every row take its step — its own
method, settings, seed, policy state and stop flag, the same `decode.Row`
the single-run loop uses — sends each row's events to that row's consumer,
drops finished or cancelled rows at once, and runs one batched forward for
the rest). Nothing of a row leaks into another's entropy or soft mix: those
come from the row's own logits.

Leaves the caches to the runtimes, which hand it an empty one through
`new_batch`: the torch runtime's `TorchBatch` (`batch_cache.py`, which also
says when rows share one prefill), llama.cpp's `LlamaBatch` (`llamacpp.py`,
its own sequence ids).

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
from typing import Any

import torch

from engine.config import DecodeSettings
from engine.decode import Row, next_inputs
from engine.events import Event
from engine.steps import StepRuntime

log = logging.getLogger(__name__)


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
        # OpenMP pool ends with it (engine/runtimes/threads.py) and a replaced model's scheduler
        # leaves nothing behind; the next request starts a new one.
        self._thread: threading.Thread | None = None
        atexit.register(_close_at_exit, weakref.ref(self))

    def close(self) -> None:
        """Stop the worker after its current step (rows still running end there); later
        requests end at once. Both end "unloaded", not "cancelled": nobody pressed stop."""
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
                slot.end(row.done("unloaded"))
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
                        slot.end(slot.row.done("unloaded"))
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
