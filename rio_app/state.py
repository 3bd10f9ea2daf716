"""What the app keeps between events: the shared model and each visitor's session.

Owns: `ModelHolder` (the one loaded backend every session talks to, swapped
atomically once a newly chosen model has finished loading, so the old one
keeps answering meanwhile, and whether visitors may switch it at all:
`allow_switch`, off with RIO_ALLOW_MODEL_SWITCH=0 or `--no-model-switch`)
and `Session` (per browser tab, kept in a `gr.State`: the conversation as
the user wrote it, as `Turn`s, the stop flags of the chat's and the race's runs, the
last finished run for exports, and a private folder for export files).
The Chatbot only displays the conversation; the model is always given
`Session.turns`, trimmed by retry, undo and clear like the display.
Leaves the handling of events to `handlers.py` and model loading to
`engine.backends.local`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.backends.base import Backend
from engine.prompt import Turn

EXPORT_ROOT = Path(tempfile.gettempdir()) / "rio-chat-sessions"
OFF_WORDS = ("0", "false", "no", "off")


def switch_allowed_by_env() -> bool:
    """RIO_ALLOW_MODEL_SWITCH: anything but 0/false/no/off (default on) lets visitors switch."""
    return os.environ.get("RIO_ALLOW_MODEL_SWITCH", "1").strip().lower() not in OFF_WORDS


class ModelHolder:
    """The loaded backend, shared by all sessions; `swap` replaces it whole.

    `allow_switch=False` (a public server): the model-load handler refuses every
    request, whatever the page shows (the API endpoint stays reachable)."""

    def __init__(self, backend: Backend, allow_switch: bool | None = None) -> None:
        self._backend = backend
        self._lock = threading.Lock()
        self.loading: str | None = None  # name of a model being loaded, if any
        self.allow_switch = switch_allowed_by_env() if allow_switch is None else allow_switch

    @property
    def backend(self) -> Backend:
        with self._lock:
            return self._backend

    def swap(self, backend: Backend) -> Backend:
        """Put `backend` in service and return the one it replaces."""
        with self._lock:
            old, self._backend = self._backend, backend
        return old


@dataclass
class LastRun:
    """A finished run, enough to write its exports."""

    trace: dict  # the TraceRecorder's dict (CLI JSON schema)
    trace_json: str
    lang: str
    settings: Any = None  # the run's DecodeSettings (seed included), for "Retry with CoT"


@dataclass
class Session:
    """One browser tab's state. Built fresh per visitor by `gr.State(new_session)`."""

    cancel: threading.Event = field(default_factory=threading.Event)  # the chat's run: its Stop
    race_cancel: threading.Event = field(default_factory=threading.Event)  # the race's two rows
    turns: list[Turn] = field(default_factory=list)  # the real conversation, what the model reads
    last_run: LastRun | None = None
    next_settings: Any = None  # settings the next run uses instead of the widgets' (Retry with CoT)
    race_runs: list[Any] = field(default_factory=list)
    folder: Path | None = None

    def __deepcopy__(self, memo: dict) -> Session:
        # gr.State deep-copies the value its factory returns; a fresh session
        # holds nothing worth copying, and a threading.Event cannot be copied.
        return self

    def new_run(self, tab: str = "chat") -> threading.Event:
        """A fresh stop flag for the run about to start in `tab` ("chat" or "race"); that
        tab's Stop sets it, and nothing else does (the engine only reads it)."""
        flag = threading.Event()
        if tab == "race":
            self.race_cancel = flag
        else:
            self.cancel = flag
        return flag

    def stop(self, tab: str = "chat") -> None:
        """The visitor's Stop in `tab`: ends that tab's run (both rows of a race), not the other's."""
        (self.race_cancel if tab == "race" else self.cancel).set()

    # ---- the conversation ------------------------------------------------
    @property
    def awaits_answer(self) -> bool:
        """The last turn is the user's: the next run answers `turns` as they are."""
        return bool(self.turns) and self.turns[-1].role == "user"

    def drop_answer(self) -> None:
        """Retry: forget the answer to the last question, keep the question."""
        while self.turns and self.turns[-1].role == "assistant":
            self.turns.pop()

    def undo(self) -> Turn | None:
        """Undo: forget the last question and its answer; return the question."""
        self.drop_answer()
        return self.turns.pop() if self.turns else None

    def clear(self) -> None:
        self.turns, self.last_run = [], None

    def export_dir(self) -> Path:
        """This session's own folder for export files (created on first use)."""
        if self.folder is None:
            EXPORT_ROOT.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix="s-", dir=EXPORT_ROOT))
        return self.folder

    def close(self) -> None:
        """Remove the export folder (called when Gradio drops the session)."""
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None


def new_session() -> Session:
    """`gr.State(new_session)`: a fresh session per visitor (a factory, not the class,
    because Gradio serialises a dataclass value it finds in the config)."""
    return Session()


def close_session(session: Any) -> None:
    """`gr.State(delete_callback=...)`: tidy up a session Gradio is dropping."""
    if isinstance(session, Session):
        session.close()
