"""The interface the app and the CLI talk to: one `Backend` per loaded model.

Owns: `BackendInfo` (what a backend can do, for headers and pickers) and the
`Backend` protocol. `LocalBackend` (in `engine/local.py`) runs a transformers
model in this process; a remote backend talks to an OpenAI-compatible server.
Both yield the same events (`engine/events.py`), so the UI and the trace
writer never know which one ran.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from engine.config import DecodeSettings
from engine.events import Event
from engine.prompt import Turn


@dataclass(frozen=True)
class BackendInfo:
    name: str  # preset name or model id, shown in the header
    source: str  # resolved hub id, folder or URL
    modalities: frozenset[str]  # subset of {"text", "image", "video"}
    device: str  # "cpu", "cuda:0", "4 GPUs", "remote"
    methods: tuple[str, ...]  # decode methods this backend runs for real
    entropy: str = "exact"  # "exact", or "estimate" (top-k logprobs of a remote server)
    context_length: int | None = None
    note: str = ""  # e.g. the fallback message when the asked model failed to load


class Backend(Protocol):
    info: BackendInfo

    def check_media(self, images: Sequence[str], videos: Sequence[str]) -> None:
        """Raise `MediaError` naming the first file this model cannot read."""

    def chat(
        self,
        turns: Sequence[Turn],
        settings: DecodeSettings,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Answer the last user turn; yield `Started`, `Step`s, then `Done`."""
