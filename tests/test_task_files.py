"""The hand-written evaluation sets load through the evaluator as a user's file would, and say
what the model cards count them as: numbers as answers (whole, or with a decimal point), en or pt-BR, ids unique across the
sets, follow-ups and questions asked after others with their earlier turns, each with its answer."""

import re
from pathlib import Path

import pytest

from engine.eval import load_tasks

EVERYDAY = sorted((Path(__file__).resolve().parent.parent / "tasks" / "everyday").glob("*.jsonl"))


@pytest.mark.parametrize("path", EVERYDAY, ids=lambda p: p.name)
def test_hand_written_set_is_well_formed(path):
    tasks = load_tasks(path)
    for t in tasks:
        assert re.fullmatch(r"\d+(\.\d+)?", t.answer), (t.where, t.answer)
        assert t.lang in ("en", "pt-BR"), (t.where, t.lang)
        if t.kind in ("followup", "everyday_after"):  # earlier questions, each with its answer
            roles = [turn.role for turn in t.history]
            assert roles and roles == ["user", "assistant"] * (len(roles) // 2), t.where
            assert all(re.search(r"\d", turn.text) for turn in t.history[1::2]), t.where
        else:
            assert not t.history, t.where


def test_ids_are_unique_across_the_hand_written_sets():
    ids = [t.id for path in EVERYDAY for t in load_tasks(path)]
    assert len(ids) == len(set(ids)) and len(ids) >= 200
