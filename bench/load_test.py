"""Load test: many concurrent chat sessions against the running app, measured and checked.

Owns: serving the app in-process on a loopback port (`serve`), one scripted
multi-turn chat session through `gradio_client` (`run_session`: its own
session, its own history, timings of every turn), the concurrent run
(`run_load`), the checks (`check_results`: nothing lost, no session sees
another's history or trace) and the report (a table printed and written into
docs/RELIABILITY.md between markers). tests/test_rel_server.py runs a small
version of the same. Leaves the app to rio_app/ and the models to engine/.

    python bench/load_test.py --model smollm2-offline --sessions 20 --turns 2 --max-new-tokens 32 --batch-rows 20

Queue wait: submit -> first streamed frame (the run has started). TTFT:
submit -> first frame with model text. Both are seen by the client, so they
include the queue. RSS: this process (server and model), before the sessions
and after they end, their clients close and a `gc.collect()`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOC = ROOT / "docs" / "RELIABILITY.md"
START, END = "<!-- load-test:start -->", "<!-- load-test:end -->"
POLL_S = 0.02  # how often a session looks at its job's outputs
TURN_LIMIT_S = 600.0  # a turn still running after this counts as lost
LEAK_MIB = 50.0  # a second identical round may not grow RSS by more than this
MARK_RE = re.compile(r"session-(\d+)-turn-(\d+)")


@dataclass(frozen=True)
class LoadConfig:
    sessions: int = 20
    turns: int = 3
    max_new_tokens: int = 8
    method: str = "swir"


@dataclass
class TurnResult:
    session: int
    turn: int
    outcome: str = "lost"  # "answer", "error" (a message in the chat), "lost"
    queue_wait_s: float | None = None
    ttft_s: float | None = None
    total_s: float | None = None
    note: str = ""


@dataclass
class SessionResult:
    session: int
    turns: list[TurnResult] = field(default_factory=list)
    chat: list = field(default_factory=list)
    prompt_text: str = ""  # the last run's prompt, decoded from its exported trace
    failure: str = ""  # an exception outside a turn (connecting, exporting)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(backend: Any, max_new_tokens: int = 8, **build: Any) -> tuple[Any, str]:
    """The whole app around `backend`, on a free loopback port; returns (demo, url)."""
    from engine.config import DecodeSettings
    from rio_app.layout import build_app, launch_kwargs

    demo = build_app(backend, settings=DecodeSettings(max_new_tokens=max_new_tokens), **build)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **launch_kwargs()
    )
    return demo, f"http://127.0.0.1:{port}/"


def settings_values(max_new_tokens: int, method: str = "swir", seed: int | None = None) -> list:
    """The settings widgets' values, in the page's order (`rio_app.settings.NAMES`)."""
    from engine.config import DecodeSettings
    from rio_app.settings import NAMES, widget_values

    v = widget_values(DecodeSettings(method=method, max_new_tokens=max_new_tokens, seed=seed))
    return [v[name] for name in NAMES]


def message_text(msg: dict) -> str:
    """The text of one chat message as the client returns it (str or typed parts)."""
    content = msg.get("content")
    parts = content if isinstance(content, list) else [content]
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, dict) and p.get("type") == "text":
            out.append(str(p.get("text", "")))
    return "".join(out)


def model_text(chat: list) -> str:
    """Everything the assistant has written so far ("…" is the empty placeholder)."""
    return "".join(message_text(m) for m in chat if m.get("role") == "assistant").replace("…", "").strip()


def ended_with_error(chat: list) -> bool:
    """The turn ended with the app's error note ("The run failed: ...") instead of an answer."""
    last = [m for m in chat if m.get("role") == "assistant"][-1:]
    return bool(last) and "The run failed" in message_text(last[0])


def wait_job(job: Any, t0: float, result: TurnResult, limit_s: float = TURN_LIMIT_S) -> list | None:
    """Follow a `/respond` job's stream; fill in the timings; return the final chat."""
    seen, chat = 0, None
    while True:
        outs = job.outputs()
        for out in outs[seen:]:
            now = time.perf_counter() - t0
            if result.queue_wait_s is None:
                result.queue_wait_s = now
            if isinstance(out, list | tuple) and isinstance(out[0], list):
                chat = out[0]
                if result.ttft_s is None and model_text(chat):
                    result.ttft_s = now
        seen = len(outs)
        if job.done() and seen == len(job.outputs()):
            break
        if time.perf_counter() - t0 > limit_s:
            job.cancel()
            result.note = "still running at the time limit"
            return None
        time.sleep(POLL_S)
    result.total_s = time.perf_counter() - t0
    if job.exception() is not None:
        result.note = f"{type(job.exception()).__name__}: {job.exception()}"
        return None
    return chat


def run_turn(client: Any, sid: int, turn: int, history: list, cfg: LoadConfig) -> tuple[TurnResult, list]:
    """Send one message the way the page does (take_message, then respond)."""
    result = TurnResult(sid, turn)
    text = f"Hello from session-{sid:02d}-turn-{turn}. Reply briefly."
    t0 = time.perf_counter()
    _box, history = client.predict({"text": text, "files": []}, history, api_name="/take_message")
    values = settings_values(cfg.max_new_tokens, cfg.method, seed=sid * 100 + turn)
    job = client.submit(history, *values, api_name="/respond")
    chat = wait_job(job, t0, result)
    if chat is None:
        return result, history
    result.outcome = "error" if ended_with_error(chat) else "answer" if model_text(chat) else "lost"
    return result, chat


def file_value(out: Any) -> str:
    """The server path in a file output (a path, a FileData dict, or an update holding one)."""
    if isinstance(out, dict) and "__type__" in out:
        out = out.get("value")
    return str(out.get("path") if isinstance(out, dict) else out)


def exported_prompt(client: Any, url: str, chat: list, tokenizer: Any) -> str:
    """The last run's prompt, from the session's own trace JSON, fetched over HTTP."""
    import httpx

    paths = [file_value(p) for p in client.predict(chat, api_name="/exports")]
    trace_path = next(p for p in paths if p.endswith(".json"))
    resp = httpx.get(f"{url}gradio_api/file={trace_path}", timeout=60)
    resp.raise_for_status()
    return tokenizer.decode(json.loads(resp.text).get("prompt_token_ids") or [])


def run_session(url: str, sid: int, cfg: LoadConfig, tokenizer: Any, start: threading.Event) -> SessionResult:
    from gradio_client import Client

    res = SessionResult(sid)
    try:
        client = Client(url, verbose=False, download_files=False)  # files are fetched over HTTP
    except Exception as err:  # counted as this session's failure, not a crash of the run
        res.failure = f"connect: {type(err).__name__}: {err}"
        return res
    start.wait(timeout=120)
    history: list = []
    try:
        for turn in range(cfg.turns):
            result, history = run_turn(client, sid, turn, history, cfg)
            res.turns.append(result)
        res.chat = history
        if tokenizer is not None and any(t.outcome == "answer" for t in res.turns):
            res.prompt_text = exported_prompt(client, url, history, tokenizer)
    except Exception as err:
        res.failure = f"{type(err).__name__}: {err}"
    finally:
        client.close()
    return res


def run_load(url: str, cfg: LoadConfig, tokenizer: Any = None) -> list[SessionResult]:
    """`cfg.sessions` sessions at once, each in its own thread with its own client."""
    start = threading.Event()
    results: list[SessionResult | None] = [None] * cfg.sessions

    def work(i: int) -> None:
        results[i] = run_session(url, i, cfg, tokenizer, start)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(cfg.sessions)]
    for th in threads:
        th.start()
    start.set()
    for th in threads:
        th.join(timeout=cfg.turns * TURN_LIMIT_S)
    return [
        r if r is not None else SessionResult(i, failure="thread did not finish")
        for i, r in enumerate(results)
    ]


def marks(text: str) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in MARK_RE.findall(text)}


def check_results(results: list[SessionResult], cfg: LoadConfig) -> list[str]:
    """Problems found: lost turns, and any session that saw another's words."""
    problems = []
    for r in results:
        if r.failure:
            problems.append(f"session {r.session}: {r.failure}")
        if len(r.turns) != cfg.turns:
            problems.append(f"session {r.session}: {len(r.turns)} of {cfg.turns} turns ran")
        problems += [
            f"session {r.session} turn {t.turn}: lost ({t.note})" for t in r.turns if t.outcome == "lost"
        ]
        user = "".join(message_text(m) for m in r.chat if m.get("role") == "user")
        seen = marks(user) | marks(r.prompt_text)
        foreign = {m for m in seen if m[0] != r.session}
        if foreign:
            problems.append(f"session {r.session} saw other sessions' messages: {sorted(foreign)}")
        own = {(r.session, t) for t in range(len(r.turns))}
        if r.chat and marks(user) != own:
            problems.append(
                f"session {r.session}: its chat holds {sorted(marks(user))}, expected {sorted(own)}"
            )
        if r.prompt_text and marks(r.prompt_text) != own:
            problems.append(f"session {r.session}: its trace's prompt holds {sorted(marks(r.prompt_text))}")
    return problems


def pct(xs: list[float], q: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))]


def summarize(results: list[SessionResult], cfg: LoadConfig) -> dict[str, Any]:
    turns = [t for r in results for t in r.turns]
    waits = [t.queue_wait_s for t in turns if t.queue_wait_s is not None]
    ttft = [t.ttft_s for t in turns if t.ttft_s is not None]
    totals = [t.total_s for t in turns if t.total_s is not None]
    count = {k: sum(t.outcome == k for t in turns) for k in ("answer", "error", "lost")}
    return {
        "submitted": cfg.sessions * cfg.turns,
        "ran": len(turns),
        **count,
        "session_failures": sum(bool(r.failure) for r in results),
        "queue_wait_p50": pct(waits, 50),
        "queue_wait_p95": pct(waits, 95),
        "ttft_p50": pct(ttft, 50),
        "ttft_p95": pct(ttft, 95),
        "turn_p50": pct(totals, 50),
        "turn_mean": statistics.fmean(totals) if totals else None,
    }


def machine_line() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    ram = psutil.virtual_memory().total / 2**30
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, {gpu}; "
        f"load average {load:.1f} at the start (the machine is shared)"
    )


def table(model: str, cfg: LoadConfig, s: dict, rss: tuple, wall_s: float, rows: int = 1) -> str:
    def f(x: float | None) -> str:
        return "–" if x is None else f"{x:.2f} s"

    before, after, peak, second = rss
    again = "–" if second is None else f"{second:.0f} MiB ({second - after:+.0f} MiB)"
    rows = [
        ("model", f"`{model}`, method `{cfg.method}`, max_new_tokens {cfg.max_new_tokens}"),
        ("batch rows (runs decoded together)", str(rows)),
        ("sessions × turns", f"{cfg.sessions} × {cfg.turns} = {s['submitted']} turns submitted at once"),
        ("turns answered / error message / lost", f"{s['answer']} / {s['error']} / {s['lost']}"),
        ("session failures (connect, export)", str(s["session_failures"])),
        ("queue wait p50 / p95", f"{f(s['queue_wait_p50'])} / {f(s['queue_wait_p95'])}"),
        ("time to first token p50 / p95", f"{f(s['ttft_p50'])} / {f(s['ttft_p95'])}"),
        ("turn time p50 (queue included)", f(s["turn_p50"])),
        ("wall time of the whole run", f"{wall_s:.1f} s"),
        (
            "RSS before / peak / after (gc, malloc_trim)",
            f"{before:.0f} / {peak:.0f} / {after:.0f} MiB ({after - before:+.0f} MiB)",
        ),
        ("RSS after a second identical round", again),
    ]
    lines = ["| measure | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    return "\n".join(lines)


def write_doc(block: str) -> None:
    """Put `block` between the load-test markers of docs/RELIABILITY.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else f"# Reliability\n\n{START}\n{END}\n"
    if START not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1] if END in rest else ""
    DOC.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")


class PeakRss:
    """Samples this process's RSS in a thread while the load runs."""

    def __init__(self, every_s: float = 0.2) -> None:
        self.proc, self.every_s, self.peak = psutil.Process(), every_s, 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.every_s):
            self.peak = max(self.peak, self.proc.memory_info().rss / 2**20)

    def __enter__(self) -> PeakRss:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def rss_mib() -> float:
    """RSS after a gc and, on glibc, `malloc_trim` (so freed arenas do not read as a leak)."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return psutil.Process().memory_info().rss / 2**20


def main(argv: list[str] | None = None, log: Callable[[str], None] = print) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model", default="smollm2-offline", help="a preset (smollm2-offline, smollm2-think, tiny-moe)"
    )
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--turns", type=int, default=3)
    p.add_argument("--max-new-tokens", type=int, default=8)
    p.add_argument("--method", default="swir", choices=["swir", "cot", "cot-greedy"])
    p.add_argument("--batch-rows", type=int, default=20, help="rows decoded together (1: one run at a time)")
    p.add_argument(
        "--rounds", type=int, default=2, choices=[1, 2], help="2: run again to tell a leak from a plateau"
    )
    p.add_argument("--no-doc", action="store_true", help="print only; leave docs/RELIABILITY.md alone")
    args = p.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from engine.backends.local import load_backend

    cfg = LoadConfig(args.sessions, args.turns, args.max_new_tokens, args.method)
    machine = machine_line()
    backend = load_backend(args.model, fallback=False, max_batch_rows=args.batch_rows)
    demo, url = serve(backend, cfg.max_new_tokens)
    warm = run_load(url, LoadConfig(1, 1, cfg.max_new_tokens, cfg.method), backend.runtime.tokenizer)
    before = rss_mib()
    t0 = time.perf_counter()
    with PeakRss() as peak:
        results = run_load(url, cfg, backend.runtime.tokenizer)
    wall = time.perf_counter() - t0
    after = rss_mib()
    problems = check_results(warm, LoadConfig(1, 1)) + check_results(results, cfg)
    if args.rounds > 1:  # a second round: memory that keeps growing is a leak, a plateau is not
        again = run_load(url, cfg, backend.runtime.tokenizer)
        problems += check_results(again, cfg)
        second = rss_mib()
        if second - after > LEAK_MIB:
            problems.append(f"RSS grew {second - after:.0f} MiB more in a second identical round")
    demo.close()
    s = summarize(results, cfg)
    rss = (before, after, max(peak.peak, after), second if args.rounds > 1 else None)
    block = table(args.model, cfg, s, rss, wall, args.batch_rows)
    verdict = "nothing lost, no session saw another's" if not problems else f"{len(problems)} problems"
    block += f"\n\nChecks: {verdict}. Machine: {machine}.\n"
    log(block)
    for line in problems:
        log(f"PROBLEM {line}")
    if not args.no_doc:
        write_doc(block)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
