"""What the chat handler costs on top of the engine: tokens/s through `Handlers.respond`
(the frames a visitor's page receives: chat messages, chart chunks, the card) against
the same backend's own `chat`, same questions, same settings, interleaved repeats.

Owns: one measurement run. Loads the offline default as `python app.py` does (the
batching scheduler), decodes each question greedily with SwiReasoning both ways (the
same tokens, so the same work in the model) and reports wall-clock tokens/s for each
and their ratio, median over repeats. No browser: a browser on the same cores takes
its own share (the closing paragraph of the "Live trace in the browser" section of
docs/BENCHMARKS.md). Writes a markdown table to docs/benchmarks/page_path.md.

    python bench/bench_page_path.py [--model smollm2-think] [--repeats 3] [--questions 4]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.backends.local import load_backend  # noqa: E402
from engine.events import Done  # noqa: E402
from engine.models.presets import PRESETS, recommended_settings  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from rio_app.layout import build_page  # noqa: E402
from rio_app.settings import NAMES, widget_values  # noqa: E402
from rio_app.state import ModelHolder, new_session  # noqa: E402

APP_BATCH_ROWS = 20  # app.py's default for the local backend


def questions(n: int) -> list[str]:
    path = ROOT / "tasks" / "everyday" / "third_set.jsonl"
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines()[:n]]


def backend_run(backend, question: str, settings) -> tuple[int, float]:
    t0 = time.perf_counter()
    for ev in backend.chat([Turn("user", question)], settings):
        if isinstance(ev, Done):
            tokens = ev.summary.tokens
    return tokens, time.perf_counter() - t0


def handler_run(h, page, question: str, values: dict) -> tuple[int, float, int]:
    session = new_session()
    history = h.take_message({"text": question, "files": []}, [], session)[page.chat.chatbot]
    t0, frames = time.perf_counter(), 0
    for _ in h.respond(None, history, session, *[values[n] for n in NAMES]):
        frames += 1
    return session.last_run.trace["summary"]["tokens"], time.perf_counter() - t0, frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-think")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--questions", type=int, default=4)
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks" / "page_path.md"))
    args = ap.parse_args()

    backend = load_backend(args.model, max_batch_rows=APP_BATCH_ROWS)
    _demo, page, h = build_page(ModelHolder(backend))
    settings = replace(recommended_settings(PRESETS.get(args.model)), method="swir", seed=0)
    settings = replace(settings, sampling=replace(settings.sampling, greedy=True))
    values = widget_values(settings)
    qs = questions(args.questions)
    both_paths(backend, h, page, qs[:1], settings, values)  # warm-up, not counted
    ratios, eng_rates, handler_runs, frame_counts = [], [], [], []
    for _ in range(args.repeats):
        e_tok, e_s, p_tok, p_s = both_paths(backend, h, page, qs, settings, values, frame_counts)
        if e_tok != p_tok:
            raise SystemExit(f"the two paths decoded different lengths ({e_tok} vs {p_tok} tokens)")
        eng_rates.append(e_tok / e_s)
        handler_runs.append(p_tok / p_s)
        ratios.append(handler_runs[-1] / eng_rates[-1])
    med = statistics.median
    rows = [
        "| path | tokens/s (median of repeats) |",
        "|---|---:|",
        f"| the backend's `chat` | {med(eng_rates):.1f} |",
        f"| the chat handler (`Handlers.respond`, {med(frame_counts):.0f} frames a run) | {med(handler_runs):.1f} |",
        f"| **handler ÷ backend** | **{med(ratios):.3f}×** ({', '.join(f'{r:.3f}' for r in ratios)}) |",
    ]
    head = (
        f"# The chat handler's cost ({args.model}, SwiReasoning greedy, {len(qs)} questions × "
        f"{args.repeats} repeats, interleaved)\n\n{platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}\n\n"
    )
    text = head + "\n".join(rows) + "\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")


def both_paths(backend, h, page, qs, settings, values, frame_counts=None) -> tuple[int, float, int, float]:
    """Each question through the backend, then through the handler: (tokens, seconds) of each."""
    e_tok = e_s = p_tok = p_s = 0.0
    for q in qs:
        n, s = backend_run(backend, q, settings)
        e_tok, e_s = e_tok + n, e_s + s
        n, s, frames = handler_run(h, page, q, values)
        p_tok, p_s = p_tok + n, p_s + s
        if frame_counts is not None:
            frame_counts.append(frames)
    return int(e_tok), e_s, int(p_tok), p_s


if __name__ == "__main__":
    main()
