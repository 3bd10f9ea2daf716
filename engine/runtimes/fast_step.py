"""The fast decode step of the torch runtime: a static cache and a CUDA graph around the one-token forward.

Owns: `FastStep` (a run's prefill into a transformers `StaticCache`, then each
step as one replay of a CUDA graph captured around the model's one-token
forward; token ids and soft embeddings alike enter it as an input embedding
`[1, 1, H]`, the ids looked up with the model's own embedding layer, which is
what the model does with them inside), `select` (whether a runtime gets one)
and `unsupported` (why transformers cannot give a model one). Leaves loading
and the plain steps to `torch_runtime.py`, whose marked hook calls this, and the
loop to `engine/decode.py`.

When: `RIO_FAST_STEP` = `auto` (default: on for a model on one CUDA device
when transformers allows it, never on a CPU), `on` (also on a CPU, where
there are no graphs: the static-cache path alone, for parity tests),
`static` (static cache without graphs, any device), `off`. The batch
scheduler turns it off for its runtime (it joins dynamic caches).

Exactness: a replay runs the very kernels of an eager forward over the same
buffers, so it gives the eager static-cache step's logits bit for bit. The
static cache differs from the dynamic one only in attending over a padded,
masked key buffer: on the CPU that gives the same greedy tokens as the plain
path (tests/test_fast_step.py); on a GPU the attention kernel may round
differently (bench/gpu_bench.py reports the agreement).

Buckets: one `StaticCache` at a time, `reserve` tokens past the prompt
(rounded up to 256), kept across runs (`reset` keeps the buffer addresses the
graph was captured on). A run that outgrows it moves to one twice as long
(states copied, graph captured again). A new bucket is made by a dummy
prefill, two warm-up steps on a side stream, the capture, and a reset. Any
failure to capture turns the fast step off (logged): the run goes on (the
plain path, or the static cache without graphs where the run is already in
it), later runs take the plain path.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import torch

log = logging.getLogger(__name__)

ENV = "RIO_FAST_STEP"
OFF = ("0", "off", "false", "no")
DEFAULT_RESERVE = 1024  # tokens past the prompt that a new bucket holds
ROUND = 256  # bucket lengths are multiples of this
WARMUP_STEPS = 2  # eager steps before a capture (lazy inits, autotuning)


@dataclass
class Bucket:
    """One static cache and, on a GPU, the graph captured over its buffers."""

    length: int  # max_cache_len
    cache: Any  # transformers.StaticCache
    graph: Any = None  # torch.cuda.CUDAGraph
    logits: torch.Tensor | None = None  # the graph's output [1, 1, V]


@dataclass
class FastCache:
    """What `prefill` hands the loop: the run it belongs to and its cached length (host-side)."""

    run: int
    length: int


class FastStep:
    """Prefill and one-token steps of a `Runtime` over a static cache, replayed as a CUDA graph."""

    def __init__(
        self, rt: Any, *, graphs: bool, reserve: int = DEFAULT_RESERVE, round_to: int = ROUND
    ) -> None:
        self.rt, self.model, self.graphs = rt, rt.model, graphs
        self.reserve, self.round_to = reserve, round_to
        self.bucket: Bucket | None = None
        self.run = 0
        self.disabled: str | None = None  # why it was turned off
        self.embeds: torch.Tensor | None = None  # [1, 1, H], the graph's input
        self.pos: torch.Tensor | None = None  # [1, 1, 1], multimodal-rope models only

    @property
    def mode(self) -> str:
        """`graph`, `static` (no graphs), or `off: <why>`."""
        if self.disabled:
            return f"off: {self.disabled}"
        return "graph" if self.graphs else "static"

    def owns(self, cache: Any) -> bool:
        return isinstance(cache, FastCache)

    # ---- the run -----------------------------------------------------------
    def prefill(self, inputs: dict[str, Any]) -> tuple[torch.Tensor, FastCache] | None:
        """Run the prompt into the bucket; `None` where the plain path must take this run."""
        if self.disabled:
            return None
        n = int(inputs["input_ids"].shape[-1])
        self.run += 1  # any earlier run's cache is gone from here on
        with torch.inference_mode():
            try:
                bucket = self._bucket_for(n)
            except Exception as err:  # a failed capture or allocation: the plain path from now on
                self._turn_off(err)
                return None
            try:
                logits = self._prefill(bucket, inputs)
            except Exception as err:  # this input in a static cache: the plain path takes this run
                log.warning(
                    "static-cache prefill failed (%s: %s); plain path for this run", type(err).__name__, err
                )
                return None
        return logits, FastCache(self.run, n)

    def step(self, cache: FastCache, position: int, **inputs: torch.Tensor) -> torch.Tensor:
        """One token id (`input_ids` `[1, 1]`) or embedding (`inputs_embeds` `[1, 1, H]`) in; logits `[V]`."""
        if cache.run != self.run:
            raise RuntimeError("this run's static cache was taken by a later prefill (one run at a time)")
        with torch.inference_mode():
            if cache.length + 1 > self.bucket.length:
                self._grow(cache.length + 1)
            self._load(position, **inputs)
            if self.bucket.graph is not None:
                self.bucket.graph.replay()
                logits = self.bucket.logits[0, -1].clone()  # [V]; the graph's buffer is reused
            else:
                logits = self._forward(self.bucket.cache)[0, -1]  # [V]
        cache.length += 1
        return logits

    def _prefill(self, bucket: Bucket, inputs: dict[str, Any]) -> torch.Tensor:
        rt = self.rt
        bucket.cache.reset()
        if rt.mrope:
            self.model.model.rope_deltas = None
        inputs = {k: v.to(rt.device) if torch.is_tensor(v) else v for k, v in inputs.items()}
        out = self.model(**inputs, cache=bucket.cache, use_cache=True, logits_to_keep=1)
        if rt.mrope:
            deltas = self.model.model.rope_deltas
            rt.rope_delta = int(deltas.reshape(-1)[0]) if deltas is not None else 0
        return out.logits[0, -1]  # [V]

    def _load(self, position: int, input_ids: torch.Tensor | None = None, **rest: torch.Tensor) -> None:
        """Write this step's input into the graph's input buffers."""
        if input_ids is not None:
            self.embeds.copy_(self.model.get_input_embeddings()(input_ids))  # [1, 1, H]
        else:
            self.embeds.copy_(rest["inputs_embeds"])
        if self.pos is not None:
            self.pos.fill_(position + self.rt.rope_delta)  # a fill, not a host copy

    def _forward(self, cache: Any) -> torch.Tensor:
        kwargs: dict[str, Any] = {"inputs_embeds": self.embeds, "cache": cache, "use_cache": True}
        if self.pos is not None:
            kwargs["position_ids"] = self.pos
        return self.model(**kwargs).logits  # [1, 1, V]

    # ---- buckets -------------------------------------------------------------
    def _bucket_for(self, n: int) -> Bucket:
        """The bucket for an n-token prompt: the current one if it has `reserve` room, else a new one."""
        if self.bucket is not None and n + min(self.reserve, self.bucket.length // 2) <= self.bucket.length:
            return self.bucket
        self.bucket = None  # free the old buffers and graph first
        self.bucket = self._new_bucket(self._length_for(n + self.reserve, n + 1))
        return self.bucket

    def _length_for(self, want: int, need: int) -> int:
        ctx = int(getattr(self.rt, "context_length", 0) or want)
        return _round_up(max(need, min(want, ctx)), self.round_to)

    def _grow(self, need: int) -> None:
        old = self.bucket
        try:
            new = self._new_bucket(self._length_for(max(2 * old.length, need + self.reserve), need))
        except Exception as err:  # a failed capture mid-run: go on without graphs
            self._turn_off(err)
            self.graphs = False
            new = self._new_bucket(self._length_for(max(2 * old.length, need + self.reserve), need))
        _copy_states(old.cache, new.cache)
        self.bucket = new

    def _new_bucket(self, length: int) -> Bucket:
        from transformers import StaticCache

        bucket = Bucket(length, StaticCache(config=self.model.config, max_cache_len=length))
        self._dummy_prefill(bucket.cache)
        if self.embeds is None:
            embed = self.model.get_input_embeddings().weight
            self.embeds = torch.zeros(1, 1, embed.shape[1], dtype=embed.dtype, device=embed.device)
            if self.rt.mrope:
                self.pos = torch.zeros(1, 1, 1, dtype=torch.long, device=embed.device)
        if self.graphs:
            self._capture(bucket)
        bucket.cache.reset()
        return bucket

    def _dummy_prefill(self, cache: Any) -> None:
        """Two tokens through the fresh cache: every layer allocates its buffers (lazily, in transformers)."""
        if self.rt.mrope:
            self.model.model.rope_deltas = None
        ids = torch.zeros(1, 2, dtype=torch.long, device=self.rt.device)
        self.model(input_ids=ids, cache=cache, use_cache=True, logits_to_keep=1)

    def _capture(self, bucket: Bucket) -> None:
        """Warm up on a side stream, then capture one step over the bucket's buffers."""
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(WARMUP_STEPS):
                self._forward(bucket.cache)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            bucket.logits = self._forward(bucket.cache)  # [1, 1, V]
        bucket.graph = graph

    def _turn_off(self, err: BaseException) -> None:
        self.disabled = f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"
        log.warning(
            "fast decode step turned off for %s (%s); using the plain step", self.rt.name, self.disabled
        )


def _round_up(n: int, m: int) -> int:
    return (n + m - 1) // m * m


def _copy_states(src: Any, dst: Any) -> None:
    """Copy every layer's cached state of one static cache into a longer one."""
    for a, b in zip(src.layers, dst.layers, strict=True):
        if getattr(a, "keys", None) is not None and getattr(a, "is_initialized", False):
            n = a.keys.shape[-2]
            b.keys[:, :, :n].copy_(a.keys)
            b.values[:, :, :n].copy_(a.values)
            b.cumulative_length.copy_(a.cumulative_length)
        for name in ("conv_states", "recurrent_states"):
            for i, state in (getattr(a, name, None) or {}).items():
                if state is not None:
                    getattr(b, name)[i].copy_(state)
        if hasattr(a, "has_previous_state"):
            b.has_previous_state.update(a.has_previous_state)


# ---- selection -----------------------------------------------------------------
def select(rt: Any, mode: str | None = None) -> FastStep | None:
    """The fast step for `rt`, or None. `mode` (else `$RIO_FAST_STEP`): auto, on, static, off."""
    mode = (mode or os.environ.get(ENV) or "auto").strip().lower()
    if mode in OFF:
        return None
    if mode not in ("auto", "on", "static"):
        log.warning("%s=%r: expected auto, on, static or off; fast step off", ENV, mode)
        return None
    model = getattr(rt, "model", None)
    cuda = on_one_cuda_device(model)
    if mode == "auto" and not cuda:
        return None
    graphs = cuda and mode != "static"
    reason = unsupported(model, graphs=graphs)
    if reason:
        log.info("fast decode step off for %s: %s", getattr(rt, "name", "?"), reason)
        return None
    return FastStep(rt, graphs=graphs)


def unsupported(model: Any, *, graphs: bool) -> str | None:
    """Why transformers cannot run `model`'s decode step over a static cache (captured, with `graphs`)."""
    if not isinstance(model, torch.nn.Module):
        return "not a torch model"
    if not getattr(model, "_can_compile_fullgraph", False):
        return f"transformers does not mark {type(model).__name__} as compile/graph safe"
    config = model.config
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    attn = getattr(text, "_attn_implementation", None) or getattr(config, "_attn_implementation", None)
    if attn not in (None, "sdpa", "eager"):
        return f"attention implementation {attn!r}"
    experts = getattr(text, "_experts_implementation", None)
    if graphs and getattr(text, "num_experts", None) and experts in (None, "eager"):
        return "the MoE experts run transformers' eager loop, which reads routing back to the host"
    try:
        from transformers import StaticCache

        StaticCache(config=config, max_cache_len=ROUND)
    except Exception as err:  # an unknown layer type, an old transformers
        return f"no static cache for this model ({type(err).__name__}: {err})"
    return None


def on_one_cuda_device(model: Any) -> bool:
    if not isinstance(model, torch.nn.Module) or not torch.cuda.is_available():
        return False
    device_map = getattr(model, "hf_device_map", None)
    if device_map and len(set(device_map.values())) > 1:
        return False
    param = next(model.parameters(), None)
    return param is not None and param.device.type == "cuda"
