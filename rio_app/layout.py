"""The page: components and their wiring, nothing else.

Owns: `build_page(holder)` (the `gr.Blocks`, queue included, with its named
components as a `Page` and the bound `Handlers`), `build_app` (the Blocks
alone) and `launch_kwargs()` (what `launch()` needs: CSS, the page script
assets/copy.js, translations, upload limit). Layout: a header naming the
model; a Chat tab (chat, message box and "Copy conversation" on the left,
live trace chart, run summary, "Retry with CoT"
and exports on the right); a Race tab (SwiReasoning and CoT side by side);
settings (`settings.SETTINGS`) and the model picker in a sidebar. Every
label is an `I18N` key, translated in the browser. Handlers return values
keyed by the components named here, so adding a widget is one edit.
Leaves what events do to `handlers.py`, settings to `settings.py` and
strings to `i18n.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import gradio as gr

from engine.backends.base import Backend
from engine.config import DecodeSettings
from rio_app import trace_chart
from rio_app.examples import examples
from rio_app.handlers import EXPORT_KINDS, Handlers, header_html, hide_exports, limits_line, picker_choices
from rio_app.i18n import I18N, LANGS, t
from rio_app.settings import METHOD_CHOICES, build_widgets
from rio_app.state import ModelHolder, close_session, new_session

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MAX_FILE_SIZE = "200mb"  # the largest upload engine.media accepts (a video)
LIGHT = {"concurrency_limit": None, "show_progress": "hidden"}  # fast events, any number at once


# the speakers (and race panes) a copied conversation names, by the page's language
SPEAKERS = json.dumps({lang: {"user": t("speaker_user", lang), "assistant": t("speaker_assistant", lang),
                              "race_a": t("race_a", lang), "race_b": t("race_b", lang)} for lang in LANGS})  # fmt: skip


def launch_kwargs() -> dict[str, Any]:
    """Arguments for `demo.launch()` that every launch needs (tests included)."""
    return {
        "css_paths": [ASSETS / "style.css"],
        "js": (ASSETS / "copy.js").read_text(encoding="utf-8"),
        "i18n": I18N,
        "max_file_size": MAX_FILE_SIZE,
    }


def model_queue(backend: Backend) -> dict[str, Any]:
    """Runs share the one loaded model: as many at once as it decodes together."""
    return {"concurrency_id": "model", "concurrency_limit": max(1, backend.info.max_batch_rows)}


@dataclass
class ChatTab:
    chatbot: gr.Chatbot
    box: gr.MultimodalTextbox
    limits: gr.Markdown
    copy: gr.Button  # the conversation's words to the clipboard (assets/copy.js)
    chart: gr.HTML
    card: gr.HTML
    retry_cot: gr.Button
    reader_offer: gr.Button  # shown when the model cannot read an upload (Handlers.offer_reader)
    downloads: dict[str, gr.DownloadButton]  # by EXPORT_KINDS


@dataclass
class RacePane:
    chat: gr.Chatbot
    chart: gr.HTML
    card: gr.HTML


@dataclass
class RaceTab:
    box: gr.MultimodalTextbox
    against: gr.Radio
    panes: tuple[RacePane, RacePane]  # SwiReasoning, then the method it races
    verdict: gr.Markdown
    copy: gr.Button  # both runs as words, for pasting elsewhere (assets/copy.js)
    downloads: dict[str, gr.DownloadButton]
    message: gr.State  # the raced message, kept while both runs stream
    intro: gr.Markdown | None = None  # what a race is on this backend (`handlers.race_intro`)


@dataclass
class Page:
    header: gr.HTML
    status: gr.Markdown
    pick: gr.Dropdown
    load: gr.Button
    settings: dict[str, gr.components.Component]  # by setting name, in `SETTINGS` order
    chat: ChatTab
    race: RaceTab
    session: gr.State

    def setting_values(self, values: Any) -> dict[str, Any]:
        """The settings widgets' values (passed after the other inputs) by setting name."""
        return dict(zip(self.settings, values, strict=True))

    @property
    def model_outputs(self) -> list[Any]:
        """Everything a model switch may update (`Handlers.model_updates`)."""
        c = self.chat
        race = [self.race.box, self.race.intro]
        return [self.status, self.header, c.limits, c.box, *race, c.chatbot, *self.settings.values()]


def _box(backend: Backend, elem_id: str, placeholder: str) -> gr.MultimodalTextbox:
    types = [m for m in ("image", "video") if m in backend.info.modalities]
    return gr.MultimodalTextbox(
        file_count="multiple",
        file_types=["image", "video"],
        sources=["upload"],
        placeholder=I18N(placeholder if types else f"{placeholder}_text"),
        show_label=False,
        elem_id=elem_id,
        autofocus=elem_id == "rio-box",
        submit_btn=True,
        stop_btn=False,
    )


def _chatbot(elem_id: str, label: str, height: int, ex: list | None = None) -> gr.Chatbot:
    # Gradio's "copy all" is left out: it copies the messages' markup under an English-only label
    # (a toolbar button's label is not translated either); the chat tab has its own button
    return gr.Chatbot(
        label=I18N(label),
        elem_id=elem_id,
        elem_classes="rio-chatbot",  # assets/copy.js: a copy started in here copies words
        height=height,
        buttons=["copy"],
        examples=ex,
        placeholder=None,
        latex_delimiters=[{"left": "$$", "right": "$$", "display": True}],
    )


def _exports(prefix: str = "rio", both: bool = False) -> dict[str, gr.DownloadButton]:
    """Hidden download buttons (trace JSON, chart PNG/HTML, Markdown), shown after a run."""
    title = "export_race" if both else "export"
    with gr.Accordion(I18N(title), open=False, elem_id=f"{prefix}-exports"), gr.Row():
        return {
            k: gr.DownloadButton(
                I18N(f"export_{k}_both" if both else f"export_{k}"),
                visible=False,
                size="sm",
                elem_id=f"{prefix}-export_{k}",
            )
            for k in EXPORT_KINDS
        }


def _chat_tab(backend: Backend) -> ChatTab:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=380):
            chatbot = _chatbot("rio-chat", "chat_label", 580, examples(backend.info.modalities))
            box = _box(backend, "rio-box", "box_placeholder")
            with gr.Row(equal_height=True):
                limits = gr.Markdown(limits_line(backend, "en"), elem_classes="rio-limits")
                copy = gr.Button(
                    I18N("copy_conversation"), size="sm", variant="secondary", scale=0, min_width=170,
                    elem_id="rio-copy",
                )  # fmt: skip
            offer = gr.Button("", visible=False, size="sm", variant="secondary", elem_id="rio-reader-offer")
        with gr.Column(scale=2, min_width=320):
            chart = trace_chart.TraceChart(label=I18N("chart_label"), elem_id="rio-chart")
            card = gr.HTML(I18N("summary_empty"), label=I18N("summary_label"), elem_id="rio-summary")
            retry_cot = gr.Button(I18N("retry_cot"), visible=False, size="sm", elem_id="rio-retry-cot")
            downloads = _exports()
    return ChatTab(chatbot, box, limits, copy, chart, card, retry_cot, offer, downloads)


def _race_pane(key: str, title: str) -> RacePane:
    with gr.Column(min_width=320):
        gr.Markdown(f"### {I18N(title)}")
        chat = _chatbot(f"rio-race-chat-{key}", title, 360)
        chart = trace_chart.TraceChart(elem_id=f"rio-race-chart-{key}")
        card = gr.HTML("", elem_id=f"rio-race-card-{key}")
    return RacePane(chat, chart, card)


def _race_tab(backend: Backend) -> RaceTab:
    intro = gr.Markdown(I18N("race_intro"), elem_id="rio-race-intro")  # the load event says which
    with gr.Row(equal_height=True):
        with gr.Column(scale=4):
            box = _box(backend, "rio-race-box", "race_box")
        against = gr.Radio(METHOD_CHOICES[1:], value="cot", label=I18N("race_against"), scale=1)
    with gr.Row(equal_height=False):
        panes = (_race_pane("a", "race_a"), _race_pane("b", "race_b"))
    with gr.Row(equal_height=True):
        verdict = gr.Markdown("", elem_id="rio-race-verdict")
        copy = gr.Button(
            I18N("copy_race"), size="sm", variant="secondary", scale=0, min_width=170, elem_id="rio-race-copy"
        )
    downloads = _exports("rio-race", both=True)
    return RaceTab(box, against, panes, verdict, copy, downloads, gr.State(None), intro)


def _sidebar(backend: Backend, settings: DecodeSettings, allow_switch: bool) -> dict[str, Any]:
    c: dict[str, Any] = {}
    with gr.Sidebar(open=False, elem_id="rio-sidebar"):
        gr.Markdown(f"### {I18N('settings')}")
        c["settings"] = build_widgets(settings, backend.info)
        gr.Markdown(f"### {I18N('model_group')}")
        c["pick"] = gr.Dropdown(
            picker_choices(backend),
            value=backend.info.name,
            label=I18N("model_pick"),
            interactive=allow_switch,
        )
        c["load"] = gr.Button(I18N("model_load"), variant="secondary", interactive=allow_switch)
        if not allow_switch:
            gr.Markdown(I18N("model_switch_off"), elem_id="rio-switch-off", elem_classes="rio-limits")
        c["status"] = gr.Markdown("", elem_id="rio-model-status")
    return c


def _wire_chat(h: Handlers, page: Page, queue: dict[str, Any]) -> None:
    c, session = page.chat, page.session
    chatbot, box, settings = c.chatbot, c.box, list(page.settings.values())
    answer = {
        "fn": h.respond,
        "inputs": [chatbot, session, *settings],
        "outputs": [chatbot, c.chart, c.card, c.retry_cot],
        **queue,
        "show_progress": "minimal",
        "show_progress_on": [chatbot],
    }
    export = {"fn": h.exports, "inputs": [session, chatbot], "outputs": list(c.downloads.values()), **LIGHT}
    sent = box.submit(
        h.take_message, [box, chatbot, session], [box, chatbot], validator=h.check_message, **LIGHT
    )
    box.change(
        h.offer_reader,
        [box],
        [c.reader_offer],
        queue=False,
        trigger_mode="always_last",
        show_progress="hidden",
    )
    c.reader_offer.click(
        h.switch_to_reader, [box], [*page.model_outputs, page.pick, c.reader_offer],
        concurrency_id="load", concurrency_limit=1, show_progress_on=[page.status],
    )  # fmt: skip
    sent.success(**answer).then(h.release_box, None, box, queue=False).then(**export)
    for trigger, fn in ((chatbot.retry, h.retry), (c.retry_cot.click, h.retry_with_cot)):
        again = trigger(fn, [chatbot, session], [chatbot], queue=False)
        again = again.then(h.lock_box, None, box, queue=False)
        again.then(**answer).then(h.release_box, None, box, queue=False).then(**export)
    box.stop(h.stop, [session], None, queue=False)
    chatbot.undo(h.undo, [chatbot, session], [chatbot, box], queue=False)
    clear_out = [c.chart, c.card, c.retry_cot, *c.downloads.values()]
    chatbot.clear(h.clear, [session], clear_out, queue=False)
    chatbot.example_select(h.example_to_box, None, box, queue=False)
    c.copy.click(None, [chatbot], None, js=f"(m) => window.rioCopyConversation(m, {SPEAKERS})", queue=False)


def _wire_race(h: Handlers, page: Page, queue: dict[str, Any]) -> None:
    r, session = page.race, page.session
    a, b = r.panes
    sent = r.box.submit(
        h.take_race, [r.box, session], [r.box, a.chat, b.chat, r.message], validator=h.check_race, **LIGHT
    )
    outputs = [p for pane in r.panes for p in (pane.chat, pane.chart, pane.card)] + [r.verdict]
    run = sent.success(
        h.race,
        [r.message, r.against, session, *page.settings.values()],
        outputs,
        **queue,
        show_progress="minimal",
        show_progress_on=[a.chat],
    )
    sent.then(lambda: hide_exports(r.downloads), None, list(r.downloads.values()), queue=False)
    run = run.then(h.release_box, None, r.box, queue=False)
    run.then(h.race_exports, [session, a.chat, b.chat], list(r.downloads.values()), **LIGHT)
    r.box.stop(h.stop_race, [session], None, queue=False)
    copy_js = f"(a, b, v) => window.rioCopyRace(a, b, v, {SPEAKERS})"
    r.copy.click(None, [a.chat, b.chat, r.verdict], None, js=copy_js, queue=False)


def build_page(
    backend_or_holder: Backend | ModelHolder,
    *,
    settings: DecodeSettings | None = None,
    load_backend: Any = None,
    allow_model_switch: bool = True,
) -> tuple[gr.Blocks, Page, Handlers]:
    """The whole app around one loaded backend, with its components and handlers.
    `settings` seeds the widgets; `allow_model_switch=False` (a public server)
    disables the model picker, and the server refuses switches too."""
    holder = (
        backend_or_holder
        if isinstance(backend_or_holder, ModelHolder)
        else ModelHolder(backend_or_holder, allow_switch=allow_model_switch)
    )
    holder.allow_switch = holder.allow_switch and allow_model_switch
    backend = holder.backend
    with gr.Blocks(title="Rio Chat", fill_width=True) as demo:
        session = gr.State(new_session, delete_callback=close_session)
        with gr.Row(elem_classes="rio-top"):
            gr.Markdown(f"## {I18N('title')}", elem_classes="rio-title")
            header = gr.HTML(header_html(backend, "en"), elem_id="rio-header")
        # the widgets start at the served model's recommended values, so a message sent before
        # the page's load event lands already runs with them
        side = _sidebar(backend, settings or _initial_settings(backend), allow_model_switch)
        with gr.Tabs():
            with gr.Tab(I18N("tab_chat"), id="chat"):
                chat = _chat_tab(backend)
            with gr.Tab(I18N("tab_race"), id="race", elem_id="rio-race-tab"):
                race = _race_tab(backend)
        page = Page(header, side["status"], side["pick"], side["load"], side["settings"], chat, race, session)
        h = Handlers(holder, page, load_backend)
        demo.load(h.on_load, None, [*page.model_outputs, page.pick], queue=False)
        # a load's progress shows on the status line only: the chat stays usable meanwhile
        page.load.click(
            h.load_model, [page.pick], page.model_outputs, concurrency_id="load", concurrency_limit=1,
            show_progress_on=[page.status],
        )  # fmt: skip
        queue = model_queue(backend)
        _wire_chat(h, page, queue)
        _wire_race(h, page, queue)
    demo.queue(default_concurrency_limit=1)
    return demo, page, h


def _initial_settings(backend: Backend) -> DecodeSettings:
    """The served model's preset settings; the calculator only where the loop runs here."""
    from engine.models.presets import PRESETS, recommended_settings

    base = recommended_settings(PRESETS.get(backend.info.name))
    return replace(base, calculator=base.calculator and backend.info.runtime != "remote")


def build_app(backend_or_holder: Backend | ModelHolder, **kwargs: Any) -> gr.Blocks:
    """The app's Blocks (see `build_page`)."""
    return build_page(backend_or_holder, **kwargs)[0]
