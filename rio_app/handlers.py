"""What happens on send, stop, retry, undo, race, export and model switch.

Owns: `Handlers`, whose methods are the app's event functions (generators
for anything that runs the model), and `run_frames`, the one streaming loop
that turns a backend's events into chat messages, chart values and a trace.
Rules it keeps (see /work/shared/GRADIO-FACTS.md): yields are throttled to
about 10 a second; the chart value only ever grows by appending; a
generator ends with `gr.skip()` so the completion message resends nothing;
a `RioError` never becomes a `gr.Error` in an event that shows the chat (it
becomes a toast and a note in the chat, and the conversation stays); Stop
sets the session's flag, which the engine checks at every step.
Leaves components and wiring to `layout.py`, strings to `i18n.py`,
rendering to `render.py`, and all model work to `engine/`.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from engine.backend import Backend
from engine.config import DecodeSettings
from engine.errors import PromptTooLong, RioError
from engine.events import Done, Started, Step
from engine.prompt import Turn
from engine.trace import TraceRecorder, segment_stats
from rio_app import trace_chart
from rio_app.convert import (
    SETTING_NAMES,
    check_length,
    conversation_markdown,
    history_to_turns,
    preset_values,
    settings_from_values,
    split_files,
    user_messages,
)
from rio_app.examples import examples
from rio_app.i18n import I18N, lang_of, t
from rio_app.render import RunView, render_runs, running_card, summary_card
from rio_app.state import LastRun, ModelHolder, Session

try:  # ZeroGPU on Hugging Face Spaces: hold a GPU only while a handler runs
    import spaces

    gpu = spaces.GPU(duration=180)
except ImportError:

    def gpu(fn):  # type: ignore[no-redef]
        return fn


YIELD_EVERY_S = 0.1  # at most ~10 streamed updates a second
log = logging.getLogger(__name__)


class Throttle:
    def __init__(self, every_s: float | None = None) -> None:
        self.every_s = YIELD_EVERY_S if every_s is None else every_s
        self.last = 0.0

    def ready(self) -> bool:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            self.last = now
            return True
        return False


@dataclass
class Frame:
    """One streamed moment of a run: its messages, chart value and trace so far."""

    view: RunView
    chart: dict
    recorder: TraceRecorder
    final: bool = False
    stats: dict = field(default_factory=dict)


def _meta(backend: Backend, settings: DecodeSettings, lang: str, title: str | None) -> dict:
    max_switch = settings.swir.max_switch_count if settings.method == "swir" else None
    replay = getattr(backend, "switch_marks", None) == "replay"  # engine.remote: would-switch marks
    return trace_chart.chart_meta(
        settings.method, max_switch, entropy=backend.info.entropy, lang=lang, title=title,
        note="not applied" if replay else None,
    )  # fmt: skip


def run_frames(
    backend: Backend,
    turns: Sequence[Turn],
    settings: DecodeSettings,
    cancel: Any,
    lang: str,
    title: str | None = None,
) -> Iterator[Frame]:
    """Run one answer and yield throttled frames; the last one has `final=True`."""
    info = backend.info
    chart = trace_chart.chart_value(_meta(backend, settings, lang, title))
    rec = TraceRecorder({"preset": info.name, "source": info.source}, settings, entropy=info.entropy)
    view, pending, throttle = RunView(lang=lang), [], Throttle()
    yield Frame(view, chart, rec)
    try:
        for ev in backend.chat(turns, settings, cancel):
            rec.add(ev)
            if isinstance(ev, Started):  # read while this run holds the model, not after
                rec.prompt_token_ids = list(getattr(backend, "last_prompt_ids", []) or [])
            elif isinstance(ev, Step):
                view.add(ev)
                pending.append(ev)
            elif isinstance(ev, Done):
                view.finish(ev.summary)
            if pending and (view.done or throttle.ready()):
                chart, pending = trace_chart.append_steps(chart, pending), []
                yield Frame(view, chart, rec)
    except RioError as err:
        gr.Warning(str(err))
        view.finish(error=str(err))
    except Exception as err:  # a fault inside the model ends this run only; the app keeps serving
        log.exception("run failed after %d steps", view.steps)
        message = f"the model failed after {view.steps} tokens ({type(err).__name__}: {err}). Try again."
        gr.Warning(message)
        view.finish(error=message)
    if pending:
        chart = trace_chart.append_steps(chart, pending)
    if not view.done:
        view.finish(error="the model stopped without finishing the run")
    yield Frame(view, chart, rec, final=True, stats=segment_stats(rec.steps))


def error_message(text: str, lang: str) -> dict:
    """An assistant message holding only the app's error note."""
    view = RunView(lang=lang)
    view.finish(error=text)
    return view.messages()[-1]


def _card(frame: Frame, lang: str, title: str = "") -> str:
    summary = frame.view.summary
    if summary is None:
        return f'<div class="rio-card rio-card-error">{render_runs([(frame.view.error or "", False)])}</div>'
    return summary_card(summary, frame.stats, lang, title)


def header_html(backend: Backend, lang: str) -> str:
    """The model line above the chat: name, what it reads, device, methods, note."""
    info = backend.info
    reads = ", ".join(t(f"mod_{m}", lang) for m in ("text", "image", "video") if m in info.modalities)
    parts = [
        f"<b>{t('header_model', lang)}:</b> <code>{render_runs([(info.name, False)])}</code>",
        f"{t('header_reads', lang)}: {reads}",
        f"{t('header_device', lang)}: {render_runs([(info.device, False)])}",
        f"{t('header_method', lang)}: SwiReasoning, CoT",
    ]
    note = ""
    if info.note:
        note = f'<div class="rio-note-box">{t("header_fallback", lang)}: {render_runs([(info.note, False)])}</div>'
    return f'<div class="rio-header">{" · ".join(parts)}</div>{note}'


def limits_line(backend: Backend, lang: str) -> str:
    from engine.media import MB, MediaLimits

    lim: MediaLimits = getattr(backend, "limits", None) or MediaLimits()
    return t(
        "limits_line",
        lang,
        image_mb=lim.image_max_bytes // MB,
        video_mb=lim.video_max_bytes // MB,
        seconds=int(lim.video_max_duration_s),
        frames=lim.video_max_frames,
    )


def box_update(backend: Backend, placeholder: str = "box_placeholder", **kwargs: Any) -> dict:
    """The message box for this model: uploads only of what it reads."""
    mods = backend.info.modalities
    types = [m for m in ("image", "video") if m in mods]
    placeholder = placeholder if types else "box_placeholder_text"
    return gr.update(file_types=["image", "video"], placeholder=I18N(placeholder), **kwargs)


class Handlers:
    """Event functions bound to the app's one `ModelHolder`."""

    def __init__(self, holder: ModelHolder, load_backend: Any = None) -> None:
        self.holder = holder
        self._load_backend = load_backend

    # ---------------------------------------------------------------- sending

    def check_message(self, request: gr.Request, message: Any, history: Any, session: Any) -> tuple:
        """Validator of the send event: refuses, at the box, what cannot be sent."""
        lang = lang_of(request)
        ok = gr.validate(True, "")
        message = message or {}
        if not (message.get("text") or "").strip() and not message.get("files"):
            return gr.validate(False, t("empty_message", lang)), ok, ok
        try:
            check_length([message.get("text") or ""])
            images, videos = split_files(message)
            if images or videos:
                self.holder.backend.check_media(images, videos)
        except RioError as err:
            return gr.validate(False, str(err)), ok, ok
        return ok, ok, ok

    def check_race(self, request: gr.Request, message: Any, session: Any) -> tuple:
        return self.check_message(request, message, None, session)[:2]

    def example_to_box(self, example: gr.SelectData) -> dict:
        """Clicking an example fills the box (the user sends it)."""
        value = example.value or {}
        files = [f.get("path") if isinstance(f, dict) else f for f in value.get("files") or []]
        return gr.update(value={"text": value.get("text", ""), "files": files})

    def take_message(self, message: Any, history: Any, session: Session) -> tuple:
        """Move the box's message into the chat at once, and arm a fresh stop flag."""
        session.new_run()
        history = list(history or []) + user_messages(message)
        box = gr.update(value=None, interactive=False, submit_btn=False, stop_btn=True)
        return box, history

    def release_box(self) -> dict:
        return gr.update(interactive=True, submit_btn=True, stop_btn=False)

    def stop(self, session: Session) -> None:
        """Stop the session's run: the engine ends it at the next step, keeping its text."""
        if isinstance(session, Session):
            session.stop()

    @gpu
    def respond(self, request: gr.Request, history: list, session: Session, *values: Any) -> Iterator[tuple]:
        """Answer the last user turn of `history`, streaming (chat, chart, summary)."""
        lang = lang_of(request)
        history = list(history or [])
        backend = self.holder.backend
        try:
            settings = settings_from_values(values)
            turns = history_to_turns(history)
            check_length([t.text for t in turns])  # the API can send any history, past the box
        except PromptTooLong as err:
            gr.Warning(str(err))
            yield history + [error_message(str(err), lang)], gr.skip(), gr.skip()
            return
        except RioError as err:
            gr.Warning(t("bad_settings", lang, message=str(err)))
            yield gr.skip(), gr.skip(), gr.skip()
            return
        if not turns or turns[-1].role != "user":
            yield gr.skip(), gr.skip(), gr.skip()
            return
        cancel = session.cancel if isinstance(session, Session) else None
        card: Any = running_card(lang)  # sent with the first frame only
        for frame in run_frames(backend, turns, settings, cancel, lang, title=backend.info.name):
            chat = history + frame.view.messages()
            if not frame.final:
                yield chat, frame.chart, card
                card = gr.skip()
                continue
            if isinstance(session, Session):
                session.last_run = LastRun(frame.recorder.to_dict(), frame.recorder.to_json(indent=1), lang)
            yield chat, gr.skip(), _card(frame, lang)
        yield gr.skip(), gr.skip(), gr.skip()

    # ---------------------------------------------------------------- history

    @staticmethod
    def _last_user_start(history: list) -> int:
        i = len(history)
        while i > 0 and history[i - 1].get("role") == "assistant":
            i -= 1
        while i > 0 and history[i - 1].get("role") == "user":
            i -= 1
        return i

    def retry(self, history: list, session: Session) -> list:
        """Drop the last answer, keep the question: `respond` runs next."""
        history = list(history or [])
        i = len(history)
        while i > 0 and history[i - 1].get("role") == "assistant":
            i -= 1
        if isinstance(session, Session):
            session.new_run()
        return history[:i]

    def undo(self, history: list) -> tuple[list, dict]:
        """Remove the last question and its answer; put the question back in the box."""
        history = list(history or [])
        start = self._last_user_start(history)
        text, files = "", []
        for turn in history_to_turns(history[start:]):
            if turn.role == "user":
                text, files = turn.text, [*turn.images, *turn.videos]
        return history[:start], gr.update(value={"text": text, "files": files})

    def clear(self, session: Session) -> tuple:
        if isinstance(session, Session):
            session.last_run = None
        hidden = gr.update(visible=False)
        return None, "", hidden, hidden, hidden, hidden

    # ---------------------------------------------------------------- exports

    def exports(self, session: Session, history: list) -> tuple:
        """Write the last run's trace, chart and the conversation; show the buttons."""
        run = session.last_run if isinstance(session, Session) else None
        if run is None:
            return (gr.update(visible=False),) * 4
        folder = session.export_dir()
        from engine.visualize import figure_png, standalone_html

        paths = {
            "json": folder / "rio-trace.json",
            "png": folder / "rio-trace.png",
            "html": folder / "rio-trace.html",
            "md": folder / "rio-conversation.md",
        }
        paths["json"].write_text(run.trace_json, encoding="utf-8")
        paths["png"].write_bytes(figure_png(run.trace))
        paths["html"].write_text(standalone_html(run.trace, lang=run.lang), encoding="utf-8")
        paths["md"].write_text(conversation_markdown(history), encoding="utf-8")
        return tuple(gr.update(value=str(paths[k]), visible=True) for k in ("json", "png", "html", "md"))

    def race_exports(self, request: gr.Request, session: Session, chat_a: list, chat_b: list) -> tuple:
        """Both race runs: traces (one JSON), charts (one PNG, one HTML page), answers (Markdown)."""
        runs = session.race_runs if isinstance(session, Session) else []
        if not runs:
            return hide_exports()
        lang = lang_of(request)
        from engine.visualize import figures_png, standalone_htmls

        folder = session.export_dir()
        paths = {k: folder / f"rio-race.{k}" for k in ("json", "png", "html", "md")}
        paths["json"].write_text(json.dumps({"runs": runs}, ensure_ascii=False, indent=1), encoding="utf-8")
        paths["png"].write_bytes(figures_png(runs, height=360))
        paths["html"].write_text(standalone_htmls(runs, lang=lang), encoding="utf-8")
        names = (t("race_a", lang), t("race_b", lang))
        parts = [
            conversation_markdown(chat, title=f"{name} · {run['method']}")
            for name, chat, run in zip(names, (chat_a, chat_b), runs, strict=False)
        ]
        paths["md"].write_text("\n".join(parts), encoding="utf-8")
        return tuple(gr.update(value=str(paths[k]), visible=True) for k in ("json", "png", "html", "md"))

    # ---------------------------------------------------------------- race

    def take_race(self, message: Any, session: Session) -> tuple:
        session.new_run()
        user = user_messages(message)
        box = gr.update(value=None, interactive=False)
        return box, user, user, message

    @gpu
    def race(
        self, request: gr.Request, message: Any, against: str, session: Session, *values: Any
    ) -> Iterator[tuple]:
        """SwiReasoning, then `against`, on one prompt and seed; each pane streams its own run."""
        lang = lang_of(request)
        skip = (gr.skip(),) * 7
        try:
            base = settings_from_values(values)
        except RioError as err:
            gr.Warning(t("bad_settings", lang, message=str(err)))
            yield skip
            return
        seed = base.seed if base.seed is not None else random.randrange(2**31)
        user = user_messages(message)
        turns = history_to_turns(user)
        backend = self.holder.backend
        cancel = session.cancel if isinstance(session, Session) else None
        runs: list[Frame] = []
        for pane, method in enumerate(("swir", against)):
            if cancel is not None and cancel.is_set():
                break
            settings = DecodeSettings(**{**base.__dict__, "method": method, "seed": seed})
            for frame in run_frames(backend, turns, settings, cancel, lang, title=backend.info.name):
                out = [gr.skip()] * 7
                out[pane * 3] = user + frame.view.messages()
                out[pane * 3 + 1] = gr.skip() if frame.final else frame.chart
                if frame.final:
                    out[pane * 3 + 2] = _card(frame, lang)
                    runs.append(frame)
                yield tuple(out)
        if isinstance(session, Session):
            session.race_runs = [f.recorder.to_dict() for f in runs]
        verdict = race_verdict(runs, lang)
        yield (*(gr.skip(),) * 6, verdict)
        yield skip

    # ---------------------------------------------------------------- model

    def model_updates(self, backend: Backend, lang: str) -> list[Any]:
        """Header, both message boxes, chat examples and settings for `backend`."""
        from engine.presets import PRESETS

        vals = preset_values(PRESETS.get(backend.info.name))
        widgets = [gr.update(value=vals[n]) if n in vals else gr.skip() for n in SETTING_NAMES]
        chat = gr.update(examples=examples(backend.info.modalities))
        box, race_box = box_update(backend), box_update(backend, "race_box")
        return [header_html(backend, lang), box, race_box, chat, *widgets]

    def on_load(self, request: gr.Request) -> tuple:
        """Page load: (status, limits, *model_updates) in the visitor's language."""
        lang = lang_of(request)
        backend = self.holder.backend
        return ("", limits_line(backend, lang), *self.model_updates(backend, lang))

    def load_model(self, request: gr.Request, name: str, progress: Any = gr.Progress()) -> Iterator[tuple]:  # noqa: B008
        """Load `name` while the current model keeps answering; then swap it in.

        Yields (status, *model_updates)."""
        lang = lang_of(request)
        rest = (gr.skip(),) * (4 + len(SETTING_NAMES))
        old = self.holder.backend
        if not self.holder.allow_switch:  # the page hides the picker; the API must refuse too
            gr.Warning(t("model_switch_off", lang))
            yield (t("model_switch_off", lang), *rest)
            return
        if not name or name == old.info.name:
            yield (t("already_loaded", lang, name=name or old.info.name), *rest)
            return
        yield (t("loading", lang, name=name), *rest)
        progress(0.1, desc=t("loading", lang, name=name))
        try:
            backend = self._loader()(name, fallback=False)
        except RioError as err:
            gr.Warning(str(err))
            yield (t("load_failed", lang, name=name, reason=str(err), old=old.info.name), *rest)
            return
        if hasattr(backend, "max_prompt_tokens"):  # the server's prompt cap carries over
            backend.max_prompt_tokens = getattr(old, "max_prompt_tokens", None)
        self.holder.swap(backend)
        yield (t("loaded", lang, name=name), *self.model_updates(backend, lang))

    def _loader(self) -> Any:
        if self._load_backend is None:
            from engine.local import load_backend

            self._load_backend = load_backend
        return self._load_backend


def hide_exports() -> tuple:
    """The four export buttons, hidden (no run to export yet)."""
    return (gr.update(visible=False),) * 4


def race_verdict(runs: list[Frame], lang: str) -> str:
    """One line comparing the two runs' token counts."""
    done = [f for f in runs if f.view.summary is not None]
    if len(done) < 2:
        return ""
    a, b = (f.view.summary.tokens for f in done[:2])  # type: ignore[union-attr]
    if a == b:
        return t("race_tie", lang)
    name = t("race_a", lang) if a < b else t("race_b", lang)
    return t("race_winner", lang, name=name, delta=abs(a - b))


def model_choices() -> list[tuple[str, str]]:
    """Dropdown (label, value) pairs: every preset, marked available or not, with why."""
    from engine.presets import PRESETS, availability

    out = []
    for name, preset in PRESETS.items():
        av = availability(name)
        mark = "✓" if av.ok else "✗"
        out.append((f"{mark} {preset.label} — {av.reason}", name))
    return out
