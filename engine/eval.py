"""Evaluation harness: run a JSONL task file through any `Backend` and grade it.

Owns: task files (`load_tasks`, with `RioError`s naming the file and line),
answer extraction and grading (small pure functions), the runner
(`run_eval`: tasks x methods x budgets x seeds, one `Record` per run),
aggregation (`summarize`), the Markdown table, the Pareto plot, and the
command line `python -m engine.eval`. Leaves decoding to the backend
(`Backend.chat`); it never touches a model or a tokenizer itself.

Budgets. Each budget is a run's `max_new_tokens`. SwiR's schedule (alpha,
beta) depends on `max_new_tokens`, so SwiR runs once per budget. Nothing in
a CoT run depends on it (the same seed draws the same tokens whatever the
cap), so CoT runs the largest budget once and derives each smaller budget by
truncating the recorded steps: exactly what a shorter run would have
produced, the same tokens and stop reason ("max_new_tokens" where the run was
cut). An answer cut off is graded as it stands, so it is wrong unless its
`\\boxed{}` is complete. Such records carry `derived_from` (the budget run).
A CoT run that fails (e.g. the prompt plus the largest budget does not fit the
context) gives every budget derived from it the error.

Grading. The graded text is the answer after `</think>` when the output
closed its thinking, else the whole output. Match modes: "boxed" (the last
complete `\\boxed{...}`), "number" (the last number in the text; `12,50` equals
`12.5`, times such as `15:45` compare as text) and "exact" (case, whitespace
and trailing punctuation ignored). A task without `match` gets "boxed" when
its answer has no spaces and the output has a box, else "number" when its
answer is a number, else "exact". Runs that end in an error count as wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.backends.base import Backend
from engine.cli import EXACT_MIX_HELP
from engine.config import DecodeSettings
from engine.errors import RioError
from engine.events import Done, Started, Step
from engine.prompt import Turn

log = logging.getLogger(__name__)

EVAL_METHODS: tuple[str, ...] = ("swir", "cot", "cot-greedy", "swir-greedy")
MATCH_MODES: tuple[str, ...] = ("boxed", "number", "exact")
# The backend method each eval method needs; the methods whose runs do not depend on max_new_tokens.
BACKEND_METHOD = {"swir": "swir", "swir-greedy": "swir", "cot": "cot", "cot-greedy": "cot-greedy"}
TRUNCATABLE = frozenset({"cot", "cot-greedy"})
END_THINK = "</think>"


# ---------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    id: str
    question: str
    answer: str
    where: str  # "file:line", for messages
    lang: str | None = None
    kind: str | None = None
    images: tuple[str, ...] = ()  # absolute paths
    videos: tuple[str, ...] = ()
    history: tuple[Turn, ...] = ()  # earlier turns, oldest first
    match: str | None = None  # None: chosen per output (see the module docstring)

    def turns(self) -> list[Turn]:
        return [*self.history, Turn("user", self.question, self.images, self.videos)]


def load_tasks(path: str | Path, limit: int | None = None) -> list[Task]:
    """Read a JSONL task file (blank lines and `#` lines skipped); the first `limit` tasks."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise RioError(f"Cannot read the task file {path}: {err}") from None
    tasks: list[Task] = []
    seen: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise RioError(f"{where}: not valid JSON ({err.msg}, column {err.colno}).") from None
        task = task_from(obj, where, path.parent, default_id=str(n))
        if task.id in seen:
            raise RioError(f"{where}: the id {task.id!r} is already used at {seen[task.id]}.")
        seen[task.id] = where
        tasks.append(task)
        if limit is not None and len(tasks) >= limit:
            break
    if not tasks:
        raise RioError(f"The task file {path} has no tasks.")
    return tasks


def task_from(obj: Any, where: str, base: Path, default_id: str) -> Task:
    """One task from a parsed JSON line; `RioError` naming `where` for what is wrong."""
    if not isinstance(obj, dict):
        raise RioError(f"{where}: each line must be a JSON object with 'question' and 'answer'.")
    for key in ("question", "answer"):
        if key not in obj:
            raise RioError(f"{where}: the field {key!r} is missing.")
    question, answer = obj["question"], obj["answer"]
    if not isinstance(question, str) or not question.strip():
        raise RioError(f"{where}: 'question' must be a non-empty string.")
    if isinstance(answer, bool) or not isinstance(answer, str | int | float) or not str(answer).strip():
        raise RioError(f"{where}: 'answer' must be a non-empty string or a number.")
    match = obj.get("match")
    if match is not None and match not in MATCH_MODES:
        raise RioError(f"{where}: 'match' must be one of {', '.join(MATCH_MODES)}, not {match!r}.")
    if match == "number" and number_value(str(answer)) is None:
        raise RioError(f"{where}: 'match' is 'number' but the answer {answer!r} is not a number.")
    return Task(
        id=str(obj.get("id", default_id)), question=question, answer=str(answer).strip(), where=where,
        lang=_optional_str(obj, "lang", where), kind=_optional_str(obj, "kind", where),
        images=_media(obj, "images", where, base), videos=_media(obj, "videos", where, base),
        history=_history(obj.get("history", []), where), match=match,
    )  # fmt: skip


def _optional_str(obj: dict, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is not None and not isinstance(value, str):
        raise RioError(f"{where}: {key!r} must be a string.")
    return value


def _media(obj: dict, key: str, where: str, base: Path) -> tuple[str, ...]:
    paths = obj.get(key, [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise RioError(f"{where}: {key!r} must be a list of file paths (relative to the task file).")
    out = []
    for p in paths:
        full = (base / p).resolve()
        if not full.is_file():
            raise RioError(f"{where}: the file {p!r} in {key!r} does not exist (looked for {full}).")
        out.append(str(full))
    return tuple(out)


def _history(items: Any, where: str) -> tuple[Turn, ...]:
    msg = f"{where}: 'history' must be a list of {{role: user|assistant, text: ...}} objects"
    if not isinstance(items, list):
        raise RioError(f"{msg}.")
    turns = []
    for i, item in enumerate(items):
        ok = isinstance(item, dict) and item.get("role") in ("user", "assistant")
        if not ok or not isinstance(item.get("text"), str):
            raise RioError(f"{msg}; item {i} is not.")
        turns.append(Turn(item["role"], item["text"]))
    return tuple(turns)


# ---------------------------------------------------------------- extraction

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_TIME = r"(?<![\d:])\d{1,2}:\d{2}(?::\d{2})?(?![\d:])"
_NUMBER = r"(?:(?<![\w)\]])-)?(?<![\d.,])\d(?:[\d.,]*\d)?"
_CANDIDATE = re.compile(f"{_TIME}|{_NUMBER}")
_TIME_FULL = re.compile(_TIME)
_TRAILING_PUNCT = ".,;:!?。"


def last_boxed(text: str) -> str | None:
    """The content of the last complete `\\boxed{...}` (nested braces handled), or None."""
    found = None
    for m in _BOX_OPEN.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found = text[m.end() : i - 1].strip()
    return found


def parse_number(s: str) -> Decimal | None:
    """A number written with `.` or `,` decimals and/or thousands separators, or None.

    Both separators: the last one is the decimal mark (`1.234,5`, `1,234.5`).
    One `,`: thousands when exactly three digits follow and the number does
    not start with 0 (`1,234`), else decimal (`12,50`, `0,125`). One `.`:
    decimal. A separator repeated: thousands, in groups of three digits.
    """
    s = s.strip().replace("\u2212", "-")
    sign, body = ("-", s[1:]) if s.startswith("-") else ("", s)
    if not re.fullmatch(r"\d(?:[\d.,]*\d)?", body):
        return None
    dec, thousands = _separators(body)
    whole, frac = body.rsplit(dec, 1) if dec else (body, "")
    groups = whole.split(thousands) if thousands else [whole]
    if not all(g.isdigit() for g in [*groups, *([frac] if frac else [])]):
        return None
    if thousands and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        return None
    return Decimal(f"{sign}{''.join(groups)}{'.' + frac if frac else ''}")


def _separators(body: str) -> tuple[str | None, str | None]:
    """(decimal mark, thousands separator) of a digit string, each None when absent."""
    commas, dots = body.count(","), body.count(".")
    if commas and dots:
        return (",", ".") if body.rfind(",") > body.rfind(".") else (".", ",")
    if commas == 1:
        head, tail = body.split(",")
        return (None, ",") if len(tail) == 3 and not head.startswith("0") else (",", None)
    if dots == 1:
        return ".", None
    if commas or dots:
        return None, "," if commas else "."
    return None, None


def last_number(text: str) -> str | None:
    """The last number or time in `text`, as written (`-1,234.5`, `12,50`, `15:45`), or None.

    A run like `1,2,3` that is no single number gives its last part (`3`).
    """
    for m in reversed(list(_CANDIDATE.finditer(text))):
        s = m.group(0)
        if parse_number(s) is None and not _TIME_FULL.fullmatch(s):
            s = re.split(r"[.,]", s)[-1]
        return s
    return None


def number_value(s: str) -> Decimal | str | None:
    """A whole string read as a number (Decimal) or a time (`"9:05"`), else None."""
    s = s.strip().strip("$").strip()
    if _TIME_FULL.fullmatch(s):
        head, rest = s.split(":", 1)
        return f"{int(head)}:{rest}"
    return parse_number(s)


def normalize_text(s: str) -> str:
    """Case, runs of whitespace and trailing punctuation ignored."""
    return " ".join(s.casefold().split()).rstrip(_TRAILING_PUNCT).strip()


# ---------------------------------------------------------------- grading


@dataclass(frozen=True)
class Grade:
    correct: bool
    extracted: str | None
    match: str  # the mode used


def same_answer(found: str, expected: str) -> bool:
    """Numbers compare by value, times and text after `normalize_text`."""
    a, b = number_value(found), number_value(expected)
    if a is not None and b is not None:
        return a == b
    return normalize_text(found) == normalize_text(expected)


def choose_match(text: str, expected: str, match: str | None) -> str:
    if match:
        return match
    if " " not in expected.strip() and last_boxed(text) is not None:
        return "boxed"
    return "number" if number_value(expected) is not None else "exact"


def grade(text: str, expected: str, match: str | None = None) -> Grade:
    """Grade one graded text (see `graded_text`) against the expected answer."""
    mode = choose_match(text, expected, match)
    if mode == "boxed":
        found = last_boxed(text)
    elif mode == "number":
        found = last_number(text)
    else:
        found = text.strip()
    return Grade(found is not None and same_answer(found, expected), found, mode)


@dataclass(frozen=True, slots=True)
class RunStep:
    """What grading and counting need of one `Step`, independent of the event's shape."""

    token_id: int
    text: str
    phase: str  # "thinking" or "answer"
    latent: bool  # the model read a soft embedding next (switch marks applied for real only)
    to_explicit: bool  # a latent -> explicit switch happened here
    injected: bool = False  # the switch-count control wrote this token, not the model
    computed: bool = False  # the engine's calculator wrote this token, not the model


def run_step(step: Step, marks_applied: bool = True) -> RunStep:
    """Adapt a `Step`. Marks that were not applied (a remote replay of where SwiR would
    switch, or a server that reports none) count as explicit steps without switches."""
    switched = step.switch == "to_explicit"
    return RunStep(
        step.token_id, step.text, step.phase, marks_applied and step.latent, marks_applied and switched,
        marks_applied and step.injected, step.computed,
    )  # fmt: skip


def closed_mid_step(steps: Sequence[RunStep]) -> bool:
    """The switch-count control's words went in while the model was inside a line of its
    reasoning ("100 - 54 =</think>"): the text before the first injected token does not
    end with a line break."""
    first = next((i for i, s in enumerate(steps) if s.injected), None)
    if first is None or first == 0:
        return False
    before = "".join(s.text for s in steps[:first])
    return not before.rstrip(" \t").endswith("\n")


def split_output(steps: Sequence[RunStep]) -> tuple[str, str, bool]:
    """(thinking, answer, closed): the text by the steps' phases; a `</think>` written
    in the answer text (models without thinking tokens, injected words) moves what
    precedes it to the thinking. `closed`: the thinking ended."""
    thinking = "".join(s.text for s in steps if s.phase == "thinking")
    answer = "".join(s.text for s in steps if s.phase == "answer")
    phases = {s.phase for s in steps}
    closed = phases == {"thinking", "answer"} or END_THINK in thinking
    if END_THINK in answer:
        head, _, answer = answer.rpartition(END_THINK)
        thinking, closed = thinking + head + END_THINK, True
    return thinking, answer, closed


def graded_text(thinking: str, answer: str, closed: bool) -> str:
    return answer if closed else thinking + answer


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Record:
    """One task run with one method, budget and seed (seed None: greedy)."""

    task_id: str
    method: str
    budget: int
    seed: int | None
    correct: bool
    tokens: int
    latent_steps: int
    switches: int  # latent -> explicit
    stop_reason: str
    extracted: str | None
    match: str
    expected: str
    thinking: str
    answer: str
    token_ids: tuple[int, ...] = ()
    lang: str | None = None
    kind: str | None = None
    derived_from: int | None = None  # the budget of the run this one was truncated from
    error: str = ""
    closed_mid_step: bool = False  # see `closed_mid_step`
    closed_by_cap: bool = False  # the switch-count control wrote words into this run
    computed_tokens: int = 0  # tokens the engine's calculator wrote
    opening_latent: int = 0  # latent steps from the start, before the first switch

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def make_record(
    task: Task, method: str, budget: int, seed: int | None, steps: Sequence[RunStep], stop: str, **extra: Any
) -> Record:
    """Grade a run's steps into a `Record` (pure)."""
    thinking, answer, closed = split_output(steps)
    g = grade(graded_text(thinking, answer, closed), task.answer, task.match)
    return Record(
        task_id=task.id, method=method, budget=budget, seed=seed,
        correct=g.correct and stop != "error", tokens=len(steps),
        latent_steps=sum(s.latent for s in steps),
        switches=sum(s.to_explicit for s in steps), stop_reason=stop, extracted=g.extracted,
        match=g.match, expected=task.answer, thinking=thinking, answer=answer,
        token_ids=tuple(s.token_id for s in steps), lang=task.lang, kind=task.kind,
        closed_mid_step=closed_mid_step(steps), closed_by_cap=any(s.injected for s in steps),
        computed_tokens=sum(s.computed for s in steps), opening_latent=opening_latent(steps), **extra,
    )  # fmt: skip


def opening_latent(steps: Sequence[RunStep]) -> int:
    """Latent steps from the start of a run, before its first switch to explicit (0 for CoT)."""
    n = 0
    for s in steps:
        if s.to_explicit:
            break
        n += s.latent
    return n


def truncate(steps: Sequence[RunStep], stop: str, budget: int) -> tuple[list[RunStep], str]:
    """What a run with `max_new_tokens=budget` would have produced, from a longer
    run of a method that does not depend on the cap (CoT)."""
    if stop != "error" and len(steps) > budget:
        return list(steps[:budget]), "max_new_tokens"
    return list(steps), stop


# ---------------------------------------------------------------- runner


@dataclass(frozen=True)
class Plan:
    """One kind of run: an eval method at one seed, producing records for `budgets`
    (one budget, or for CoT all budgets from a run at the largest)."""

    method: str
    seed: int | None
    settings: DecodeSettings
    budgets: tuple[int, ...]


def method_settings(method: str, base: DecodeSettings) -> DecodeSettings:
    if method not in BACKEND_METHOD:
        raise RioError(f"Unknown method {method!r}; choose from {', '.join(EVAL_METHODS)}.")
    settings = base.with_method(BACKEND_METHOD[method])
    if method == "swir-greedy":
        settings = replace(settings, sampling=replace(settings.sampling, greedy=True))
    return settings


def plans(
    methods: Sequence[str], budgets: Sequence[int], seeds: Sequence[int], base: DecodeSettings
) -> list[Plan]:
    """Every backend run to make. Greedy runs happen once (seed None)."""
    budgets = tuple(sorted(set(budgets)))
    out = []
    for method in methods:
        settings = method_settings(method, base)
        for seed in [None] if settings.greedy else list(seeds):
            groups = [budgets] if method in TRUNCATABLE else [(b,) for b in budgets]
            for group in groups:
                s = replace(settings, seed=seed, max_new_tokens=group[-1]).validate()
                out.append(Plan(method, seed, s, group))
    return out


def split_methods(methods: Sequence[str], available: Iterable[str]) -> tuple[list[str], list[str]]:
    """(methods the backend runs, methods it lacks)."""
    available = set(available)
    kept = [m for m in methods if BACKEND_METHOD.get(m) in available]
    return kept, [m for m in methods if m not in kept]


def run_once(backend: Backend, task: Task, settings: DecodeSettings) -> tuple[list[RunStep], str, str]:
    """(steps, stop reason, error message) of one chat run; a `RioError` ends it as "error"."""
    steps: list[RunStep] = []
    stop, error, applied = "error", "", True
    try:
        for ev in backend.chat(task.turns(), settings):
            if isinstance(ev, Started):
                marks = getattr(ev, "switch_marks", None) or getattr(backend, "switch_marks", "applied")
                applied = marks == "applied"
            elif isinstance(ev, Step):
                steps.append(run_step(ev, applied))
            elif isinstance(ev, Done):
                stop = ev.summary.stop_reason
    except RioError as err:
        stop, error = "error", str(err) or type(err).__name__
    return steps, stop, error


def plan_records(plan: Plan, task: Task, steps: list[RunStep], stop: str, error: str) -> list[Record]:
    ran = plan.settings.max_new_tokens
    out = []
    for budget in plan.budgets:
        cut, cut_stop = truncate(steps, stop, budget)
        derived = ran if budget != ran else None
        extra = {"derived_from": derived, "error": error}
        out.append(make_record(task, plan.method, budget, plan.seed, cut, cut_stop, **extra))
    return out


def check_tasks_media(backend: Backend, tasks: Sequence[Task]) -> None:
    """Refuse, before any run, a task whose media this backend cannot read."""
    for task in tasks:
        try:
            backend.check_media(task.images, task.videos)
        except RioError as err:
            raise RioError(f"{task.where}: {err}") from None


def run_eval(
    backend: Backend,
    tasks: Sequence[Task],
    methods: Sequence[str],
    budgets: Sequence[int],
    seeds: int | Sequence[int],
    base_settings: DecodeSettings | None = None,
    progress: bool = True,
    *,
    on_record: Callable[[Record], None] | None = None,
    parallel: int = 1,
) -> list[Record]:
    """Run every task with every method, budget and seed (`seeds`: N for 0..N-1, or a
    list); one `Record` each, in run order. Methods the backend lacks are skipped
    with a warning. `on_record` sees each record as soon as it exists (in run order).
    `parallel` > 1 keeps that many tasks in flight at once, for a backend that batches
    them (`LocalBackend(max_batch_rows=...)`, a server): same records, less time."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm import tqdm

    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    kept, lacking = split_methods(methods, backend.info.methods)
    for m in lacking:
        log.warning("%s does not run %s; skipped", backend.info.name, m)
    check_tasks_media(backend, tasks)
    todo = plans(kept, budgets, seeds, base_settings or DecodeSettings())
    total = len(tasks) * sum(len(p.budgets) for p in todo)
    records: list[Record] = []
    tally: dict[str, list[int]] = {}  # method -> [correct, runs]
    pool = ThreadPoolExecutor(max(1, parallel), thread_name_prefix="eval")
    bar = tqdm(total=total, disable=not progress, unit="run", dynamic_ncols=True, file=sys.stderr)
    with pool, bar:
        for plan in todo:
            bar.set_description(f"{plan.method}@{plan.settings.max_new_tokens}")
            runs = pool.map(lambda task, plan=plan: run_once(backend, task, plan.settings), tasks)
            for task, ran in zip(tasks, runs, strict=True):
                new = plan_records(plan, task, *ran)
                records += new
                for r in new:
                    count = tally.setdefault(r.method, [0, 0])
                    count[0], count[1] = count[0] + r.correct, count[1] + 1
                    if on_record:
                        on_record(r)
                bar.update(len(new))
                bar.set_postfix_str(running_accuracy(tally), refresh=False)
    return records


def running_accuracy(tally: dict[str, list[int]]) -> str:
    """`swir 40% cot-greedy 20%`: accuracy so far per method, all budgets pooled."""
    return " ".join(f"{m} {100 * c / n:.0f}%" for m, (c, n) in tally.items())


# ---------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class Row:
    method: str
    budget: int
    n: int
    correct: int
    accuracy: float  # 0..1
    mean_tokens: float
    tokens_per_correct: float | None  # all tokens spent / correct answers; None when none is correct
    latent_share: float  # latent steps / tokens
    mean_switches: float
    errors: int = 0
    group: str = ""  # "" for all records, else e.g. "lang=pt"
    closed_by_cap: int = 0  # runs whose thinking the switch cap closed (CoT: always 0)
    closed_mid_step: int = 0  # of those, runs closed inside a line
    computed_share: float = 0.0  # tokens the calculator wrote / tokens


def summarize(records: Sequence[Record], by: str | None = None) -> list[Row]:
    """One row per method x budget (methods in first-seen order, budgets ascending);
    with `by` ("lang" or "kind") one per value of that field too."""
    order = {m: i for i, m in enumerate(dict.fromkeys(r.method for r in records))}
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        value = "" if by is None else f"{by}={getattr(r, by) or '-'}"
        groups.setdefault((value, order[r.method], r.budget), []).append(r)
    return [_row(rs, group) for (group, _, _), rs in sorted(groups.items())]


def _row(records: Sequence[Record], group: str) -> Row:
    n = len(records)
    correct = sum(r.correct for r in records)
    tokens = sum(r.tokens for r in records)
    return Row(
        method=records[0].method, budget=records[0].budget, n=n, correct=correct, accuracy=correct / n,
        mean_tokens=tokens / n, tokens_per_correct=tokens / correct if correct else None,
        latent_share=sum(r.latent_steps for r in records) / tokens if tokens else 0.0,
        mean_switches=sum(r.switches for r in records) / n,
        errors=sum(r.stop_reason == "error" for r in records), group=group,
        closed_by_cap=sum(r.closed_by_cap for r in records),
        closed_mid_step=sum(r.closed_mid_step for r in records),
        computed_share=sum(r.computed_tokens for r in records) / tokens if tokens else 0.0,
    )  # fmt: skip


def breakdowns(records: Sequence[Record]) -> dict[str, list[Row]]:
    """Per-`lang` and per-`kind` rows, for the fields some task sets."""
    return {
        key: summarize(records, by=key) for key in ("lang", "kind") if any(getattr(r, key) for r in records)
    }


# ---------------------------------------------------------------- table and plot


TABLE_HEAD = (
    "method",
    "budget",
    "accuracy (n)",
    "mean tokens",
    "tokens / correct",
    "latent share",
    "mean switches",
    "closed by cap",
    "closed mid-step",
    "computed share",
)


def markdown_table(rows: Sequence[Row], group_label: str | None = None) -> str:
    head = list(TABLE_HEAD)
    if group_label:
        head.insert(0, group_label)
    numeric = len(TABLE_HEAD) - 1  # all but the method
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] * (len(head) - numeric) + ["---:"] * numeric) + "|",
    ]
    for r in rows:
        cells = [
            r.method, str(r.budget), f"{100 * r.accuracy:.1f}% ({r.correct}/{r.n})", f"{r.mean_tokens:.1f}",
            "-" if r.tokens_per_correct is None else f"{r.tokens_per_correct:.1f}",
            f"{100 * r.latent_share:.1f}%", f"{r.mean_switches:.2f}", str(r.closed_by_cap),
            str(r.closed_mid_step),
            f"{100 * r.computed_share:.1f}%",
        ]  # fmt: skip
        if group_label:
            cells.insert(0, r.group.split("=", 1)[1])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_markdown(
    title: str, rows: Sequence[Row], extra: dict[str, list[Row]], notes: Sequence[str]
) -> str:
    parts = [f"# {title}", "", markdown_table(rows)]
    for key, key_rows in extra.items():
        parts += ["", f"## By {key}", "", markdown_table(key_rows, group_label=key)]
    if notes:
        parts += ["", *(f"- {n}" for n in notes)]
    return "\n".join(parts) + "\n"


STYLE = {  # method -> (colour, marker, line style), after the paper's Pareto figure
    "swir": ("#d62728", "*", "-"),
    "swir-greedy": ("#ff7f0e", "P", "-"),
    "cot": ("#1f77b4", "o", "--"),
    "cot-greedy": ("#2ca02c", "s", ":"),
}
LABELS = {"swir": "SwiReasoning", "swir-greedy": "SwiReasoning (greedy)", "cot": "CoT (sampled)",
          "cot-greedy": "CoT (greedy)"}  # fmt: skip


def pareto_png(rows: Sequence[Row], model: str, n_tasks: int | None = None) -> bytes:
    """Accuracy against mean tokens, one line per method through its budgets (PNG bytes)."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot, no global backend state
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.6), dpi=150)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for method in dict.fromkeys(r.method for r in rows if not r.group):
        pts = sorted((r for r in rows if r.method == method and not r.group), key=lambda r: r.budget)
        color, marker, ls = STYLE.get(method, ("#7f7f7f", "D", "-"))
        xs, ys = [r.mean_tokens for r in pts], [100 * r.accuracy for r in pts]
        size = 14 if marker == "*" else 8
        ax.plot(xs, ys, color=color, marker=marker, ls=ls, lw=2, ms=size, label=LABELS.get(method, method))
        for r, x, y in zip(pts, xs, ys, strict=True):
            ax.annotate(
                str(r.budget), (x, y), textcoords="offset points", xytext=(5, 6), fontsize=7, color=color
            )
    ax.set_xlabel("mean tokens generated per answer")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(-3, 103)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8, frameon=True)
    ax.set_title(f"{model}: accuracy vs. token usage", fontsize=11)
    n = f"{n_tasks} tasks; " if n_tasks else ""
    ax.text(0.01, 0.99, f"{n}point labels: max new tokens", transform=ax.transAxes, fontsize=7, va="top")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# ---------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line and status 2, via main's RioError handler
        raise RioError(message)


def parser() -> argparse.ArgumentParser:
    from engine.cli import PRESET_CAP, _switch_count
    from engine.models.presets import PRESETS
    from engine.runtimes.llamacpp import DEFAULT_N_CTX

    ap = _Parser(prog="python -m engine.eval", description="Grade a JSONL task file with SwiR and CoT.")
    ap.add_argument("--model", help=f"preset ({', '.join(PRESETS)}), hub id or folder; "
                    "with --backend openai, the served model (default: the only one)")  # fmt: skip
    ap.add_argument("--backend", choices=("local", "llamacpp", "openai"), default="local")
    ap.add_argument(
        "--batch-rows",
        type=int,
        default=1,
        help="tasks decoded together in one batch (local backends; a server batches itself)",
    )
    ap.add_argument("--threads", type=int, help="llama.cpp: CPU threads (default: all cores)")
    ap.add_argument("--n-ctx", type=int, default=DEFAULT_N_CTX, help="llama.cpp: context length per task")
    ap.add_argument("--exact-mix", action="store_true", help=EXACT_MIX_HELP)
    ap.add_argument(
        "--mmproj", help="llama.cpp: the vision projector (default: an mmproj*.gguf beside the model)"
    )
    ap.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://host:8000/v1")
    ap.add_argument("--api-key")
    ap.add_argument("--swir-extension", action="store_true", help="the server runs SwiR (needs --tokenizer)")
    ap.add_argument("--tokenizer", help="the served model's tokenizer (folder or cached hub id)")
    ap.add_argument("--tasks", type=Path, required=True, help="JSONL: question, answer, optional id, lang, "
                    "kind, images, videos, history, match")  # fmt: skip
    ap.add_argument(
        "--methods", default="swir,cot,cot-greedy", help=f"comma list of {', '.join(EVAL_METHODS)}"
    )
    ap.add_argument("--budgets", default="64,128,256", help="comma list of max new tokens")
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 for sampled methods")
    ap.add_argument("--greedy", action="store_true", help="swir and cot choose tokens by argmax too")
    ap.add_argument("--limit", type=int, help="the first N tasks only")
    ap.add_argument("--out", type=Path, help="default eval-results/<model>-<timestamp>/")
    ap.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when present)")
    ap.add_argument("--thinking", action=argparse.BooleanOptionalAction, default=True,
                    help="enable_thinking in the chat template")  # fmt: skip
    ap.add_argument("--suffix", action="store_true", help="append the step-by-step / boxed-answer request")
    ap.add_argument("--calculator", action=argparse.BooleanOptionalAction, default=None,
                    help="the engine writes arithmetic results in the thinking (default: the preset's)")  # fmt: skip
    for flag, kind in (("--alpha0", float), ("--beta0", float), ("--window", int), ("--temperature", float),
                       ("--top-p", float), ("--top-k", int), ("--min-p", float), ("--line-end-wait", int)):  # fmt: skip
        ap.add_argument(flag, type=kind, help="default: the preset's value")
    ap.add_argument(
        "--max-switch-count",
        type=_switch_count,
        default=PRESET_CAP,
        help="an integer, or none (default: the preset's)",
    )
    ap.add_argument(
        "--reference-quirks", action="store_true", help="the reference policy exactly (parity checks)"
    )
    ap.add_argument("--no-progress", action="store_true")
    return ap


def _int_list(value: str, what: str) -> list[int]:
    try:
        out = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise RioError(f"--{what} must be a comma list of whole numbers, not {value!r}.") from None
    if not out or min(out) < 1:
        raise RioError(f"--{what} must list at least one number, each at least 1.")
    return out


def check_args(args: argparse.Namespace) -> tuple[list[str], list[int]]:
    """(methods, budgets) after the checks a user can fail; `RioError` otherwise."""
    from engine.models.presets import DEFAULT_PRESET, PRESETS

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods or (bad := [m for m in methods if m not in EVAL_METHODS]):
        raise RioError(f"--methods: unknown {', '.join(bad) if methods else '(none)'}; choose from "
                       f"{', '.join(EVAL_METHODS)}.")  # fmt: skip
    budgets = _int_list(args.budgets, "budgets")
    if args.seeds < 1 or args.batch_rows < 1 or (args.limit is not None and args.limit < 1):
        raise RioError("--seeds, --batch-rows and --limit must be at least 1.")
    if args.backend == "openai" and not args.base_url:
        raise RioError("--backend openai needs --base-url, e.g. http://host:8000/v1.")
    if args.backend in ("local", "llamacpp"):
        args.model = args.model or DEFAULT_PRESET
        if args.model not in PRESETS and not Path(args.model).exists() and "/" not in args.model:
            raise RioError(
                f"Unknown model {args.model!r}: use a preset ({', '.join(PRESETS)}), a hub id or a folder."
            )
    return list(dict.fromkeys(methods)), budgets


def base_settings(args: argparse.Namespace, budgets: Sequence[int]) -> DecodeSettings:
    """Preset defaults (or `DecodeSettings()`'s), overridden by the flags, as the chat CLI does."""
    from engine.cli import parser as cli_parser
    from engine.cli import settings_from
    from engine.models.presets import PRESETS, recommended_settings

    ns = cli_parser().parse_args(["-"])  # every option the chat CLI reads, at its default
    ns.__dict__.update({k: v for k, v in vars(args).items() if k in vars(ns)})
    ns.method, ns.max_new_tokens, ns.seed, ns.no_thinking = "swir", max(budgets), None, not args.thinking
    return settings_from(ns, recommended_settings(PRESETS.get(args.model or "")))


def open_backend(args: argparse.Namespace) -> Backend:
    """A local model (no fallback: an eval must grade the model it names) or a server."""
    if args.backend == "openai":
        from engine.cli import load

        return load(args)
    from engine.backends.local import load_backend
    from engine.cli import llama_options

    return load_backend(
        args.model,
        fallback=False,
        device=args.device,
        llama=llama_options(args),
        max_batch_rows=args.batch_rows,
    )


def default_out(model: str) -> Path:
    name = re.sub(r"[^\w.-]+", "_", Path(model).name if Path(model).exists() else model).strip("_")
    return Path("eval-results") / f"{name or 'model'}-{time.strftime('%Y%m%d-%H%M%S')}"


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        methods, budgets = check_args(args)
        tasks = load_tasks(args.tasks, args.limit)
        return run(args, methods, budgets, tasks)
    except RioError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def run(args: argparse.Namespace, methods: list[str], budgets: list[int], tasks: list[Task]) -> int:
    settings = base_settings(args, budgets)
    backend = open_backend(args)
    model = args.model or backend.info.name
    kept, lacking = split_methods(methods, backend.info.methods)
    notes = [f"{backend.info.name} does not run {m}; skipped." for m in lacking]
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if not kept:
        raise RioError(f"{backend.info.name} runs none of {', '.join(methods)}.")
    out = args.out or default_out(model)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RioError(f"Cannot write the results to {out}: {err.strerror or err}.") from None
    with (out / "results.jsonl").open("w", encoding="utf-8") as fh:

        def write(record: Record) -> None:
            fh.write(record.to_json() + "\n")
            fh.flush()

        records = run_eval(backend, tasks, kept, budgets, args.seeds, settings, progress=not args.no_progress,
                           on_record=write, parallel=args.batch_rows)  # fmt: skip
    if any(m in TRUNCATABLE for m in kept) and len(budgets) > 1:
        notes.append(
            "CoT budgets below the largest are the largest run truncated (same tokens as a shorter run)."
        )
    rows = write_summary(out, records, model, backend, args, settings, notes, len(tasks))
    print(markdown_table(rows))
    print(f"results in {out}/", file=sys.stderr)
    return 0


def write_summary(
    out: Path,
    records: Sequence[Record],
    model: str,
    backend: Backend,
    args: argparse.Namespace,
    settings: DecodeSettings,
    notes: list[str],
    n_tasks: int,
) -> list[Row]:
    """summary.json, summary.md and pareto.png; returns the overall rows."""
    from engine.trace import settings_record

    rows, extra = summarize(records), breakdowns(records)
    if errors := sum(r.stop_reason == "error" for r in records):
        notes = [*notes, f"{errors} runs ended in an error and count as wrong (see results.jsonl)."]
    info = backend.info
    summary = {
        "model": model, "backend": {"name": info.name, "source": info.source, "device": info.device,
                                    "methods": list(info.methods), "kind": args.backend},
        "tasks": str(args.tasks), "n_tasks": n_tasks, "budgets": sorted(set(r.budget for r in records)),
        "seeds": args.seeds, "settings": settings_record(settings), "notes": notes,
        "rows": [asdict(r) for r in rows],
        "breakdowns": {k: [asdict(r) for r in v] for k, v in extra.items()},
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    title = f"{model}: {n_tasks} tasks from {Path(args.tasks).name}"
    (out / "summary.md").write_text(summary_markdown(title, rows, extra, notes), encoding="utf-8")
    (out / "pareto.png").write_bytes(pareto_png(rows, model, n_tasks))
    return rows


if __name__ == "__main__":
    sys.exit(main())
