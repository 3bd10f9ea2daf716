"""Batched decode over a static per-slot cache, replayed as one CUDA graph per batch-size bucket.

Owns: `SlotBatch` (the scheduler's `Batch` for the torch runtime on the fast
path: every row lives in a slot of fixed buffers, full-attention keys/values
`[S, heads, L, d]` written at each row's own length and read under each
row's own mask, gated-delta-net conv `[S, C, k]` and recurrent
`[S, heads, dk, dv]` states per slot; one input-embedding buffer `[S, 1, H]`
that a token row's lookup and a latent row's soft embedding `p @ E` enter
alike), `_SlotCache` (what the model's layers see during a step), and the
pure bookkeeping the tests check without a model: `bucket_sizes`,
`bucket_for`, `compact` (which slots the kept rows take, which states move).
Leaves admitting and stepping rows to `scheduler.py`, choosing this path to
`torch_runtime.Runtime.new_batch` (`batch_path`), the plain dynamic batch to
`batch_cache.py`, and the single-run static cache to `fast_step.py`.

Rows occupy slots 0..n-1: a row joins at slot n; when rows leave, the rows
above the new n move down into the freed slots (their states copied once),
so a step for n rows is the graph of the smallest bucket >= n (1, 2, 4, 8,
16, ... up to the batch's rows) over the first `bucket` slots, and rows come
and go without a recapture. Slots past n in a bucket compute on stale
inputs; rows never mix, so nothing of theirs reaches a live row. Prefill stays eager
(the runtime's own dynamic-cache prefill), its states then copied into the
row's slot. The last key column is scratch: a capture's warm-up steps write
there, and the live slots' linear-attention states are saved and restored
around it, so a bucket may be captured while rows are running. A row that
reaches the scratch column grows every buffer to twice the length (graphs
dropped and captured again on use).

Why not transformers' continuous batching (`generation/continuous_batching`,
5.25): its paged cache allocates only full- and sliding-attention layers
(`group_layers_by_attn_type` raises on `linear_attention`, so Qwen3.5's
gated-delta-net layers have no state there), and its requests are token-id
lists fed by its own loop: there is no seam for a per-row input embedding at
each step, which a latent row needs. The slot cache here reuses the model's
own layers through the cache methods they already call.

Exactness: a step reads the same weights with the same kernels as the eager
dynamic step; the differences are the batched matrix products and the
attention over a masked, longer key buffer (float rounding: 1e-6 in float32,
tests/test_slot_batch.py; engine/runtimes/parity.py reports it per step).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import torch

from engine.runtimes import kernels
from engine.runtimes.layers import has_linear_attention

log = logging.getLogger(__name__)

DEFAULT_LENGTH = 2048  # key columns per slot of a new batch (grows by doubling)
WARMUP_STEPS = 2  # eager steps before a capture (lazy inits, autotuning)


# ---- pure decisions --------------------------------------------------------------
PATHS = ("single", "graph", "static", "eager")


def choose_path(
    *, rows: int, zero_gpu: bool, mode: str, one_cuda_device: bool,
    no_static: str | None, no_graph: str | None,
) -> str:  # fmt: skip
    """How a torch runtime serves its runs (one of `PATHS`).

    `single`: no scheduler, one run at a time through `decode` (the single-run fast step
    where it is on): `rows` <= 1, or ZeroGPU, whose GPU exists only inside each `spaces.GPU`
    call, so a scheduler thread outliving the call would have none. `graph`: slot batch
    with CUDA graphs (one CUDA device, `mode` auto or on). `static`: the same slots without
    graphs (`mode` static, or on without CUDA, or graphs refused: `no_graph`). `eager`:
    today's dynamic batch (`batch_cache.TorchBatch`): `mode` off, auto on a CPU or over
    several devices (accelerate), or no static cache for this model (`no_static`).
    `mode` is `$RIO_FAST_STEP` (auto, on, static, off), as for the single-run step.
    """
    if zero_gpu or rows <= 1:
        return "single"
    if mode in ("0", "off", "false", "no") or no_static:
        return "eager"
    if mode == "auto" and not one_cuda_device:
        return "eager"
    if mode == "static" or not one_cuda_device or no_graph:
        return "static"
    return "graph"


# ---- pure bookkeeping ----------------------------------------------------------
def bucket_sizes(max_rows: int) -> tuple[int, ...]:
    """The batch sizes graphs are captured for: powers of two below `max_rows`, and `max_rows`."""
    sizes, b = [], 1
    while b < max_rows:
        sizes.append(b)
        b *= 2
    return (*sizes, max(1, max_rows))


def bucket_for(n: int, sizes: tuple[int, ...]) -> int:
    """The smallest bucket that holds n rows."""
    for size in sizes:
        if size >= n:
            return size
    raise ValueError(f"{n} rows exceed the largest bucket ({sizes[-1]})")


def compact(slots: list[int], keep: list[int]) -> tuple[list[int], list[tuple[int, int]]]:
    """Keep rows `keep` (indices into `slots`, in order): their new slots, all below the new
    row count, and the state moves `(from, to)` that make it so."""
    kept = [slots[i] for i in keep]
    n, used = len(kept), set(kept)
    free = [s for s in range(n) if s not in used]
    out, moves = [], []
    for s in kept:
        if s >= n:
            dst = free.pop(0)
            moves.append((s, dst))
            s = dst
        out.append(s)
    return out, moves


# ---- what the layers see -------------------------------------------------------
class _SlotCache:
    """The cache object handed to the model for one step of `b` slots (views of the batch's buffers).

    Implements what transformers' full-attention and gated-delta-net layers call
    during a one-token step; a prompt (more than one token) never comes here."""

    def __init__(self, batch: SlotBatch) -> None:
        self.batch, self.b = batch, 1

    def update(self, key: torch.Tensor, value: torch.Tensor, layer_idx: int, *_, **__) -> tuple:
        s, b = self.batch, self.b
        idx = s.index[:b].view(b, 1, 1, 1).expand(b, key.shape[1], 1, key.shape[3])  # [b, h, 1, d]
        keys, values = s.keys[layer_idx][:b], s.values[layer_idx][:b]  # [b, h, L, d]
        keys.scatter_(2, idx, key)
        values.scatter_(2, idx.expand(b, value.shape[1], 1, value.shape[3]), value)
        return keys, values

    def get_conv_state(self, layer_idx: int, state_idx: int = 0) -> torch.Tensor:
        return self.batch.conv[layer_idx][: self.b]  # [b, C, k]

    def get_recurrent_state(self, layer_idx: int, state_idx: int = 0) -> torch.Tensor:
        return self.batch.rec[layer_idx][: self.b]  # [b, heads, dk, dv]

    def update_recurrent_state(self, state: torch.Tensor, layer_idx: int, *_, **__) -> torch.Tensor:
        return self.batch.rec[layer_idx][: self.b].copy_(state)

    def update_conv_state(self, *_, **__) -> torch.Tensor:
        raise RuntimeError("a slot step is one token; prompts are prefilled eagerly")

    def is_recording_past(self, layer_idx: int) -> bool:
        return False

    def get_recurrent_states_to_keep(self, layer_idx: int | None = None) -> int:
        return 0

    def increase_count(self, layer_idx: int, state_idx: int = 0) -> None:
        pass

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return 1  # never 0: the model must not take a step for a prefill


# ---- the batch -------------------------------------------------------------------
class SlotBatch:
    """Static per-slot cache for up to `max_rows` rows; `graphs` replays one CUDA graph per bucket."""

    def __init__(self, rt: Any, max_rows: int, *, graphs: bool, length: int = DEFAULT_LENGTH) -> None:
        self.rt, self.model, self.graphs = rt, rt.model, graphs
        self.sizes = bucket_sizes(max_rows)
        self.length = min(length, int(getattr(rt, "context_length", 0) or length) + 1)
        self.slots: list[int] = []  # scheduler row i lives in slot slots[i]
        self.deltas: list[int] = []  # each row's multimodal rope delta
        self.captured: dict[int, tuple[Any, torch.Tensor]] = {}  # bucket -> (graph, logits [b, 1, V])
        self.disabled: str | None = None  # why graphs were turned off
        self.linear = has_linear_attention(self.model)
        self.keys: dict[int, torch.Tensor] = {}
        self.values: dict[int, torch.Tensor] = {}
        self.conv: dict[int, torch.Tensor] = {}
        self.rec: dict[int, torch.Tensor] = {}
        self.view = _SlotCache(self)
        self.ready = False
        self._pick_kernels()

    def _pick_kernels(self) -> None:
        """Apply `kernels`' rule: experts fit for a graph; the eager step's linear-attention kernels."""
        dev = self.rt.device.type
        text = self.model.config.get_text_config(decoder=True)
        current = (
            getattr(text, "_experts_implementation", None) if getattr(text, "num_experts", None) else None
        )
        want = kernels.experts_for("graph-step" if self.graphs else "eager-step", dev, current)
        if want != current and hasattr(self.model, "set_experts_implementation"):
            self.model.set_experts_implementation(want)
        fast = self.linear and dev == "cuda" and kernels.fast_installed()
        self.eager_torch_kernels = kernels.linear_kernels("eager-step", dev, fast) == "torch" and fast

    @property
    def mode(self) -> str:
        """`graph`, `static` (the same buffers without graphs), or `static (graphs off: why)`."""
        if self.disabled:
            return f"static (graphs off: {self.disabled})"
        return "graph" if self.graphs else "static"

    # ---- the Batch protocol ----------------------------------------------------
    def prefill(self, inputs: dict[str, Any]) -> torch.Tensor:
        """Prefill a joining row eagerly, copy its states into the next slot; its first logits `[V]`."""
        logits, cache = self.rt.prefill(inputs)
        n = int(inputs["input_ids"].shape[-1])
        if n + 1 >= self.length:
            self._grow(n + 1)
        if not self.ready:
            self._allocate(cache)
        slot = len(self.slots)
        self._store(slot, cache, n)
        self.slots.append(slot)
        self.deltas.append(int(getattr(self.rt, "rope_delta", 0)))
        return logits

    def keep(self, indices: list[int]) -> None:
        self.slots, moves = compact(self.slots, indices)
        self.deltas = [self.deltas[i] for i in indices]
        for src, dst in moves:
            self._move(src, dst)

    def step(self, inputs: list[int | torch.Tensor], positions: list[int]) -> torch.Tensor:
        """One token for every row (ids or embeddings `[H]`); logits `[n, V]` in row order."""
        n = len(inputs)
        if max(positions) + 1 >= self.length:
            self._grow(max(positions) + 1)
        b = bucket_for(n, self.sizes)
        order = torch.tensor(self.slots, device=self.rt.device)  # [n]
        self._load(order, inputs, positions)
        if self.graphs and b not in self.captured:
            self._try_capture(b)
        if self.graphs:
            graph, out = self.captured[b]
            graph.replay()
        else:
            with kernels.torch_linear_kernels() if self.eager_torch_kernels else contextlib.nullcontext():
                out = self._forward(b)  # [b, 1, V]
        return out[order, -1]  # [n, V], a gather: the graph's buffer stays its own

    # ---- buffers -----------------------------------------------------------------
    def _allocate(self, cache: Any) -> None:
        """Buffers shaped after a prefill's cache, one slot per row of the largest bucket."""
        s = self.sizes[-1]
        for i, layer in enumerate(cache.layers):
            if _kv(layer):
                _, h, _, d = layer.keys.shape
                self.keys[i] = layer.keys.new_zeros(s, h, self.length, d)  # [S, h, L, d]
                self.values[i] = layer.values.new_zeros(s, h, self.length, layer.values.shape[-1])
            for name, store in (("conv_states", self.conv), ("recurrent_states", self.rec)):
                state = (getattr(layer, name, None) or {}).get(0)
                if state is not None:
                    store[i] = state.new_zeros(s, *state.shape[1:])  # [S, ...]
        embed = self.model.get_input_embeddings().weight
        dev = embed.device
        self.embeds = torch.zeros(s, 1, embed.shape[1], dtype=embed.dtype, device=dev)  # [S, 1, H]
        self.index = torch.zeros(s, dtype=torch.long, device=dev)  # [S] key column each slot writes
        self.rope = torch.zeros(s, dtype=torch.long, device=dev)  # [S] rope position of each slot
        self.columns = torch.arange(self.length, device=dev)  # [L]
        self.ready = True

    def _store(self, slot: int, cache: Any, n: int) -> None:
        for i, layer in enumerate(cache.layers):
            if i in self.keys:
                self.keys[i][slot, :, :n].copy_(layer.keys[0])  # [h, n, d]
                self.values[i][slot, :, :n].copy_(layer.values[0])
            if i in self.conv:
                self.conv[i][slot].copy_(layer.conv_states[0][0])  # [C, k]
            if i in self.rec:
                self.rec[i][slot].copy_(layer.recurrent_states[0][0])  # [heads, dk, dv]

    def _move(self, src: int, dst: int) -> None:
        for store in (self.keys, self.values, self.conv, self.rec):
            for buf in store.values():
                buf[dst].copy_(buf[src])

    def _grow(self, need: int) -> None:
        """Every key buffer to at least twice its length (graphs dropped: new addresses)."""
        length = max(2 * self.length, need + 2)
        for store in (self.keys, self.values):
            for i, buf in store.items():
                store[i] = torch.nn.functional.pad(buf, (0, 0, 0, length - self.length))  # [S, h, L', d]
        self.length, self.captured = length, {}
        if self.ready:
            self.columns = torch.arange(length, device=self.columns.device)  # [L']

    # ---- a step ------------------------------------------------------------------
    def _load(self, order: torch.Tensor, inputs: list[int | torch.Tensor], positions: list[int]) -> None:
        """Write the rows' inputs into their slots of the step's input buffers."""
        embed = self.model.get_input_embeddings()
        ids = [i for i, x in enumerate(inputs) if isinstance(x, int)]
        rows: list[torch.Tensor | None] = [None] * len(inputs)
        if ids:
            looked = embed(torch.tensor([inputs[i] for i in ids], device=self.rt.device))  # [k, H]
            for k, i in enumerate(ids):
                rows[i] = looked[k]
        for i, x in enumerate(inputs):
            if rows[i] is None:
                rows[i] = x.to(self.embeds.device, self.embeds.dtype)  # [H]
        self.embeds[order, 0] = torch.stack(rows)  # [n, H]
        pos = torch.tensor(positions, device=self.rt.device)  # [n]
        self.index[order] = pos
        self.rope[order] = pos + torch.tensor(self.deltas, device=self.rt.device)

    def _forward(self, b: int) -> torch.Tensor:
        """The one-token forward of the first `b` slots: logits `[b, 1, V]` (what a graph captures)."""
        self.view.b = b
        allowed = self.columns.view(1, -1) <= self.index[:b].view(-1, 1)  # [b, L]
        dtype = self.embeds.dtype
        mask = torch.zeros(b, 1, 1, self.length, dtype=dtype, device=self.embeds.device)  # [b, 1, 1, L]
        mask.masked_fill_(~allowed.view(b, 1, 1, -1), torch.finfo(dtype).min)
        masks: Any = {"full_attention": mask, "linear_attention": None} if self.linear else mask
        pos = self.rope[:b]
        pos = pos.view(1, b, 1).expand(3, b, 1) if self.rt.mrope else pos.view(b, 1)  # [3, b, 1] / [b, 1]
        return self.model(
            inputs_embeds=self.embeds[:b],
            attention_mask=masks,
            position_ids=pos,
            cache=self.view,
            use_cache=True,
        ).logits  # [b, 1, V]

    # ---- graphs ------------------------------------------------------------------
    def _try_capture(self, b: int) -> None:
        try:
            self._capture(b)
        except Exception as err:  # graphs off; this step and later ones run the same buffers eagerly
            self.graphs = False
            self.disabled = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
            log.warning("batched CUDA graphs turned off for %s (%s)", self.rt.name, self.disabled)

    def _capture(self, b: int) -> None:
        """Warm up and capture bucket b, writing only the scratch column and restoring live states."""
        saved_index = self.index.clone()
        saved = {k: (self.conv[k][:b].clone(), self.rec[k][:b].clone() if k in self.rec else None)
                 for k in self.conv}  # fmt: skip
        self.index.fill_(self.length - 1)  # the scratch column
        pool = getattr(self, "pool", None) or torch.cuda.graph_pool_handle()
        self.pool = pool
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self._forward(b)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=pool, capture_error_mode="thread_local"):
            out = self._forward(b)  # [b, 1, V]
        self.captured[b] = (graph, out)
        for k, (conv, rec) in saved.items():
            self.conv[k][:b].copy_(conv)
            if rec is not None:
                self.rec[k][:b].copy_(rec)
        self.index.copy_(saved_index)


def _kv(layer: Any) -> bool:
    return getattr(layer, "keys", None) is not None and getattr(layer, "is_initialized", False)
