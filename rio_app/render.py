"""Streamed events -> chat messages and summary cards (pure functions, no Gradio).

Owns: `RunView` (accumulates the `Step`s of one run and renders them as the
assistant's messages: a collapsible thinking message whose metadata carries
the latent/explicit counts, status and duration, then the answer; it also
keeps the run's raw thinking and answer text, which is what the session
stores), the safe rendering of text (`render_runs` for model text, whose
`<think>` markers are dropped, and `render_user` for what a visitor typed;
both HTML-escape everything outside code, which the Markdown renderer
escapes itself; a latent token sits in `<span class="rio-latent">` whose
tooltip lists the tokens its soft embedding mixed, and digits the engine's
calculator wrote sit in `<span class="rio-computed">`; a model's `\\boxed{x}` shows as
`<span class="rio-boxed">x</span>`, a framed answer), `plain_text` (the exact
inverse of both, for API clients that send a displayed history back) and
`summary_card` (the numbers of a finished run as HTML).
Leaves event handling to `handlers.py` and the strings to `i18n.py`.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field

from engine.events import MixEntry, Step, Summary
from rio_app.i18n import t

LATENT_CLASS = "rio-latent"
COMPUTED_CLASS = "rio-computed"
NOTE_OPEN = '<span class="rio-note">'
CLOSE = "</span>"
THINK_MARKERS = ("<think>", "</think>")
# Fenced blocks (closed, or open to the end while streaming) and inline code:
# the Markdown renderer escapes their content itself, so they pass through.
CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
NOTE_RE = re.compile(r'<span class="rio-note">.*?</span>', re.S)
TAG_RE = re.compile(r'<span class="rio-(?:latent|computed)"(?: title="[^"]*")?>|</span>')
BOX_RE = re.compile(r"\\boxed\{([^{}\n]*)\}")  # the model's final answer, \boxed{42}
BOX_HTML_RE = re.compile(r'<span class="rio-boxed">([^<]*)</span>')

Piece = tuple  # (text, latent), (text, latent, tooltip) or (text, latent, tooltip, computed)


def mix_tooltip(mix: tuple[MixEntry, ...]) -> str:
    """`'the' 41% · 'a' 20% · …`: what a latent step's soft embedding mixed."""
    return " · ".join(f"{text!r} {p:.0%}" for _, text, p in mix)


def _strip_markers(text: str, owner: list[int]) -> tuple[str, list[int]]:
    """Remove `<think>`/`</think>` from the text and its per-character piece index."""
    for marker in THINK_MARKERS:
        while (i := text.find(marker)) >= 0:
            text = text[:i] + text[i + len(marker) :]
            owner = owner[:i] + owner[i + len(marker) :]
    return text, owner


def _escape(text: str) -> str:
    # a backtick left outside a code span would open one that swallows the rest
    return html.escape(text, quote=False).replace("`", "&#96;")


def _span(cls: str, chunk: str, tip: str) -> str:
    """A marked token's text (already escaped), wrapped line by line (a span cannot cross paragraphs)."""
    title = f' title="{html.escape(tip, quote=True)}"' if tip else ""
    lines = chunk.split("\n")
    return "\n".join(f'<span class="{cls}"{title}>{ln}{CLOSE}' if ln.strip() else ln for ln in lines)


def _plain_html(text: str, owner: list[int], pieces: list[Piece]) -> str:
    """Escaped text; each latent or computed piece in its own span with its tooltip."""
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and owner[j] == owner[i]:
            j += 1
        piece = pieces[owner[i]]
        chunk = _escape(text[i:j])
        tip = piece[2] if len(piece) > 2 else ""
        if piece[1]:
            chunk = _span(LATENT_CLASS, chunk, tip)
        elif len(piece) > 3 and piece[3]:
            chunk = _span(COMPUTED_CLASS, chunk, tip)
        out.append(chunk)
        i = j
    return "".join(out)


def _boxed_html(text: str, owner: list[int], pieces: list[Piece]) -> str:
    """`_plain_html`, with each `\\boxed{x}` shown as a framed x (its tokens' marks dropped)."""
    out: list[str] = []
    pos = 0
    for m in BOX_RE.finditer(text):
        out.append(_plain_html(text[pos : m.start()], owner[pos : m.start()], pieces))
        out.append(f'<span class="rio-boxed">{_escape(m.group(1))}{CLOSE}')
        pos = m.end()
    out.append(_plain_html(text[pos:], owner[pos:], pieces))
    return "".join(out)


def _render(text: str, owner: list[int], pieces: list[Piece], boxes: bool = False) -> str:
    plain = _boxed_html if boxes else _plain_html
    out: list[str] = []
    pos = 0
    for m in CODE_RE.finditer(text):
        out.append(plain(text[pos : m.start()], owner[pos : m.start()], pieces))
        out.append(m.group(0))
        pos = m.end()
    out.append(plain(text[pos:], owner[pos:], pieces))
    return "".join(out)


def render_runs(runs: list[Piece]) -> str:
    """Model text pieces `(text, latent[, tooltip[, computed]])` -> Markdown safe to show in the Chatbot."""
    pieces = list(runs)
    text = "".join(p[0] for p in pieces)
    owner = [k for k, p in enumerate(pieces) for _ in p[0]]
    text, owner = _strip_markers(text, owner)
    return _render(text, owner, pieces, boxes=True)


def render_user(text: str) -> str:
    """What a visitor typed -> Markdown that shows it literally (`<think>` included)."""
    return _render(text, [0] * len(text), [(text, False)])


def plain_text(rendered: str) -> str:
    """A rendered message back to its words: the inverse of `render_runs` / `render_user`
    (notes dropped, code spans kept byte for byte). assets/copy.js does the same in the browser
    for the copy buttons; a change to the rendering changes both."""
    out: list[str] = []
    pos = 0
    for m in CODE_RE.finditer(rendered):
        out.append(_unrender(rendered[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_unrender(rendered[pos:]))
    return "".join(out).strip()


def _unrender(segment: str) -> str:
    segment = BOX_HTML_RE.sub(lambda m: "\\boxed{" + m.group(1) + "}", NOTE_RE.sub("", segment))
    return html.unescape(TAG_RE.sub("", segment))


def note(text: str) -> str:
    """A line of app text inside a message (dropped when the history goes back to a model)."""
    return f"{NOTE_OPEN}<em>{html.escape(text, quote=False)}</em>{CLOSE}"


@dataclass
class RunView:
    """One assistant turn while it streams; `messages()` renders it."""

    lang: str = "en"
    started: float = field(default_factory=time.monotonic)
    think: list[Piece] = field(default_factory=list)
    answer: list[Piece] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"latent": 0, "explicit": 0, "switches": 0})
    think_end: float | None = None
    steps: int = 0
    summary: Summary | None = None
    error: str | None = None

    def add(self, step: Step) -> None:
        self.steps += 1
        if step.latent:
            piece: Piece = (step.text, True, mix_tooltip(step.mix))
        elif step.computed:
            piece = (step.text, False, t("computed_tip", self.lang), True)
        else:
            piece = (step.text, False)
        if step.phase == "thinking":
            self.think.append(piece)
            self.counts["latent" if step.latent else "explicit"] += 1
            self.counts["switches"] += step.switch == "to_explicit"
            if "</think>" in step.text:
                self.think_end = time.monotonic()
            return
        if self.think and self.think_end is None:
            self.think_end = time.monotonic()
        self.answer.append(piece)

    def finish(self, summary: Summary | None = None, error: str | None = None) -> None:
        self.summary, self.error = summary, error
        if self.think_end is None:
            self.think_end = time.monotonic()

    @staticmethod
    def _raw(pieces: list[Piece]) -> str:
        text = "".join(p[0] for p in pieces)
        for marker in THINK_MARKERS:
            text = text.replace(marker, "")
        return text.strip()

    @property
    def answer_text(self) -> str:
        """The model's answer as it wrote it (no thinking, no markers, no notes)."""
        return self._raw(self.answer)

    @property
    def thinking_text(self) -> str:
        return self._raw(self.think)

    @property
    def done(self) -> bool:
        return self.summary is not None or self.error is not None

    @property
    def stopped(self) -> bool:
        """Ended before the model was done: the visitor's stop, or the model unloaded under it."""
        return self.summary is not None and self.summary.stop_reason in ("cancelled", "unloaded")

    @property
    def ended_in_thinking(self) -> bool:
        """The run finished (not stopped, no error) before the model wrote an answer."""
        return bool(self.think) and not self.answer and self.summary is not None and not self.stopped

    def thinking_message(self) -> dict:
        key = "thinking_title_stopped" if self.stopped and not self.answer else "thinking_title"
        meta: dict = {"title": t(key, self.lang, **self.counts)}
        if self.think_end is None and not self.done:
            meta["status"] = "pending"
        else:
            # a run that ended inside its thinking leaves the block open: it is all there is
            if self.answer or not self.done:
                meta["status"] = "done"
            meta["duration"] = round((self.think_end or time.monotonic()) - self.started, 1)
        return {"role": "assistant", "content": render_runs(self.think) or "…", "metadata": meta}

    def notes(self) -> list[str]:
        """App notes under the answer: stopped, failed, unfinished, closed early."""
        out = []
        if self.stopped:
            out.append(note(t(f"{self.summary.stop_reason}_note", self.lang)))  # type: ignore[union-attr]
        if self.error:
            out.append(note(t("error_note", self.lang, message=self.error)))
        elif self.ended_in_thinking:
            out.append(note(t(f"unfinished_{self.summary.stop_reason}", self.lang)))  # type: ignore[union-attr]
        elif self.summary is not None and not self.stopped:
            out += [note(text) for text in answer_warnings(self.summary, self.lang)]
        return out

    def messages(self) -> list[dict]:
        """The assistant's messages for this turn, as they stand now."""
        out = [self.thinking_message()] if self.think else []
        body = render_runs(self.answer)
        notes = self.notes()
        if body or notes or not out:
            parts = [p for p in (body, *notes) if p]
            out.append({"role": "assistant", "content": "\n\n".join(parts) or "…"})
        return out


def answer_warnings(summary: Summary, lang: str) -> list[str]:
    """What the page says under a finished answer that may be wrong for a reason the rule made:
    a thinking block closed early, a run that stayed latent from its start."""
    out = [early_close_text(summary, lang)] if summary.early_close else []
    if summary.long_latent_opening:
        out.append(t("latent_opening", lang, n=summary.opening_latent_steps))
    return out


def early_close_text(summary: Summary, lang: str) -> str:
    """Plain words for a thinking block that the switch cap (or the answer budget) closed."""
    if summary.stop_reason == "answer_budget":
        return t("early_close_budget", lang, tokens=summary.answer_tokens)
    return t("early_close_forced", lang, tokens=summary.answer_tokens, cap=summary.to_explicit_switches)


def _fmt(x: float | None, unit: str = "", digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}{unit}"


def summary_rows(summary: Summary, stats: dict, lang: str) -> list[tuple[str, str]]:
    """(label, value) pairs of the summary card; `stats` from `engine.trace.segment_stats`."""
    share = summary.latent_steps / summary.tokens if summary.tokens else 0.0
    count, mean = stats.get("latent_segments", 0), stats.get("mean_latent_segment", 0.0)
    return [
        (t("s_tokens", lang), str(summary.tokens)),
        (t("s_latent_share", lang), f"{share:.0%}"),
        (t("s_segments", lang), str(count)),
        (t("s_mean_segment", lang), _fmt(mean, digits=1)),
        (t("s_switches", lang), f"{summary.to_explicit_switches} / {summary.to_latent_switches}"),
        (t("s_after_forced", lang), str(summary.after_injection_tokens)),
        (t("s_ttft", lang), _fmt(summary.ttft_s, " s")),
        (t("s_tps", lang), _fmt(summary.tokens_per_s, digits=1)),
        (t("s_stop", lang), t(f"stop_{summary.stop_reason}", lang)),
    ]


def summary_card(summary: Summary, stats: dict, lang: str, title: str = "") -> str:
    """The run's numbers as a grid of tiles, what stopped it as a line below (all text
    escaped), and a warning line when the thinking may have been closed early."""
    *numbers, (stop_k, stop_v) = summary_rows(summary, stats, lang)
    tiles = "".join(
        f'<div class="rio-tile"><div class="rio-tile-v">{html.escape(v)}</div>'
        f'<div class="rio-tile-k">{html.escape(k)}</div></div>'
        for k, v in numbers
    )
    head = f'<div class="rio-card-title">{html.escape(title)}</div>' if title else ""
    foot = f'<div class="rio-card-foot">{html.escape(stop_k)}: <b>{html.escape(stop_v)}</b></div>'
    warn = ""
    if summary.stop_reason not in ("cancelled", "unloaded"):
        warn = "".join(
            f'<div class="rio-card-warn">{html.escape(w)}</div>' for w in answer_warnings(summary, lang)
        )
    return f'<div class="rio-card">{head}<div class="rio-tiles">{tiles}</div>{foot}{warn}</div>'


def running_card(lang: str) -> str:
    """What the summary card says while a run streams."""
    return f'<div class="rio-card rio-card-running">{html.escape(t("summary_running", lang))}</div>'
