"""The page: components and their wiring, nothing else.

Owns: `build_app(backend_or_holder)` (the `gr.Blocks`, queue included) and
`launch_kwargs()` (what `launch()` needs: CSS, translations, upload limit).
Layout: a header naming the model; a Chat tab (chat and message box on the
left, live trace chart, run summary and exports on the right); a Race tab
(SwiReasoning and CoT side by side); settings and the model picker in a
sidebar. Every label is an `I18N` key, translated in the browser.
Leaves what events do to `handlers.py` and strings to `i18n.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from engine.backend import Backend
from engine.config import DecodeSettings
from rio_app import trace_chart
from rio_app.examples import examples
from rio_app.handlers import Handlers, header_html, hide_exports, limits_line, model_choices
from rio_app.i18n import I18N
from rio_app.state import ModelHolder, close_session, new_session

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MAX_FILE_SIZE = "200mb"  # the largest upload engine.media accepts (a video)
METHOD_CHOICES = [("SwiReasoning", "swir"), ("CoT (sampled)", "cot"), ("CoT (greedy)", "cot-greedy")]
LIGHT = {"concurrency_limit": None, "show_progress": "hidden"}  # fast events, any number at once
MODEL = {"concurrency_id": "model", "concurrency_limit": 1}  # runs share the one loaded model


def launch_kwargs() -> dict[str, Any]:
    """Arguments for `demo.launch()` that every launch needs (tests included)."""
    return {"css_paths": [ASSETS / "style.css"], "i18n": I18N, "max_file_size": MAX_FILE_SIZE}


def _method_choices(methods: tuple[str, ...]) -> list[tuple[str, str]]:
    """The decode methods this backend runs for real (a stock remote server: no SwiR)."""
    return [(label, m) for label, m in METHOD_CHOICES if m in methods] or METHOD_CHOICES


def _settings_widgets(s: DecodeSettings, methods: tuple[str, ...]) -> list[gr.components.Component]:
    """The settings sidebar, in `convert.SETTING_NAMES` order."""
    choices = _method_choices(methods)
    value = s.method if s.method in {m for _, m in choices} else choices[0][1]
    method = gr.Radio(choices, value=value, label=I18N("method"), info=I18N("method_info"))
    max_new = gr.Slider(1, 8192, value=s.max_new_tokens, step=1, label=I18N("max_new_tokens"))
    with gr.Accordion(I18N("sampling_group"), open=False):
        temp = gr.Slider(0.05, 2.0, value=s.sampling.temperature, step=0.05, label=I18N("temperature"))
        top_p = gr.Slider(0.05, 1.0, value=s.sampling.top_p, step=0.01, label=I18N("top_p"))
        top_k = gr.Slider(0, 200, value=s.sampling.top_k, step=1, label=I18N("top_k"))
        min_p = gr.Slider(0.0, 0.5, value=s.sampling.min_p, step=0.01, label=I18N("min_p"))
    with gr.Accordion(I18N("swir_group"), open=False):
        alpha0 = gr.Slider(0.0, 1.0, value=s.swir.alpha0, step=0.05, label=I18N("alpha0"))
        beta0 = gr.Slider(0.0, 1.0, value=s.swir.beta0, step=0.05, label=I18N("beta0"))
        window = gr.Slider(1, 1024, value=s.swir.window, step=1, label=I18N("window"))
        max_switch = gr.Slider(0, 16, value=s.swir.max_switch_count or 0, step=1, label=I18N("max_switch"))
    thinking = gr.Checkbox(value=s.thinking, label=I18N("thinking"))
    seed = gr.Number(value=s.seed, precision=0, label=I18N("seed"))
    suffix = gr.Checkbox(value=s.step_by_step_suffix, label=I18N("suffix"))
    return [
        method,
        max_new,
        temp,
        top_p,
        top_k,
        min_p,
        alpha0,
        beta0,
        window,
        max_switch,
        thinking,
        seed,
        suffix,
    ]


def _box(backend: Backend, elem_id: str, placeholder: str) -> gr.MultimodalTextbox:
    types = [m for m in ("image", "video") if m in backend.info.modalities]
    return gr.MultimodalTextbox(
        file_count="multiple",
        file_types=["image", "video"],
        sources=["upload"],
        placeholder=I18N(placeholder if types else "box_placeholder_text"),
        show_label=False,
        elem_id=elem_id,
        autofocus=elem_id == "rio-box",
        submit_btn=True,
        stop_btn=False,
    )


def _chatbot(elem_id: str, label: str, height: int, ex: list | None = None) -> gr.Chatbot:
    return gr.Chatbot(
        label=I18N(label),
        elem_id=elem_id,
        height=height,
        buttons=["copy", "copy_all"],
        examples=ex,
        placeholder=None,
        latex_delimiters=[{"left": "$$", "right": "$$", "display": True}],
    )


def _exports(prefix: str = "rio", both: bool = False) -> list[gr.DownloadButton]:
    """Four hidden download buttons (trace JSON, chart PNG/HTML, Markdown), shown after a run."""
    keys = ("export_json", "export_png", "export_html", "export_md")
    labels = [f"{k}_both" if both else k for k in keys]
    title = "export_race" if both else "export"
    with gr.Accordion(I18N(title), open=False, elem_id=f"{prefix}-exports"), gr.Row():
        return [
            gr.DownloadButton(I18N(label), visible=False, size="sm", elem_id=f"{prefix}-{k}")
            for k, label in zip(keys, labels, strict=True)
        ]


def _chat_tab(backend: Backend) -> dict[str, Any]:
    c: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=380):
            c["chatbot"] = _chatbot("rio-chat", "chat_label", 580, examples(backend.info.modalities))
            c["box"] = _box(backend, "rio-box", "box_placeholder")
            c["limits"] = gr.Markdown(limits_line(backend, "en"), elem_classes="rio-limits")
        with gr.Column(scale=2, min_width=320):
            c["chart"] = trace_chart.TraceChart(label=I18N("chart_label"), elem_id="rio-chart")
            c["card"] = gr.HTML(I18N("summary_empty"), label=I18N("summary_label"), elem_id="rio-summary")
            c["downloads"] = _exports()
    return c


def _race_pane(key: str, title: str) -> list[Any]:
    with gr.Column(min_width=320):
        gr.Markdown(f"### {I18N(title)}")
        chat = _chatbot(f"rio-race-chat-{key}", title, 360)
        chart = trace_chart.TraceChart(elem_id=f"rio-race-chart-{key}")
        card = gr.HTML("", elem_id=f"rio-race-card-{key}")
    return [chat, chart, card]


def _race_tab(backend: Backend) -> dict[str, Any]:
    c: dict[str, Any] = {}
    gr.Markdown(I18N("race_intro"))
    with gr.Row(equal_height=True):
        with gr.Column(scale=4):
            c["box"] = _box(backend, "rio-race-box", "race_box")
        c["against"] = gr.Radio(METHOD_CHOICES[1:], value="cot", label=I18N("race_against"), scale=1)
    with gr.Row(equal_height=False):
        c["panes"] = _race_pane("a", "race_a") + _race_pane("b", "race_b")
    c["verdict"] = gr.Markdown("", elem_id="rio-race-verdict")
    c["downloads"] = _exports("rio-race", both=True)
    c["message"] = gr.State(None)
    return c


def _sidebar(backend: Backend, settings: DecodeSettings, allow_switch: bool) -> dict[str, Any]:
    c: dict[str, Any] = {}
    with gr.Sidebar(open=False, elem_id="rio-sidebar"):
        gr.Markdown(f"### {I18N('settings')}")
        c["settings"] = _settings_widgets(settings, backend.info.methods)
        gr.Markdown(f"### {I18N('model_group')}")
        choices = model_choices()
        if backend.info.name not in {v for _, v in choices}:
            choices.insert(0, (f"● {backend.info.name}", backend.info.name))
        c["pick"] = gr.Dropdown(
            choices, value=backend.info.name, label=I18N("model_pick"), interactive=allow_switch
        )
        c["load"] = gr.Button(I18N("model_load"), variant="secondary", interactive=allow_switch)
        if not allow_switch:
            gr.Markdown(I18N("model_switch_off"), elem_id="rio-switch-off", elem_classes="rio-limits")
        c["status"] = gr.Markdown("", elem_id="rio-model-status")
    return c


def _wire_chat(demo: gr.Blocks, h: Handlers, c: dict, settings: list, session: gr.State) -> None:
    chatbot, box = c["chatbot"], c["box"]
    answer = {
        "fn": h.respond,
        "inputs": [chatbot, session, *settings],
        "outputs": [chatbot, c["chart"], c["card"]],
    }
    answer |= {**MODEL, "show_progress": "minimal", "show_progress_on": [chatbot]}
    export = {"fn": h.exports, "inputs": [session, chatbot], "outputs": c["downloads"], **LIGHT}
    sent = box.submit(
        h.take_message, [box, chatbot, session], [box, chatbot], validator=h.check_message, **LIGHT
    )
    sent.success(**answer).then(h.release_box, None, box, queue=False).then(**export)
    retried = chatbot.retry(h.retry, [chatbot, session], [chatbot], queue=False)
    retried = retried.then(
        lambda: gr.update(interactive=False, submit_btn=False, stop_btn=True), None, box, queue=False
    )
    retried.then(**answer).then(h.release_box, None, box, queue=False).then(**export)
    box.stop(h.stop, [session], None, queue=False)
    chatbot.undo(h.undo, [chatbot], [chatbot, box], queue=False)
    chatbot.clear(h.clear, [session], [c["chart"], c["card"], *c["downloads"]], queue=False)
    chatbot.example_select(h.example_to_box, None, box, queue=False)


def _wire_race(h: Handlers, r: dict, settings: list, session: gr.State) -> None:
    box = r["box"]
    sent = box.submit(
        h.take_race,
        [box, session],
        [box, r["panes"][0], r["panes"][3], r["message"]],
        validator=h.check_race,
        **LIGHT,
    )
    run = sent.success(
        h.race,
        [r["message"], r["against"], session, *settings],
        [*r["panes"], r["verdict"]],
        **MODEL,
        show_progress="minimal",
        show_progress_on=[r["panes"][0]],
    )
    sent.then(hide_exports, None, r["downloads"], queue=False)
    exports = [session, r["panes"][0], r["panes"][3]]
    run = run.then(h.release_box, None, box, queue=False)
    run.then(h.race_exports, exports, r["downloads"], **LIGHT)
    box.stop(h.stop, [session], None, queue=False)


def build_app(
    backend_or_holder: Backend | ModelHolder,
    *,
    settings: DecodeSettings | None = None,
    load_backend: Any = None,
    allow_model_switch: bool = True,
) -> gr.Blocks:
    """The whole app around one loaded backend. `settings` seeds the widgets;
    `allow_model_switch=False` (a public server) disables the model picker."""
    holder = (
        backend_or_holder
        if isinstance(backend_or_holder, ModelHolder)
        else ModelHolder(backend_or_holder, allow_switch=allow_model_switch)
    )
    holder.allow_switch = holder.allow_switch and allow_model_switch  # the server refuses too
    backend, h = holder.backend, Handlers(holder, load_backend)
    settings = settings or DecodeSettings()
    with gr.Blocks(title="Rio Chat", fill_width=True) as demo:
        session = gr.State(new_session, delete_callback=close_session)
        with gr.Row(elem_classes="rio-top"):
            gr.Markdown(f"## {I18N('title')}", elem_classes="rio-title")
            header = gr.HTML(header_html(backend, "en"), elem_id="rio-header")
        side = _sidebar(backend, settings, allow_model_switch)
        with gr.Tabs():
            with gr.Tab(I18N("tab_chat"), id="chat"):
                chat = _chat_tab(backend)
            with gr.Tab(I18N("tab_race"), id="race", elem_id="rio-race-tab"):
                race = _race_tab(backend)
        widgets = side["settings"]
        model_out = [header, chat["box"], race["box"], chat["chatbot"], *widgets]
        demo.load(h.on_load, None, [side["status"], chat["limits"], *model_out], queue=False)
        side["load"].click(
            h.load_model,
            [side["pick"]],
            [side["status"], *model_out],
            concurrency_id="load",
            concurrency_limit=1,
        )
        _wire_chat(demo, h, chat, widgets, session)
        _wire_race(h, race, widgets, session)
    demo.queue(default_concurrency_limit=1)
    return demo
