"""`engine/eval.py`: extraction, grading, aggregation and task files as pure functions; the
runner on a scripted backend; the CLI end to end on the tiny model (nonsense answers, so no
accuracy is asserted there)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import fields
from decimal import Decimal

import pytest

from engine import eval as ev
from engine.backends.base import BackendInfo
from engine.config import DecodeSettings, SamplingParams
from engine.errors import RioError
from engine.events import Done, Started, Step, Summary

# ---------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "text, expected",
    [
        (r"so \boxed{42}.", "42"),
        (r"\boxed{\frac{1}{2}} and later \boxed{x^{2}+1}", "x^{2}+1"),
        (r"first \boxed{3}, then a cut-off \boxed{\frac{1}{", "3"),
        (r"\boxed {7}", "7"),
        (r"no box here", None),
        (r"\boxed{unclosed", None),
    ],
)
def test_last_boxed(text, expected):
    assert ev.last_boxed(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The answer is 42.", "42"),
        ("from 3 to -3.5 degrees", "-3.5"),
        ("x = -7", "-7"),
        ("pages 3-5", "5"),
        ("total 1,234,567 people", "1,234,567"),
        ("custa R$ 12,50.", "12,50"),
        ("1.234,56 reais", "1.234,56"),
        ("we meet at 15:45.", "15:45"),
        ("the list 1,2,3", "3"),
        ("nothing numeric", None),
    ],
)
def test_last_number(text, expected):
    assert ev.last_number(text) == expected


@pytest.mark.parametrize(
    "s, value",
    [
        ("12,50", Decimal("12.5")),
        ("12.5", Decimal("12.5")),
        ("1,234", Decimal(1234)),
        ("0,125", Decimal("0.125")),
        ("1.234.567", Decimal(1234567)),
        ("1,234.5", Decimal("1234.5")),
        ("1.234,5", Decimal("1234.5")),
        ("-40", Decimal(-40)),
        ("1,23,4", None),
        ("12a", None),
    ],
)
def test_parse_number(s, value):
    assert ev.parse_number(s) == value


def test_normalize_text():
    assert (
        ev.normalize_text("  The   Eiffel Tower. ")
        == ev.normalize_text("the eiffel tower")
        == "the eiffel tower"
    )


# ---------------------------------------------------------------- grading


@pytest.mark.parametrize(
    "text, answer, match, correct",
    [
        (r"so \boxed{12.5}", "12,50", None, True),  # numbers compare by value across , and .
        ("it costs 12,5 reais", "12.50", None, True),
        ("it costs 12,6 reais", "12.50", None, False),
        (r"\boxed{1,234}", "1234", None, True),
        ("the train leaves at 15:45", "15:45", None, True),
        ("the train leaves at 15:45", "15.45", None, False),  # times compare as text
        ("Paris.", "paris", None, True),
        ("I think it is Paris.", "Paris", None, False),  # exact means exact
        (r"\boxed{Paris}", "Paris", None, True),
        (r"\boxed{New York}", "New York", None, False),  # spaces in the answer: no auto boxed
        ("5 apples, \\boxed{4}", "5", "number", False),
        ("5 apples, \\boxed{4}", "4", None, True),
        (r"a cut-off \boxed{4", "4", "boxed", False),
    ],
)
def test_grade(text, answer, match, correct):
    assert ev.grade(text, answer, match).correct is correct


def rs(text: str, phase: str = "answer", latent: bool = False, switch: bool = False) -> ev.RunStep:
    return ev.RunStep(0, text, phase, latent, switch)


def test_graded_text_is_the_answer_after_thinking():
    closed = [rs(r"maybe \boxed{3}", "thinking"), rs("</think>", "thinking"), rs(r"\boxed{5}")]
    thinking, answer, is_closed = ev.split_output(closed)
    assert is_closed and answer == r"\boxed{5}" and thinking.endswith("</think>")
    assert ev.graded_text(thinking, answer, is_closed) == r"\boxed{5}"
    # A model without thinking tokens writes `</think>` as answer text.
    plain = ev.split_output([rs("hmm 3 "), rs("</think>"), rs(" 5")])
    assert plain == ("hmm 3 </think>", " 5", True)
    # Cut off inside the thinking: the whole output is graded.
    open_ = ev.split_output([rs(r"so \boxed{3}", "thinking")])
    assert ev.graded_text(*open_) == r"so \boxed{3}"


def test_a_record_tells_how_the_switch_cap_closed_the_thinking():
    task = ev.Task("t", "q", "63", "f:1")
    cap = ev.RunStep(0, "</think>", "thinking", False, False, injected=True)

    def made(*steps):
        return ev.make_record(task, "swir", 64, None, list(steps), "eos")

    at_line_end = made(rs("200 - 137 = 63.\n", "thinking"), cap, rs(r"\boxed{63}"))
    assert at_line_end.closed_by_cap and not at_line_end.closed_mid_step and at_line_end.correct
    mid_line = made(rs("200 - 137 =", "thinking"), cap, rs(r"\boxed{63}"))
    assert mid_line.closed_by_cap and mid_line.closed_mid_step
    own = made(rs("200 - 137 = 63.", "thinking"), rs("</think>", "thinking"), rs(r"\boxed{63}"))
    assert not own.closed_by_cap and not own.closed_mid_step


def test_truncate_is_what_a_shorter_run_gives():
    steps = [rs(str(i)) for i in range(5)]
    assert ev.truncate(steps, "eos", 3) == (steps[:3], "max_new_tokens")
    assert ev.truncate(steps, "eos", 5) == (steps, "eos")
    assert ev.truncate(steps, "eos", 9) == (steps, "eos")


# ---------------------------------------------------------------- aggregation


def record(method="swir", budget=64, correct=True, tokens=10, latent=0, switches=0, lang=None, **kw):
    return ev.Record(
        task_id=kw.pop("task_id", "t"), method=method, budget=budget, seed=0, correct=correct, tokens=tokens,
        latent_steps=latent, switches=switches, stop_reason=kw.pop("stop", "eos"), extracted=None,
        match="number", expected="1", thinking="", answer="", lang=lang, **kw,
    )  # fmt: skip


def test_summarize_hand_made_records():
    records = [
        record("cot", 64, True, 20, lang="en"),
        record("swir", 128, False, 40, latent=10, switches=2, lang="pt"),
        record("swir", 64, True, 10, latent=5, switches=1, lang="en", closed_by_cap=True),
        record("swir", 64, False, 30, latent=5, switches=3, lang="pt", stop="error"),
    ]
    rows = ev.summarize(records)
    assert [(r.method, r.budget) for r in rows] == [("cot", 64), ("swir", 64), ("swir", 128)]
    swir64 = rows[1]
    assert (swir64.n, swir64.correct, swir64.accuracy, swir64.errors) == (2, 1, 0.5, 1)
    assert swir64.mean_tokens == 20 and swir64.tokens_per_correct == 40
    assert swir64.latent_share == 0.25 and swir64.mean_switches == 2
    assert rows[2].tokens_per_correct is None and rows[2].accuracy == 0
    by_lang = ev.summarize(records, by="lang")
    assert [(r.group, r.method, r.budget, r.n) for r in by_lang] == [
        ("lang=en", "cot", 64, 1), ("lang=en", "swir", 64, 1),
        ("lang=pt", "swir", 64, 1), ("lang=pt", "swir", 128, 1),
    ]  # fmt: skip
    assert set(ev.breakdowns(records)) == {"lang"}
    table = ev.markdown_table(rows)
    assert table.splitlines()[0].startswith("| method | budget | accuracy (n) | mean tokens")
    assert "| swir | 64 | 50.0% (1/2) | 20.0 | 40.0 | 25.0% | 2.00 | 1 | 0 |" in table
    assert "| swir | 128 | 0.0% (0/1) | 40.0 | - |" in table


def test_pareto_png_opens(tmp_path):
    from PIL import Image

    rows = ev.summarize([record("swir", 64), record("swir", 128, tokens=30), record("cot", 64, False)])
    path = tmp_path / "p.png"
    path.write_bytes(ev.pareto_png(rows, "some/model", 3))
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width > 300


# ---------------------------------------------------------------- task files


def write(tmp_path, *lines: str):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_tasks_reads_every_field(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"not checked here")
    path = write(
        tmp_path,
        '{"question": "2+2?", "answer": 4}',
        "",
        "# a comment",
        json.dumps({
            "id": "x", "question": "Now double it.", "answer": "8", "lang": "en", "kind": "math",
            "images": ["img/a.png"], "match": "number",
            "history": [{"role": "user", "text": "2+2?"}, {"role": "assistant", "text": "4"}],
        }),
    )  # fmt: skip
    first, second = ev.load_tasks(path)
    assert (first.id, first.answer, first.match, first.where) == ("1", "4", None, f"{path}:1")
    assert second.id == "x" and second.images == (str((tmp_path / "img" / "a.png").resolve()),)
    assert [(t.role, t.text) for t in second.turns()] == [
        ("user", "2+2?"), ("assistant", "4"), ("user", "Now double it."),
    ]  # fmt: skip
    assert len(ev.load_tasks(path, limit=1)) == 1


@pytest.mark.parametrize(
    "line, message",
    [
        ('{"question": "hi", "answer": ', "not valid JSON"),
        ('{"question": "hi"}', "'answer' is missing"),
        ('{"answer": "1"}', "'question' is missing"),
        ('["question", "answer"]', "JSON object"),
        ('{"question": "hi", "answer": "1", "match": "fuzzy"}', "'match' must be one of"),
        ('{"question": "hi", "answer": "one", "match": "number"}', "not a number"),
        ('{"question": "hi", "answer": "1", "history": [{"role": "bot", "text": "x"}]}', "history"),
        ('{"question": "hi", "answer": "1", "images": ["missing.png"]}', "missing.png"),
        ('{"question": "hi", "answer": "1", "id": "1"}', "already used"),
    ],
)
def test_task_file_errors_name_the_line(tmp_path, line, message):
    path = write(tmp_path, '{"question": "ok", "answer": "1"}', line)
    with pytest.raises(RioError) as err:
        ev.load_tasks(path)
    assert f"{path}:2" in str(err.value) and message in str(err.value)


def test_task_file_missing_or_empty(tmp_path):
    with pytest.raises(RioError, match="Cannot read"):
        ev.load_tasks(tmp_path / "nope.jsonl")
    with pytest.raises(RioError, match="no tasks"):
        ev.load_tasks(write(tmp_path, ""))


# ---------------------------------------------------------------- runner on a scripted backend


def make_step(t: int, text: str, phase: str = "answer") -> Step:
    """A `Step`, whichever field names the events use (`latent`, or the older `mode`)."""
    names = {f.name for f in fields(Step)}
    kw = dict(t=t, token_id=100 + t, text=text, entropy=1.0, ref_entropy=None, switch=None, injected=False)
    if "latent" in names:
        kw.update(latent=False, forced_explicit=False)
    else:
        kw.update(mode="explicit", forced=False)
    return Step(**kw, phase=phase)


class ScriptedBackend:
    """Answers every question with the same words, one token each; records the settings."""

    def __init__(self, words, methods=("swir", "cot", "cot-greedy"), fail_on: str | None = None):
        self.words, self.fail_on, self.seen = list(words), fail_on, []
        self.info = BackendInfo("scripted", "test", frozenset({"text"}), "cpu", tuple(methods))

    def check_media(self, images, videos) -> None:
        pass

    def chat(self, turns, settings, cancel=None):
        self.seen.append(settings)
        if turns[-1].text == self.fail_on:
            raise RioError("the prompt is too long")
        n = min(len(self.words), settings.max_new_tokens)
        yield Started(settings.method, 3, settings.max_new_tokens, None, False)
        for t in range(n):
            yield make_step(t, self.words[t])
        stop = "eos" if n == len(self.words) else "max_new_tokens"
        yield Done(Summary(n, 0, n, 0, stop, None, None))


def tasks_of(*pairs) -> list[ev.Task]:
    return [ev.Task(str(i), q, a, f"mem:{i}") for i, (q, a) in enumerate(pairs, 1)]


def test_run_eval_derives_cot_budgets_and_runs_swir_per_budget():
    backend = ScriptedBackend(["The", " answer", " is", r" \boxed{", "5}", "."])
    tasks = tasks_of(("2+3?", "5"), ("1+1?", "2"))
    records = ev.run_eval(
        backend, tasks, ["swir", "cot-greedy"], [4, 16], 2, DecodeSettings(), progress=False
    )
    # swir: 2 tasks x 2 budgets x 2 seeds, one run each; cot-greedy: 2 tasks x 2 budgets, one run per task.
    assert len(records) == 8 + 4 and len(backend.seen) == 8 + 2
    assert sorted({(s.method, s.max_new_tokens, s.seed) for s in backend.seen}) == [
        ("cot-greedy", 16, None), ("swir", 4, 0), ("swir", 4, 1), ("swir", 16, 0), ("swir", 16, 1),
    ]  # fmt: skip
    cut = [r for r in records if r.method == "cot-greedy" and r.budget == 4]
    assert all(r.derived_from == 16 and r.tokens == 4 and r.stop_reason == "max_new_tokens" for r in cut)
    assert all(not r.correct and r.extracted is None for r in cut)  # the box was cut off
    full = {r.task_id: r for r in records if r.method == "cot-greedy" and r.budget == 16}
    assert full["1"].correct and not full["2"].correct and full["1"].stop_reason == "eos"
    rows = ev.summarize(records)
    assert [(r.method, r.budget, r.accuracy) for r in rows] == [
        ("swir", 4, 0.0), ("swir", 16, 0.5), ("cot-greedy", 4, 0.0), ("cot-greedy", 16, 0.5),
    ]  # fmt: skip


def test_run_eval_skips_methods_and_records_errors():
    backend = ScriptedBackend(["4"], methods=("cot", "cot-greedy"), fail_on="boom")
    seen = []
    records = ev.run_eval(
        backend, tasks_of(("2+2?", "4"), ("boom", "1")), ["swir", "cot", "swir-greedy"], [8], [3],
        DecodeSettings(), progress=False, on_record=seen.append,
    )  # fmt: skip
    assert seen == records and {r.method for r in records} == {"cot"}
    assert [(r.seed, r.correct, r.stop_reason) for r in records] == [(3, True, "eos"), (3, False, "error")]
    assert "too long" in records[1].error


def test_plans_run_greedy_methods_once():
    base = DecodeSettings()
    plans = ev.plans(["swir", "swir-greedy", "cot", "cot-greedy"], [64, 16], [0, 1], base)
    got = [(p.method, p.seed, p.budgets, p.settings.greedy) for p in plans]
    assert got == [
        ("swir", 0, (16,), False), ("swir", 0, (64,), False),
        ("swir", 1, (16,), False), ("swir", 1, (64,), False),
        ("swir-greedy", None, (16,), True), ("swir-greedy", None, (64,), True),
        ("cot", 0, (16, 64), False), ("cot", 1, (16, 64), False), ("cot-greedy", None, (16, 64), True),
    ]  # fmt: skip
    greedy = DecodeSettings(sampling=SamplingParams(greedy=True))
    assert [(p.method, p.seed) for p in ev.plans(["swir", "cot"], [8], [0, 1], greedy)] == [
        ("swir", None), ("cot", None),
    ]  # fmt: skip


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--methods", "swir,beam"], "beam"),
        (["--budgets", "0,16"], "--budgets"),
        (["--budgets", "a,b"], "--budgets"),
        (["--seeds", "0"], "--seeds"),
        (["--batch-rows", "0"], "--batch-rows"),
        (["--model", "no-such-preset"], "Unknown model"),
        (["--backend", "openai"], "--base-url"),
        (["--temperature", "0"], "Temperature"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(tmp_path, capsys, extra, message):
    tasks = write(tmp_path, '{"question": "q", "answer": "1"}')
    assert ev.main(["--model", "tiny-moe", "--tasks", str(tasks), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_missing_task_file_and_flag_exit_2(tmp_path, capsys):
    assert ev.main(["--model", "tiny-moe", "--tasks", str(tmp_path / "none.jsonl")]) == 2
    assert ev.main(["--model", "tiny-moe"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert "none.jsonl" in err[0] and "--tasks" in err[1] and len(err) == 2


def test_cli_skips_methods_a_server_lacks(tmp_path, monkeypatch, capsys):
    backend = ScriptedBackend([r"\boxed{1}"], methods=("cot", "cot-greedy"))
    monkeypatch.setattr(ev, "open_backend", lambda args: backend)
    tasks = write(tmp_path, '{"question": "q", "answer": "1", "kind": "toy"}')
    argv = ["--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--tasks", str(tasks)]
    out = tmp_path / "o"
    assert ev.main([*argv, "--methods", "swir,cot-greedy", "--budgets", "4", "--out", str(out)]) == 0
    assert "does not run swir; skipped" in capsys.readouterr().err
    assert [json.loads(line)["method"] for line in (out / "results.jsonl").read_text().splitlines()] == [
        "cot-greedy"
    ]
    md = (out / "summary.md").read_text()
    assert "| cot-greedy | 4 | 100.0% (1/1) |" in md and "## By kind" in md and "skipped" in md


@pytest.mark.parametrize(
    "extra, expected",
    [
        ([], {"window": 16, "max_switch_count": 12, "temperature": 0.6, "greedy": False, "thinking": True}),
        (["--max-switch-count", "none", "--window", "2", "--greedy", "--no-thinking"],
         {"window": 2, "max_switch_count": None, "greedy": True, "thinking": False}),
        (["--max-switch-count", "5", "--alpha0", "0.5", "--temperature", "0.7"],
         {"max_switch_count": 5, "alpha0": 0.5, "temperature": 0.7}),
    ],
)  # fmt: skip
def test_settings_start_from_the_preset(tmp_path, extra, expected):
    args = ev.parser().parse_args(["--model", "tiny-moe", "--tasks", "t.jsonl", *extra])
    s = ev.base_settings(args, [8, 32])
    got = {"window": s.swir.window, "max_switch_count": s.swir.max_switch_count, "alpha0": s.swir.alpha0}
    got.update(temperature=s.sampling.temperature, greedy=s.sampling.greedy, thinking=s.thinking)
    assert {k: got[k] for k in expected} == expected and s.max_new_tokens == 32


def test_module_entry_point_prints_help():
    proc = subprocess.run(
        [sys.executable, "-m", "engine.eval", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "--budgets" in proc.stdout and "swir-greedy" in proc.stdout


@pytest.mark.model
def test_cli_end_to_end_on_tiny_moe(tmp_path, monkeypatch, capsys, tiny_moe_backend):
    from PIL import Image

    monkeypatch.setattr(ev, "open_backend", lambda args: tiny_moe_backend)
    tasks = write(
        tmp_path,
        '{"id": "sum", "question": "What is 2 + 3?", "answer": "5", "lang": "en"}',
        '{"id": "price", "question": "Quanto custa?", "answer": "12,50", "lang": "pt"}',
        '{"id": "double", "question": "Now double it.", "answer": "10", "lang": "en", '
        '"history": [{"role": "user", "text": "What is 2 + 3?"}, {"role": "assistant", "text": "5"}]}',
    )
    out = tmp_path / "out"
    argv = ["--model", "tiny-moe", "--tasks", str(tasks), "--methods", "swir,cot-greedy", "--budgets", "8,16"]
    assert ev.main([*argv, "--seeds", "1", "--out", str(out), "--no-progress"]) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 3 * 2 + 3 * 2  # swir: tasks x budgets x 1 seed; cot-greedy: tasks x budgets
    assert all(0 < r["tokens"] <= r["budget"] and len(r["token_ids"]) == r["tokens"] for r in records)
    assert all(r["method"] == "swir" or r["latent_steps"] == r["switches"] == 0 for r in records)
    greedy = {(r["task_id"], r["budget"]): r for r in records if r["method"] == "cot-greedy"}
    for task_id in ("sum", "price", "double"):
        short, long = greedy[task_id, 8], greedy[task_id, 16]
        assert short["derived_from"] == 16 and long["derived_from"] is None
        assert short["token_ids"] == long["token_ids"][:8]
        assert (short["thinking"] + short["answer"]) in (long["thinking"] + long["answer"])
    # The truncated budget is exactly what a real 8-token run produces.
    real = ev.run_eval(
        tiny_moe_backend, ev.load_tasks(tasks, limit=1), ["cot-greedy"], [8], 1, progress=False
    )
    assert list(real[0].token_ids) == greedy["sum", 8]["token_ids"] and real[0].derived_from is None
    md = (out / "summary.md").read_text()
    assert "| method | budget | accuracy (n) |" in md and "## By lang" in md
    for method in ("swir", "cot-greedy"):
        assert f"| {method} | 8 |" in md and f"| {method} | 16 |" in md
    summary = json.loads((out / "summary.json").read_text())
    assert [(r["method"], r["budget"], r["n"]) for r in summary["rows"]] == [
        ("swir", 8, 3), ("swir", 16, 3), ("cot-greedy", 8, 3), ("cot-greedy", 16, 3),
    ]  # fmt: skip
    with Image.open(out / "pareto.png") as img:
        img.verify()
        assert img.format == "PNG"
    assert "| swir | 8 |" in capsys.readouterr().out


@pytest.mark.model
def test_parallel_tasks_on_a_batching_backend_give_the_same_records(tmp_path, smollm2_runtime):
    """--batch-rows: tasks in flight together, decoded as rows of one batch, same greedy runs."""
    from engine.backends.local import LocalBackend

    tasks = ev.load_tasks(write(
        tmp_path,
        '{"id": "a", "question": "What is 2 + 3?", "answer": "5"}',
        '{"id": "b", "question": "Name a colour of the sky, in one word.", "answer": "blue", "match": "exact"}',
        '{"id": "c", "question": "Quanto é 10 menos 4?", "answer": "6"}',
    ))  # fmt: skip
    one = ev.run_eval(LocalBackend(smollm2_runtime), tasks, ["cot-greedy"], [12], 1, progress=False)
    batched = LocalBackend(smollm2_runtime, max_batch_rows=3)
    try:
        many = ev.run_eval(batched, tasks, ["cot-greedy"], [12], 1, progress=False, parallel=3)
    finally:
        batched.scheduler.close()
    assert [r.task_id for r in many] == ["a", "b", "c"]
    assert [r.token_ids for r in many] == [r.token_ids for r in one]
