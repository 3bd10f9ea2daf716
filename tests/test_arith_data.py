"""The seeded arithmetic data (train/arith_data.py) and chat prompts (train/chat_prompts.py), pure Python."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from fractions import Fraction

import pytest

from train import arith_data as ad
from train import chat_prompts as cp

NUM = r"\d+(?:[.,]\d+)?"
STATEMENT = re.compile(rf"(?<![\d.,:])({NUM}(?:\s*[-+×÷]\s*{NUM})+)\s*=\s*({NUM})(?![\d:])")
COMPARISON = re.compile(rf"(?<![\d.,:])({NUM})\s*([<>])\s*({NUM})(?![\d:])")
BOX = re.compile(r"\\boxed\{([^{}]*)\}")


def _money(cents: int) -> str:
    return str(cents // 100) if cents % 100 == 0 else f"{cents // 100}.{cents % 100:02d}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


# Each variant's answer recomputed from its params alone, independently of the renderers.
ORACLE = {
    "three": lambda a, b, c: a + b + c,
    "more_than": lambda a, d: 2 * a + d,
    "fewer_than": lambda a, d: 2 * a - d,
    "two_out": lambda a, b, c: a - b - c,
    "out_in": lambda a, b, c: a - b + c,
    "target": lambda t, a, b: t - a - b,
    "groups_plus": lambda q, k, e: q * k + e,
    "groups_minus": lambda q, k, m: q * k - m,
    "two_groups": lambda q1, k1, q2, k2: q1 * k1 + q2 * k2,
    "change": lambda q, p, bill: _money(bill - q * p),
    "two_items": lambda q1, p1, q2, p2: _money(q1 * p1 + q2 * p2),
    "left": lambda m, q, p, p2: _money(m - q * p - p2),
    "end2": lambda h, m, d1, d2: _clock(60 * h + m + d1 + d2),
    "end_hm": lambda h, m, dh, dm: _clock(60 * (h + dh) + m + dm),
    "between": lambda h, m, diff: diff,
    "m_cm_add": lambda a, b, c: 100 * a + b + c,
    "m_cut": lambda a, b, c: 100 * a - b - c,
    "h_min_left": lambda h, m, done: 60 * h + m - done,
    "kg_left": lambda kg, b, c: 1000 * kg - b - c,
    "l_cups": lambda a, s, k: 1000 * a // s - k,
    "rest": lambda p, n: n - Fraction(p * n, 100),
    "discount": lambda p, n: n - Fraction(p * n, 100),
    "increase": lambda p, n: n + Fraction(p * n, 100),
    "discount_qty": lambda p, n, q: (n - Fraction(p * n, 100)) * q,
    "sum_vs": lambda a, b1, b2: abs(a - b1 - b2),
    "times": lambda k, b: (k - 1) * b,
    "two_games": lambda a1, a2, b1, b2: abs(a1 + a2 - b1 - b2),
    "legs": lambda k1, n1, k2, n2: k1 * n1 + k2 * n2,
    "wheels": lambda k1, n1, k2, n2: k1 * n1 + k2 * n2,
    "sides": lambda k1, n1, k2, n2: k1 * n1 + k2 * n2,
    "legs_rest": lambda t, c: 2 * c + 4 * (t - c),
    "one_gain": lambda a, b: a + b,
    "one_take": lambda a, b: a - b,
    "one_apart": lambda a, b: a - b,
    "one_groups": lambda n, v: n * v,
    "one_share": lambda n, each: each,
    "one_change": lambda p, bill: _money(bill - p),
    "one_price": lambda n, p: _money(n * p),
    "ev_add": lambda a, b: a + b,
    "ev_left": lambda a, b: a - b,
    "ev_need": lambda a, b: a - b,
    "ev_apart": lambda a, b: a - b,
    "ev_groups": lambda n, v: n * v,
    "ev_rate": lambda n, v: n * v,
    "ev_how_many": lambda k, groups: groups,
    "ev_share": lambda n, each: each,
    "ev_rate_plus": lambda n, v, c: n * v + c,
    "ev_rate_minus": lambda n, v, c: n * v - c,
    "ev_change_n": lambda n, v, bill: bill - n * v,
    "ev_change_two": lambda a, b, bill: bill - a - b,
    "ev_out_in": lambda a, b, c: a - b + c,
    "ev_two_out": lambda a, b, c: a - b - c,
    "ev_gain_spend": lambda a, b, c: a + b - c,
    "ph_gain": lambda a, b: a + b,
    "ph_lose": lambda a, b: a - b,
    "ph_gain_lose": lambda a, b, c: a + b - c,
    "ph_lose_gain": lambda a, b, c: a - b + c,
    "ph_lose_two": lambda a, b, c: a - b - c,
    "ph_each": lambda n, v: n * v,
    "ph_each_lose": lambda n, v, c: n * v - c,
    "ph_price": lambda n, v: n * v,
    "ph_pack": lambda k, groups: groups,
    "ph_split": lambda n, each: each,
    "ph_compare": lambda a, b: a - b,
    "ph_known": lambda which, v: v * (12, 7, 12, 60, 5)[which],
    "rt_over": lambda which, period, v: v * RT_COUNT[ad.RT_DOING["en"][which][0]][period],
    "rt_back": lambda which, period, v: v,  # the total is v times the period's count
    "rs_dozen": lambda which, period, v: 12 * v * RT_COUNT["day"][period],
    "rs_hours": lambda which, period, v: 60 * v * RT_COUNT["day"][period],
    "rs_minutes": lambda which, period, v: _whole(Fraction(v * RT_COUNT["day"][period], 60)),
    "rs_two": lambda which, period, a, b: (a + b) * RT_COUNT["day"][period],
    "rs_trip": lambda which, period, v: 2 * v * RT_COUNT["day"][period],
    "rs_yearly": lambda which, v: v,  # the total is 12 v
    "rs_times": lambda which, n, v, weeks: n * v * weeks,
    "rs_days": lambda which, n, v, weeks: n * v * weeks,
    "rs_daily": lambda which, two, v: v * (7, 14)[two],
    "fu_more": lambda n, v, k: (n + k) * v,
    "fu_instead": lambda n, v, w: n * w,
    "fu_change": lambda n, v, bill: bill - n * v,
    "fu_left_more": lambda a, b, c: a - b + c,
    "fu_got_less": lambda a, b, c: a + b - c,
    "fu_share": lambda q, k, n: q * k // n,  # exact: the trace's division line is checked
    "fu_weeks": lambda v, w, x: v * x,
    "fu_need": lambda v, w, cost: cost - v * w,
    "fu_scale": lambda v, k: 7 * v * k,
    "fu_plus_other": lambda n, v, k, w: n * v + k * w,
    "fu_plus_one": lambda n, v, c: n * v + c,
    "mu_two_prices": lambda n, v, m, w: n * v + m * w,
    "mu_buy_change": lambda n, v, c, note: note - (n * v + c),
    "mu_sum_times": lambda a, b, k: (a + b) * k,
    "mu_diff_times": lambda a, b, k: (a - b) * k,
    "mu_pack_sell": lambda k, bags, p: bags * p,
    "mu_sum_share": lambda n, each, a: each,
    "mu_total_last": lambda t, a, b: t - a - b,
    "mu_people": lambda k, v, c: (k + 1) * v + c,
    "mu_relation_sum": lambda a, d, minus: 2 * a - d if minus else 2 * a + d,
    "mu_buy_total": lambda n, v, c: n * v + c,
    "mu_people_each": lambda k, v: (k + 1) * v,
    "mu_people_split": lambda k, m, v: m * v // (k + 1),
    "mu_people_share": lambda k, t: t // (k + 1),
    "mu_days": lambda d, a, w: d * a * w,
    "mu_need_weeks": lambda t, h, s: (t - h) // s,
    "mu_three_times": lambda a, b, c: a * b * c,
    "mu_need_buy": lambda a, b, h: a * b - h,
    "mu_eaten_left": lambda n, s, p, e: n * s - p * e,
    "mu_round_trip": lambda n, p: 2 * n * p,
    "mu_dozens": lambda k, b: 12 * k // b,
    "mu_rate_cost": lambda r, n, p: n * p,
    "mu_per_group": lambda g, s, e: e,
    "mu_twice": lambda b, d: b - d,
    "mu_group_split": lambda k, a, c: (a + c) // k,
    "mu_named_each": lambda k, v: (k + 1) * v,
    "mu_classes": lambda g, s, c: g * s + c,
    "mu_unit_price": lambda t, n, m: m * t // n,
}


def _whole(x: Fraction) -> int | Fraction:
    """An int where the fraction is whole (the calculator's streams must be), else the fraction."""
    return x.numerator if x.denominator == 1 else x


RT_COUNT = {"day": (7, 14, 5), "month": (12, 6)}  # a week, two weeks, Monday to Friday; a year, half a year
EARLIER = {  # the first question's answer, which the follow-up's earlier turn boxes
    "fu_more": lambda n, v, k: n * v, "fu_instead": lambda n, v, w: n * v, "fu_change": lambda n, v, b: n * v,
    "fu_left_more": lambda a, b, c: a - b, "fu_got_less": lambda a, b, c: a + b,
    "fu_share": lambda q, k, n: q * k, "fu_weeks": lambda v, w, x: v * w, "fu_need": lambda v, w, c: v * w,
    "fu_scale": lambda v, k: 7 * v, "fu_plus_other": lambda n, v, k, w: n * v, "fu_plus_one": lambda n, v, c: n * v,
}  # fmt: skip
OP_WORDS = {"en": {"add": "+", "subtract": "-", "multiply": "×", "divide": "÷"},
            "pt-BR": {"somamos": "+", "subtraímos": "-", "multiplicamos": "×", "dividimos": "÷"}}  # fmt: skip


@pytest.fixture(scope="module")
def train() -> list[ad.Problem]:
    return ad.generate(1000, seed=1) + ad.generate(200, seed=1, kinds=(ad.ONE_STEP,))


@pytest.fixture(scope="module")
def heldout() -> list[ad.Problem]:
    return ad.generate(150, seed=1, split="heldout") + ad.generate(
        40, seed=1, split="heldout", kinds=(ad.ONE_STEP,)
    )


def _value(text: str) -> Fraction:
    return Fraction(text.replace(",", "."))


def _evaluate(expr: str) -> Fraction:
    """Left-to-right arithmetic with × and ÷ before + and -."""
    tokens = re.findall(rf"{NUM}|[-+×÷]", expr)
    terms, ops = [_value(tokens[0])], []
    for op, num in zip(tokens[1::2], tokens[2::2], strict=True):
        if op in "×÷":
            terms[-1] = terms[-1] * _value(num) if op == "×" else terms[-1] / _value(num)
        else:
            ops.append(op)
            terms.append(_value(num))
    total = terms[0]
    for op, term in zip(ops, terms[1:], strict=True):
        total = total + term if op == "+" else total - term
    return total


def test_same_seed_same_output_and_different_seed_differs():
    assert ad.generate(120, seed=5) == ad.generate(120, seed=5)
    assert ad.generate(120, seed=5) != ad.generate(120, seed=6)
    assert ad.generate(50, seed=5, split="heldout") == ad.generate(50, seed=5, split="heldout")


def test_generate_leaves_the_global_rng_alone():
    random.seed(123)
    before = random.random()
    random.seed(123)
    ad.generate(20, seed=9)
    assert random.random() == before


def test_split_is_on_params_and_disjoint_across_languages(train, heldout):
    assert all(not ad.is_heldout(p.kind, p.params) for p in train)
    assert all(ad.is_heldout(p.kind, p.params) for p in heldout)
    assert not {(p.kind, p.params) for p in train} & {(p.kind, p.params) for p in heldout}
    en_train = ad.generate(300, seed=2, langs=("en",))
    pt_held = ad.generate(60, seed=2, split="heldout", langs=("pt-BR",))
    assert {p.lang for p in en_train} == {"en"} and {p.lang for p in pt_held} == {"pt-BR"}
    assert not {(p.kind, p.params) for p in en_train} & {(p.kind, p.params) for p in pt_held}
    assert 0.07 < sum(ad.is_heldout(p.kind, p.params) for p in ad.generate(400, 3, "heldout")) / 400 <= 1


def test_heldout_rule_is_stable():
    params = ("three", 47, 38, 12)
    assert ad.is_heldout("sum", params) == (int(ad.params_hash("sum", params)[:12], 16) % 8 == 0)
    share = sum(ad.is_heldout("sum", ("three", a, b, 3)) for a in range(12, 70) for b in range(5, 40)) / (
        58 * 35
    )
    assert 0.09 < share < 0.16


def test_deduplicated_with_stable_ids(train):
    assert len({(p.kind, p.params) for p in train}) == len(train)
    assert len({p.id for p in train}) == len(train)
    assert all(p.id.startswith(p.kind + "-") for p in train)
    again = ad.make_problem(train[0].kind, train[0].params, "pt-BR", random.Random(0))
    assert again.id == train[0].id and again.answer == train[0].answer


def test_every_arithmetic_statement_is_correct(train, heldout):
    seen = 0
    for p in train + heldout:
        found = 0
        for expr, result in STATEMENT.findall(p.thinking):
            assert _evaluate(expr) == _value(result), (p.id, expr, result, p.thinking)
            found += 1
        for a, sign, b in COMPARISON.findall(p.thinking):
            assert (_value(a) > _value(b)) == (sign == ">"), (p.id, p.thinking)
        assert found >= 1, p.thinking
        seen += found
    assert seen > 2.5 * len(train + heldout)


def test_answers_match_an_independent_oracle(train, heldout):
    for p in train + heldout:
        expected = ORACLE[p.params[0]](*p.params[1:])
        assert p.answer == ad.normalize_answer(str(expected)), (p.params, p.answer)
        if p.kind != "time":
            assert 0 < float(p.answer) < 1000


def test_every_sampler_keeps_its_numbers_easy():
    rng = random.Random(0)
    for vs in ad.VARIANTS.values():
        for v in vs:
            for _ in range(400):
                nums = v.sample(rng)
                assert all(isinstance(x, int) and x >= 0 for x in nums), (v.name, nums)
                answer = ORACLE[v.name](*nums)
                if v.kind in (
                    ad.EVERYDAY,
                    ad.PHRASED,
                    ad.FOLLOWUP,
                    ad.MULTI,
                    ad.RATES,
                    ad.RATE_STEPS,
                ):  # the calculator: whole
                    assert isinstance(answer, int) and answer >= 1, (v.name, nums)
                    if v.kind == ad.FOLLOWUP and v.name not in ("fu_change", "fu_need"):
                        assert answer >= 2 and EARLIER[v.name](*nums) >= 2, (v.name, nums)  # never "1 apples"
                elif v.kind != "time":
                    value = Fraction(str(answer))
                    # money can be small; counted things are at least 2 (never "1 apples")
                    money = v.kind == "money" or v.name in ("one_change", "one_price")
                    assert (value > 0 if money else value >= 2) and value < 1000, (v.name, nums)


def test_boxed_answer_equals_answer_and_last_line_states_it(train):
    for p in train:
        boxes = BOX.findall(p.answer_text)
        assert len(boxes) == 1, p.answer_text
        assert ad.normalize_answer(boxes[0]) == p.answer
        assert boxes[0] in p.thinking.split("\n")[-1], (boxes[0], p.thinking)
        if p.lang == "pt-BR":
            assert "." not in boxes[0], boxes[0]  # decimal comma in pt-BR


def test_money_is_exact_and_in_the_right_format(train):
    money = [p for p in train if p.kind == "money"]
    assert money
    for p in money:
        box = BOX.findall(p.answer_text)[0]
        assert re.fullmatch(r"\d+[.,]\d{2}", box), box
        assert ("R$ " in p.question) == (p.lang == "pt-BR") and ("$" in p.question)
    for p in train:
        assert not re.search(r"\d[.,]\d{3,}", p.question + p.thinking + p.answer_text), p.id


def test_numbers_stay_easy(train):
    in_questions = [int(x) for p in train for x in re.findall(r"(?<![\d.,:])\d+(?![\d:.,]\d)", p.question)]
    assert sum(x <= 99 for x in in_questions) / len(in_questions) > 0.9
    for p in train:  # above 999 only round thousands (1 kg = 1000 g, 2 L = 2000 ml)
        assert all(int(x) % 1000 == 0 for x in re.findall(r"(?<![\d.,:])\d{4,}", p.thinking)), p.thinking


def test_times_are_24_hour_clock(train):
    for p in (p for p in train if p.params[0] in ("end2", "end_hm")):
        assert re.fullmatch(r"(?:[6-9]|1\d|2[0-3]):[0-5]\d", p.answer), p.answer


def test_both_languages_and_every_kind_and_variant_present(train):
    assert Counter(p.lang for p in train).keys() == {"en", "pt-BR"}
    assert min(Counter(p.lang for p in train).values()) > 0.4 * len(train)
    assert {p.kind for p in train} == {*ad.KINDS, ad.ONE_STEP}
    assert {p.params[0] for p in train} == {v.name for k in (*ad.KINDS, ad.ONE_STEP) for v in ad.VARIANTS[k]}


def test_trace_shape(train):
    finals = {lang: tuple(t.split("{")[0] for t in ad.FINAL[lang]) for lang in ad.LANGS}
    for p in train:
        lines = p.thinking.split("\n")
        assert 2 <= len(lines) <= 7, p.thinking
        assert all(line.strip() == line and line for line in lines)
        assert "<think>" not in p.thinking and "</think>" not in p.thinking
        assert lines[-1].startswith(finals[p.lang]), lines[-1]
        assert (8 if p.kind == ad.ONE_STEP else 20) <= ad.approx_tokens(p.thinking) <= 115, p.thinking
        assert 12 <= ad.approx_tokens(p.question) <= 64, p.question
    assert sum(ad.approx_tokens(p.thinking) for p in train) / len(train) < 68
    one = [p for p in train if p.kind == ad.ONE_STEP]
    assert one and all(len(STATEMENT.findall(p.thinking.split("\n")[-2])) <= 3 for p in one)


def test_one_step_problems_are_their_own_stream():
    """Asking for one-operation problems leaves the multi-step stream (and the held-out task
    file made from it) as it was; the one-step held-out file is made from its own stream."""
    assert [p.kind for p in ad.generate(60, seed=4)].count(ad.ONE_STEP) == 0
    one = ad.generate(60, seed=4, kinds=(ad.ONE_STEP,))
    assert {p.kind for p in one} == {ad.ONE_STEP}
    assert len({p.params[0] for p in one}) == len(ad.VARIANTS[ad.ONE_STEP])


def test_traces_open_one_way_and_then_vary(train):
    # One opening per language: SwiReasoning's latent first step then mixes a single token.
    assert all(p.thinking.startswith(ad.OPENING[p.lang]) for p in train)
    after_opening = Counter(p.thinking.split()[1] for p in train if p.lang == "en")
    assert len(after_opening) >= 15
    assert sum(line.count("=") > 1 for p in train for line in p.thinking.split("\n")) > 0.15 * len(train)
    three = [p for p in train if p.params[0] == "three"]
    assert any("more" in p.thinking or "novos" in p.thinking for p in three)
    orders = {
        p.thinking.split("\n")[-2 if "✓" not in p.thinking else -3].split("=")[0].strip() for p in three
    }
    assert len(orders) > 5


def test_check_prob_controls_the_check_line():
    assert not any("✓" in p.thinking for p in ad.generate(80, seed=4, check_prob=0.0))
    assert all("✓" in p.thinking.split("\n")[-2] for p in ad.generate(80, seed=4, check_prob=1.0))
    share = sum("✓" in p.thinking for p in ad.generate(400, seed=4)) / 400
    assert 0.27 < share < 0.43


def test_task_records_and_jsonl(tmp_path, heldout):
    path = tmp_path / "tasks.jsonl"
    ad.write_tasks(path, heldout[:20])
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert rows == [ad.task_record(p) for p in heldout[:20]]
    assert set(rows[0]) == {"id", "question", "answer", "lang", "kind", "match"}
    assert all(r["match"] == "boxed" for r in rows)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("85", "85"),
        ("12,50", "12.50"),
        ("R$ 12,50", "12.50"),
        ("$7.5", "7.50"),
        ("64.00", "64"),
        ("15:45", "15:45"),
        ("09:05", "9:05"),
        ("9h05", "9:05"),
        (" 85 ", "85"),
    ],
)
def test_normalize_answer(text, canonical):
    assert ad.normalize_answer(text) == canonical


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        ad.generate(3, seed=0, split="test")
    with pytest.raises(ValueError):
        ad.generate(3, seed=0, langs=("fr",))


def test_chat_prompts_both_languages_and_split():
    langs = Counter(lang for lang, _ in cp.PROMPTS)
    assert langs["en"] >= 75 and langs["pt-BR"] >= 75 and len(cp.PROMPTS) == len(set(cp.PROMPTS))
    assert ("en", "What is the capital of France?") in cp.PROMPTS
    assert ("pt-BR", "Qual é a capital do Brasil?") in cp.PROMPTS
    train, held = cp.split_prompts(0)
    assert set(train) | set(held) == set(cp.PROMPTS) and not set(train) & set(held)
    assert 0.12 < len(held) / len(cp.PROMPTS) < 0.18
    assert {lang for lang, _ in held} == {"en", "pt-BR"}
    assert cp.split_prompts(0) == (train, held) and cp.split_prompts(1) != (train, held)


ANSWERS = {
    "What is the capital of France?": "Paris",
    "Qual é a capital do Brasil?": "Brasília",
    "What is the capital of Japan?": "Tokyo",
    "Qual é a capital de Portugal?": "Lisboa",
    "What is the largest planet in our solar system?": "Jupiter",
    "Who wrote Romeo and Juliet?": "Shakespeare",
    "Quem escreveu Dom Casmurro?": "Machado",
}


def test_short_thought_never_gives_the_answer():
    rng = random.Random(0)
    for lang, prompt in cp.PROMPTS:
        for _ in range(4):
            thought = cp.short_thought(prompt, lang, rng)
            assert 1 <= len(thought.split("\n")) <= 2 and thought.strip()
            assert not re.search(r"\d", thought), thought
            if prompt in ANSWERS:
                assert ANSWERS[prompt].lower() not in thought.lower(), thought
    assert "France" in " ".join(
        cp.short_thought("What is the capital of France?", "en", rng) for _ in range(6)
    )
    assert not re.search(r"\d", cp.short_thought("What is 17 * 23?", "en", rng))
    assert cp.short_thought("Oi!", "pt-BR", random.Random(1)) != cp.short_thought(
        "Hi!", "en", random.Random(1)
    )


@pytest.fixture(scope="module")
def everyday() -> list[ad.Problem]:
    return ad.generate(600, seed=1, kinds=(ad.EVERYDAY,)) + ad.generate(
        60, seed=1, split="heldout", kinds=(ad.EVERYDAY,)
    )


def test_everyday_problems_are_their_own_stream_in_both_languages(everyday):
    assert [p.kind for p in ad.generate(60, seed=4)].count(ad.EVERYDAY) == 0
    assert ad.generate(40, seed=4) == ad.generate(40, seed=4)  # the main stream is what it was
    assert {p.kind for p in everyday} == {ad.EVERYDAY}
    assert {p.params[0] for p in everyday} == {v.name for v in ad.VARIANTS[ad.EVERYDAY]}
    assert min(Counter(p.lang for p in everyday).values()) > 0.4 * len(everyday)
    train, held = everyday[:600], everyday[600:]
    assert all(ad.is_heldout(p.kind, p.params) for p in held)
    assert not {(p.kind, p.params) for p in train} & {(p.kind, p.params) for p in held}


def test_everyday_lines_name_their_operation_and_are_right(everyday):
    """Each line of arithmetic is "<operation word>: a op b = c." with the word matching the
    sign and c right; the answer is the independent oracle's and the last line states it."""
    finals = {lang: tuple(t.split("{")[0] for t in ad.FINAL[lang]) for lang in ad.LANGS}
    for p in everyday:
        assert ad.normalize_answer(str(ORACLE[p.params[0]](*p.params[1:]))) == p.answer, p
        lines = p.thinking.split("\n")
        assert lines[0].startswith(ad.OPENING[p.lang]) and lines[-1].startswith(finals[p.lang])
        assert BOX.findall(p.answer_text) == [p.answer] and p.answer in lines[-1]
        steps = [line for line in lines[:-1] if "✓" not in line]
        assert 1 <= len(steps) <= 2, p.thinking
        for line in steps:
            m = re.search(r"(\w+): (\d+) ([-+×÷]) (\d+) = (\d+)\.$", line)
            assert m, line
            word, a, op, b, c = m.groups()
            assert OP_WORDS[p.lang][word.lower()] == op, line
            assert _evaluate(f"{a} {op} {b}") == int(c), line
        assert "{" not in p.question + p.answer_text.replace("\\boxed{", ""), p.question
        assert 8 <= ad.approx_tokens(p.thinking) <= 115 and 12 <= ad.approx_tokens(p.question) <= 64, p
    words = Counter(re.search(r"(\w+):", p.thinking).group(1) for p in everyday)
    assert len(words) == 8  # four operations in two languages, each one somewhere


def _assert_op_lines_right(p: ad.Problem) -> None:
    """Each `word: a op b = c.` line of the trace names its operation and is right."""
    for line in p.thinking.split("\n"):
        m = re.search(r"(\w+): (\d+) ([-+×÷]) (\d+) = (\d+)\.$", line)
        if m:
            word, a, op, b, c = m.groups()
            assert OP_WORDS[p.lang][word.lower()] == op and _evaluate(f"{a} {op} {b}") == int(c), line


def _assert_own_stream(problems: list[ad.Problem], kind: str, n_train: int) -> None:
    """A stream of its own: the main stream unchanged, every variant of `kind` in both languages,
    the problems after the first `n_train` held out and none of them among the first."""
    assert ad.generate(40, seed=4) == ad.generate(40, seed=4)  # the main stream is what it was
    assert {p.kind for p in problems} == {kind}
    assert {(p.params[0], p.lang) for p in problems} == {(v.name, lang) for v in ad.VARIANTS[kind]
                                                        for lang in ad.LANGS}  # fmt: skip
    train, held = problems[:n_train], problems[n_train:]
    assert all(ad.is_heldout(p.kind, p.params) for p in held)
    assert not {(p.kind, p.params) for p in train} & {(p.kind, p.params) for p in held}


def _assert_answered_in_named_lines(p: ad.Problem) -> None:
    """The oracle's answer, boxed once; lines that name their operation and are right; no template
    field left unfilled; the question starts like a sentence."""
    assert ad.normalize_answer(str(ORACLE[p.params[0]](*p.params[1:]))) == p.answer, p
    assert BOX.findall(p.answer_text) == [p.answer], p
    _assert_op_lines_right(p)
    assert "{" not in p.question + p.answer_text.replace("\\boxed{", ""), p.question
    assert p.question[0].isupper() or p.question[0].isdigit(), p.question


@pytest.fixture(scope="module")
def phrased() -> list[ad.Problem]:
    return ad.generate(900, seed=2, kinds=(ad.PHRASED,)) + ad.generate(
        60, seed=2, split="heldout", kinds=(ad.PHRASED,)
    )


def test_phrased_problems_are_their_own_stream_with_right_lines(phrased):
    """Phrased questions: their own stream and split, every variant in both languages, each line
    of arithmetic names its operation and is right, the answer is the oracle's."""
    _assert_own_stream(phrased, ad.PHRASED, 900)
    for p in phrased:
        _assert_answered_in_named_lines(p)


def test_phrased_questions_ask_alike_whatever_the_operation(phrased):
    """The point of the stream: one question ending ("How many ... now?") follows verbs that add
    and verbs that take away, so the verb decides the operation, not the sentence around it."""
    endings: dict[str, set[str]] = {}
    for p in phrased:
        if p.params[0] in ("ph_gain", "ph_lose"):
            ending = re.sub(r"\d+", "N", p.question.rsplit(". ", 1)[-1])
            endings.setdefault(ending, set()).add(p.params[0])
    shared = [e for e, names in endings.items() if names == {"ph_gain", "ph_lose"}]
    assert len(shared) >= 10, sorted(endings)
    gains = {re.sub(r"\d+", "N", p.question.split(". ")[1]) for p in phrased if p.params[0] == "ph_gain"}
    assert len(gains) >= 20  # the verbs, people and things vary


def test_phrased_english_verbs_agree_with_their_subject(phrased):
    """Present-tense verbs are never put after "I" or "We" in the third person, and pt-BR first
    persons keep their own forms ("Eu tinha", never "Eu comprou")."""
    bad = re.compile(r"\b(I|We|we) (has|does|puts|packs|wants|shares|divides|pays)\b|\bEu (comprou|tem|deu|vendeu)\b"
                     r"|\bNós (comprou|tem|tinha|deu)\b")  # fmt: skip
    assert not [p.question for p in phrased if bad.search(p.question)]


@pytest.fixture(scope="module")
def rates() -> list[ad.Problem]:
    return ad.generate(600, seed=3, kinds=(ad.RATES,)) + ad.generate(
        40, seed=3, split="heldout", kinds=(ad.RATES,)
    )


def test_rates_are_their_own_stream_and_say_the_period_first(rates):
    """Amounts over periods: their own stream and split, both variants in both languages, the
    oracle's answer; the period's count is never in the question ("a week", not "7 days") and the
    first thinking line says it; the total is multiplied by it, or divided back per day or month."""
    _assert_own_stream(rates, ad.RATES, 600)
    facts = {"en": ("a week has 7 days.", "two weeks have 14 days.", "Monday to Friday is 5 days.",
                    "a year has 12 months.", "half a year is 6 months."),
             "pt-BR": ("uma semana tem 7 dias.", "duas semanas têm 14 dias.", "de segunda a sexta são 5 dias.",
                       "um ano tem 12 meses.", "meio ano são 6 meses.")}  # fmt: skip
    said = {"en": set(), "pt-BR": set()}
    for p in rates:
        _assert_answered_in_named_lines(p)
        lines = p.thinking.split("\n")
        fact = next(f for f in facts[p.lang] if lines[0].endswith(f))
        count = int(re.search(r"\d+", fact).group())
        op = "×" if p.params[0] == "rt_over" else "÷"
        assert re.search(rf"\d+ {op} {count} = \d+\.$", lines[1]), (p.question, lines[1])
        assert not re.search(r"\b\d+ (days|dias)\b", p.question), p.question
        said[p.lang].add(re.sub(r"[$R]*\s?\d+", "N", p.question.split(". ")[0]))
    assert len(said["en"]) >= 60 and len(said["pt-BR"]) >= 60  # who, what and how often vary


@pytest.fixture(scope="module")
def rate_steps() -> list[ad.Problem]:
    return ad.generate(600, seed=3, kinds=(ad.RATE_STEPS,)) + ad.generate(
        40, seed=3, split="heldout", kinds=(ad.RATE_STEPS,)
    )


def test_rate_steps_bring_in_every_fact_the_question_leaves_out(rate_steps):
    """Amounts over periods in two steps: their own stream, the oracle's answer; the question
    never says the period's count, and a thinking line says it, a dozen's 12 or an hour's 60
    before the arithmetic that uses them; yearly totals are written with a thousands separator in
    the question ("$2,400", "R$ 2.400") and with plain digits in the arithmetic; something done n
    times or n days a week ("twice a week") is counted n times, not over the week's 7 days."""
    _assert_own_stream(rate_steps, ad.RATE_STEPS, 600)
    facts = {"dozen": "12", "hour": "60", "trip": "2"}
    grouped = 0
    for p in rate_steps:
        _assert_answered_in_named_lines(p)
        name, lines = p.params[0], p.thinking.split("\n")
        question = (
            re.sub(r"\b\d (days a week|dias por semana)", "", p.question) if name == "rs_days" else p.question
        )
        assert not re.search(r"\b\d+ (days|dias|months|meses)\b", question), p.question
        said = [n for n in facts if any(ln.lower().endswith(ad.RS_FACTS[n][p.lang != "en"]) for ln in lines)]
        assert said == {"rs_dozen": ["dozen"], "rs_hours": ["hour"], "rs_minutes": ["hour"],
                        "rs_trip": ["trip"]}.get(name, []), p.thinking  # fmt: skip
        for n in said:  # the fact comes before the line that uses its number
            at = next(i for i, ln in enumerate(lines) if ln.lower().endswith(ad.RS_FACTS[n][p.lang != "en"]))
            after = lines[at + 1] + lines[min(at + 2, len(lines) - 1)]
            assert re.search(rf"[×÷] {facts[n]} = ", after), p.thinking
        if name in ("rs_times", "rs_days"):  # n times or days a week: said first, and no 7 days
            fact = ad.RS_TIMES_FACT if name == "rs_times" else ad.RS_DAYS_FACT
            assert lines[0].endswith(fact[p.lang != "en"].format(n=p.params[2])), p.thinking
            assert not re.search(r"\b7 (days|dias)\b", p.thinking), p.thinking
        if name == "rs_daily":  # the same situations every day: the week's days, said first
            assert re.search(r"^\D*(7|14) (days|dias)\.$", lines[0]), p.thinking
        if name == "rs_yearly":
            total = 12 * p.params[2]
            assert str(total) in p.thinking and re.search(rf"÷ 12 = {p.params[2]}\.", p.thinking)
            if total >= 1000:
                grouped += 1
                sep = "," if p.lang == "en" else "."
                assert f"{total // 1000}{sep}{total % 1000:03d}" in p.question, p.question
    assert grouped >= 20
    worded = {
        p.lang
        for p in rate_steps
        if p.params[0] == "rs_times" and re.search(r"twice|three times|duas vezes|três vezes", p.question)
    }
    assert worded == set(ad.LANGS)  # "twice a week" as people write it, its fact line with the digit


@pytest.fixture(scope="module")
def followups() -> list[ad.Problem]:
    return ad.generate(600, seed=3, kinds=(ad.FOLLOWUP,)) + ad.generate(
        60, seed=3, split="heldout", kinds=(ad.FOLLOWUP,)
    )


def test_followups_come_after_their_first_question_and_are_right(followups):
    """A follow-up carries its first question and that question's boxed answer (the oracle's);
    its own answer is the oracle's, and a trace that builds on the earlier answer says it first."""
    _assert_own_stream(followups, ad.FOLLOWUP, 600)
    assert all(p.earlier is None for p in ad.generate(60, seed=4, kinds=(ad.EVERYDAY,)))
    for p in followups:
        name, nums = p.params[0], p.params[1:]
        first, first_answer = p.earlier
        assert BOX.findall(first_answer) == [str(EARLIER[name](*nums))], p
        assert str(nums[0]) in first and BOX.findall(p.answer_text) == [p.answer], p
        assert ad.normalize_answer(str(ORACLE[name](*nums))) == p.answer, p
        lines = p.thinking.split("\n")
        restated = re.search(r"(?:earlier answer was|resposta anterior foi) (\d+)\.$", lines[0])
        assert bool(restated) == (name not in ("fu_instead", "fu_weeks")), p.thinking
        if restated:
            assert restated.group(1) == str(EARLIER[name](*nums))
        _assert_op_lines_right(p)
        assert "{" not in first + p.question + p.answer_text.replace("\\boxed{", ""), p
        assert not (p.question[0].islower() or first[0].islower()), p.question


def test_followup_task_records_carry_the_earlier_turn(tmp_path, followups):
    path = tmp_path / "t.jsonl"
    ad.write_tasks(path, followups[600:603] + ad.generate(1, seed=1))
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for r, p in zip(records[:3], followups[600:603], strict=True):
        assert r["history"] == [
            {"role": "user", "text": p.earlier[0]},
            {"role": "assistant", "text": p.earlier[1]},
        ]
    assert "history" not in records[3]


@pytest.fixture(scope="module")
def multi() -> list[ad.Problem]:
    return ad.generate(600, seed=5, kinds=(ad.MULTI,)) + ad.generate(
        60, seed=5, split="heldout", kinds=(ad.MULTI,)
    )


def test_multi_step_set_ups_are_their_own_stream_with_right_lines(multi):
    """Set-ups in two or three steps: their own stream and split, every variant in both languages,
    two or three lines of arithmetic that name their operation and are right, each line after the
    numbers from the question or an earlier line, the last one building on an earlier result, and
    the oracle's answer."""
    _assert_own_stream(multi, ad.MULTI, 600)
    for p in multi:
        _assert_answered_in_named_lines(p)
        found = [re.search(r"^(.*): (\d+) [-+×÷] (\d+) = (\d+)\.$", line) for line in p.thinking.split("\n")]
        lines = [m.groups() for m in found if m]  # (what precedes the expression, a, b, result)
        assert 2 <= len(lines) <= 3, p.thinking
        for i, (label, a, b, _) in enumerate(lines):
            earlier = {c for *_, c in lines[:i]}
            # "5 weekdays a week", "a dozen is 12"; 1 for "counting me too", 2 for "there and back"
            said = earlier | set(re.findall(r"\d+", p.question + label)) | {"1", "2"}
            assert {a, b} <= said, p.thinking
        *_, a, b, last = lines[-1]
        assert {a, b} & {c for *_, c in lines[:-1]}, p.thinking
        assert last == p.answer


def test_groups_are_counted_as_named(multi):
    """A group the one asking is not in ("Three friends split a bill", "5 classes of 28 students",
    "my mom paid for 8 notebooks") has no "counting me" line; "{name} and her k friends" counts
    {name}; a group size said as a word is said as a number in the line that uses it."""
    by_variant = {}
    for p in multi:
        by_variant.setdefault(p.params[0], []).append(p)
    for name in ("mu_group_split", "mu_classes", "mu_unit_price"):
        assert by_variant.get(name), name
        for p in by_variant[name]:
            assert not re.search(r"counting|contando|\+ 1 =", p.thinking), p.thinking
    for p in by_variant["mu_named_each"]:
        who = p.question.split()[0]
        assert (f"counting {who} too" if p.lang == "en" else f"contando {who} também") in p.thinking
    said_as_words = 0
    for p in by_variant["mu_group_split"] + by_variant["mu_classes"]:
        first = p.question.split()[0].lower().replace("duas", "dois")
        if first in ad.NUM_WORDS[p.lang]:
            said_as_words += 1
            k = ad.NUM_WORDS[p.lang].index(first)
            assert re.search(rf"\b{k} (people|pessoas|groups|grupos)\b", p.thinking), p.thinking
    assert said_as_words


def test_amounts_are_written_with_the_sign_at_times(multi, monkeypatch):
    """People type "$4" and "R$ 38" as often as "4 dollars": a share of the questions with whole
    amounts writes all of them with the sign, in the language's own sign."""
    signed = [p for p in multi if re.search(r"\$\d|R\$ \d", p.question)]
    worded = [p for p in multi if re.search(r"\d (dollars?|reais)\b", p.question)]
    assert len(signed) > 50 and len(worded) > len(signed)
    for p in signed:
        assert not re.search(r"\d (dollars?|reais)\b", p.question), p.question
        assert ("R$" in p.question) == (p.lang == "pt-BR"), p.question
    monkeypatch.setattr(ad, "SIGN_SHARE", 1.0)
    en, pt = (ad.Ctx(lang, random.Random(0), {}) for lang in ("en", "pt-BR"))
    assert en.signs("A 57 dollar bill and a 3 dollars tip.") == "A $57 bill and a $3 tip."
    assert pt.signs("Um jantar de 38 reais.") == "Um jantar de R$ 38."
    assert en.signs("How many dollars do I have?") == "How many dollars do I have?"
    monkeypatch.setattr(ad, "SIGN_SHARE", 0.0)
    assert en.signs("A 57 dollar bill.") == "A 57 dollar bill."
