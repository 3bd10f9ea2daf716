"""What happens on send, stop, retry, undo, race, export and model switch.

Owns: `Handlers`, whose methods are the app's event functions (generators
for anything that runs the model), and `run_frames`, the one streaming loop
that turns a backend's events into chat messages, chart values and a trace.
Handlers return `{component: value}` for the page's named components, which
they know only as the small protocols below (`PageParts`: what the page must
name; `layout.Page` has them); a component left out keeps its value.
Rules it keeps: yields are throttled to about 10 a second (Gradio diffs each
streamed value against the last, and walks the whole value to do it); the
chart value only ever grows by appending (a diff matched by list index stays
small only then); a generator ends with an empty update so the completion
message resends nothing (`nothing()`); a `RioError` never becomes a `gr.Error` in an event
that shows the chat (that covers the chat with an error badge: it becomes a
toast and a note in the chat, and the conversation stays); Stop sets its
tab's flag in the session, which the engine checks at every step and never
sets itself (a run that ends stops nothing else).
The model reads the session's turns, never the displayed history (that is
parsed back only for API clients that call `respond` with their own).
Leaves components and wiring to `layout.py`, strings to `i18n.py`,
rendering to `render.py`, and all model work to `engine/`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import queue
import random
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import gradio as gr

from engine.backends.base import Backend
from engine.config import DecodeSettings
from engine.errors import PromptTooLong, RioError
from engine.events import Done, Started, Step
from engine.models.presets import local_reader
from engine.prompt import Turn
from engine.trace import TraceRecorder, segment_stats
from rio_app import trace_chart
from rio_app.convert import (
    check_length,
    conversation_markdown,
    history_to_turns,
    message_turn,
    split_files,
    user_messages,
)
from rio_app.examples import examples
from rio_app.i18n import EN, I18N, lang_of, t
from rio_app.render import RunView, render_runs, running_card, summary_card
from rio_app.settings import preset_values, settings_from_values
from rio_app.state import LastRun, ModelHolder, Session

try:  # ZeroGPU on Hugging Face Spaces: hold a GPU only while a handler runs
    import spaces

    gpu = spaces.GPU(duration=180)
except ImportError:

    def gpu(fn):  # type: ignore[no-redef]
        return fn


YIELD_EVERY_S = 0.1  # at most ~10 streamed updates a second
EXPORT_KINDS = ("json", "png", "html", "md")
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
    """One streamed moment of a run: its messages, chart value (None before the run
    has started) and trace so far."""

    view: RunView
    chart: dict | None
    recorder: TraceRecorder
    final: bool = False
    stats: dict = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """The run ended on its own (not stopped by the visitor, a model switch or an error)."""
        s = self.view.summary
        return s is not None and s.stop_reason not in ("cancelled", "unloaded", "error")

    @property
    def early_close(self) -> bool:
        s = self.view.summary
        return self.finished and s is not None and s.early_close


def _chart_for(started: Started, settings: DecodeSettings, lang: str, title: str | None) -> dict:
    meta = trace_chart.chart_meta(
        settings.method, started.max_switch_count, entropy=started.entropy, lang=lang, title=title,
        note="not applied" if started.switch_marks == "replay" else None,
    )  # fmt: skip
    return trace_chart.chart_value(meta)


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
    rec = TraceRecorder({"preset": info.name, "source": info.source}, settings)
    view, chart, pending, throttle = RunView(lang=lang), None, [], Throttle()
    yield Frame(view, chart, rec)
    try:
        for ev in backend.chat(turns, settings, cancel):
            rec.add(ev)
            if isinstance(ev, Started):
                chart = _chart_for(ev, settings, lang, title)
            elif isinstance(ev, Step):
                view.add(ev)
                pending.append(ev)
            elif isinstance(ev, Done):
                view.finish(ev.summary)
            if chart is not None and pending and (view.done or throttle.ready()):
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
    if chart is not None and pending:
        chart = trace_chart.append_steps(chart, pending)
    if not view.done:
        view.finish(error="the model stopped without finishing the run")
    yield Frame(view, chart, rec, final=True, stats=segment_stats(rec.steps))


def nothing(component: Any) -> dict:
    """An update that changes nothing (Gradio reads an empty dict as one missing value)."""
    return {component: gr.skip()}


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
    methods = "SwiReasoning, CoT" if "swir" in info.methods else "CoT"
    parts = [
        f"<b>{t('header_model', lang)}:</b> <code>{render_runs([(info.name, False)])}</code>",
        f"{t('header_reads', lang)}: {reads}",
        f"{t('header_device', lang)}: {render_runs([(_device_and_path(info), False)])}",
        f"{t('header_method', lang)}: {methods}",
    ]
    note = ""
    if info.note:
        note = f'<div class="rio-note-box">{t("header_fallback", lang)}: {render_runs([(info.note, False)])}</div>'
    about, key = "", f"about_{info.name}"
    if key in EN:  # the project's own offline models say what they are for
        about = f'<div class="rio-about">{render_runs([(t(key, lang), False)])}</div>'
    return f'<div class="rio-header" lang="{lang}">{" · ".join(parts)}</div>{about}{note}'


def _device_and_path(info) -> str:
    """The device, and how runs decode on it where the backend says (e.g. "batched, CUDA graphs ...")."""
    path = getattr(info, "decode_path", "")
    return f"{info.device} ({path})" if path else info.device


def limits_line(backend: Backend, lang: str) -> str:
    """The upload limits under the box; nothing for a model that reads text only."""
    from engine.media import MB

    if not {"image", "video"} & set(backend.info.modalities):
        return ""
    lim = backend.info.limits
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
    placeholder = placeholder if types else f"{placeholder}_text"
    return gr.update(file_types=["image", "video"], placeholder=I18N(placeholder), **kwargs)


def attached_kinds(message: Any) -> set[str]:
    """{"image", "video"}, as far as the box's attachments go; empty for files it refuses
    (the send's validator says what is wrong with them)."""
    try:
        images, videos = split_files(message)
    except RioError:
        return set()
    return {kind for kind, files in (("image", images), ("video", videos)) if files}


def with_seed(settings: DecodeSettings) -> DecodeSettings:
    """A sampled run without a seed gets a drawn one, so that it can be repeated (Retry with CoT)."""
    if settings.seed is not None or settings.greedy:
        return settings
    return replace(settings, seed=random.randrange(2**31))


class ChatParts(Protocol):
    """The chat tab's components the handlers update."""

    chatbot: Any
    box: Any
    limits: Any
    chart: Any
    card: Any
    retry_cot: Any
    reader_offer: Any  # a button: switch to a model that reads the attached pictures/video
    downloads: dict[str, Any]  # by EXPORT_KINDS


class PaneParts(Protocol):
    """One race pane's components."""

    chat: Any
    chart: Any
    card: Any


class RaceParts(Protocol):
    """The race tab's components."""

    box: Any
    panes: Sequence[PaneParts]  # SwiReasoning, then the method it races
    verdict: Any
    downloads: dict[str, Any]
    message: Any


class PageParts(Protocol):
    """What the handlers read of the page: its named components and the settings widgets' values."""

    header: Any
    status: Any
    pick: Any  # the model dropdown
    settings: dict[str, Any]  # by setting name
    chat: ChatParts
    race: RaceParts

    def setting_values(self, values: Any) -> dict[str, Any]: ...


def cot_of(settings: DecodeSettings) -> DecodeSettings:
    """The CoT run that retries `settings`: same sampling and seed, plain chain-of-thought."""
    return replace(settings, method="cot-greedy" if settings.greedy else "cot")


class Handlers:
    """Event functions bound to the app's one `ModelHolder` and the page's components."""

    def __init__(self, holder: ModelHolder, page: PageParts | None = None, load_backend: Any = None) -> None:
        self.holder, self.page = holder, page  # the validators need no page
        self._load_backend = load_backend

    def _settings(self, values: Sequence[Any]) -> DecodeSettings:
        return settings_from_values(self.page.setting_values(values))

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
            loading = self.holder.loading  # a switch under way (the upload's reader, most likely)
            reason = t("wait_for_load", lang, name=loading) if loading else str(err)
            return gr.validate(False, reason), ok, ok
        return ok, ok, ok

    def offer_reader(self, request: gr.Request, message: Any) -> dict:
        """An upload the model cannot read: offer, in one click, a local model that reads it.
        The message stays in the box; nothing is offered where switching is off."""
        lang, info = lang_of(request), self.holder.backend.info
        missing = attached_kinds(message) - set(info.modalities)
        reader = local_reader(missing) if missing and self.holder.allow_switch else None
        if reader is None:
            return gr.update(visible=False)
        what = t("or", lang).join(t(f"mod_{m}", lang) for m in sorted(missing))
        label = t("reader_offer", lang, model=info.name, missing=what, reader=reader)
        return gr.update(visible=True, value=label)

    def switch_to_reader(
        self,
        request: gr.Request,
        message: Any,
        progress: Any = gr.Progress(),  # noqa: B008
    ) -> Iterator[dict]:
        """The offer's click: load the model that reads the upload (as the sidebar's Load does)."""
        reader, offer = local_reader(attached_kinds(message)) or "", self.page.chat.reader_offer
        yield {
            offer: gr.update(interactive=False, value=t("reader_loading", lang_of(request), reader=reader))
        }
        yield from self.load_model(request, reader, progress)
        loaded = self.holder.backend.info.name == reader
        # the offer again as the model now in service sees the upload: gone, or still offered
        # (the load failed) with its own words back
        yield {offer: self.offer_reader(request, message) | {"interactive": True}} | (
            {self.page.pick: gr.update(value=reader)} if loaded else {}
        )

    def check_race(self, request: gr.Request, message: Any, session: Any) -> tuple:
        return self.check_message(request, message, None, session)[:2]

    def example_to_box(self, example: gr.SelectData) -> dict:
        """Clicking an example fills the box (the user sends it)."""
        value = example.value or {}
        files = [f.get("path") if isinstance(f, dict) else f for f in value.get("files") or []]
        return gr.update(value={"text": value.get("text", ""), "files": files})

    def take_message(self, message: Any, history: Any, session: Session) -> dict:
        """Move the box's message into the chat and the session at once; arm a fresh stop flag."""
        chat = self.page.chat
        if isinstance(session, Session):
            session.new_run()
            session.turns.append(message_turn(message))
        box = gr.update(value=None, interactive=False, submit_btn=False, stop_btn=True)
        return {chat.box: box, chat.chatbot: list(history or []) + user_messages(message)}

    def release_box(self) -> dict:
        return gr.update(interactive=True, submit_btn=True, stop_btn=False)

    def lock_box(self) -> dict:
        return gr.update(interactive=False, submit_btn=False, stop_btn=True)

    def stop(self, session: Session) -> None:
        """Stop the chat's run: the engine ends it at the next step, keeping its text."""
        if isinstance(session, Session):
            session.stop()

    def stop_race(self, session: Session) -> None:
        """Stop the race: both of its rows end at the next step (the chat's run goes on)."""
        if isinstance(session, Session):
            session.stop("race")

    def _turns(self, history: list, session: Any) -> list[Turn]:
        """What the model answers: the session's turns, or (an API client's call) the history sent."""
        if isinstance(session, Session) and session.awaits_answer:
            return list(session.turns)
        return history_to_turns(history)

    @gpu
    def respond(self, request: gr.Request, history: list, session: Session, *values: Any) -> Iterator[dict]:
        """Answer the last user turn, streaming the chat, the chart and the summary card."""
        lang, chat = lang_of(request), self.page.chat
        history, backend = list(history or []), self.holder.backend
        try:
            settings = with_seed(self._settings(values))
            if isinstance(session, Session) and session.next_settings is not None:
                settings, session.next_settings = session.next_settings, None
            turns = self._turns(history, session)
            check_length([t.text for t in turns] + [settings.system_prompt])  # the API can send any history
        except PromptTooLong as err:
            gr.Warning(str(err))
            yield {chat.chatbot: history + [error_message(str(err), lang)]}
            return
        except RioError as err:
            gr.Warning(t("bad_settings", lang, message=str(err)))
            yield nothing(chat.chatbot)
            return
        if not turns or turns[-1].role != "user":
            yield nothing(chat.chatbot)
            return
        cancel = session.cancel if isinstance(session, Session) else None
        update: dict = {chat.card: running_card(lang), chat.retry_cot: gr.update(visible=False)}
        for frame in run_frames(backend, turns, settings, cancel, lang, title=backend.info.name):
            update[chat.chatbot] = history + frame.view.messages()
            if not frame.final:
                if frame.chart is not None:
                    update[chat.chart] = frame.chart
                yield update
                update = {}
                continue
            if isinstance(session, Session):
                self._keep(session, frame, settings, lang)
            update[chat.card] = _card(frame, lang)
            # after every finished SwiReasoning answer, not only an early close: a run can also go
            # wrong in its latent spans (a small model that stays latent writes spaces and colons)
            update[chat.retry_cot] = gr.update(visible=settings.method == "swir" and frame.finished)
            yield update
        yield nothing(chat.chatbot)

    def _keep(self, session: Session, frame: Frame, settings: DecodeSettings, lang: str) -> None:
        """The finished run's answer joins the conversation; its trace is kept for exports."""
        if session.awaits_answer:
            view = frame.view
            session.turns.append(Turn("assistant", view.answer_text, thinking=view.thinking_text))
        session.last_run = LastRun(frame.recorder.to_dict(), frame.recorder.to_json(indent=1), lang, settings)

    # ---------------------------------------------------------------- history

    def retry(self, history: list, session: Session) -> list:
        """Drop the last answer, keep the question: `respond` runs next."""
        history = list(history or [])
        i = len(history)
        while i > 0 and history[i - 1].get("role") == "assistant":
            i -= 1
        if isinstance(session, Session):
            session.new_run()
            session.drop_answer()
        return history[:i]

    def retry_with_cot(self, history: list, session: Session) -> list:
        """ "Retry with CoT": the last question again, same settings and seed, plain chain-of-thought."""
        if isinstance(session, Session) and session.last_run is not None:
            session.next_settings = cot_of(session.last_run.settings)
        return self.retry(history, session)

    def undo(self, history: list, session: Session) -> dict:
        """Remove the last question and its answer; put the question back in the box, as typed."""
        history, chat = list(history or []), self.page.chat
        i = len(history)
        while i > 0 and history[i - 1].get("role") == "assistant":
            i -= 1
        while i > 0 and history[i - 1].get("role") == "user":
            i -= 1
        question = session.undo() if isinstance(session, Session) else None
        if question is None:  # no session turns: read the display back
            users = [turn for turn in history_to_turns(history[i:]) if turn.role == "user"]
            question = users[-1] if users else Turn("user", "")
        files = [*question.images, *question.videos]
        return {chat.chatbot: history[:i], chat.box: gr.update(value={"text": question.text, "files": files})}

    def clear(self, session: Session) -> dict:
        chat = self.page.chat
        if isinstance(session, Session):
            session.clear()
        hidden = gr.update(visible=False)
        out = {chat.chart: None, chat.card: "", chat.retry_cot: hidden}
        return out | {button: hidden for button in chat.downloads.values()}

    # ---------------------------------------------------------------- exports

    def exports(self, session: Session, history: list) -> dict:
        """Write the last run's trace, chart and the conversation; show the buttons."""
        buttons = self.page.chat.downloads
        run = session.last_run if isinstance(session, Session) else None
        if run is None:
            return hide_exports(buttons)
        from rio_app.visualize import figure_png, standalone_html

        paths = {k: session.export_dir() / name for k, name in zip(EXPORT_KINDS, _EXPORT_NAMES, strict=True)}
        paths["json"].write_text(run.trace_json, encoding="utf-8")
        paths["png"].write_bytes(figure_png(run.trace))
        paths["html"].write_text(standalone_html(run.trace, lang=run.lang), encoding="utf-8")
        paths["md"].write_text(conversation_markdown(history), encoding="utf-8")
        return {buttons[k]: gr.update(value=str(paths[k]), visible=True) for k in EXPORT_KINDS}

    def race_exports(self, request: gr.Request, session: Session, chat_a: list, chat_b: list) -> dict:
        """Both race runs: traces (one JSON), charts (one PNG, one HTML page), answers (Markdown)."""
        buttons = self.page.race.downloads
        runs = session.race_runs if isinstance(session, Session) else []
        if not runs:
            return hide_exports(buttons)
        lang = lang_of(request)
        from rio_app.visualize import figures_png, standalone_htmls

        paths = {k: session.export_dir() / f"rio-race.{k}" for k in EXPORT_KINDS}
        paths["json"].write_text(json.dumps({"runs": runs}, ensure_ascii=False, indent=1), encoding="utf-8")
        paths["png"].write_bytes(figures_png(runs, height=360))
        paths["html"].write_text(standalone_htmls(runs, lang=lang), encoding="utf-8")
        names = (t("race_a", lang), t("race_b", lang))
        parts = [
            conversation_markdown(chat, title=f"{name} · {run['method']}")
            for name, chat, run in zip(names, (chat_a, chat_b), runs, strict=False)
        ]
        paths["md"].write_text("\n".join(parts), encoding="utf-8")
        return {buttons[k]: gr.update(value=str(paths[k]), visible=True) for k in EXPORT_KINDS}

    # ---------------------------------------------------------------- race

    def take_race(self, message: Any, session: Session) -> dict:
        race = self.page.race
        if isinstance(session, Session):
            session.new_run("race")
        user = user_messages(message)
        a, b = race.panes
        return {
            race.box: gr.update(value=None, interactive=False, submit_btn=False, stop_btn=True),
            a.chat: user,
            b.chat: user,
            race.message: message,
        }

    @gpu
    def race(
        self, request: gr.Request, message: Any, against: str, session: Session, *values: Any
    ) -> Iterator[dict]:
        """SwiReasoning and `against` on one prompt and seed, each pane streaming its own run: two
        rows of one batch where the backend batches, else one after the other. The race's one
        stop flag is the visitor's Stop (it ends both rows); a row's end sets nothing."""
        lang, race = lang_of(request), self.page.race
        try:
            base = self._settings(values)
        except RioError as err:
            gr.Warning(t("bad_settings", lang, message=str(err)))
            yield nothing(race.verdict)
            return
        seed = base.seed if base.seed is not None else random.randrange(2**31)
        user, turns = user_messages(message), [message_turn(message)]
        backend = self.holder.backend
        cancel = session.race_cancel if isinstance(session, Session) else None
        plans = [
            (pane, replace(base, method=m, seed=seed))
            for pane, m in zip(race.panes, ("swir", against), strict=True)
        ]
        together = backend.info.max_batch_rows >= 2  # two rows of one batch; else one after the other
        frames = _interleaved if together else _one_after_another
        finals: dict[int, Frame] = {}
        for k, frame in frames(backend, turns, plans, cancel, lang):
            yield self._pane_update(plans[k][0], frame, user, lang)
            if frame.final:
                finals[k] = frame
        runs = [finals[k] for k in sorted(finals)]
        if isinstance(session, Session):
            session.race_runs = [f.recorder.to_dict() for f in runs]
        yield {race.verdict: race_verdict(runs, lang)}
        yield nothing(race.verdict)

    def _pane_update(self, pane: PaneParts, frame: Frame, user: list, lang: str) -> dict:
        out: dict = {pane.chat: user + frame.view.messages()}
        if frame.final:
            out[pane.card] = _card(frame, lang)
        elif frame.chart is not None:
            out[pane.chart] = frame.chart
        return out

    # ---------------------------------------------------------------- model

    def model_updates(self, backend: Backend, lang: str) -> dict:
        """Header, both message boxes, chat examples and preset settings for `backend`."""
        from engine.models.presets import PRESETS

        page = self.page
        widgets = page.settings
        values = preset_values(PRESETS.get(backend.info.name))
        out: dict = {widgets[name]: gr.update(value=v) for name, v in values.items()}
        local = backend.info.runtime != "remote"  # a server decodes on its own: no calculator there
        out[widgets["calculator"]] = gr.update(value=values["calculator"] and local, interactive=local)
        return out | {
            page.header: header_html(backend, lang),
            page.chat.box: box_update(backend),
            page.race.box: box_update(backend, "race_box"),
            page.race.intro: t(race_intro(backend), lang),
            page.chat.chatbot: gr.update(examples=examples(backend.info.modalities, lang)),
        }

    def on_load(self, request: gr.Request) -> dict:
        """Page load: status, limits, the model picker and the model's updates in the visitor's language."""
        lang, backend, page = lang_of(request), self.holder.backend, self.page
        first = {page.status: "", page.chat.limits: limits_line(backend, lang)}
        pick = {page.pick: gr.update(choices=picker_choices(backend, lang), value=backend.info.name)}
        return first | pick | self.model_updates(backend, lang)

    def load_model(self, request: gr.Request, name: str, progress: Any = gr.Progress()) -> Iterator[dict]:  # noqa: B008
        """Load `name` while the current model keeps answering; then swap it in."""
        lang, status = lang_of(request), self.page.status
        old = self.holder.backend
        if not self.holder.allow_switch:  # the page hides the picker; the API must refuse too
            gr.Warning(t("model_switch_off", lang))
            yield {status: t("model_switch_off", lang)}
            return
        if not name or name == old.info.name:
            yield {status: t("already_loaded", lang, name=name or old.info.name)}
            return
        yield {status: t("loading", lang, name=name)}
        progress(0.1, desc=t("loading", lang, name=name))
        self.holder.loading = name  # the send's validator says why an upload must wait
        try:  # the server's prompt cap carries over
            backend = self._loader()(name, fallback=False, max_prompt_tokens=old.info.max_prompt_tokens)
        except RioError as err:
            gr.Warning(str(err))
            yield {status: t("load_failed", lang, name=name, reason=str(err), old=old.info.name)}
            return
        finally:
            self.holder.loading = None
        self.holder.swap(backend)
        yield {status: t("loaded", lang, name=name)} | self.model_updates(backend, lang)

    def _loader(self) -> Any:
        if self._load_backend is None:
            from engine.backends.local import load_backend

            self._load_backend = load_backend
        return self._load_backend


_EXPORT_NAMES = ("rio-trace.json", "rio-trace.png", "rio-trace.html", "rio-conversation.md")


def _one_after_another(backend: Backend, turns: list, plans: list, cancel: Any, lang: str) -> Iterator[tuple]:
    """(pane index, frame) of each race run in turn."""
    for k, (_, settings) in enumerate(plans):
        if cancel is not None and cancel.is_set():
            return
        for frame in run_frames(backend, turns, settings, cancel, lang, title=backend.info.name):
            yield k, frame


def _interleaved(backend: Backend, turns: list, plans: list, cancel: Any, lang: str) -> Iterator[tuple]:
    """(pane index, frame) of the race runs as they stream side by side: each run is consumed
    on its own thread (in this request's context, so toasts still reach the page)."""
    frames: queue.SimpleQueue = queue.SimpleQueue()

    def consume(k: int, settings: DecodeSettings) -> None:
        try:
            for frame in run_frames(backend, turns, settings, cancel, lang, title=backend.info.name):
                frames.put((k, frame))
        finally:
            frames.put((k, None))

    for k, (_, settings) in enumerate(plans):
        ctx = contextvars.copy_context()
        threading.Thread(target=ctx.run, args=(consume, k, settings), daemon=True).start()
    running = len(plans)
    while running:
        k, frame = frames.get()
        if frame is None:
            running -= 1
            continue
        yield k, frame


def race_intro(backend: Backend) -> str:
    """The i18n key that says what a race is on `backend`: two rows of one batch, or one run
    after the other (a backend that decodes one run at a time)."""
    return "race_intro" if backend.info.max_batch_rows >= 2 else "race_intro_serial"


def hide_exports(buttons: dict) -> dict:
    """The export buttons, hidden (no run to export yet)."""
    return {b: gr.update(visible=False) for b in buttons.values()}


def race_verdict(runs: list[Frame], lang: str) -> str:
    """One line comparing the two runs: which one answered when only one did (the other ran out
    of tokens inside its thinking, where a tight Max new tokens separates the methods), else
    their token counts; a run whose thinking closed early, or that wrote no answer, is marked."""
    done = [f for f in runs if f.view.summary is not None]
    if len(done) < 2:
        return ""
    names = (t("race_a", lang), t("race_b", lang))
    silent = [f.view.ended_in_thinking for f in done[:2]]
    one_silent = silent[0] != silent[1]
    a, b = (f.view.summary.tokens for f in done[:2])  # type: ignore[union-attr]
    if one_silent:
        line = t("race_only_answer", lang, name=names[silent.index(False)])
    elif silent[0]:
        line = t("race_no_answers", lang)
    elif a == b:
        line = t("race_tie", lang)
    else:
        line = t("race_winner", lang, name=names[0] if a < b else names[1], delta=abs(a - b))
    marks = [  # why the one silent run wrote nothing; which answering run was closed early
        f"{name}: {t('race_no_answer' if quiet else 'race_early', lang)}"
        for name, f, quiet in zip(names, done, silent, strict=False)
        if (quiet and one_silent) or (not quiet and f.early_close)
    ]
    return " · ".join([line, *marks])


def model_choices(lang: str = "en") -> list[tuple[str, str]]:
    """Dropdown (label, value) pairs in `lang`: every preset, marked available or not, with why."""
    from engine.models.presets import PRESETS, availability

    out = []
    for name in PRESETS:
        av = availability(name)
        mark = "✓" if av.ok else "✗"
        out.append((f"{mark} {t(f'label_{name}', lang)} — {t(f'av_{av.key}', lang, **dict(av.args))}", name))
    return out


def picker_choices(backend: Backend, lang: str = "en") -> list[tuple[str, str]]:
    """`model_choices`, with the running model first when it is not a preset (a folder, a hub id)."""
    choices = model_choices(lang)
    if backend.info.name not in {v for _, v in choices}:
        choices.insert(0, (f"● {backend.info.name}", backend.info.name))
    return choices
