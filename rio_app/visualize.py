"""Trace -> pictures: the SwiReasoning chart as PNG, as standalone HTML, and as compact rows.

Owns: the drawing of a finished run (`figure_png`, matplotlib, Agg) and its
self-contained HTML export (`standalone_html`, which inlines the same canvas
code the live chart uses, `assets/trace_chart.js` and `assets/trace_chart.css`),
plus the pure helpers the UI and tests share: `latent_spans`, `switch_steps`,
`step_row`/`encode_steps`/`decode_chunk` (the compact rows the live chart
appends), `chart_meta`/`meta_from_trace` (the part of a chart value that does
not change while a run streams) and `entropy_label`.

Leaves to others: producing steps (`engine/decode.py`), writing trace files
(`engine/trace.py`), the Gradio component and its wiring (`trace_chart.py`).

A step is either an `engine.events.Step` or a trace-file record (a dict with
`t, token_id, text, entropy, ref_entropy, mode, switch, forced, injected`, optionally `computed`);
Steps are read through their `record()`.
A compact row is `[t, H, ref, mode, switch, flags, mix, text]`: `H` and
`ref` rounded to 3 decimals (None when unknown), mode 1 = latent / 0 =
explicit, switch 0 = none / 1 = latent->explicit / 2 = explicit->latent,
flags a bit set (1 forced, 2 injected, 4 answer phase, 8 computed by the calculator), `mix` the top tokens
of a latent step's mixed distribution as `[[text, p], ...]` (empty on
explicit steps), text cut to `text_limit` chars.
On the wire a batch of rows is one string, a *chunk*: one line per row,
`t,H,ref,mode,switch,flags,mix,text` (empty H/ref when unknown; `mix` as
`p:text;p:text` with each text percent-encoded, so it holds no comma; the
text is everything after the seventh comma, with backslash, CR and LF written
as a backslash followed by a backslash, "r" or "n"). A chart value is `[meta, chunk, chunk, ...]`:
Gradio walks every item of a value on each streamed update, so a few long
strings cost far less server time than thousands of small lists.

`note` (e.g. "not applied") labels the switch markers of a replayed,
would-switch policy; it reaches the legend of every drawing.
Importing this module is cheap: matplotlib is imported inside `figure_png`.
"""

from __future__ import annotations

import html
import io
import json
import math
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

ASSETS = Path(__file__).resolve().parent.parent / "assets"

MODE_CODE = {"explicit": 0, "latent": 1}
SWITCH_CODE = {None: 0, "to_explicit": 1, "to_latent": 2}
FLAG_FORCED, FLAG_INJECTED, FLAG_ANSWER, FLAG_COMPUTED = 1, 2, 4, 8
LIVE_TEXT_LIMIT = 24  # chars of token text per streamed row
EXPORT_TEXT_LIMIT = 80  # chars per row in a standalone HTML export
MIX_TEXT_LIMIT = 12  # chars of each mixed token's text in a row
WINDOW = 400  # steps the main panel shows in full; older ones live in the overview

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "entropy": "entropy",
        "entropy_estimate": "estimated entropy (top-k logprobs)",
        "reference": "reference entropy",
        "latent": "latent",
        "explicit": "explicit",
        "to_explicit": "switch latent→explicit",
        "to_latent": "switch explicit→latent",
        "injected": "injected token",
        "computed": "computed (calculator)",
        "forced": "forced explicit",
        "switches": "switches",
        "off": "off",
        "step": "step",
        "tokens": "tokens",
        "no_entropy": "no entropy reported",
        "waiting": "waiting for tokens…",
        "overview": "whole run",
        "mixed": "soft embedding mixed:",
        "method_swir": "SwiReasoning",
        "method_cot": "CoT (sampled)",
        "method_cot-greedy": "CoT (greedy)",
    },
    "pt-BR": {
        "entropy": "entropia",
        "entropy_estimate": "entropia estimada (logprobs top-k)",
        "reference": "entropia de referência",
        "latent": "latente",
        "explicit": "explícito",
        "to_explicit": "troca latente→explícito",
        "to_latent": "troca explícito→latente",
        "injected": "token injetado",
        "computed": "calculado (calculadora)",
        "forced": "explícito forçado",
        "switches": "trocas",
        "off": "desligado",
        "step": "passo",
        "tokens": "tokens",
        "no_entropy": "entropia não informada",
        "waiting": "aguardando tokens…",
        "overview": "execução inteira",
        "mixed": "embedding suave misturou:",
        "method_swir": "SwiReasoning",
        "method_cot": "CoT (amostrada)",
        "method_cot-greedy": "CoT (gulosa)",
    },
}


# The one-line summary above each chart of an HTML export (not sent to the live chart).
SUMMARY_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "sum_tokens": "tokens",
        "sum_latent_steps": "latent steps",
        "sum_explicit_steps": "explicit steps",
        "sum_switches": "switches",
        "sum_computed_tokens": "computed tokens",
        "sum_ttft_s": "first token after (s)",
        "sum_tokens_per_s": "tokens/s",
        "sum_stop_reason": "stopped by",
        "stop_eos": "end of answer",
        "stop_max_new_tokens": "max new tokens",
        "stop_answer_budget": "answer budget",
        "stop_cancelled": "the visitor (stop)",
        "stop_unloaded": "the model being unloaded",
        "stop_error": "an error",
    },
    "pt-BR": {
        "sum_tokens": "tokens",
        "sum_latent_steps": "passos latentes",
        "sum_explicit_steps": "passos explícitos",
        "sum_switches": "trocas",
        "sum_computed_tokens": "tokens calculados",
        "sum_ttft_s": "primeiro token após (s)",
        "sum_tokens_per_s": "tokens/s",
        "sum_stop_reason": "parou por",
        "stop_eos": "fim da resposta",
        "stop_max_new_tokens": "máximo de tokens novos",
        "stop_answer_budget": "orçamento de resposta",
        "stop_cancelled": "o visitante (parar)",
        "stop_unloaded": "o modelo ter sido descarregado",
        "stop_error": "um erro",
    },
}


def method_name(method: str, lang: str = "en") -> str:
    """A decode method's name as the page shows it ("CoT (greedy)")."""
    return STRINGS.get(lang, STRINGS["en"]).get(f"method_{method}", method)


COLORS = {
    "entropy": "#ea580c",
    "reference": "#475569",
    "latent": "#8b5cf6",
    "to_explicit": "#16a34a",
    "to_latent": "#7c3aed",
    "injected": "#dc2626",
    "computed": "#ca8a04",
    "forced": "#0891b2",
}


# ---------------------------------------------------------------- step helpers


def _get(step: Any, name: str, default: Any = None) -> Any:
    return step.get(name, default)


def _records(steps: Iterable[Any]) -> list[dict]:
    """Trace records, whether `steps` holds records or `Step` events."""
    return [s if isinstance(s, dict) else s.record() for s in steps]


def _round(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 3)


def step_row(step: Any, text_limit: int = LIVE_TEXT_LIMIT) -> list:
    """One step as a compact row `[t, H, ref, mode, switch, flags, mix, text]`."""
    step = step if isinstance(step, dict) else step.record()
    flags = (
        (FLAG_FORCED if _get(step, "forced") else 0)
        | (FLAG_INJECTED if _get(step, "injected") else 0)
        | (FLAG_ANSWER if _get(step, "phase") == "answer" else 0)
        | (FLAG_COMPUTED if _get(step, "computed") else 0)
    )
    text = _get(step, "text") or ""
    return [
        int(_get(step, "t")),
        _round(_get(step, "entropy")),
        _round(_get(step, "ref_entropy")),
        MODE_CODE.get(_get(step, "mode"), 0),
        SWITCH_CODE.get(_get(step, "switch"), 0),
        flags,
        [[str(tok)[:MIX_TEXT_LIMIT], round(float(p), 3)] for _, tok, p in _get(step, "mix") or ()],
        text[:text_limit],
    ]


def step_rows(steps: Iterable[Any], text_limit: int = LIVE_TEXT_LIMIT) -> list[list]:
    return [step_row(s, text_limit) for s in _records(steps)]


_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r"})
_TEXT_UNESCAPES = {"n": "\n", "r": "\r"}


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}".rstrip("0").rstrip(".")


def _mix_field(mix: list) -> str:
    return ";".join(f"{_num(p)}:{quote(text, safe='')}" for text, p in mix)


def _mix_of(field: str) -> list:
    pairs = (item.split(":", 1) for item in field.split(";")) if field else ()
    return [[unquote(text), float(p)] for p, text in pairs]


def encode_steps(steps: Iterable[Any], text_limit: int = LIVE_TEXT_LIMIT) -> str:
    """Steps as one chunk string: a line `t,H,ref,mode,switch,flags,mix,text` per step."""
    lines = []
    for t, h, ref, mode, sw, flags, mix, text in step_rows(steps, text_limit):
        head = f"{t},{_num(h)},{_num(ref)},{mode},{sw},{flags},{_mix_field(mix)}"
        lines.append(f"{head},{text.translate(_TEXT_ESCAPES)}")
    return "\n".join(lines)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            i += 1
            c = _TEXT_UNESCAPES.get(text[i], text[i])
        out.append(c)
        i += 1
    return "".join(out)


def decode_chunk(chunk: str) -> list[list]:
    """The rows of one chunk (the inverse of `encode_steps`)."""
    rows = []
    for line in chunk.split("\n") if chunk else []:
        t, h, ref, mode, sw, flags, mix, text = line.split(",", 7)
        num = [None if x == "" else float(x) for x in (h, ref)]
        rows.append([int(t), num[0], num[1], int(mode), int(sw), int(flags), _mix_of(mix), _unescape(text)])
    return rows


def latent_spans(steps: Sequence[Any]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive latent steps, as half-open `(first_t, last_t + 1)`.

    Runs follow list order; a gap in `t` (a missing step) ends a run.
    """
    spans: list[tuple[int, int]] = []
    start = prev = None
    for s in _records(steps):
        t = int(_get(s, "t"))
        latent = _get(s, "mode") == "latent"
        if start is not None and (not latent or t != prev + 1):
            spans.append((start, prev + 1))
            start = None
        if latent and start is None:
            start = t
        prev = t
    if start is not None:
        spans.append((start, prev + 1))
    return spans


def switch_steps(steps: Iterable[Any]) -> dict[str, list[int]]:
    """The `t` of every switch, by direction (`to_explicit`, `to_latent`)."""
    out: dict[str, list[int]] = {"to_explicit": [], "to_latent": []}
    for s in _records(steps):
        d = _get(s, "switch")
        if d in out:
            out[d].append(int(_get(s, "t")))
    return out


# ---------------------------------------------------------------- chart meta


def entropy_label(settings: dict | None, lang: str = "en") -> str:
    s = STRINGS.get(lang, STRINGS["en"])
    return s["entropy_estimate"] if (settings or {}).get("entropy") == "estimate" else s["entropy"]


def chart_meta(
    method: str,
    max_switch_count: int | None,
    *,
    entropy: str = "exact",
    lang: str = "en",
    note: str | None = None,
    title: str | None = None,
    window: int = WINDOW,
) -> dict:
    """The part of a chart value that stays fixed while a run streams.

    `entropy` is "exact" or "estimate"; `note` labels would-switch markers
    (e.g. "not applied"); `run` lets the browser tell one run from the next.
    """
    return {
        "run": uuid.uuid4().hex[:12],
        "method": method,
        "method_name": method_name(method, lang),
        "max_switch": max_switch_count,
        "estimate": entropy == "estimate",
        "lang": lang if lang in STRINGS else "en",
        "strings": STRINGS,
        "note": note,
        "title": title,
        "window": int(window),
    }


def meta_from_trace(trace: dict, *, lang: str = "en", note: str | None = None) -> dict:
    settings = trace.get("settings") or {}
    model = (trace.get("model") or {}).get("preset")
    return chart_meta(
        trace.get("method", "swir"),
        settings.get("max_switch_count"),
        entropy=settings.get("entropy", "exact") or "exact",
        lang=lang,
        note=note,
        title=model,
    )


def _max_label(trace: dict, lang: str = "en") -> str:
    m = (trace.get("settings") or {}).get("max_switch_count")
    return STRINGS.get(lang, STRINGS["en"])["off"] if m is None else str(m)


def trace_title(trace: dict, lang: str = "en") -> str:
    """e.g. `Rio-3.5-Open · SwiReasoning · 812 tokens · switches 2 / 2`."""
    steps, words = trace.get("steps") or [], STRINGS.get(lang, STRINGS["en"])
    method = trace.get("method", "swir")
    parts = [(trace.get("model") or {}).get("preset"), method_name(method, lang)]
    parts.append(f"{len(steps)} {words['tokens']}")
    if method == "swir":
        switches = len(switch_steps(steps)["to_explicit"])
        parts.append(f"{words['switches']} {switches} / {_max_label(trace, lang)}")
    return " · ".join(p for p in parts if p)


# ---------------------------------------------------------------- PNG


def _series(steps: Sequence[Any], name: str) -> list[float]:
    return [float("nan") if _get(s, name) is None else float(_get(s, name)) for s in steps]


def _draw_spans(ax: Any, steps: Sequence[Any]) -> None:
    for i, (a, b) in enumerate(latent_spans(steps)):
        ax.axvspan(a, b, color=COLORS["latent"], alpha=0.14, lw=0, label="latent" if i == 0 else None)


def _draw_lines(ax: Any, steps: Sequence[Any], trace: dict) -> None:
    ts = [int(_get(s, "t")) for s in steps]
    h = _series(steps, "entropy")
    lw = 1.2 if len(steps) < 300 else 0.6
    label = entropy_label(trace.get("settings"))
    ax.plot(ts, h, color=COLORS["entropy"], lw=lw, label=label, zorder=3)
    ref = _series(steps, "ref_entropy")
    if any(r == r for r in ref):  # any non-NaN
        ref_ts, ref = ts + [ts[-1] + 1], ref + [ref[-1]]
        ax.step(
            ref_ts, ref, where="post", color=COLORS["reference"], lw=1.0, ls="--", label="reference entropy"
        )
    if all(x != x for x in h):
        ax.text(0.5, 0.5, "no entropy reported", transform=ax.transAxes, ha="center", color="#6b7280")


def _draw_marks(ax: Any, steps: Sequence[Any], note: str | None) -> None:
    by_t = {int(_get(s, "t")): _get(s, "entropy") for s in steps}
    suffix = f" ({note})" if note else ""
    sw = switch_steps(steps)
    for key, marker in (("to_explicit", "^"), ("to_latent", "v")):
        xs = sw[key]
        ys = [by_t[t] if by_t[t] is not None else 0.0 for t in xs]
        if xs:
            label = ("switch latent→explicit" if key == "to_explicit" else "switch explicit→latent") + suffix
            ax.scatter(
                xs, ys, marker=marker, s=42, color=COLORS[key], zorder=5, label=label, edgecolors="white"
            )
    bottom = ax.get_xaxis_transform()  # x in data, y in axes fraction
    labels = {"injected": "injected token", "computed": "computed (calculator)", "forced": "forced explicit"}
    for key, y, marker in (("injected", 0.02, "D"), ("computed", 0.02, "s"), ("forced", 0.06, "|")):
        xs = [int(_get(s, "t")) for s in steps if _get(s, key)]
        if xs:
            ax.scatter(
                xs,
                [y] * len(xs),
                marker=marker,
                s=14,
                color=COLORS[key],
                transform=bottom,
                zorder=4,
                label=labels[key],
                clip_on=False,
            )


def _draw_trace(ax: Any, trace: dict, note: str | None) -> None:
    steps = trace.get("steps") or []
    if steps:
        _draw_spans(ax, steps)
        _draw_lines(ax, steps, trace)
        _draw_marks(ax, steps, note)
        ax.set_xlim(int(_get(steps[0], "t")), int(_get(steps[-1], "t")) + 1)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8, ncols=7, frameon=False)
    else:
        ax.text(0.5, 0.5, "no steps", transform=ax.transAxes, ha="center", color="#6b7280")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step", labelpad=1)
    ax.set_ylabel("nats")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(trace_title(trace), fontsize=11)


def figures_png(
    traces: Sequence[dict], *, width: int = 1200, height: int = 420, dpi: int = 100, note: str | None = None
) -> bytes:
    """Runs drawn one above the other (matplotlib, Agg) as PNG bytes, `height` pixels each."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot, no global backend state
    from matplotlib.figure import Figure

    traces = list(traces) or [{}]
    fig = Figure(figsize=(width / dpi, height * len(traces) / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    for i, trace in enumerate(traces):
        _draw_trace(fig.add_subplot(len(traces), 1, i + 1), trace, note)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def figure_png(
    trace: dict, *, width: int = 1200, height: int = 420, dpi: int = 100, note: str | None = None
) -> bytes:
    """The run drawn with matplotlib (Agg) as PNG bytes, `width` x `height` pixels."""
    return figures_png([trace], width=width, height=height, dpi=dpi, note=note)


# ---------------------------------------------------------------- standalone HTML

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_for_script(value: Any) -> str:
    """JSON that is safe inside a `<script>` element (no `<`, `>`, `&` left raw)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return "".join(_JSON_ESCAPES.get(c, c) for c in text)


def chart_assets() -> tuple[str, str, str]:
    """(html template, css, js) of the chart, shared by the live view and the export."""
    js = (ASSETS / "trace_chart.js").read_text(encoding="utf-8")
    css = (ASSETS / "trace_chart.css").read_text(encoding="utf-8")
    if "</script" in js.lower() or "</style" in css.lower():
        raise ValueError("trace_chart assets must not close their own script/style element")
    # an empty chart has no meta yet: it speaks the browser's language from this table
    js = f"const RIO_TRACE_STRINGS = {json_for_script(STRINGS)};\n{js}"
    return '<div class="rio-trace"></div>', css, js


_PAGE_CSS = """
:root { --body-text-color:#1f2937; --body-text-color-subdued:#6b7280; --block-background-fill:#ffffff;
  --border-color-primary:#e5e7eb; --color-accent:#ea580c; color-scheme: light dark; }
@media (prefers-color-scheme: dark) { :root { --body-text-color:#e5e7eb; --body-text-color-subdued:#9ca3af;
  --block-background-fill:#111827; --border-color-primary:#374151; } }
body { margin: 24px; font: 14px/1.4 system-ui, sans-serif; background: var(--block-background-fill);
  color: var(--body-text-color); }
section { margin-bottom: 28px; }
h1 { font-size: 18px; margin: 0 0 4px; } p.summary { margin: 0 0 12px; color: var(--body-text-color-subdued); }
"""


def _summary_line(trace: dict, lang: str = "en") -> str:
    """The run's numbers in one line, in `lang` ("tokens 73 · latent steps 2 · …")."""
    s, words = trace.get("summary") or {}, SUMMARY_WORDS.get(lang, SUMMARY_WORDS["en"])
    keys = (
        "tokens",
        "latent_steps",
        "explicit_steps",
        "switches",
        "computed_tokens",
        "ttft_s",
        "tokens_per_s",
    )
    parts = []
    for k in keys:
        value = s.get(k)
        if value is None or (k == "computed_tokens" and not value):
            continue
        parts.append(f"{words[f'sum_{k}']} {round(value, 2) if isinstance(value, float) else value}")
    if reason := s.get("stop_reason"):
        parts.append(f"{words['sum_stop_reason']} {words.get(f'stop_{reason}', reason)}")
    return " · ".join(parts)


def _chart_section(trace: dict, index: int, lang: str, note: str | None) -> tuple[str, str]:
    """(markup, data script) of one chart of a standalone page."""
    meta = meta_from_trace(trace, lang=lang, note=note)
    steps = trace.get("steps") or []
    value = [meta, encode_steps(steps, EXPORT_TEXT_LIMIT)] if steps else [meta]
    title = html.escape(trace_title(trace, lang))
    markup = (
        f'<section><h1>{title}</h1><p class="summary">{html.escape(_summary_line(trace, lang))}</p>\n'
        f'<div class="rio-trace-chart" id="rio-trace-chart-{index}"></div></section>\n'
    )
    data = f'<script type="application/json" id="rio-trace-data-{index}">{json_for_script(value)}</script>\n'
    return markup, data


def standalone_htmls(traces: Sequence[dict], *, lang: str = "en", note: str | None = None) -> str:
    """One self-contained HTML page (no network) drawing each run with hover details."""
    template, css, js = chart_assets()
    traces = list(traces)
    sections = [_chart_section(tr, i, lang, note) for i, tr in enumerate(traces)]
    boot = (
        "(function(){function draw(element,value){"
        f"element.innerHTML={json.dumps(template)};"
        "(function(element,trigger,props,server,upload,watch){\n" + js + "\n})"
        "(element,function(){},{value:value},{},null,function(){});}"
        f"for(var i=0;i<{len(traces)};i++){{"
        "draw(document.getElementById('rio-trace-chart-'+i),"
        "JSON.parse(document.getElementById('rio-trace-data-'+i).textContent));}})();"
    )
    title = html.escape(" | ".join(trace_title(tr, lang) for tr in traces))
    page_lang = html.escape(lang if lang in STRINGS else "en")
    return (
        f'<!doctype html>\n<html lang="{page_lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
        f"<style>{_PAGE_CSS}\n{css}</style></head>\n<body>"
        + "".join(m for m, _ in sections)
        + "".join(d for _, d in sections)
        + f"<script>{boot}</script>\n</body></html>\n"
    )


def standalone_html(trace: dict, *, lang: str = "en", note: str | None = None) -> str:
    """One self-contained HTML page (no network) drawing the run with hover details."""
    return standalone_htmls([trace], lang=lang, note=note)
