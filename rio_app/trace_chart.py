"""The live SwiReasoning chart: a `gr.HTML` that draws a growing trace on a canvas.

Owns: the component factory and the shape of its value. Leaves the drawing to
`assets/trace_chart.js` / `assets/trace_chart.css` (shared with the standalone
HTML export of `rio_app/visualize.py`), and the wiring to the app's handlers.

API (all the app needs):
- `TraceChart(label=None, elem_id=None, **html_kwargs) -> gr.HTML`: one chart;
  any number of them may share a page (race mode puts two side by side).
- `chart_meta(method, max_switch_count, entropy="exact"|"estimate",
  lang="en"|"pt-BR", note=None, title=None) -> dict`: the fixed part of a value
  (legend strings in both languages, switch maximum, estimate label; `note`,
  e.g. "not applied", labels would-switch markers).
- `chart_value(meta, steps=()) -> list` and `append_steps(value, new_steps) -> list`:
  the value is `[meta, chunk, chunk, ...]`, one chunk string per append
  holding one compact row per step (`t,H,ref,mode,switch,flags,text`, format
  in `rio_app/visualize.py`; `value_rows(value)` decodes them).
  `append_steps` returns a new value and never edits the old one: Gradio
  diffs each streamed value against the previous object it was given, so a
  value changed in place would send nothing.

Why a list and not a dict: the handler ends with `gr.skip()`, which Gradio
diffs against the chart's last value. Against a dict that diff is key by key
("delete meta", "delete chunks", "add __type__"), and the browser applies it
in place to the very object it handed the chart a moment before; when the
last updates arrive together (a busy tab) the chart then reads the emptied
object and never draws the run. Against a list the diff is one replace of
the whole value, and the object the chart holds is left alone.

Streaming (Gradio sends streamed values as diffs matched by list index): only appending keeps updates
small, so never window, downsample or edit old rows on the server; the
browser downsamples. Throttle yields (about every 100 ms or every N steps) and
end the generator with `yield gr.skip()` (one per output) so the completion
message does not resend the whole trace:

    value = chart_value(chart_meta("swir", settings.swir.max_switch_count, lang=lang))
    for batch in batched_steps(events):          # the handler's throttling
        value = append_steps(value, batch)
        yield ..., value
    yield gr.skip()

A new run is a new `chart_meta(...)` (it carries a fresh run id) so the
browser clears the old drawing even if the new run has as many rows.
Appending a batch per yield (not per step) also keeps the server's per-update
walk of the value short. The chart exposes `data-points` (rows drawn), `data-switches` and `data-draws`
on its `.rio-trace` element for tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import gradio as gr

from rio_app.visualize import chart_assets, chart_meta, decode_chunk, encode_steps

__all__ = [
    "TraceChart",
    "append_steps",
    "chart_meta",
    "chart_value",
    "value_chunks",
    "value_meta",
    "value_rows",
]


def TraceChart(*, label: str | None = None, elem_id: str | None = None, **html_kwargs: Any) -> gr.HTML:  # noqa: N802
    """A gr.HTML drawing the live trace; its value comes from `chart_value`/`append_steps`."""
    template, css, js = chart_assets()
    html_kwargs.setdefault("value", None)
    html_kwargs.setdefault("min_height", 250)
    return gr.HTML(
        label=label,
        elem_id=elem_id,
        html_template=template,
        css_template=css,
        js_on_load=js,
        apply_default_css=False,
        **html_kwargs,
    )


def chart_value(meta: dict, steps: Iterable[Any] = ()) -> list:
    """A chart value: fixed `meta` plus the steps (Step or trace record) so far."""
    return append_steps([meta], steps)


def append_steps(value: list | None, new_steps: Iterable[Any]) -> list:
    """A new value with `new_steps` appended as one chunk; `value` itself is left as it was."""
    if not value:
        raise ValueError("append_steps needs a value from chart_value(meta)")
    chunk = encode_steps(new_steps)
    if not chunk:
        return value
    return [*value, chunk]


def value_meta(value: list | None) -> dict:
    """The fixed part of a chart value ({} for None)."""
    return value[0] if value else {}


def value_chunks(value: list | None) -> list[str]:
    """The chunk strings of a chart value, in order."""
    return list(value[1:]) if value else []


def value_rows(value: list | None) -> list[list]:
    """Every row of a chart value, decoded (`[t, H, ref, mode, switch, flags, text]`)."""
    return [row for chunk in value_chunks(value) for row in decode_chunk(chunk)]
