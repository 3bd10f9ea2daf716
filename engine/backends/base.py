"""The interface the app and the CLI talk to: one `Backend` per loaded model.

Owns: `BackendInfo` (what a backend can do, for headers and pickers) and the
`Backend` protocol. `LocalBackend` (in `engine/backends/local.py`) runs a model in
this process (torch or llama.cpp); `OpenAIBackend` (`engine/backends/remote.py`)
talks to an OpenAI-compatible server. Callers use `info`, `check_media` and
`chat` only.
Every backend yields the same events (`engine/events.py`), so the UI and the trace
writer never know which one ran.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from engine.config import DecodeSettings
from engine.events import Event
from engine.media import MediaLimits
from engine.prompt import Turn


@dataclass(frozen=True)
class BackendInfo:
    """Static facts about a backend, for the header, the pickers and the checks.

    Per-run facts (prompt ids, exact or estimated entropy, how switch marks
    were made) travel on the run's events instead (`engine/events.py`)."""

    name: str  # preset name or model id, shown in the header
    source: str  # resolved hub id, folder, GGUF file or URL
    modalities: frozenset[str]  # subset of {"text", "image", "video"}
    device: str  # "cpu", "cuda:0", "4 GPUs", "remote"
    methods: tuple[str, ...]  # decode methods this backend runs for real
    context_length: int | None = None
    note: str = ""  # e.g. the fallback message when the asked model failed to load
    limits: MediaLimits = field(default_factory=MediaLimits)  # what uploads it accepts
    max_prompt_tokens: int | None = None  # refuse longer prompts before the prefill (None: the context)
    runtime: str = "torch"  # "torch", "llama.cpp" or "remote"
    max_batch_rows: int = 1  # runs it decodes at once (above 1: the app may serve several)
    decode_path: str = ""  # how runs decode, for the header: "batched, CUDA graphs per bucket (1, 2, 4)", ...


class Backend(Protocol):
    info: BackendInfo

    def check_media(self, images: Sequence[str], videos: Sequence[str]) -> None:
        """Raise `MediaError` naming the first file this model cannot read (by `info.limits`)."""

    def chat(
        self,
        turns: Sequence[Turn],
        settings: DecodeSettings,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Answer the last user turn; yield `Started`, `Step`s, then `Done`."""
