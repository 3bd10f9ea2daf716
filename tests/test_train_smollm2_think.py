"""The smollm2-think training data: lines replaced by soft inputs, per-step batches, the unroll.

Tokenizer and base weights only (no training step runs here)."""

from __future__ import annotations

import random
import re
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from engine import tokens
from train import arith_data
from train import smollm2_think as st


@pytest.fixture(scope="module")
def tok():
    from engine.runtimes.torch_runtime import smollm2_base_folder

    t = st.think_tokenizer(smollm2_base_folder())
    t.padding_side = "right"
    return t


@pytest.fixture(scope="module")
def source(tok):
    cfg = replace(st.TrainConfig(), steps=100, batch=24, explicit_first=0.25, replace_share=0.5)
    pad = tok.convert_tokens_to_ids(st.IM_END)
    return st.BatchSource(tok, cfg, [], tokens.line_end_ids_below(tok, len(tok)), pad)


def test_a_replaced_line_leaves_the_rest_of_the_trace_and_the_answer(tok, source):
    question = "Ana has 12 apples and buys 3 bags of 5. How many apples does she have?"
    thought = "3 × 5 = 15.\n12 + 15 = 27.\nSo the answer is 27."
    e = st.render(tok, question, thought, "Ana has \\boxed{27} apples.", "arith")
    seen = set()
    for seed in range(40):
        r = st.replace_lines(e, source.line_ends, random.Random(seed), 3.0, source.pad)
        assert r is not None and r.kind == "arith-latent"
        at, m = r.slot
        kept_before = r.ids[:at]
        kept_after = r.ids[at + m :]
        n = len(e.ids) - len(r.ids) + m  # tokens the slot replaced
        assert 2 <= m < n
        assert (
            e.ids[: len(kept_before)] == kept_before and e.ids[len(e.ids) - len(kept_after) :] == kept_after
        )
        after = tok.decode(list(kept_after))
        assert "So the answer is 27." in after and after.count("</think>") == 1  # never the last line
        assert r.ids[r.think_to] == tok.convert_tokens_to_ids("</think>")
        seen.add(tok.decode(list(e.ids[at : at + n])))
        batch = st.collate([r], source.pad)
        cols = set(batch.loss_cols.tolist())
        assert not cols & set(range(at, at + m)) and at + m in cols  # what follows is in the loss
    assert seen == {"3 × 5 = 15.\n", "12 + 15 = 27.\n", "3 × 5 = 15.\n12 + 15 = 27.\n"}


def test_batches_are_drawn_per_step_and_follow_the_curriculum(source):
    assert [e.ids for e in source.batch(7)] == [e.ids for e in source.batch(7)]
    assert [e.ids for e in source.batch(7)] != [e.ids for e in source.batch(8)]
    assert source.replace_share_at(0) == source.replace_share_at(25) == 0.0
    assert source.replace_share_at(35) == pytest.approx(0.2) and source.replace_share_at(50) == 0.5
    early = [e.kind for s in range(0, 20) for e in source.batch(s)]
    late = [e.kind for s in range(80, 90) for e in source.batch(s)]
    assert "arith-latent" not in early and late.count("arith-latent") > len(late) // 4


def test_focus_kinds_take_their_share_of_each_batch(tok, source):
    cfg = replace(st.TrainConfig(), batch=20, one_step_share=0.0, focus_kinds="time", focus_share=0.5)
    focused = st.BatchSource(tok, cfg, [], source.line_ends, source.pad)
    texts = [tok.decode(list(e.ids)) for e in focused.batch(3)]
    assert sum(bool(re.search(r"\b\d{1,2}:\d\d\b", t)) for t in texts) >= 10  # half are clock times
    with pytest.raises(SystemExit):
        st.parse_args(["--focus-kinds", "tim"])
    with pytest.raises(SystemExit):
        st.parse_args(["--focus-kinds", "time", "--focus-share", "0.9", "--one-step-share", "0.25"])
    assert (
        st.parse_args(["--focus-kinds", "time,count", "--focus-share", "0.3"])[0].focus_kinds == "time,count"
    )


def test_everyday_share_draws_its_own_stream(tok, source):
    cfg = replace(st.TrainConfig(), batch=20, chat_share=0.0, one_step_share=0.0, everyday_share=0.5)
    mixed = st.BatchSource(tok, cfg, [], source.line_ends, source.pad)
    texts = [tok.decode(list(e.ids)) for e in mixed.batch(3)]
    ops = re.compile(r"(?:add|subtract|multiply|divide|somamos|subtraímos|multiplicamos|dividimos): \d")
    assert sum(bool(ops.search(t)) for t in texts) >= 10  # half are everyday problems
    plain = st.BatchSource(tok, replace(cfg, everyday_share=0.0), [], source.line_ends, source.pad)
    assert not any(ops.search(tok.decode(list(e.ids))) for e in plain.batch(3))
    with pytest.raises(SystemExit):
        st.parse_args(["--everyday-share", "0.6", "--one-step-share", "0.5"])


def test_history_share_asks_problems_after_earlier_ones(tok, source):
    """With --history-share the question comes after earlier questions of the batch and their
    answer sentences (no thinking in them, as the chat template keeps earlier turns), and the
    loss starts after the last question; without it, one question per example."""
    cfg = replace(st.TrainConfig(), batch=12, chat_share=0.0, history_share=1.0)
    chatty = st.BatchSource(tok, cfg, [], source.line_ends, source.pad).batch(5)
    for e in chatty:
        text = tok.decode(list(e.ids))
        assert text.count("<|im_start|>user") in (2, 3), text
        head = tok.decode(list(e.ids[: e.loss_from]))
        assert text.count("<think>") == 1 and "\\boxed{" in head  # earlier answers, not thoughts
        assert "<|im_start|>user" not in tok.decode(list(e.ids[e.loss_from :]))
    plain = st.BatchSource(tok, replace(cfg, history_share=0.0), [], source.line_ends, source.pad).batch(5)
    assert all(tok.decode(list(e.ids)).count("<|im_start|>user") == 1 for e in plain)
    with pytest.raises(SystemExit):
        st.parse_args(["--history-share", "1.5"])


def test_followup_share_asks_a_second_question_after_the_first(tok, source):
    """With --followup-share a share of the problems are follow-ups: the first question and its
    boxed answer come first as an earlier turn, outside the loss, and the trace that builds on it
    says the earlier answer."""
    cfg = replace(st.TrainConfig(), batch=12, chat_share=0.0, followup_share=0.5)
    batch = st.BatchSource(tok, cfg, [], source.line_ends, source.pad).batch(5)
    follow = [e for e in batch if tok.decode(list(e.ids)).count("<|im_start|>user") == 2]
    assert len(follow) == 6
    for e in follow:
        head, tail = tok.decode(list(e.ids[: e.loss_from])), tok.decode(list(e.ids[e.loss_from :]))
        assert "\\boxed{" in head and "<|im_start|>user" not in tail
    said = [
        e for e in follow if re.search(r"earlier answer was|resposta anterior foi", tok.decode(list(e.ids)))
    ]
    assert said  # most follow-ups restate the earlier answer (two variants of eight redo the arithmetic)
    with pytest.raises(SystemExit):
        st.parse_args(["--followup-share", "0.6", "--everyday-share", "0.5"])


def test_multi_share_draws_set_ups_in_several_steps(tok, source):
    """With --multi-share a share of the problems come from the stream of set-ups in two or three
    steps, and the shares together cannot take more than all of the problems."""
    cfg = replace(st.TrainConfig(), batch=12, chat_share=0.0, one_step_share=0.0, multi_share=0.5)
    texts = [
        tok.decode(list(e.ids)) for e in st.BatchSource(tok, cfg, [], source.line_ends, source.pad).batch(5)
    ]
    multi = arith_data.generate(6, cfg.seed * 1_000_003 + 5 + 1_500_000, kinds=(arith_data.MULTI,))
    asked = [p for p in multi if any(p.question in t for t in texts)]
    assert len(asked) == 6
    assert st.parse_args(["--multi-share", "0.2"])[0].multi_share == 0.2
    with pytest.raises(SystemExit):
        st.parse_args(["--multi-share", "0.6", "--everyday-share", "0.5"])


def test_unrolled_slot_inputs_are_the_models_own_mix(tok, source):
    from engine.runtimes.torch_runtime import smollm2_base_folder

    cfg = replace(source.cfg, rank=2)
    tr = st.Trainee(smollm2_base_folder(), tok, cfg, torch.device("cpu"))
    sig = st.signals(tok, cfg, tr.weight.shape[0])
    e = st.render(
        tok, "What is 4 + 5 + 6?", "4 + 5 = 9.\n9 + 6 = 15.\nSo the answer is 15.", "\\boxed{15}", "arith"
    )
    r = next(
        x
        for s in range(50)
        if (x := st.replace_lines(e, source.line_ends, random.Random(s), 3.0, source.pad)).slot[1] >= 3
    )
    batch = st.collate([r, e], source.pad)
    soft = st.unroll_slots(tr, batch, sig, cfg)
    at, m = r.slot
    assert soft.rows.tolist() == [0] * m and soft.cols.tolist() == list(range(at, at + m)) and soft.slots == m
    assert soft.anchor[-1] == sig.ids.end_think and 0 < soft.weight[-1] < 1  # leaving: mixed with </think>
    with torch.no_grad():  # the first soft input, recomputed from the plain prefix
        table = tr.table()
        h = tr.hidden(F.embedding(batch.ids[:1, :at], table), batch.mask[:1, :at])
        first = torch.softmax(h[0, -1] @ table.T, -1) @ table
    torch.testing.assert_close(soft.soft[0], first, rtol=1e-4, atol=1e-5)
    with torch.no_grad():  # the second reads the first as it was mixed (alpha, <think>)
        emb = F.embedding(batch.ids[:1, : at + 1], table)
        emb[0, at] = soft.weight[0] * soft.soft[0] + (1 - soft.weight[0]) * table[sig.ids.think]
        h = tr.hidden(emb, batch.mask[:1, : at + 1])
        second = torch.softmax(h[0, -1] @ table.T, -1) @ table
    assert soft.anchor[0] == sig.ids.think and soft.anchor[1] == -1 and soft.weight[1] == 1
    torch.testing.assert_close(soft.soft[1], second, rtol=1e-4, atol=1e-5)
    loss = st.batch_loss(tr, batch, soft)
    assert torch.isfinite(loss)


def test_refined_soft_inputs_read_the_earlier_soft_inputs(tok, source):
    from engine.runtimes.torch_runtime import smollm2_base_folder

    cfg = replace(source.cfg, rank=2, soft_share=0.5)
    tr = st.Trainee(smollm2_base_folder(), tok, cfg, torch.device("cpu"))
    sig = st.signals(tok, cfg, tr.weight.shape[0])
    e = st.render(
        tok,
        "What is 4 + 5 + 6?",
        "First, 4 + 5 = 9.\nThen 9 + 6 = 15.\nSo the answer is 15.",
        "\\boxed{15}",
        "arith",
    )
    batch = st.collate([e, e], source.pad)
    plain = st.plan_soft(tr, batch, sig, cfg, random.Random(3))
    refined = st.plan_soft(tr, batch, sig, replace(cfg, soft_refine=1), random.Random(3))
    # the same positions, weights and anchors; the inputs are computed again
    for name in ("rows", "cols", "weight", "anchor"):
        assert torch.equal(getattr(plain, name), getattr(refined, name))
    first = [torch.nonzero(plain.rows == b)[0, 0].item() for b in (0, 1)]
    later = [i for i in range(len(plain.rows)) if i not in first]
    assert later, "the plan has more than one latent position a row"
    # a row's first latent input reads plain tokens only: unchanged; the later ones read soft inputs
    torch.testing.assert_close(refined.soft[first], plain.soft[first], rtol=1e-4, atol=1e-5)
    moved = (refined.soft[later] - plain.soft[later]).norm(dim=-1) / plain.soft[later].norm(dim=-1)
    assert (moved > 1e-3).any()
    with torch.no_grad():  # a later input is p @ E after the earlier ones' mixes, recomputed by hand
        i = later[0]
        b, col = plain.rows[i].item(), plain.cols[i].item()
        table = tr.table()
        emb = F.embedding(batch.ids[b : b + 1, :col], table)
        before = (plain.rows == b) & (plain.cols < col)
        emb[0, plain.cols[before]] = st.mixed_inputs(plain, table)[before]
        h = tr.hidden(emb, batch.mask[b : b + 1, :col])
        expect = torch.softmax(h[0, -1] @ table.T, -1) @ table
    torch.testing.assert_close(
        refined.soft[i], expect, rtol=1e-3, atol=2e-4
    )  # a batch of two against one row
    # a latent input at the row's last thinking position is read by no later position in the pass
    last = e.think_to
    edge = st.SoftInputs(torch.tensor([0]), torch.tensor([last]), torch.ones(1), torch.tensor([-1]),
                         plain.soft[:1], 1, 1)  # fmt: skip
    assert st.refine_soft(tr, batch, [0, 1], last, edge).soft.shape == plain.soft[:1].shape
