"""Streamed events -> chat messages and summary cards (pure functions, no Gradio).

Owns: `RunView` (accumulates the `Step`s of one run and renders them as the
assistant's messages: a collapsible thinking message whose metadata carries
the latent/explicit counts, status and duration, then the answer), the safe
rendering of model text (`render_runs`: all model text is HTML-escaped
outside code, which the Markdown renderer escapes itself; latent tokens sit
in `<span class="rio-latent">`), `plain_text` (the reverse, for feeding a
rendered history back to a model) and `summary_card` (the numbers of a
finished run as HTML).
Leaves event handling to `handlers.py` and the strings to `i18n.py`.
"""

from __future__ import annotations

import html
import re
import time
from dataclasses import dataclass, field

from engine.events import Step, Summary
from rio_app.i18n import t

LATENT_OPEN = '<span class="rio-latent">'
NOTE_OPEN = '<span class="rio-note">'
CLOSE = "</span>"
THINK_MARKERS = ("<think>", "</think>")
# Fenced blocks (closed, or open to the end while streaming) and inline code:
# the Markdown renderer escapes their content itself, so they pass through.
CODE_RE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
NOTE_RE = re.compile(r'<span class="rio-note">.*?</span>', re.S)
TAG_RE = re.compile(r"</?span[^>]*>")


def _strip_markers(text: str, mask: list[bool]) -> tuple[str, list[bool]]:
    """Remove `<think>`/`</think>` from the text and the per-char latent mask."""
    for marker in THINK_MARKERS:
        while (i := text.find(marker)) >= 0:
            text = text[:i] + text[i + len(marker) :]
            mask = mask[:i] + mask[i + len(marker) :]
    return text, mask


def _plain_html(text: str, mask: list[bool]) -> str:
    """Escaped text; latent runs wrapped line by line (a span cannot cross paragraphs)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and mask[j] == mask[i]:
            j += 1
        # a backtick left outside a code span would open one that swallows the rest
        chunk = html.escape(text[i:j], quote=False).replace("`", "&#96;")
        if mask[i]:
            lines = chunk.split("\n")
            chunk = "\n".join(f"{LATENT_OPEN}{ln}{CLOSE}" if ln.strip() else ln for ln in lines)
        out.append(chunk)
        i = j
    return "".join(out)


def render_runs(runs: list[tuple[str, bool]]) -> str:
    """Model text pieces `(text, latent)` -> Markdown safe to show in the Chatbot."""
    text = "".join(piece for piece, _ in runs)
    mask = [latent for piece, latent in runs for _ in piece]
    text, mask = _strip_markers(text, mask)
    out: list[str] = []
    pos = 0
    for m in CODE_RE.finditer(text):
        out.append(_plain_html(text[pos : m.start()], mask[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_plain_html(text[pos:], mask[pos:]))
    return "".join(out)


def plain_text(rendered: str) -> str:
    """A rendered message back to the model's own words (notes dropped)."""
    text = NOTE_RE.sub("", rendered)
    text = TAG_RE.sub("", text)
    return html.unescape(text).strip()


def note(text: str) -> str:
    """A line of app text inside a message (dropped when the history goes back to a model)."""
    return f"{NOTE_OPEN}<em>{html.escape(text, quote=False)}</em>{CLOSE}"


@dataclass
class RunView:
    """One assistant turn while it streams; `messages()` renders it."""

    lang: str = "en"
    started: float = field(default_factory=time.monotonic)
    think: list[tuple[str, bool]] = field(default_factory=list)
    answer: list[tuple[str, bool]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"latent": 0, "explicit": 0, "switches": 0})
    think_end: float | None = None
    steps: int = 0
    summary: Summary | None = None
    error: str | None = None

    def add(self, step: Step) -> None:
        self.steps += 1
        latent = step.mode == "latent"
        if step.phase == "thinking":
            self.think.append((step.text, latent))
            self.counts["latent" if latent else "explicit"] += 1
            self.counts["switches"] += step.switch == "to_explicit"
            if "</think>" in step.text:
                self.think_end = time.monotonic()
            return
        if self.think and self.think_end is None:
            self.think_end = time.monotonic()
        self.answer.append((step.text, latent))

    def finish(self, summary: Summary | None = None, error: str | None = None) -> None:
        self.summary, self.error = summary, error
        if self.think_end is None:
            self.think_end = time.monotonic()

    @property
    def done(self) -> bool:
        return self.summary is not None or self.error is not None

    @property
    def stopped(self) -> bool:
        return self.summary is not None and self.summary.stop_reason == "cancelled"

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

    def messages(self) -> list[dict]:
        """The assistant's messages for this turn, as they stand now."""
        out = [self.thinking_message()] if self.think else []
        body = render_runs(self.answer)
        notes = []
        if self.stopped:
            notes.append(note(t("stopped_note", self.lang)))
        if self.error:
            notes.append(note(t("error_note", self.lang, message=self.error)))
        elif self.ended_in_thinking:
            notes.append(note(t(f"unfinished_{self.summary.stop_reason}", self.lang)))  # type: ignore[union-attr]
        if body or notes or not out:
            parts = [p for p in (body, *notes) if p]
            out.append({"role": "assistant", "content": "\n\n".join(parts) or "…"})
        return out


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
        (t("s_switches", lang), f"{summary.switches} / {summary.to_latent_switches}"),
        (t("s_after_forced", lang), str(summary.after_forced_tokens)),
        (t("s_ttft", lang), _fmt(summary.ttft_s, " s")),
        (t("s_tps", lang), _fmt(summary.tokens_per_s, digits=1)),
        (t("s_stop", lang), t(f"stop_{summary.stop_reason}", lang)),
    ]


def summary_card(summary: Summary, stats: dict, lang: str, title: str = "") -> str:
    """The run's numbers as a grid of tiles, what stopped it as a line below (all text escaped)."""
    *numbers, (stop_k, stop_v) = summary_rows(summary, stats, lang)
    tiles = "".join(
        f'<div class="rio-tile"><div class="rio-tile-v">{html.escape(v)}</div>'
        f'<div class="rio-tile-k">{html.escape(k)}</div></div>'
        for k, v in numbers
    )
    head = f'<div class="rio-card-title">{html.escape(title)}</div>' if title else ""
    foot = f'<div class="rio-card-foot">{html.escape(stop_k)}: <b>{html.escape(stop_v)}</b></div>'
    return f'<div class="rio-card">{head}<div class="rio-tiles">{tiles}</div>{foot}</div>'


def running_card(lang: str) -> str:
    """What the summary card says while a run streams."""
    return f'<div class="rio-card rio-card-running">{html.escape(t("summary_running", lang))}</div>'
