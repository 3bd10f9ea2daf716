"""Seeded multi-step arithmetic and word problems with varied thinking traces, in en and pt-BR.

Owns: the problem kinds (sums, differences, products, money, time, units, percentages,
comparisons, counting), their numbers (exact integers; money in cents), their wording in
English and Brazilian Portuguese, the thinking trace (short lines, one step each, whose
wording and step order vary between samples), the final boxed sentence, the held-out
split (a stable hash of kind + params, the same for every language) and the task JSONL.
Leaves to others: chat templates and `<think>` tags, tokenisation, training, grading runs.

Canonical answers (the `answer` field, what a grader compares after `normalize_answer`):
- whole numbers: "85";
- money: a decimal point and two decimals, no currency sign: "12.50" (the box says
  "12.50" in English and "12,50" in pt-BR); a whole amount is "64" (so "\\boxed{64.00}",
  "\\boxed{R$ 64,00}" and "\\boxed{64}" all grade the same);
- clock times: 24-hour "H:MM", hour without a leading zero: "9:05", "15:45".
A grader extracts the last `\\boxed{...}`, applies `normalize_answer` and compares strings.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

LANGS = ("en", "pt-BR")
KINDS = ("sum", "difference", "product", "money", "time", "units", "percent", "compare", "count")
# One operation, the everyday question ("how much change?", "how many in 7 boxes?"): drawn
# only when asked for (`generate(kinds=...)`), so the multi-step kinds' streams stay as they were.
ONE_STEP = "one_step"
EVERYDAY = "everyday"  # everyday wording, one or two operations (its own stream, like ONE_STEP)
PHRASED = "phrased"  # everyday questions put together from parts (its own stream)
FOLLOWUP = "followup"  # a second question about the first one's answer, in the same chat (its own stream)
MULTI = "multi"  # everyday set-ups of two or three operations (its own stream)
RATES = "rates"  # an amount per day or per month over a week, a year, ... and back (its own stream)
RATE_STEPS = "rate_steps"  # amounts over periods with one more step: dozens, hours, ... (its own stream)
HELDOUT_MOD = 8  # one parameter set in eight is held out
TRACE_BUDGET = 62  # approximate tokens (see approx_tokens) without the check line; longer renders are redrawn
CHECK_BUDGET = 14  # the allowance for the check line
RENDER_TRIES = 8
COMPACT_TRIES = 4
P_DIRECT = 0.5  # chance that an operation is written directly rather than decomposed
P_OPENER = 0.45  # chance that the first line restates the givens (after the opening words)
P_PLAIN = 0.35  # chance that a trace's steps carry no connecting words


@dataclass(frozen=True)
class Problem:
    id: str  # stable: kind + params hash
    lang: str  # "en" | "pt-BR"
    kind: str
    question: str
    thinking: str  # trace lines joined by "\n"
    answer_text: str  # the final sentence with \boxed{...}
    answer: str  # canonical answer (normalize_answer of the box)
    params: tuple  # (variant, *numbers): what defines the problem, not the wording
    earlier: tuple[str, str] | None = None  # a follow-up's earlier question and answer sentence


@dataclass(frozen=True)
class Draft:
    """One rendering of a problem before the trace lines are assembled."""

    question: str
    openers: tuple[str, ...]  # candidate first lines that restate the givens
    steps: tuple[str, ...]  # step bodies in order, each ends with "."
    check: str  # an arithmetic statement that re-derives an input from the result
    result: str  # how the last line says the answer ("85", "$12.50", "10:55")
    box: str  # what goes inside \boxed{}
    answer_text: str
    earlier: tuple[str, str] | None = None  # a follow-up's earlier question and answer sentence


@dataclass(frozen=True)
class Ctx:
    """What a renderer needs: the language, the random source and the chosen words."""

    lang: str
    rng: random.Random
    words: dict
    compact: bool = False  # direct arithmetic and the shortest wording, for traces over budget
    p_direct: float = P_DIRECT  # chance that an operation is written directly

    @property
    def en(self) -> bool:
        return self.lang == "en"

    def say(self, en: Sequence[str], pt: Sequence[str], **kw) -> str:
        """Pick one template of this language (the shortest when compact) and fill it."""
        options = en if self.en else pt
        template = min(options, key=len) if self.compact else self.rng.choice(options)
        return template.format(**self.words, **kw)

    def story(self, stories: dict, **kw) -> tuple[str, str]:
        """Pick one (question, answer) story of this language and fill both; amounts in the
        question are written with the currency sign at times ("$4", "R$ 38"), as people type them."""
        q, a = self.rng.choice(stories[self.lang])
        return self.signs(q.format(**self.words, **kw)), a.format(**self.words, **kw)

    def dec(self, cents: int) -> str:
        """Money as a plain decimal: "7.50" / "7,50"."""
        text = f"{cents // 100}.{cents % 100:02d}"
        return text if self.en else text.replace(".", ",")

    def amt(self, cents: int) -> str:
        """Money inside trace arithmetic: "20" for whole amounts, else "7.50" / "7,50"."""
        return str(cents // 100) if cents % 100 == 0 else self.dec(cents)

    def cash(self, cents: int, short: bool = False) -> str:
        """Money as said in text: "$7.50" / "R$ 7,50"; `short` drops ".00" of whole amounts."""
        body = str(cents // 100) if short and cents % 100 == 0 else self.dec(cents)
        return f"${body}" if self.en else f"R$ {body}"

    def signs(self, question: str) -> str:
        """Write "4 dollars" as "$4" and "38 reais" as "R$ 38" (`cash`) in a share of the questions
        that have them (the random source is drawn only for those, so others come out as before)."""
        pattern = AMOUNT_WORD[self.lang]
        if not pattern.search(question) or self.rng.random() >= SIGN_SHARE:
            return question
        return pattern.sub(lambda m: self.cash(100 * int(m[1]), short=True), question)


SIGN_SHARE = 0.35  # questions with whole amounts that write them with the sign instead of the word
AMOUNT_WORD = {"en": re.compile(r"\b(\d+) dollars?\b"), "pt-BR": re.compile(r"\b(\d+) reais\b")}


@dataclass(frozen=True)
class Variant:
    kind: str
    name: str
    sample: Callable[[random.Random], tuple[int, ...]]
    render: Callable[[Ctx, tuple[int, ...]], Draft]


# ---------------------------------------------------------------------------- words

PEOPLE = {
    "en": (
        ("Emma", "f"),
        ("Liam", "m"),
        ("Olivia", "f"),
        ("Noah", "m"),
        ("Mia", "f"),
        ("Leo", "m"),
        ("Grace", "f"),
        ("Sam", "m"),
        ("Lily", "f"),
        ("Ben", "m"),
        ("Zoe", "f"),
        ("Max", "m"),
    ),
    "pt-BR": (
        ("Ana", "f"),
        ("Bruno", "m"),
        ("Carla", "f"),
        ("Diego", "m"),
        ("Júlia", "f"),
        ("Pedro", "m"),
        ("Beatriz", "f"),
        ("Lucas", "m"),
        ("Mariana", "f"),
        ("Rafael", "m"),
        ("Larissa", "f"),
        ("Tiago", "m"),
    ),
}
ITEMS = {
    "en": (
        ("apple", "apples"),
        ("candy", "candies"),
        ("sticker", "stickers"),
        ("pencil", "pencils"),
        ("book", "books"),
        ("cookie", "cookies"),
        ("card", "cards"),
        ("shell", "shells"),
        ("balloon", "balloons"),
        ("stamp", "stamps"),
    ),
    "pt-BR": (
        ("maçã", "maçãs", "f"),
        ("bala", "balas", "f"),
        ("figurinha", "figurinhas", "f"),
        ("lápis", "lápis", "m"),
        ("livro", "livros", "m"),
        ("biscoito", "biscoitos", "m"),
        ("carta", "cartas", "f"),
        ("concha", "conchas", "f"),
        ("balão", "balões", "m"),
        ("selo", "selos", "m"),
    ),
}
GOODS = {
    "en": (
        ("a notebook", "notebooks"),
        ("a pen", "pens"),
        ("a sandwich", "sandwiches"),
        ("a juice", "juices"),
        ("a ticket", "tickets"),
        ("an ice cream", "ice creams"),
        ("a muffin", "muffins"),
        ("a comic", "comics"),
        ("a magazine", "magazines"),
        ("a pie", "pies"),
    ),
    "pt-BR": (
        ("um caderno", "cadernos"),
        ("uma caneta", "canetas"),
        ("um sanduíche", "sanduíches"),
        ("um suco", "sucos"),
        ("um ingresso", "ingressos"),
        ("um sorvete", "sorvetes"),
        ("um bolo", "bolos"),
        ("uma coxinha", "coxinhas"),
        ("uma revista", "revistas"),
        ("um pastel", "pastéis"),
    ),
}
ANIMALS = {  # legs -> (en plural, pt plural) choices
    2: (("chickens", "galinhas"), ("ducks", "patos"), ("geese", "gansos")),
    4: (
        ("dogs", "cachorros"),
        ("cats", "gatos"),
        ("cows", "vacas"),
        ("horses", "cavalos"),
        ("goats", "cabras"),
    ),
    6: (("ants", "formigas"), ("beetles", "besouros"), ("bees", "abelhas")),
    8: (("spiders", "aranhas"),),
}
VEHICLES = {2: ("bicycles", "bicicletas"), 3: ("tricycles", "triciclos"), 4: ("cars", "carros")}
SHAPES = {
    3: ("triangles", "triângulos"),
    4: ("squares", "quadrados"),
    5: ("pentagons", "pentágonos"),
    6: ("hexagons", "hexágonos"),
}


def _words(lang: str, rng: random.Random) -> dict:
    """Names, pronouns, items and goods for one problem, with pt-BR agreement forms."""
    (n1, g1), (n2, g2) = rng.sample(PEOPLE[lang], 2)
    item = rng.choice(ITEMS[lang])
    good, good2 = rng.sample(GOODS[lang], 2)
    words = {"name": n1, "name2": n2, "item": item[0], "items": item[1]}
    words |= {"a_good": good[0], "goods": good[1], "a_good2": good2[0], "goods2": good2[1]}
    if lang == "en":
        she, her = ("she", "her") if g1 == "f" else ("he", "his")
        return words | {"she": she, "She": she.capitalize(), "her": her}
    fem = item[2] == "f"
    ela = "ela" if g1 == "f" else "ele"
    return words | {
        "ela": ela,
        "Ela": ela.capitalize(),
        "juntos": "juntas" if g1 == g2 == "f" else "juntos",
        "Q": "Quantas" if fem else "Quantos",
        "deles": "delas" if fem else "deles",
        "vermelhos": "vermelhas" if fem else "vermelhos",
    }


def clock(h: int, m: int) -> str:
    """A 24-hour clock time, "9:05"."""
    return f"{h}:{m:02d}"


# ---------------------------------------------------------------------------- arithmetic lines


def _choose(ctx: Ctx, direct: str, others: list[str]) -> str:
    if ctx.compact or not others or ctx.rng.random() < ctx.p_direct:
        return direct
    return ctx.rng.choice(others)


def add_expr(ctx: Ctx, a: int, b: int, fmt: Callable[[int], str] = str, unit: int = 10) -> str:
    """a + b written directly or decomposed (tens and ones, split, round up, make a ten)."""
    s, f = a + b, fmt
    ta, oa, tb, ob = a - a % unit, a % unit, b - b % unit, b % unit
    others = []
    if ta and tb and oa and ob:
        t, o = ta + tb, oa + ob
        others.append(f"{f(ta)} + {f(tb)} = {f(t)}, {f(oa)} + {f(ob)} = {f(o)}, {f(t)} + {f(o)} = {f(s)}")
    if tb and ob:
        others.append(f"{f(a)} + {f(tb)} = {f(a + tb)}, {f(a + tb)} + {f(ob)} = {f(s)}")
    if tb and ob * 10 >= 6 * unit:
        up = tb + unit
        others.append(f"{f(a)} + {f(up)} = {f(a + up)}, {f(a + up)} - {f(up - b)} = {f(s)}")
    if not tb and oa and oa + b > unit:
        k = unit - oa
        others.append(f"{f(a)} + {f(k)} = {f(a + k)}, {f(a + k)} + {f(b - k)} = {f(s)}")
    return _choose(ctx, f"{f(a)} + {f(b)} = {f(s)}", others)


def sub_expr(ctx: Ctx, a: int, b: int, fmt: Callable[[int], str] = str, unit: int = 10) -> str:
    """a - b written directly or decomposed (split, round up and give back, down to a ten)."""
    s, f = a - b, fmt
    oa, tb, ob = a % unit, b - b % unit, b % unit
    others = []
    if tb and ob:
        others.append(f"{f(a)} - {f(tb)} = {f(a - tb)}, {f(a - tb)} - {f(ob)} = {f(s)}")
    if tb and ob * 10 >= 6 * unit and a >= tb + unit:
        up = tb + unit
        others.append(f"{f(a)} - {f(up)} = {f(a - up)}, {f(a - up)} + {f(up - b)} = {f(s)}")
    if not tb and 0 < oa < b:
        others.append(f"{f(a)} - {f(oa)} = {f(a - oa)}, {f(a - oa)} - {f(b - oa)} = {f(s)}")
    return _choose(ctx, f"{f(a)} - {f(b)} = {f(s)}", others)


def mul_expr(ctx: Ctx, n: int, v: int, fmt: Callable[[int], str] = str, unit: int = 10) -> str:
    """n × v (n a small count) written directly, swapped, split by place, or as repeated addition."""
    p, f = n * v, fmt
    tv, ov = v - v % unit, v % unit
    others = [f"{f(v)} × {n} = {f(p)}"]
    if tv and ov:
        others.append(
            f"{n} × {f(tv)} = {f(n * tv)}, {n} × {f(ov)} = {f(n * ov)}, {f(n * tv)} + {f(n * ov)} = {f(p)}"
        )
    if n in (2, 3):
        others.append(" + ".join([f(v)] * n) + f" = {f(p)}")
    return _choose(ctx, f"{n} × {f(v)} = {f(p)}", others)


def pct_expr(ctx: Ctx, p: int, n: int) -> str:
    """p% of n as one statement with its arithmetic (p a multiple of 10, or 25, 75)."""
    r, t, q = p * n // 100, n // 10, n // 4
    if p == 10:
        return ctx.say(("10% of {n} is {n} ÷ 10 = {r}",), ("10% de {n} é {n} ÷ 10 = {r}",), n=n, r=r)
    if p == 25:
        en = (
            "25% is a quarter: {n} ÷ 4 = {r}",
            "half of {n} is {n} ÷ 2 = {h}, and half of {h} is {h} ÷ 2 = {r}",
        )
        pt = (
            "25% é um quarto: {n} ÷ 4 = {r}",
            "a metade de {n} é {n} ÷ 2 = {h}, e a metade disso é {h} ÷ 2 = {r}",
        )
        return ctx.say(en, pt, n=n, r=r, h=n // 2)
    if p == 75:
        en = (
            "25% of {n} is {n} ÷ 4 = {q}, so 75% is {q} × 3 = {r}",
            "25% of {n} is {n} ÷ 4 = {q}, so 75% is {n} - {q} = {r}",
        )
        pt = (
            "25% de {n} é {n} ÷ 4 = {q}, então 75% é {q} × 3 = {r}",
            "25% de {n} é {n} ÷ 4 = {q}, então 75% é {n} - {q} = {r}",
        )
        return ctx.say(en, pt, n=n, r=r, q=q)
    en = ["10% of {n} is {n} ÷ 10 = {t}, so {p}% is {t} × {k} = {r}"]
    pt = ["10% de {n} é {n} ÷ 10 = {t}, então {p}% é {t} × {k} = {r}"]
    if p == 20:
        en, pt = en + ["20% is one fifth: {n} ÷ 5 = {r}"], pt + ["20% é um quinto: {n} ÷ 5 = {r}"]
    if p == 50:
        en, pt = ["50% is half: {n} ÷ 2 = {r}"], ["50% é a metade: {n} ÷ 2 = {r}"]
    if p == 90:
        en, pt = (
            en + ["10% of {n} is {t}, so 90% is {n} - {t} = {r}"],
            pt + ["10% de {n} é {t}, então 90% é {n} - {t} = {r}"],
        )
    return ctx.say(en, pt, n=n, r=r, t=t, p=p, k=p // 10)


def _pct_n(rng: random.Random, p: int, lo: int, hi: int) -> int:
    """A round base for p%: a multiple of 20 for 25%/75%, of 10 otherwise."""
    step = 20 if p in (25, 75) else 10
    return rng.randrange(-(-lo // step) * step, hi + 1, step)


# ---------------------------------------------------------------------------- registry

VARIANTS: dict[str, list[Variant]] = {
    kind: [] for kind in (*KINDS, ONE_STEP, EVERYDAY, PHRASED, FOLLOWUP, MULTI, RATES, RATE_STEPS)
}


def variant(kind: str, name: str, sample: Callable[[random.Random], tuple[int, ...]]):
    """Register a renderer for (kind, name) with its parameter sampler."""

    def register(render: Callable[[Ctx, tuple[int, ...]], Draft]):
        VARIANTS[kind].append(Variant(kind, name, sample, render))
        return render

    return register


def _box(value: str) -> str:
    return "\\boxed{" + value + "}"


def _int_draft(ctx: Ctx, stories: dict, openers, steps, check: str, value: int, **kw) -> Draft:
    """A Draft whose answer is a whole number."""
    question, answer_text = ctx.story(stories, box=_box(str(value)), **kw)
    return Draft(question, tuple(openers), tuple(steps), check, str(value), str(value), answer_text)


def _money_draft(ctx: Ctx, stories: dict, openers, steps, check: str, cents: int, **kw) -> Draft:
    """A Draft whose answer is an amount of money with cents."""
    question, answer_text = ctx.story(stories, box=_box(ctx.dec(cents)), **kw)
    return Draft(question, tuple(openers), tuple(steps), check, ctx.cash(cents), ctx.dec(cents), answer_text)


# ---------------------------------------------------------------------------- sums

SUM_THREE = {
    "en": (
        (
            "{name} has {a} {items}. {She} gets {b} more, and then {c} more. "
            "How many {items} does {name} have now?",
            "{name} has {box} {items} now.",
        ),
        (
            "{name} picked {a} {items} in the morning, {b} at noon and {c} in the evening. "
            "How many {items} did {she} pick in all?",
            "{name} picked {box} {items} in all.",
        ),
        (
            "A box has {a} {items}. {name} puts in {b}, and later {c} more. "
            "How many {items} are in the box now?",
            "There are {box} {items} in the box.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items}. {Ela} ganha mais {b} e depois mais {c}. {Q} {items} {name} tem agora?",
            "{name} tem {box} {items} agora.",
        ),
        (
            "{name} juntou {a} {items} de manhã, {b} à tarde e {c} à noite. {Q} {ela} juntou ao todo?",
            "{name} juntou {box} {items} ao todo.",
        ),
        (
            "Uma caixa tem {a} {items}. {name} põe mais {b} e depois mais {c}. {Q} há na caixa agora?",
            "Há {box} {items} na caixa.",
        ),
    ),
}


@variant("sum", "three", lambda r: (r.randint(12, 69), r.randint(5, 39), r.randint(3, 29)))
def _sum_three(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    total, rng = a + b + c, ctx.rng
    openers = [
        ctx.say(
            ("we start with {a} {items}.", "the start is {a}."),
            ("começamos com {a} {items}.", "o início é {a}."),
            a=a,
        )
    ]
    if rng.random() < 0.5:
        steps = [
            ctx.say(("{e}.", "add {b}: {e}."), ("{e}.", "somo {b}: {e}."), b=b, e=add_expr(ctx, a, b)),
            ctx.say(("{e}.", "add {c}: {e}."), ("{e}.", "somo {c}: {e}."), c=c, e=add_expr(ctx, a + b, c)),
        ]
        check = f"{total} - {c} = {a + b}"
    else:
        e1, e2 = add_expr(ctx, b, c), add_expr(ctx, a, b + c)
        steps = [
            ctx.say(("the new ones: {e}.", "{e} more."), ("ganhos: {e}.", "{e} a mais."), e=e1),
            ctx.say(("{e}.", "add that to {a}: {e}."), ("{e}.", "somo isso a {a}: {e}."), a=a, e=e2),
        ]
        check = f"{total} - {b + c} = {a}"
    return _int_draft(ctx, SUM_THREE, openers, steps, check, total, a=a, b=b, c=c)


SUM_MORE = {
    "en": (
        (
            "{name} has {a} {items}. {name2} has {d} {rel} than {name}. "
            "How many {items} do they have together?",
            "Together they have {box} {items}.",
        ),
        (
            "{name} scored {a} points. {name2} scored {d} points {rel}. "
            "How many points did they score together?",
            "They scored {box} points together.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items}. {name2} tem {d} {rel} que {name}. "
            "{Q} {items} {name} e {name2} têm {juntos}?",
            "{name} e {name2} têm {box} {items} {juntos}.",
        ),
        (
            "{name} fez {a} pontos. {name2} fez {d} pontos {rel}. "
            "Quantos pontos {name} e {name2} fizeram {juntos}?",
            "{name} e {name2} fizeram {box} pontos {juntos}.",
        ),
    ),
}


def _sum_pair(ctx: Ctx, a: int, d: int, more: bool) -> Draft:
    """Two people, the second has d more (or fewer) than the first; their total."""
    rng, b = ctx.rng, a + d if more else a - d
    rel = ("more" if more else "fewer") if ctx.en else ("a mais" if more else "a menos")
    e_b = add_expr(ctx, a, d) if more else sub_expr(ctx, a, d)
    first = ctx.say(("{name2} has {e}.", "{name2}: {e}."), ("{name2} tem {e}.", "{name2}: {e}."), e=e_b)
    together = ctx.say(
        ("together: {e}.", "{e} in all."), ("{juntos}: {e}.", "{e} no total."), e=add_expr(ctx, a, b)
    )
    if rng.random() < 0.3:
        op = "+" if more else "-"
        double = ctx.say(("twice {a}: {e}.",), ("{a} duas vezes: {e}.",), a=a, e=mul_expr(ctx, 2, a))
        steps = [double, f"{2 * a} {op} {d} = {a + b}."]
    else:
        steps = [first, together]
    openers = [ctx.say(("we start with {a}.",), ("começamos com {a}.",), a=a)]
    return _int_draft(ctx, SUM_MORE, openers, steps, f"{a + b} - {b} = {a}", a + b, a=a, d=d, rel=rel)


@variant("sum", "more_than", lambda r: (r.randint(11, 59), r.randint(3, 29)))
def _sum_more(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _sum_pair(ctx, nums[0], nums[1], more=True)


@variant("sum", "fewer_than", lambda r: (lambda a: (a, r.randint(2, min(29, a - 5))))(r.randint(15, 69)))
def _sum_fewer(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _sum_pair(ctx, nums[0], nums[1], more=False)


# ---------------------------------------------------------------------------- differences

DIFF_TWO_OUT = {
    "en": (
        (
            "{name} has {a} {items}. {She} gives {b} to {name2} and {c} to a friend. "
            "How many {items} are left?",
            "{name} has {box} {items} left.",
        ),
        (
            "A jar has {a} {items}. {name} takes out {b}, and later {c} more. "
            "How many {items} are still in the jar?",
            "There are {box} {items} in the jar.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items}. {Ela} dá {b} para {name2} e {c} para uma amiga. {Q} {items} sobraram?",
            "Sobraram {box} {items} para {name}.",
        ),
        (
            "Um pote tem {a} {items}. {name} tira {b} e depois mais {c}. {Q} ficam no pote?",
            "Ficam {box} {items} no pote.",
        ),
    ),
}


def _two_out_sample(r: random.Random) -> tuple[int, ...]:
    a = r.randint(40, 99)
    b = r.randint(5, min(39, a // 2))
    return a, b, r.randint(3, min(39, a - b - 2))


@variant("difference", "two_out", _two_out_sample)
def _diff_two_out(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    left, rng = a - b - c, ctx.rng
    openers = [
        ctx.say(
            ("we start with {a}.", "at first there are {a}."),
            ("começamos com {a}.", "no início são {a}."),
            a=a,
        )
    ]
    if rng.random() < 0.5:
        steps = [
            ctx.say(("{e}.", "take away {b}: {e}."), ("{e}.", "tiro {b}: {e}."), b=b, e=sub_expr(ctx, a, b)),
            ctx.say(
                ("{e}.", "take away {c}: {e}."), ("{e}.", "tiro {c}: {e}."), c=c, e=sub_expr(ctx, a - b, c)
            ),
        ]
        check = f"{left} + {c} = {a - b}"
    else:
        steps = [
            ctx.say(
                ("{e} go out in all.", "{e} leave."),
                ("{e} saem ao todo.", "saem {e}."),
                e=add_expr(ctx, b, c),
            ),
            ctx.say(
                ("{e}.", "{a} minus that: {e}."),
                ("{e}.", "{a} menos isso: {e}."),
                a=a,
                e=sub_expr(ctx, a, b + c),
            ),
        ]
        check = f"{left} + {b + c} = {a}"
    return _int_draft(ctx, DIFF_TWO_OUT, openers, steps, check, left, a=a, b=b, c=c)


DIFF_OUT_IN = {
    "en": (
        (
            "{name} has {a} {items}. {She} loses {b} of them and then buys {c} new ones. "
            "How many {items} does {she} have now?",
            "{name} has {box} {items} now.",
        ),
        (
            "A shelf holds {a} {items}. {name} removes {b} and adds {c} others. "
            "How many {items} are on the shelf?",
            "There are {box} {items} on the shelf.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items}. {Ela} perde {b} e depois compra mais {c}. {Q} {items} {ela} tem agora?",
            "{name} tem {box} {items} agora.",
        ),
        (
            "Uma prateleira tem {a} {items}. {name} tira {b} e põe mais {c}. {Q} {items} há na prateleira?",
            "Há {box} {items} na prateleira.",
        ),
    ),
}


@variant(
    "difference",
    "out_in",
    lambda r: (lambda a: (a, r.randint(5, min(49, a - 1)), r.randint(3, 39)))(r.randint(20, 99)),
)
def _diff_out_in(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    now, rng = a - b + c, ctx.rng
    openers = [ctx.say(("we start with {a} {items}.",), ("começamos com {a} {items}.",), a=a)]
    if rng.random() < 0.6:
        steps = [
            ctx.say(
                ("{e}.", "minus {b}: {e}."),
                ("{e}.", "menos {b}: {e}."),
                b=b,
                e=sub_expr(ctx, a, b),
            ),
            ctx.say(
                ("{e}.", "add the {c}: {e}."), ("{e}.", "somo {c}: {e}."), c=c, e=add_expr(ctx, a - b, c)
            ),
        ]
        check = f"{now} - {c} = {a - b}"
    else:
        steps = [
            ctx.say(
                ("add the {c} first: {e}.", "{e}."),
                ("somo {c} antes: {e}.", "{e}."),
                c=c,
                e=add_expr(ctx, a, c),
            ),
            ctx.say(
                ("take away {b}: {e}.", "{e}."), ("tiro {b}: {e}.", "{e}."), b=b, e=sub_expr(ctx, a + c, b)
            ),
        ]
        check = f"{now} + {b} = {a + c}"
    return _int_draft(ctx, DIFF_OUT_IN, openers, steps, check, now, a=a, b=b, c=c)


DIFF_TARGET = {
    "en": (
        (
            "{name} wants {t} {items}. {She} has {a} and gets {b} from {name2}. "
            "How many more does {she} need?",
            "{name} needs {box} more {items}.",
        ),
        (
            "A team needs {t} points to win. It has {a} points and scores {b} more. "
            "How many points are still needed?",
            "The team still needs {box} points.",
        ),
    ),
    "pt-BR": (
        (
            "{name} quer juntar {t} {items}. {Ela} tem {a} e ganha {b} de {name2}. {Q} ainda faltam?",
            "Faltam {box} {items} para {name}.",
        ),
        (
            "Um time precisa de {t} pontos para ganhar. Tem {a} pontos e faz mais {b}. "
            "Quantos pontos ainda faltam?",
            "Ainda faltam {box} pontos.",
        ),
    ),
}


def _target_sample(r: random.Random) -> tuple[int, ...]:
    t = r.randint(50, 99)
    a = r.randint(10, t // 2)
    return t, a, r.randint(5, t - a - 2)


@variant("difference", "target", _target_sample)
def _diff_target(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    t, a, b = nums
    need, rng = t - a - b, ctx.rng
    openers = [
        ctx.say(
            ("the goal is {t}.", "we need {t} in all."), ("a meta é {t}.", "precisamos de {t} ao todo."), t=t
        )
    ]
    if rng.random() < 0.5:
        steps = [
            ctx.say(("so far: {e}.", "{e}."), ("até agora: {e}.", "{e}."), e=add_expr(ctx, a, b)),
            ctx.say(
                ("still missing: {e}.", "{e}."), ("ainda faltam: {e}.", "{e}."), e=sub_expr(ctx, t, a + b)
            ),
        ]
        check = f"{a + b} + {need} = {t}"
    else:
        steps = [
            ctx.say(
                ("{e}.", "not counting {b}: {e}."),
                ("{e}.", "sem contar {b}: {e}."),
                b=b,
                e=sub_expr(ctx, t, a),
            ),
            ctx.say(
                ("{e}.", "take away {b}: {e}."), ("{e}.", "tiro {b}: {e}."), b=b, e=sub_expr(ctx, t - a, b)
            ),
        ]
        check = f"{need} + {b} = {t - a}"
    return _int_draft(ctx, DIFF_TARGET, openers, steps, check, need, t=t, a=a, b=b)


# ---------------------------------------------------------------------------- products

PROD_PLUS = {
    "en": (
        (
            "{name} has {q} boxes with {k} {items} in each, and {e} more outside the boxes. "
            "How many {items} does {she} have?",
            "{name} has {box} {items}.",
        ),
        (
            "There are {q} bags of {items}, {k} in each bag, and {e} loose ones. "
            "How many {items} are there in all?",
            "There are {box} {items} in all.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {q} caixas com {k} {items} em cada uma e mais {e} fora das caixas. "
            "{Q} {items} {ela} tem?",
            "{name} tem {box} {items}.",
        ),
        (
            "Há {q} sacos com {k} {items} em cada um e mais {e} fora dos sacos. {Q} {items} há ao todo?",
            "Há {box} {items} ao todo.",
        ),
    ),
}


@variant("product", "groups_plus", lambda r: (r.randint(2, 9), r.randint(3, 15), r.randint(1, 19)))
def _prod_plus(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    q, k, e = nums
    total = q * k + e
    openers = [ctx.say(("{q} groups of {k}, plus {e}.",), ("{q} grupos de {k}, mais {e}.",), q=q, k=k, e=e)]
    steps = [
        ctx.say(("in the boxes: {x}.", "{x}."), ("nas caixas: {x}.", "{x}."), x=mul_expr(ctx, q, k)),
        ctx.say(("plus the {e}: {x}.", "{x}."), ("mais {e}: {x}.", "{x}."), e=e, x=add_expr(ctx, q * k, e)),
    ]
    return _int_draft(ctx, PROD_PLUS, openers, steps, f"{total} - {e} = {q * k}", total, q=q, k=k, e=e)


PROD_MINUS = {
    "en": (
        (
            "A room has {q} rows of chairs with {k} chairs in each row. {m} chairs are taken. "
            "How many are free?",
            "There are {box} free chairs.",
        ),
        (
            "{name} bakes {q} trays of cookies with {k} cookies on each tray and gives away {m}. "
            "How many cookies are left?",
            "{name} has {box} cookies left.",
        ),
    ),
    "pt-BR": (
        (
            "Uma sala tem {q} fileiras com {k} cadeiras em cada uma. {m} cadeiras estão ocupadas. "
            "Quantas estão livres?",
            "Há {box} cadeiras livres.",
        ),
        (
            "{name} assa {q} formas de biscoitos com {k} biscoitos em cada uma e dá {m}. "
            "Quantos biscoitos sobram?",
            "Sobram {box} biscoitos.",
        ),
    ),
}


@variant(
    "product",
    "groups_minus",
    lambda r: (lambda q, k: (q, k, r.randint(1, min(29, q * k - 2))))(r.randint(2, 9), r.randint(4, 12)),
)
def _prod_minus(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    q, k, m = nums
    left = q * k - m
    openers = [
        ctx.say(
            ("{q} groups of {k}.", "there are {q} groups of {k}."),
            ("{q} grupos de {k}.", "são {q} grupos de {k}."),
            q=q,
            k=k,
        )
    ]
    steps = [
        ctx.say(("in all: {x}.", "{x}."), ("ao todo: {x}.", "{x}."), x=mul_expr(ctx, q, k)),
        ctx.say(("minus {m}: {x}.", "{x}."), ("menos {m}: {x}.", "{x}."), m=m, x=sub_expr(ctx, q * k, m)),
    ]
    return _int_draft(ctx, PROD_MINUS, openers, steps, f"{left} + {m} = {q * k}", left, q=q, k=k, m=m)


PROD_TWO = {
    "en": (
        (
            "{name} buys {q1} packs of {k1} {items} and {q2} packs of {k2} {items}. "
            "How many {items} does {she} buy?",
            "{name} buys {box} {items}.",
        ),
        (
            "A shop gets {q1} boxes of {k1} {items} and {q2} boxes of {k2} {items}. "
            "How many {items} is that?",
            "That is {box} {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} compra {q1} pacotes com {k1} {items} e {q2} pacotes com {k2} {items}. "
            "{Q} {items} {ela} compra?",
            "{name} compra {box} {items}.",
        ),
        (
            "Uma loja recebe {q1} caixas com {k1} {items} e {q2} caixas com {k2} {items}. "
            "{Q} {items} são ao todo?",
            "São {box} {items} ao todo.",
        ),
    ),
}


def _two_groups_sample(r: random.Random) -> tuple[int, ...]:
    k1, k2 = r.sample(range(2, 13), 2)
    return r.randint(2, 9), k1, r.randint(2, 9), k2


@variant("product", "two_groups", _two_groups_sample)
def _prod_two(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    q1, k1, q2, k2 = nums
    rng, p1, p2 = ctx.rng, q1 * k1, q2 * k2
    parts = [f"{mul_expr(ctx, q1, k1)}.", f"{mul_expr(ctx, q2, k2)}."]
    first = rng.random() < 0.5
    if not first:
        parts.reverse()
    s = add_expr(ctx, p1, p2) if first else add_expr(ctx, p2, p1)
    steps = [*parts, ctx.say(("in all: {s}.", "{s}."), ("ao todo: {s}.", "{s}."), s=s)]
    return _int_draft(
        ctx, PROD_TWO, [], steps, f"{p1 + p2} - {p2} = {p1}", p1 + p2, q1=q1, k1=k1, q2=q2, k2=k2
    )


# ---------------------------------------------------------------------------- money


def _price(r: random.Random, lo: int, hi: int) -> int:
    """A price in cents between lo and hi: whole, or with 50 cents, rarely 25/75."""
    step = r.choice((100, 50, 50, 25))
    return r.randrange(-(-lo // step) * step, hi + 1, step)


MONEY_CHANGE = {
    "en": (
        (
            "{name} buys {q} {goods} at {p} each and pays with a {bill} bill. "
            "How much change does {she} get?",
            "{name} gets {box} dollars in change.",
        ),
        (
            "{goods_cap} cost {p} each. {name} buys {q} and pays {bill}. What is the change?",
            "The change is {box} dollars.",
        ),
    ),
    "pt-BR": (
        (
            "{name} compra {q} {goods} a {p} cada e paga com uma nota de {bill}. "
            "Quanto {ela} recebe de troco?",
            "{name} recebe {box} reais de troco.",
        ),
        (
            "Cada {good1} custa {p}. {name} compra {q} e paga com {bill}. Qual é o troco?",
            "O troco é de {box} reais.",
        ),
    ),
}


def _change_sample(r: random.Random) -> tuple[int, ...]:
    q, p = r.randint(2, 6), _price(r, 50, 1500)
    bills = [b for b in (1000, 2000, 5000, 10000) if b > q * p]
    return q, p, r.choice(bills[:2])


@variant("money", "change", _change_sample)
def _money_change(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    q, p, bill = nums
    total, d = q * p, ctx.amt
    steps = [
        ctx.say(
            ("cost: {x}.", "{q} {goods}: {x}.", "{x}."),
            ("custo: {x}.", "{q} {goods}: {x}.", "{x}."),
            q=q,
            x=mul_expr(ctx, q, p, d, 100),
        ),
        ctx.say(("change: {x}.", "{x}."), ("troco: {x}.", "{x}."), x=sub_expr(ctx, bill, total, d, 100)),
    ]
    openers = [ctx.say(("{name} pays {b}.",), ("{name} paga {b}.",), b=ctx.cash(bill, True))]
    check = f"{d(total)} + {d(bill - total)} = {d(bill)}"
    good1 = ctx.words["a_good"].split(" ", 1)[1]
    return _money_draft(
        ctx,
        MONEY_CHANGE,
        openers,
        steps,
        check,
        bill - total,
        q=q,
        p=ctx.cash(p),
        bill=ctx.cash(bill, True),
        goods_cap=ctx.words["goods"].capitalize(),
        good1=good1,
    )


MONEY_TWO = {
    "en": (
        (
            "{name} buys {q1} {goods} at {p1} each and {q2} {goods2} at {p2} each. "
            "How much does {she} spend?",
            "{name} spends {box} dollars.",
        ),
        (
            "At a fair, {goods} cost {p1} and {goods2} cost {p2}. "
            "{name} buys {q1} {goods} and {q2} {goods2}. How much is that?",
            "That is {box} dollars.",
        ),
    ),
    "pt-BR": (
        (
            "{name} compra {q1} {goods} a {p1} cada e {q2} {goods2} a {p2} cada. Quanto {ela} gasta?",
            "{name} gasta {box} reais.",
        ),
        (
            "Na feira, {goods} custam {p1} e {goods2}, {p2}. {name} compra {q1} {goods} e {q2} {goods2}. "
            "Quanto gasta?",
            "{name} gasta {box} reais.",
        ),
    ),
}


@variant(
    "money",
    "two_items",
    lambda r: (r.randint(2, 5), _price(r, 50, 1200), r.randint(2, 5), _price(r, 50, 1200)),
)
def _money_two(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    q1, p1, q2, p2 = nums
    rng, d, c1, c2 = ctx.rng, ctx.amt, q1 * p1, q2 * p2
    parts = [
        ctx.say(
            ("{q} {g}: {x}.", "{x}."),
            ("{q} {g}: {x}.", "{x}."),
            q=q1,
            g=ctx.words["goods"],
            x=mul_expr(ctx, q1, p1, d, 100),
        ),
        ctx.say(
            ("{q} {g}: {x}.", "{x}."),
            ("{q} {g}: {x}.", "{x}."),
            q=q2,
            g=ctx.words["goods2"],
            x=mul_expr(ctx, q2, p2, d, 100),
        ),
    ]
    first = rng.random() < 0.5
    if not first:
        parts.reverse()
    s = add_expr(ctx, c1, c2, d, 100) if first else add_expr(ctx, c2, c1, d, 100)
    steps = [*parts, ctx.say(("total: {s}.", "{s}."), ("total: {s}.", "{s}."), s=s)]
    check = f"{d(c1 + c2)} - {d(c2)} = {d(c1)}"
    return _money_draft(
        ctx, MONEY_TWO, [], steps, check, c1 + c2, q1=q1, q2=q2, p1=ctx.cash(p1), p2=ctx.cash(p2)
    )


MONEY_LEFT = {
    "en": (
        (
            "{name} has {m}. {She} buys {q} {goods} at {p} each and {a_good2} for {p2}. "
            "How much money is left?",
            "{name} has {box} dollars left.",
        ),
        (
            "{name} takes {m} to the fair and buys {q} {goods} at {p} each and {a_good2} for {p2}. "
            "How much is left?",
            "{name} has {box} dollars left.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {m}. Compra {q} {goods} a {p} cada e {a_good2} por {p2}. Quanto sobra?",
            "Sobram {box} reais para {name}.",
        ),
        (
            "{name} leva {m} à feira e compra {q} {goods} a {p} cada e {a_good2} por {p2}. Com quanto volta?",
            "{name} volta com {box} reais.",
        ),
    ),
}


def _left_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        m, q, p, p2 = r.randrange(1000, 6001, 500), r.randint(2, 5), _price(r, 50, 800), _price(r, 100, 1500)
        if q * p + p2 < m:
            return m, q, p, p2


@variant("money", "left", _left_sample)
def _money_left(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    m, q, p, p2 = nums
    rng, d, c = ctx.rng, ctx.amt, q * p
    first = ctx.say(
        ("{q} {goods}: {x}.", "{x}."), ("{q} {goods}: {x}.", "{x}."), q=q, x=mul_expr(ctx, q, p, d, 100)
    )
    if rng.random() < 0.5:
        spent = ctx.say(("spent: {x}.", "{x}."), ("gasto: {x}.", "{x}."), x=add_expr(ctx, c, p2, d, 100))
        left = ctx.say(("left: {x}.", "{x}."), ("sobra: {x}.", "{x}."), x=sub_expr(ctx, m, c + p2, d, 100))
        steps, check = [first, spent, left], f"{d(m - c - p2)} + {d(c + p2)} = {d(m)}"
    else:
        s1 = ctx.say(
            ("after the {goods}: {x}.", "{x}."), ("restam: {x}.", "{x}."), x=sub_expr(ctx, m, c, d, 100)
        )
        s2 = ctx.say(
            ("for {g}: {x}.", "{x}."),
            ("{g}: {x}.", "{x}."),
            g=ctx.words["a_good2"],
            x=sub_expr(ctx, m - c, p2, d, 100),
        )
        steps, check = [first, s1, s2], f"{d(m - c - p2)} + {d(p2)} = {d(m - c)}"
    openers = [ctx.say(("{name} starts with {m}.",), ("{name} começa com {m}.",), m=ctx.cash(m, True))]
    return _money_draft(
        ctx,
        MONEY_LEFT,
        openers,
        steps,
        check,
        m - c - p2,
        q=q,
        m=ctx.cash(m, True),
        p=ctx.cash(p),
        p2=ctx.cash(p2),
    )


# ---------------------------------------------------------------------------- time


def time_add(ctx: Ctx, h: int, m: int, d: int) -> list[str]:
    """Lines that add d minutes to h:m. Every number is an operation's result, so the
    calculator writes it: the minutes, then (past the hour) the minutes left after whole
    hours and the new hour (`35 + 115 = 150 min after 8:00.` /
    `150 - 120 = 30, 8 + 2 = 10, so it is 10:30.`). Only which multiple of 60 to take is
    the model's own."""
    t = m + d
    k, r = divmod(t, 60)
    if k == 0:
        if m == 0:
            return [ctx.say(("{d} minutes after {h}:00 is {c}.",), ("{d} minutos depois das {h}:00 são {c}.",),
                            d=d, h=h, c=clock(h, t))]  # fmt: skip
        return [ctx.say(("{m} + {d} = {t}, so it is {c}.",), ("{m} + {d} = {t}, então são {c}.",),
                        m=m, d=d, t=t, c=clock(h, t))]  # fmt: skip
    if m == 0:
        first = ctx.say(("{d} min after {h}:00.",), ("{d} min depois das {h}:00.",), d=d, h=h)
    else:
        first = ctx.say(("{m} + {d} = {t} min after {h}:00.",), ("{m} + {d} = {t} min depois das {h}:00.",),
                        m=m, d=d, t=t, h=h)  # fmt: skip
    second = ctx.say(("{t} - {s} = {r}, {h} + {k} = {hk}, so it is {c}.",),
                     ("{t} - {s} = {r}, {h} + {k} = {hk}, então são {c}.",),
                     t=t, s=60 * k, r=r, h=h, k=k, hk=h + k, c=clock(h + k, r))  # fmt: skip
    return [first, second]


TIME_END2 = {
    "en": (
        (
            "{name} starts studying at {start}: {d1} minutes of math, then {d2} minutes of reading. "
            "When does {she} finish?",
            "{name} finishes at {box}.",
        ),
        (
            "A bus leaves at {start}, drives {d1} minutes to a stop and {d2} more to the end. "
            "When does it arrive?",
            "The bus arrives at {box}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} começa a estudar às {start}: {d1} minutos de matemática e {d2} de leitura. "
            "A que horas termina?",
            "{name} termina às {box}.",
        ),
        (
            "Um ônibus sai às {start}, anda {d1} minutos até uma parada e mais {d2} até o fim. "
            "A que horas chega?",
            "O ônibus chega às {box}.",
        ),
    ),
}


def _end2_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        h, m, d1, d2 = r.randint(6, 19), r.randrange(0, 60, 5), r.randrange(10, 65, 5), r.randrange(10, 65, 5)
        if h + (m + d1 + d2) // 60 <= 23:
            return h, m, d1, d2


@variant("time", "end2", _end2_sample)
def _time_end2(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    h, m, d1, d2 = nums
    total = d1 + d2
    end_h, end_m = h + (m + total) // 60, (m + total) % 60
    steps = [
        ctx.say(("{x} min in all.",), ("{x} min ao todo.",), x=f"{d1} + {d2} = {total}"),
        *time_add(ctx, h, m, total),
    ]
    openers = [
        ctx.say(
            ("it starts at {s}.", "the start is {s}."), ("começa às {s}.", "o início é {s}."), s=clock(h, m)
        )
    ]
    question, answer_text = ctx.story(
        TIME_END2, box=_box(clock(end_h, end_m)), start=clock(h, m), d1=d1, d2=d2
    )
    end = clock(end_h, end_m)
    return Draft(question, tuple(openers), tuple(steps), f"{total} - {d2} = {d1}", end, end, answer_text)


TIME_BETWEEN = {
    "en": (
        (
            "A class starts at {start} and ends at {end}. How many minutes does the class last?",
            "The class lasts {box} minutes.",
        ),
        (
            "{name} leaves home at {start} and gets to the beach at {end}. How many minutes is the trip?",
            "The trip takes {box} minutes.",
        ),
    ),
    "pt-BR": (
        (
            "Uma aula começa às {start} e termina às {end}. Quantos minutos dura a aula?",
            "A aula dura {box} minutos.",
        ),
        (
            "{name} sai de casa às {start} e chega à praia às {end}. Quantos minutos dura a viagem?",
            "A viagem dura {box} minutos.",
        ),
    ),
}


def _between_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        h, m, diff = r.randint(6, 19), r.randrange(5, 60, 5), r.randrange(25, 185, 5)
        if h + (m + diff) // 60 <= 23 and (m + diff) % 60 != 0 and m + diff > 60:
            return h, m, diff


@variant("time", "between", _between_sample)
def _time_between(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    h, m, diff = nums
    e_h, e_m = h + (m + diff) // 60, (m + diff) % 60
    # whole hours between the clocks, then minutes (`16:50 to 18:05: 18 - 16 = 2 h.` /
    # `2 × 60 + 5 - 50 = 75 min.`): the model copies the clocks' numbers, the calculator
    # writes every result
    steps = [
        ctx.say(
            ("{s} to {e}: {eh} - {h} = {k} h.",),
            ("das {s} às {e}: {eh} - {h} = {k} h.",),
            s=clock(h, m),
            e=clock(e_h, e_m),
            eh=e_h,
            h=h,
            k=e_h - h,
        ),
        f"{e_h - h} × 60 + {e_m} - {m} = {diff} min.",
    ]
    check = f"{diff} - {diff - 60 + m} = {60 - m}"
    return _int_draft(ctx, TIME_BETWEEN, [], steps, check, diff, start=clock(h, m), end=clock(e_h, e_m))


TIME_HM = {
    "en": (
        (
            "A train leaves at {start}. The trip takes {dh} {hours} and {dm} minutes. "
            "At what time does it arrive?",
            "The train arrives at {box}.",
        ),
        (
            "{name} starts a long hike at {start}. It takes {dh} {hours} and {dm} minutes. "
            "When does {she} finish?",
            "{name} finishes at {box}.",
        ),
    ),
    "pt-BR": (
        (
            "Um trem sai às {start}. A viagem dura {dh} {hours} e {dm} minutos. A que horas o trem chega?",
            "O trem chega às {box}.",
        ),
        (
            "{name} começa uma trilha às {start}. A trilha leva {dh} {hours} e {dm} minutos. "
            "A que horas {ela} termina?",
            "{name} termina às {box}.",
        ),
    ),
}


def _hm_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        h, m, dh, dm = r.randint(6, 18), r.randrange(0, 60, 5), r.randint(1, 2), r.randrange(5, 60, 5)
        if h + dh + (m + dm) // 60 <= 23:
            return h, m, dh, dm


@variant("time", "end_hm", _hm_sample)
def _time_hm(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    h, m, dh, dm = nums
    end_h, end_m = h + dh + (m + dm) // 60, (m + dm) % 60
    steps = [
        ctx.say(
            ("hours first: {h} + {dh} = {x}.",),
            ("primeiro as horas: {h} + {dh} = {x}.",),
            h=h,
            dh=dh,
            x=h + dh,
        ),
        *time_add(ctx, h + dh, m, dm),
    ]
    hours = ("hour" if dh == 1 else "hours") if ctx.en else ("hora" if dh == 1 else "horas")
    end = clock(end_h, end_m)
    question, answer_text = ctx.story(TIME_HM, box=_box(end), start=clock(h, m), dh=dh, dm=dm, hours=hours)
    check = f"{end_h} - {dh} = {end_h - dh}"
    return Draft(question, (), tuple(steps), check, end, end, answer_text)


# ---------------------------------------------------------------------------- units

UNITS_M_CM = {
    "en": (
        (
            "A ribbon is {a} m {b} cm long. {name} adds a piece of {c} cm. "
            "How long is the ribbon now, in centimeters?",
            "The ribbon is {box} cm long.",
        ),
        (
            "A fence is {a} m {b} cm long. {name} makes it {c} cm longer. "
            "How long is the fence now, in centimeters?",
            "The fence is {box} cm long.",
        ),
    ),
    "pt-BR": (
        (
            "Uma fita tem {a} m e {b} cm. {name} emenda mais um pedaço de {c} cm. "
            "Quantos centímetros a fita tem agora?",
            "A fita tem {box} cm.",
        ),
        (
            "Uma cerca tem {a} m e {b} cm. {name} aumenta a cerca em {c} cm. "
            "Quantos centímetros ela tem agora?",
            "A cerca tem {box} cm.",
        ),
    ),
}


@variant("units", "m_cm_add", lambda r: (r.randint(1, 5), r.randrange(5, 100, 5), r.randrange(10, 100, 5)))
def _units_m_cm(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    rng, cm = ctx.rng, 100 * a
    conv = ctx.say(
        ("{a} m = {a} × 100 = {cm} cm.", "1 m is 100 cm, so {a} m = {a} × 100 = {cm} cm."),
        ("{a} m = {a} × 100 = {cm} cm.", "1 m tem 100 cm, então {a} m = {a} × 100 = {cm} cm."),
        a=a,
        cm=cm,
    )
    if rng.random() < 0.5:
        steps = [conv, f"{add_expr(ctx, cm, b)} cm.", f"{add_expr(ctx, cm + b, c)} cm."]
        check = f"{cm + b + c} - {c} = {cm + b}"
    else:
        steps = [f"{add_expr(ctx, b, c)} cm.", conv, f"{add_expr(ctx, cm, b + c)} cm."]
        check = f"{cm + b + c} - {b + c} = {cm}"
    return _int_draft(ctx, UNITS_M_CM, [], steps, check, cm + b + c, a=a, b=b, c=c)


UNITS_CUT = {
    "en": (
        (
            "A rope is {a} m long. {name} cuts off {b} cm and then {c} cm. "
            "How many centimeters of rope are left?",
            "There are {box} cm of rope left.",
        ),
    ),
    "pt-BR": (
        (
            "Uma corda tem {a} m. {name} corta {b} cm e depois mais {c} cm. "
            "Quantos centímetros de corda sobram?",
            "Sobram {box} cm de corda.",
        ),
    ),
}


@variant("units", "m_cut", lambda r: (r.randint(2, 9), r.randrange(10, 100, 5), r.randrange(10, 100, 5)))
def _units_cut(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    rng, cm = ctx.rng, 100 * a
    conv = ctx.say(("{a} m = {a} × 100 = {cm} cm.",), ("{a} m = {a} × 100 = {cm} cm.",), a=a, cm=cm)
    if rng.random() < 0.5:
        steps = [conv, f"{sub_expr(ctx, cm, b)} cm.", f"{sub_expr(ctx, cm - b, c)} cm."]
        check = f"{cm - b - c} + {c} = {cm - b}"
    else:
        cut = ctx.say(("cut in all: {x} cm.",), ("cortado ao todo: {x} cm.",), x=add_expr(ctx, b, c))
        steps = [cut, conv, f"{sub_expr(ctx, cm, b + c)} cm."]
        check = f"{cm - b - c} + {b + c} = {cm}"
    return _int_draft(ctx, UNITS_CUT, [], steps, check, cm - b - c, a=a, b=b, c=c)


UNITS_H_MIN = {
    "en": (
        (
            "A trip takes {h} h {m} min. {name} has already traveled {done} minutes. "
            "How many minutes are left?",
            "There are {box} minutes left.",
        ),
        (
            "A film lasts {h} h {m} min. {name} has watched {done} minutes. "
            "How many minutes are still to go?",
            "{name} still has {box} minutes to watch.",
        ),
    ),
    "pt-BR": (
        (
            "Uma viagem dura {h} h {m} min. {name} já viajou {done} minutos. Quantos minutos faltam?",
            "Faltam {box} minutos.",
        ),
        (
            "Um filme dura {h} h {m} min. {name} já assistiu {done} minutos. Quantos minutos ainda faltam?",
            "Ainda faltam {box} minutos do filme.",
        ),
    ),
}


def _h_min_sample(r: random.Random) -> tuple[int, ...]:
    h, m = r.randint(1, 3), r.randrange(5, 60, 5)
    return h, m, r.randrange(10, min(100, 60 * h + m - 5), 5)


@variant("units", "h_min_left", _h_min_sample)
def _units_h_min(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    h, m, done = nums
    total = 60 * h + m
    conv = ctx.say(
        ("{h} h = {h} × 60 = {t} min.", "1 hour is 60 minutes, so {h} × 60 = {t}."),
        ("{h} h = {h} × 60 = {t} min.", "1 hora tem 60 minutos, então {h} × 60 = {t}."),
        h=h,
        t=60 * h,
    )
    steps = [
        conv,
        ctx.say(
            ("in all: {x} minutes.", "{x} min."),
            ("ao todo: {x} minutos.", "{x} min."),
            x=add_expr(ctx, 60 * h, m),
        ),
        ctx.say(
            ("left: {x}.", "{x} minutes to go."),
            ("faltam: {x}.", "{x} minutos restantes."),
            x=sub_expr(ctx, total, done),
        ),
    ]
    return _int_draft(
        ctx, UNITS_H_MIN, [], steps, f"{total - done} + {done} = {total}", total - done, h=h, m=m, done=done
    )


UNITS_KG = {
    "en": (
        (
            "A bag has {kg} kg of flour. {name} uses {b} g for bread and {c} g for a cake. "
            "How many grams are left?",
            "There are {box} g of flour left.",
        ),
    ),
    "pt-BR": (
        (
            "Um pacote tem {kg} kg de farinha. {name} usa {b} g no pão e {c} g num bolo. "
            "Quantos gramas sobram?",
            "Sobram {box} g de farinha.",
        ),
    ),
}


def _kg_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        kg, b, c = 1, r.randrange(50, 1000, 50), r.randrange(50, 1000, 50)
        if 0 < 1000 * kg - b - c < 1000:
            return kg, b, c


@variant("units", "kg_left", _kg_sample)
def _units_kg(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    kg, b, c = nums
    rng, g = ctx.rng, 1000 * kg
    conv = ctx.say(
        ("{kg} kg = {g} g.", "1 kg is 1000 g, so {kg} kg = {g} g."),
        ("{kg} kg = {g} g.", "1 kg tem 1000 g, então {kg} kg = {g} g."),
        kg=kg,
        g=g,
    )
    if rng.random() < 0.5:
        steps = [conv, f"{sub_expr(ctx, g, b)} g.", f"{sub_expr(ctx, g - b, c)} g."]
        check = f"{g - b - c} + {c} = {g - b}"
    else:
        used = ctx.say(("used: {x} g.",), ("usado: {x} g.",), x=add_expr(ctx, b, c, unit=100))
        steps = [used, conv, f"{sub_expr(ctx, g, b + c, unit=100)} g."]
        check = f"{g - b - c} + {b + c} = {g}"
    return _int_draft(ctx, UNITS_KG, [], steps, check, g - b - c, kg=kg, b=b, c=c)


UNITS_CUPS = {
    "en": (
        (
            "A jug holds {a} L of juice. Each glass takes {s} ml. "
            "After {k} glasses are poured, how many more glasses can be filled?",
            "{box} more glasses can be filled.",
        ),
    ),
    "pt-BR": (
        (
            "Uma jarra tem {a} L de suco. Cada copo leva {s} ml. "
            "Após servir {k} copos, quantos ainda dá para encher?",
            "Ainda dá para encher {box} copos.",
        ),
    ),
}


def _cups_sample(r: random.Random) -> tuple[int, ...]:
    a = r.randint(1, 2)
    s = r.choice((100, 200, 250, 500) if a > 1 else (100, 200, 250))
    return a, s, r.randint(1, 1000 * a // s - 2)


@variant("units", "l_cups", _cups_sample)
def _units_cups(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, s, k = nums
    rng, ml = ctx.rng, 1000 * a
    cups, left = ml // s, ml // s - k
    conv = ctx.say(("{a} L = {ml} ml.",), ("{a} L = {ml} ml.",), a=a, ml=ml)
    if rng.random() < 0.6 or ml - k * s >= 1000:  # the second route only while the rest is under 1000
        glasses = ctx.say(
            ("{ml} ÷ {s} = {n} glasses in all.",), ("{ml} ÷ {s} = {n} copos ao todo.",), ml=ml, s=s, n=cups
        )
        steps = [conv, glasses, f"{cups} - {k} = {left}."]
        check = f"{left} + {k} = {cups}"
    else:
        poured = ctx.say(
            ("poured: {k} × {s} = {p} ml.",), ("servido: {k} × {s} = {p} ml.",), k=k, s=s, p=k * s
        )
        steps = [conv, poured, f"{ml} - {k * s} = {ml - k * s} ml.", f"{ml - k * s} ÷ {s} = {left}."]
        check = f"{left} × {s} = {left * s}"
    return _int_draft(ctx, UNITS_CUPS, [], steps, check, left, a=a, s=s, k=k)


# ---------------------------------------------------------------------------- percentages

PCTS = (10, 20, 25, 50, 75)

PCT_REST = {
    "en": (
        (
            "A farm has {n} animals. {p}% of them are sheep. How many animals are not sheep?",
            "{box} animals are not sheep.",
        ),
        (
            "{name} has {n} {items}, and {p}% of them are red. How many of {her} {items} are not red?",
            "{box} of {her} {items} are not red.",
        ),
    ),
    "pt-BR": (
        (
            "Uma fazenda tem {n} animais. {p}% deles são ovelhas. Quantos animais não são ovelhas?",
            "{box} animais não são ovelhas.",
        ),
        (
            "{name} tem {n} {items}, e {p}% {deles} são {vermelhos}. {Q} {items} não são {vermelhos}?",
            "{box} {items} não são {vermelhos}.",
        ),
    ),
}


@variant("percent", "rest", lambda r: (lambda p: (p, _pct_n(r, p, 20, 300)))(r.choice(PCTS)))
def _pct_rest(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    p, n = nums
    part = p * n // 100
    if ctx.rng.random() < 0.6:
        steps = [f"{pct_expr(ctx, p, n)}.", f"{sub_expr(ctx, n, part)}."]
    else:
        q = 100 - p
        steps = [
            ctx.say(("the rest is 100 - {p} = {q}%.",), ("o resto é 100 - {p} = {q}%.",), p=p, q=q),
            f"{pct_expr(ctx, q, n)}.",
        ]
    return _int_draft(ctx, PCT_REST, [], steps, f"{n - part} + {part} = {n}", n - part, p=p, n=n)


PCT_DISCOUNT = {
    "en": (
        (
            "A jacket costs {price}. In a sale it is {p}% off. What is the new price in dollars?",
            "The new price is {box} dollars.",
        ),
        (
            "{name} wants a game that costs {price}. The store gives {p}% off. "
            "How many dollars does {she} pay?",
            "{name} pays {box} dollars.",
        ),
    ),
    "pt-BR": (
        (
            "Uma jaqueta custa {price}. Na promoção, tem {p}% de desconto. Qual é o novo preço, em reais?",
            "O novo preço é {box} reais.",
        ),
        (
            "{name} quer um jogo que custa {price}. A loja dá {p}% de desconto. Quantos reais {ela} paga?",
            "{name} paga {box} reais.",
        ),
    ),
}


@variant("percent", "discount", lambda r: (lambda p: (p, _pct_n(r, p, 20, 300)))(r.choice(PCTS)))
def _pct_discount(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    p, n = nums
    off, new = p * n // 100, n - p * n // 100
    if ctx.rng.random() < 0.65:
        steps = [
            ctx.say(("discount: {x}.", "{x}."), ("desconto: {x}.", "{x}."), x=pct_expr(ctx, p, n)),
            ctx.say(("new price: {x}.", "{x}."), ("novo preço: {x}.", "{x}."), x=sub_expr(ctx, n, off)),
        ]
    else:
        steps = [
            ctx.say(
                ("the new price is 100 - {p} = {q}% of the old one.",),
                ("o novo preço é 100 - {p} = {q}% do antigo.",),
                p=p,
                q=100 - p,
            ),
            f"{pct_expr(ctx, 100 - p, n)}.",
        ]
    question, answer_text = ctx.story(PCT_DISCOUNT, box=_box(str(new)), price=ctx.cash(100 * n, True), p=p)
    openers = (ctx.say(("the price is {c}.",), ("o preço é {c}.",), c=ctx.cash(100 * n, True)),)
    return Draft(
        question,
        openers,
        tuple(steps),
        f"{new} + {off} = {n}",
        ctx.cash(100 * new, True),
        str(new),
        answer_text,
    )


PCT_INCREASE = {
    "en": (
        (
            "A plant is {n} cm tall. In a month it grows {p}% taller. How tall is it now, in cm?",
            "The plant is {box} cm tall.",
        ),
        (
            "A school had {n} students last year. This year it has {p}% more. "
            "How many students does it have now?",
            "The school has {box} students now.",
        ),
    ),
    "pt-BR": (
        (
            "Uma planta tem {n} cm de altura. Em um mês, ela cresce {p}%. Quantos centímetros ela tem agora?",
            "A planta tem {box} cm agora.",
        ),
        (
            "Uma escola tinha {n} alunos no ano passado. Este ano, tem {p}% a mais. "
            "Quantos alunos ela tem agora?",
            "A escola tem {box} alunos agora.",
        ),
    ),
}


@variant("percent", "increase", lambda r: (lambda p: (p, _pct_n(r, p, 20, 300)))(r.choice(PCTS)))
def _pct_increase(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    p, n = nums
    extra = p * n // 100
    steps = [
        ctx.say(("the increase: {x}.", "{x}."), ("o aumento: {x}.", "{x}."), x=pct_expr(ctx, p, n)),
        ctx.say(("now: {x}.", "{x}."), ("agora: {x}.", "{x}."), x=add_expr(ctx, n, extra)),
    ]
    openers = [
        ctx.say(("it starts at {n}.", "we start from {n}."), ("começa com {n}.", "partimos de {n}."), n=n)
    ]
    return _int_draft(ctx, PCT_INCREASE, openers, steps, f"{n + extra} - {extra} = {n}", n + extra, p=p, n=n)


PCT_QTY = {
    "en": (
        (
            "A book costs {price}. With a {p}% discount, how many dollars do {q} books cost?",
            "{q} books cost {box} dollars.",
        ),
        (
            "T-shirts cost {price} each, and today they are {p}% off. {name} buys {q}. "
            "How many dollars does {she} pay?",
            "{name} pays {box} dollars.",
        ),
    ),
    "pt-BR": (
        (
            "Um livro custa {price}. Com {p}% de desconto, quantos reais custam {q} livros?",
            "{q} livros custam {box} reais.",
        ),
        (
            "Cada camiseta custa {price} e hoje tem {p}% de desconto. {name} compra {q}. "
            "Quantos reais {ela} paga?",
            "{name} paga {box} reais.",
        ),
    ),
}


def _qty_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        p = r.choice(PCTS)
        n, q = _pct_n(r, p, 20, 120), r.randint(2, 4)
        if n - p * n // 100 <= 99:
            return p, n, q


@variant("percent", "discount_qty", _qty_sample)
def _pct_qty(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    p, n, q = nums
    rng, each = ctx.rng, n - p * n // 100
    total = each * q
    if rng.random() < 0.6:
        steps = [
            f"{pct_expr(ctx, p, n)}.",
            ctx.say(("each one: {x}.", "{x}."), ("cada um: {x}.", "{x}."), x=sub_expr(ctx, n, n - each)),
            ctx.say(("for {q}: {x}.", "{x}."), ("{q} unidades: {x}.", "{x}."), q=q, x=mul_expr(ctx, q, each)),
        ]
        check = f"{total} ÷ {q} = {each}"
    else:
        full = q * n
        steps = [
            ctx.say(
                ("without the discount: {x}.", "{x}."), ("sem desconto: {x}.", "{x}."), x=mul_expr(ctx, q, n)
            ),
            f"{pct_expr(ctx, p, full)}.",
            f"{sub_expr(ctx, full, full - total)}.",
        ]
        check = f"{total} + {full - total} = {full}"
    question, answer_text = ctx.story(PCT_QTY, box=_box(str(total)), price=ctx.cash(100 * n, True), p=p, q=q)
    return Draft(question, (), tuple(steps), check, ctx.cash(100 * total, True), str(total), answer_text)


# ---------------------------------------------------------------------------- comparisons


def _compare_lines(ctx: Ctx, x: int, y: int, names: tuple[str, str], verb: tuple[str, str]) -> list[str]:
    """Who has more ("x > y, so X has more.") and by how much, as one or two lines."""
    big, small, who = (x, y, names[0]) if x > y else (y, x, names[1])
    fill = {"x": x, "s": ">" if x > y else "<", "y": y, "w": who, "v": verb[0] if ctx.en else verb[1]}
    e = sub_expr(ctx, big, small)
    if ctx.rng.random() < 0.5:
        return [
            ctx.say(
                ("{x} {s} {y}, so {w} {v} more: {e}.",),
                ("{x} {s} {y}, então {w} {v} mais: {e}.",),
                e=e,
                **fill,
            )
        ]
    cmp_line = ctx.say(("{x} {s} {y}, so {w} {v} more.",), ("{x} {s} {y}, então {w} {v} mais.",), **fill)
    return [cmp_line, ctx.say(("difference: {e}.", "{e}."), ("diferença: {e}.", "{e}."), e=e)]


CMP_SUM = {
    "en": (
        (
            "{name} has {a} {items}. {name2} has {b1} and gets {b2} more. "
            "Who has more now, and how many more?",
            "{who} has {box} more {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items}. {name2} tem {b1} e ganha mais {b2}. "
            "Quem tem mais agora, e quantos a mais?",
            "{who} tem {box} {items} a mais.",
        ),
    ),
}


def _cmp_sum_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        a, b1, b2 = r.randint(20, 80), r.randint(10, 45), r.randint(5, 40)
        if abs(a - b1 - b2) >= 2:
            return a, b1, b2


@variant("compare", "sum_vs", _cmp_sum_sample)
def _cmp_sum(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b1, b2 = nums
    b, w = b1 + b2, ctx.words
    first = ctx.say(
        ("{name2} now has {e}.", "{name2}: {e}."),
        ("{name2} agora tem {e}.", "{name2}: {e}."),
        e=add_expr(ctx, b1, b2),
    )
    lines, d = _compare_lines(ctx, b, a, (w["name2"], w["name"]), ("has", "tem")), abs(a - b)
    who = w["name2"] if b > a else w["name"]
    check = f"{min(a, b)} + {d} = {max(a, b)}"
    return _int_draft(ctx, CMP_SUM, [], [first, *lines], check, d, a=a, b1=b1, b2=b2, who=who)


CMP_TIMES = {
    "en": (
        (
            "{name} has {b} {items}. {name2} has {k} times as many. "
            "How many more {items} does {name2} have than {name}?",
            "{name2} has {box} more {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {b} {items}. {name2} tem {k} vezes essa quantidade. {Q} {items} {name2} tem a mais?",
            "{name2} tem {box} {items} a mais.",
        ),
    ),
}


@variant("compare", "times", lambda r: (r.randint(2, 6), r.randint(3, 19)))
def _cmp_times(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, b = nums
    rng, d = ctx.rng, (k - 1) * b
    if rng.random() < 0.6:
        steps = [
            ctx.say(("{name2} has {e}.", "{e}."), ("{name2} tem {e}.", "{e}."), e=mul_expr(ctx, k, b)),
            ctx.say(("{e} more.", "{e}."), ("{e} a mais.", "{e}."), e=sub_expr(ctx, k * b, b)),
        ]
    else:
        steps = [
            ctx.say(
                ("{k} times is {b} extra groups of {n}: {k} - 1 = {b}.",),
                ("{k} vezes são {b} grupos de {n} a mais: {k} - 1 = {b}.",),
                k=k,
                b=k - 1,
                n=b,
            ),
            f"{mul_expr(ctx, k - 1, b)}.",
        ]
    return _int_draft(ctx, CMP_TIMES, [], steps, f"{b} + {d} = {k * b}", d, k=k, b=b)


CMP_GAMES = {
    "en": (
        (
            "In two games, {name} scored {a1} and {a2} points, and {name2} scored {b1} and {b2}. "
            "Who scored more in total, and by how many points?",
            "{who} scored {box} more points.",
        ),
    ),
    "pt-BR": (
        (
            "Em dois jogos, {name} fez {a1} e {a2} pontos, e {name2} fez {b1} e {b2}. "
            "Quem fez mais pontos no total, e quantos a mais?",
            "{who} fez {box} pontos a mais.",
        ),
    ),
}


def _games_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        nums = tuple(r.randint(10, 49) for _ in range(4))
        if abs(nums[0] + nums[1] - nums[2] - nums[3]) >= 2:
            return nums


@variant("compare", "two_games", _games_sample)
def _cmp_games(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a1, a2, b1, b2 = nums
    rng, w, a, b = ctx.rng, ctx.words, a1 + a2, b1 + b2
    sums = [f"{w['name']}: {add_expr(ctx, a1, a2)}.", f"{w['name2']}: {add_expr(ctx, b1, b2)}."]
    if rng.random() < 0.5:
        sums.reverse()
    lines, d = _compare_lines(ctx, a, b, (w["name"], w["name2"]), ("scored", "fez")), abs(a - b)
    who = w["name"] if a > b else w["name2"]
    check = f"{min(a, b)} + {d} = {max(a, b)}"
    return _int_draft(ctx, CMP_GAMES, [], [*sums, *lines], check, d, a1=a1, a2=a2, b1=b1, b2=b2, who=who)


# ---------------------------------------------------------------------------- counting

COUNT = {
    "legs": {
        "en": (
            ("A farm has {n1} {x1} and {n2} {x2}. How many legs are there in all?", "There are {box} legs."),
        ),
        "pt-BR": (
            ("Uma fazenda tem {n1} {x1} e {n2} {x2}. Quantas patas há ao todo?", "Há {box} patas ao todo."),
        ),
    },
    "wheels": {
        "en": (
            (
                "A parking lot has {n1} {x1} and {n2} {x2}. How many wheels are there?",
                "There are {box} wheels.",
            ),
        ),
        "pt-BR": (("Um estacionamento tem {n1} {x1} e {n2} {x2}. Quantas rodas há?", "Há {box} rodas."),),
    },
    "sides": {
        "en": (
            (
                "{name} draws {n1} {x1} and {n2} {x2}. How many sides do the shapes have in all?",
                "The shapes have {box} sides in all.",
            ),
        ),
        "pt-BR": (
            (
                "{name} desenha {n1} {x1} e {n2} {x2}. Quantos lados as figuras têm ao todo?",
                "As figuras têm {box} lados ao todo.",
            ),
        ),
    },
}
COUNT_UNIT = {"legs": ("legs", "patas"), "wheels": ("wheels", "rodas"), "sides": ("sides", "lados")}


def _two_of(r: random.Random, choices: Iterable[int], hi: int) -> tuple[int, ...]:
    k1, k2 = r.sample(sorted(choices), 2)
    return k1, r.randint(2, hi), k2, r.randint(2, hi)


def _count_nouns(ctx: Ctx, what: str, k: int) -> str:
    i = 0 if ctx.en else 1
    if what == "legs":
        return ctx.rng.choice(ANIMALS[k])[i]
    return (VEHICLES if what == "wheels" else SHAPES)[k][i]


def _count_two(ctx: Ctx, what: str, nums: tuple[int, ...]) -> Draft:
    """n1 things with k1 each and n2 with k2 each: the total."""
    k1, n1, k2, n2 = nums
    rng, unit = ctx.rng, COUNT_UNIT[what][0 if ctx.en else 1]
    x1, x2 = _count_nouns(ctx, what, k1), _count_nouns(ctx, what, k2)
    parts = [
        ctx.say(("{x}: {e} {u}.", "{e}."), ("{x}: {e} {u}.", "{e}."), x=x1, u=unit, e=mul_expr(ctx, n1, k1)),
        ctx.say(("{x}: {e} {u}.", "{e}."), ("{x}: {e} {u}.", "{e}."), x=x2, u=unit, e=mul_expr(ctx, n2, k2)),
    ]
    first = rng.random() < 0.5
    if not first:
        parts.reverse()
    p1, p2 = n1 * k1, n2 * k2
    s = add_expr(ctx, p1, p2) if first else add_expr(ctx, p2, p1)
    openers = [
        ctx.say(
            ("{x1} have {k1} {u} and {x2} have {k2}.",),
            ("{x1} têm {k1} {u}; {x2} têm {k2}.",),
            x1=x1,
            k1=k1,
            x2=x2,
            k2=k2,
            u=unit,
        )
    ]
    steps = [*parts, ctx.say(("in all: {s}.", "{s} {u}."), ("ao todo: {s}.", "{s} {u}."), s=s, u=unit)]
    return _int_draft(
        ctx, COUNT[what], openers, steps, f"{p1 + p2} - {p2} = {p1}", p1 + p2, n1=n1, x1=x1, n2=n2, x2=x2
    )


@variant("count", "legs", lambda r: _two_of(r, ANIMALS, 9))
def _count_legs(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _count_two(ctx, "legs", nums)


@variant("count", "wheels", lambda r: _two_of(r, VEHICLES, 12))
def _count_wheels(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _count_two(ctx, "wheels", nums)


@variant("count", "sides", lambda r: _two_of(r, SHAPES, 9))
def _count_sides(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _count_two(ctx, "sides", nums)


COUNT_REST = {
    "en": (
        (
            "A farm has {t} animals: {c} are chickens and the rest are {dogs}. "
            "How many legs are there in all?",
            "There are {box} legs in all.",
        ),
    ),
    "pt-BR": (
        (
            "Uma fazenda tem {t} animais: {c} são galinhas e o resto são {dogs}. Quantas patas há ao todo?",
            "Há {box} patas ao todo.",
        ),
    ),
}


@variant("count", "legs_rest", lambda r: (lambda t: (t, r.randint(2, t - 2)))(r.randint(5, 20)))
def _count_rest(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    t, c = nums
    rng, d = ctx.rng, t - c
    dogs = rng.choice(ANIMALS[4])[0 if ctx.en else 1]
    rest = ctx.say(("{dogs}: {t} - {c} = {d}.",), ("{dogs}: {t} - {c} = {d}.",), dogs=dogs, t=t, c=c, d=d)
    if rng.random() < 0.6:
        steps = [
            rest,
            f"{mul_expr(ctx, c, 2)}.",
            f"{mul_expr(ctx, d, 4)}." if d < 10 else f"{d} × 4 = {4 * d}.",
            f"{add_expr(ctx, 2 * c, 4 * d)}.",
        ]
    else:
        steps = [
            rest,
            ctx.say(
                ("if all had 2 legs: {t} × 2 = {x}.",),
                ("se todos tivessem 2 patas: {t} × 2 = {x}.",),
                t=t,
                x=2 * t,
            ),
            ctx.say(
                ("{d} {dogs} with 2 more legs each: {d} × 2 = {x}.",),
                ("{d} {dogs} com 2 patas a mais cada: {d} × 2 = {x}.",),
                d=d,
                dogs=dogs,
                x=2 * d,
            ),
            f"{add_expr(ctx, 2 * t, 2 * d)}.",
        ]
    return _int_draft(
        ctx, COUNT_REST, [], steps, f"{2 * c + 4 * d} - {4 * d} = {2 * c}", 2 * c + 4 * d, t=t, c=c, dogs=dogs
    )


# ---------------------------------------------------------------------------- one operation

ONE_GAIN = {
    "en": (
        (
            "{name} has {a} {items}. {She} gets {b} more. How many {items} does {she} have now?",
            "{name} has {box} {items} now.",
        ),
        (
            "There are {a} {items} in a box. {name} adds {b}. How many {items} are in the box?",
            "There are {box} {items} in the box.",
        ),
        (
            "{name} had {a} {items} and found {b} more today. How many does {she} have?",
            "{name} has {box} {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items}. {Ela} ganha mais {b}. {Q} {items} {ela} tem agora?",
            "{name} tem {box} {items} agora.",
        ),
        (
            "Há {a} {items} numa caixa. {name} coloca mais {b}. {Q} {items} há na caixa?",
            "Há {box} {items} na caixa.",
        ),
        ("{name} tinha {a} {items} e achou mais {b} hoje. {Q} {ela} tem?", "{name} tem {box} {items}."),
    ),
}
ONE_TAKE = {
    "en": (
        (
            "{name} has {a} {items} and gives {b} to {name2}. How many {items} does {name} have left?",
            "{name} has {box} {items} left.",
        ),
        (
            "A jar holds {a} {items}. {name} takes out {b}. How many are still in the jar?",
            "There are {box} {items} in the jar.",
        ),
        (
            "{name} needs {a} {items} for a project and already has {b}. How many more does {she} need?",
            "{name} needs {box} more {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items} e dá {b} para {name2}. {Q} {items} sobram para {name}?",
            "Sobram {box} {items} para {name}.",
        ),
        (
            "Um pote tem {a} {items}. {name} tira {b}. {Q} ainda estão no pote?",
            "Ainda há {box} {items} no pote.",
        ),
        (
            "{name} precisa de {a} {items} para um trabalho e já tem {b}. {Q} ainda faltam?",
            "Faltam {box} {items}.",
        ),
    ),
}
ONE_GROUPS = {
    "en": (
        (
            "{name} buys {n} packs with {v} {items} in each. How many {items} is that?",
            "That is {box} {items}.",
        ),
        (
            "A shelf has {n} rows of {v} {items}. How many {items} are on the shelf?",
            "There are {box} {items} on the shelf.",
        ),
        ("Each bag holds {v} {items}. How many {items} fit in {n} bags?", "{box} {items} fit in the bags."),
    ),
    "pt-BR": (
        (
            "{name} compra {n} pacotes com {v} {items} cada. {Q} {items} são ao todo?",
            "São {box} {items} ao todo.",
        ),
        (
            "Uma prateleira tem {n} fileiras de {v} {items}. {Q} {items} há na prateleira?",
            "Há {box} {items} na prateleira.",
        ),
        ("Cada saco leva {v} {items}. {Q} {items} cabem em {n} sacos?", "Cabem {box} {items} nos sacos."),
    ),
}
ONE_SHARE = {
    "en": (
        (
            "{name} shares {t} {items} equally among {n} friends. How many does each friend get?",
            "Each friend gets {box} {items}.",
        ),
        (
            "{t} {items} are packed into {n} equal boxes. How many {items} go in each box?",
            "Each box gets {box} {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} divide {t} {items} igualmente entre {n} amigos. {Q} cada um recebe?",
            "Cada amigo recebe {box} {items}.",
        ),
        (
            "{t} {items} são postos em {n} caixas iguais. {Q} {items} vão em cada caixa?",
            "Vão {box} {items} em cada caixa.",
        ),
    ),
}
ONE_CHANGE = {
    "en": (
        (
            "{name} pays for {a_good} with a {bill} bill. It costs {p}. How much change does {she} get?",
            "{name} gets {box} dollars in change.",
        ),
        (
            "{A_good} costs {p} and {name} hands over {bill}. What is the change?",
            "The change is {box} dollars.",
        ),
    ),
    "pt-BR": (
        (
            "{name} paga {a_good} de {p} com uma nota de {bill}. Quanto {ela} recebe de troco?",
            "{name} recebe {box} reais de troco.",
        ),
        ("{A_good} custa {p} e {name} entrega {bill}. Qual é o troco?", "O troco é de {box} reais."),
    ),
}
ONE_PRICE = {
    "en": (
        ("One {good1} costs {p}. How much do {n} {goods} cost?", "{n} {goods} cost {box} dollars."),
        ("{name} buys {n} {goods} at {p} each. How much does {she} pay?", "{name} pays {box} dollars."),
    ),
    "pt-BR": (
        ("Cada {good1} custa {p}. Quanto custam {n} {goods}?", "{n} {goods} custam {box} reais."),
        ("{name} compra {n} {goods} a {p} cada. Quanto {ela} paga?", "{name} paga {box} reais."),
    ),
}
ONE_APART = {
    "en": (
        (
            "{name} has {a} {items} and {name2} has {b}. How many more {items} does {name} have?",
            "{name} has {box} more {items}.",
        ),
    ),
    "pt-BR": (
        (
            "{name} tem {a} {items} e {name2} tem {b}. {Q} {items} {name} tem a mais?",
            "{name} tem {box} {items} a mais.",
        ),
    ),
}


def _one(ctx: Ctx, stories: dict, line: str, value: int, check: str, given: tuple[str, str], **kw) -> Draft:
    """A one-operation Draft: one line of arithmetic (an opener may restate the givens)."""
    openers = [ctx.say((given[0],), (given[1],), **kw)]
    return _int_draft(ctx, stories, openers, [f"{line}."], check, value, **kw)


@variant(ONE_STEP, "one_gain", lambda r: (r.randint(5, 89), r.randint(3, 59)))
def _one_gain(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _one(ctx, ONE_GAIN, add_expr(ctx, a, b), a + b, f"{a + b} - {b} = {a}",
                ("we start with {a}.", "começamos com {a}."), a=a, b=b)  # fmt: skip


@variant(ONE_STEP, "one_take", lambda r: (lambda a: (a, r.randint(2, a - 2)))(r.randint(12, 99)))
def _one_take(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _one(ctx, ONE_TAKE, sub_expr(ctx, a, b), a - b, f"{a - b} + {b} = {a}",
                ("{a} at first.", "{a} no começo."), a=a, b=b)  # fmt: skip


@variant(ONE_STEP, "one_apart", lambda r: (lambda b: (b + r.randint(2, 40), b))(r.randint(5, 60)))
def _one_apart(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _one(ctx, ONE_APART, sub_expr(ctx, a, b), a - b, f"{b} + {a - b} = {a}",
                ("{name}: {a}, {name2}: {b}.", "{name}: {a}, {name2}: {b}."), a=a, b=b)  # fmt: skip


@variant(ONE_STEP, "one_groups", lambda r: (r.randint(2, 9), r.randint(3, 25)))
def _one_groups(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v = nums
    return _one(ctx, ONE_GROUPS, mul_expr(ctx, n, v), n * v, f"{n * v} ÷ {n} = {v}",
                ("{n} groups of {v}.", "{n} grupos de {v}."), n=n, v=v)  # fmt: skip


@variant(ONE_STEP, "one_share", lambda r: (r.randint(2, 9), r.randint(2, 15)))
def _one_share(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, each = nums
    t = n * each
    return _one(ctx, ONE_SHARE, f"{t} ÷ {n} = {each}", each, f"{n} × {each} = {t}",
                ("{t} in {n} equal parts.", "{t} em {n} partes iguais."), t=t, n=n)  # fmt: skip


def _one_change_sample(r: random.Random) -> tuple[int, ...]:
    p = _price(r, 100, 4500)
    return p, r.choice([b for b in (1000, 2000, 5000, 10000) if b > p][:2])


@variant(ONE_STEP, "one_change", _one_change_sample)
def _one_change(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    p, bill = nums
    d = ctx.amt
    line = ctx.say(("change: {x}", "{x}"), ("troco: {x}", "{x}"), x=sub_expr(ctx, bill, p, d, 100))
    openers = [ctx.say(("{name} pays {b}.",), ("{name} paga {b}.",), b=ctx.cash(bill, True))]
    a_good = ctx.words["a_good"]
    return _money_draft(ctx, ONE_CHANGE, openers, [f"{line}."], f"{d(p)} + {d(bill - p)} = {d(bill)}",
                        bill - p, p=ctx.cash(p), bill=ctx.cash(bill, True), A_good=_cap(a_good))  # fmt: skip


@variant(ONE_STEP, "one_price", lambda r: (r.randint(2, 9), _price(r, 50, 2500)))
def _one_price(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, p = nums
    d = ctx.amt
    openers = [ctx.say(("{n} at {p} each.",), ("{n} a {p} cada.",), n=n, p=ctx.cash(p))]
    good1 = ctx.words["a_good"].split(" ", 1)[1]
    return _money_draft(ctx, ONE_PRICE, openers, [f"{mul_expr(ctx, n, p, d, 100)}."],
                        f"{d(n * p)} ÷ {n} = {d(p)}", n * p, n=n, p=ctx.cash(p), good1=good1)  # fmt: skip


# ---------------------------------------------------------------------------- everyday wording

# The way people ask: first person, relatives and friends, bills and rents, many phrasings for
# each operation. Every line of arithmetic names its operation before the expression ("add:",
# "subtract:", "multiply:", "divide:"), so the choice of operation is a step of its own, the
# one that wording outside the stories above most often got wrong. The arithmetic is written
# directly: with the calculator on, a decomposed line is only more numbers to copy.
APPLY = {"+": operator.add, "-": operator.sub, "×": operator.mul, "÷": operator.floordiv}  # ÷: exact here
OPS = {
    "+": ("add", "somamos"),
    "-": ("subtract", "subtraímos"),
    "×": ("multiply", "multiplicamos"),
    "÷": ("divide", "dividimos"),
}
REL = {
    "en": ("my aunt", "my uncle", "my grandma", "my grandpa", "my brother", "my sister", "my neighbour",
           "my friend", "my mom", "my dad"),
    "pt-BR": ("minha tia", "meu tio", "minha avó", "meu avô", "meu irmão", "minha irmã", "minha vizinha",
              "meu amigo", "minha mãe", "meu pai"),
}  # fmt: skip


def _op_lines(ctx: Ctx, ops: Sequence[tuple[int, str, int]]) -> tuple[list[str], int]:
    """`op word: a op b = c.` lines, one per (a, op, b), and the last line's result."""
    lines, value = [], 0
    for a, op, b in ops:
        value = APPLY[op](a, b)
        lines.append(f"{OPS[op][0 if ctx.en else 1]}: {a} {op} {b} = {value}.")
    return lines, value


def _everyday(ctx: Ctx, stories: dict, ops: Sequence[tuple[int, str, int]], check: str, **kw) -> Draft:
    """A Draft whose steps are `op word: a op b = c.` lines, one per (a, op, b)."""
    steps, value = _op_lines(ctx, ops)
    rel = ctx.rng.sample(REL[ctx.lang], 2)[0]  # drawn as a pair: the stream v8 and v9 trained on
    return _int_draft(ctx, stories, [], steps, check, value, rel=rel, Rel=_cap(rel), **kw)


def _spread(r: random.Random, lo: int, hi: int) -> int:
    """A whole number in [lo, hi], as often with few digits as with many."""
    top = r.choice([h for h in (99, 999, 9999) if h <= hi] or [hi])
    return r.randint(lo, min(top, hi))


EV_ADD = {
    "en": (
        ("I have {a} {items} and {rel} gave me {b} more. How many {items} do I have now?",
         "Now I have {box} {items}."),
        ("{name} picked {a} strawberries on Saturday and {b} on Sunday. How many did {she} pick over the weekend?",
         "{name} picked {box} strawberries."),
        ("We spent {a} dollars on food and {b} dollars on drinks. What did we spend altogether?",
         "We spent {box} dollars."),
        ("The school has {a} girls and {b} boys. How many children go to the school?",
         "{box} children go to the school."),
        ("{Rel} has {a} {items} and I have {b}. How many do we have between us?", "We have {box} {items}."),
        ("There were {a} people at the party and then {b} more came. How many people were there in the end?",
         "There were {box} people."),
        ("I ran {a} km last month and {b} km this month. What is my total?", "My total is {box} km."),
        ("A library got {a} new books in May and {b} in June. How many new books is that in total?",
         "That is {box} new books."),
    ),
    "pt-BR": (
        ("Eu tenho {a} {items} e {rel} me deu mais {b}. {Q} {items} eu tenho agora?", "Tenho {box} {items}."),
        ("{name} colheu {a} morangos no sábado e {b} no domingo. Quantos morangos {ela} colheu no fim de semana?",
         "{name} colheu {box} morangos."),
        ("Gastamos {a} reais com comida e {b} reais com bebida. Quanto gastamos ao todo?",
         "Gastamos {box} reais."),
        ("A escola tem {a} meninas e {b} meninos. Quantas crianças estudam lá?",
         "Estudam {box} crianças na escola."),
        ("{Rel} tem {a} {items} e eu tenho {b}. {Q} temos somando os dois?", "Temos {box} {items}."),
        ("Na festa havia {a} pessoas e depois chegaram mais {b}. Quantas pessoas ficaram na festa?",
         "Ficaram {box} pessoas."),
        ("Corri {a} km no mês passado e {b} km neste mês. Quanto corri no total?", "Corri {box} km."),
        ("A biblioteca recebeu {a} livros em maio e {b} em junho. Quantos livros chegaram nos dois meses?",
         "Chegaram {box} livros."),
    ),
}  # fmt: skip
EV_LEFT = {
    "en": (
        ("I had {a} {items} and gave {b} of them to {rel}. How many do I have left?", "I have {box} {items} left."),
        ("A bag holds {a} grams of flour and the recipe uses {b} grams. How much flour is left in the bag?",
         "{box} grams are left."),
        ("The plane has {a} seats and {b} are booked already. How many seats are still free?",
         "{box} seats are free."),
        ("{name} had {a} dollars and spent {b} on a jacket. How much money does {she} have now?",
         "{name} has {box} dollars now."),
        ("Out of {a} eggs, {b} broke on the way home. How many eggs are fine?", "{box} eggs are fine."),
        ("My phone had {a} photos and I deleted {b}. How many photos are on it now?",
         "There are {box} photos on it now."),
        ("The shop had {a} umbrellas and sold {b} when it rained. How many umbrellas remain?",
         "{box} umbrellas remain."),
    ),
    "pt-BR": (
        ("Eu tinha {a} {items} e dei {b} para {rel}. {Q} ficaram comigo?", "Ficaram {box} {items} comigo."),
        ("Um saco tem {a} gramas de farinha e a receita usa {b} gramas. Quanto de farinha sobra no saco?",
         "Sobram {box} gramas."),
        ("O avião tem {a} lugares e {b} já foram vendidos. Quantos lugares ainda estão livres?",
         "Estão livres {box} lugares."),
        ("{name} tinha {a} reais e gastou {b} numa jaqueta. Com quanto {ela} ficou?", "{name} ficou com {box} reais."),
        ("De {a} ovos, {b} quebraram no caminho. Quantos ovos estão inteiros?", "Estão inteiros {box} ovos."),
        ("Meu celular tinha {a} fotos e eu apaguei {b}. Quantas fotos restam?", "Restam {box} fotos."),
        ("A loja tinha {a} guarda-chuvas e vendeu {b} quando choveu. Quantos sobraram?",
         "Sobraram {box} guarda-chuvas."),
    ),
}  # fmt: skip
EV_NEED = {
    "en": (
        ("I want a bike that costs {a} dollars and I have saved {b}. How much more do I need?",
         "I need {box} dollars more."),
        ("The puzzle has {a} pieces and I have put in {b}. How many pieces are still to go?",
         "{box} pieces are still to go."),
        ("We need {a} chairs for the wedding and we have {b}. How many more chairs must we get?",
         "We must get {box} more chairs."),
        ("{name} wants to read {a} pages this week and has read {b}. How many pages does {she} have to go?",
         "{name} has {box} pages to go."),
        ("My goal is {a} steps a day. So far I walked {b}. How many steps am I missing?",
         "I am missing {box} steps."),
    ),
    "pt-BR": (
        ("Quero uma bicicleta de {a} reais e já juntei {b}. Quanto ainda preciso juntar?",
         "Ainda preciso de {box} reais."),
        ("O quebra-cabeça tem {a} peças e eu já encaixei {b}. Quantas peças faltam?", "Faltam {box} peças."),
        ("Precisamos de {a} cadeiras para o casamento e temos {b}. Quantas cadeiras ainda faltam?",
         "Faltam {box} cadeiras."),
        ("{name} quer ler {a} páginas nesta semana e já leu {b}. Quantas páginas ainda faltam?",
         "Faltam {box} páginas."),
        ("Minha meta é andar {a} passos por dia. Até agora andei {b}. Quantos passos faltam?",
         "Faltam {box} passos."),
    ),
}  # fmt: skip
EV_APART = {
    "en": (
        ("{name} is {a} years old and {her} cousin is {b}. How much older is {name}?",
         "{name} is {box} years older."),
        ("A red coat costs {a} dollars and a blue one costs {b}. How much cheaper is the blue coat?",
         "The blue coat is {box} dollars cheaper."),
        ("Our team scored {a} points and the other team scored {b}. By how many points did we win?",
         "We won by {box} points."),
        ("My tree is {a} cm tall and {rel}'s tree is {b} cm. What is the difference in height?",
         "The difference is {box} cm."),
        ("{name} has {a} followers and {name2} has {b}. How many more followers does {name} have?",
         "{name} has {box} more followers."),
    ),
    "pt-BR": (
        ("{name} tem {a} anos e o primo tem {b}. Quantos anos {name} tem a mais?", "{name} tem {box} anos a mais."),
        ("Um casaco vermelho custa {a} reais e um azul custa {b}. Quanto o azul é mais barato?",
         "O azul é {box} reais mais barato."),
        ("Nosso time fez {a} pontos e o outro fez {b}. Ganhamos por quantos pontos?",
         "Ganhamos por {box} pontos."),
        ("Minha árvore tem {a} cm e a árvore de {rel} tem {b} cm. Qual é a diferença de altura?",
         "A diferença é de {box} cm."),
        ("{name} tem {a} seguidores e {name2} tem {b}. Quantos seguidores {name} tem a mais?",
         "{name} tem {box} seguidores a mais."),
    ),
}  # fmt: skip
EV_GROUPS = {
    "en": (
        ("There are {n} boxes with {v} {items} in each. How many {items} are there in all?",
         "There are {box} {items}."),
        ("Each of the {n} kids brought {v} {items} to class. How many {items} did they bring?",
         "They brought {box} {items}."),
        ("I read {v} pages every day for {n} days. How many pages did I read?", "I read {box} pages."),
        ("A minibus seats {v} people. How many people fit in {n} minibuses?", "{box} people fit."),
        ("One cake needs {v} grams of butter. How much butter do I need for {n} cakes?",
         "I need {box} grams of butter."),
        ("The theatre has {n} rows with {v} seats in every row. How many seats does it have?",
         "It has {box} seats."),
    ),
    "pt-BR": (
        ("Há {n} caixas com {v} {items} em cada uma. {Q} {items} há ao todo?", "Há {box} {items}."),
        ("Cada uma das {n} crianças levou {v} {items} para a aula. {Q} {items} elas levaram?",
         "Elas levaram {box} {items}."),
        ("Li {v} páginas por dia durante {n} dias. Quantas páginas eu li?", "Li {box} páginas."),
        ("Uma van leva {v} pessoas. Quantas pessoas cabem em {n} vans?", "Cabem {box} pessoas."),
        ("Um bolo leva {v} gramas de manteiga. Quanta manteiga preciso para {n} bolos?",
         "Preciso de {box} gramas de manteiga."),
        ("O teatro tem {n} fileiras com {v} cadeiras em cada. Quantas cadeiras há no teatro?",
         "Há {box} cadeiras."),
    ),
}  # fmt: skip
EV_RATE = {
    "en": (
        ("Tickets are {v} dollars each and there are {n} of us. How much do we pay?", "We pay {box} dollars."),
        ("I earn {v} dollars an hour. How much do I make in {n} hours?", "I make {box} dollars."),
        ("My internet costs {v} dollars a month. How much is that for {n} months?", "That is {box} dollars."),
        ("A bus ride to work costs {v} dollars. What do {n} rides cost?", "{n} rides cost {box} dollars."),
        ("{name} puts away {v} dollars every week. How much has {she} saved after {n} weeks?",
         "{name} has saved {box} dollars."),
        ("A swimming lesson is {v} dollars. I booked {n} lessons. What do I owe?", "I owe {box} dollars."),
    ),
    "pt-BR": (
        ("O ingresso custa {v} reais e somos {n} pessoas. Quanto vamos pagar?", "Vamos pagar {box} reais."),
        ("Ganho {v} reais por hora. Quanto ganho em {n} horas?", "Ganho {box} reais."),
        ("Minha internet custa {v} reais por mês. Quanto dá em {n} meses?", "Dá {box} reais."),
        ("Uma passagem de ônibus custa {v} reais. Quanto custam {n} passagens?", "Custam {box} reais."),
        ("{name} guarda {v} reais toda semana. Quanto {ela} juntou depois de {n} semanas?",
         "{name} juntou {box} reais."),
        ("Uma aula de natação custa {v} reais. Marquei {n} aulas. Quanto devo pagar?",
         "Devo pagar {box} reais."),
    ),
}  # fmt: skip
EV_HOW_MANY = {
    "en": (
        ("{t} kids are split into teams of {k}. How many teams are there?", "There are {box} teams."),
        ("A farmer packs {t} eggs in cartons that hold {k} each. How many cartons does he fill?",
         "He fills {box} cartons."),
        ("Each car takes {k} people. How many cars do {t} people need?", "They need {box} cars."),
        ("I cut a {t} cm ribbon into pieces of {k} cm. How many pieces do I get?", "I get {box} pieces."),
        ("{name} plants {t} flowers, {k} in each pot. How many pots does {she} use?",
         "{name} uses {box} pots."),
    ),
    "pt-BR": (
        ("{t} crianças foram divididas em times de {k}. Quantos times foram formados?",
         "Foram formados {box} times."),
        ("Um sítio embala {t} ovos em caixas de {k}. Quantas caixas ficam cheias?", "Ficam cheias {box} caixas."),
        ("Cada carro leva {k} pessoas. Quantos carros são precisos para {t} pessoas?",
         "São precisos {box} carros."),
        ("Cortei uma fita de {t} cm em pedaços de {k} cm. Quantos pedaços eu tenho?", "Tenho {box} pedaços."),
        ("{name} planta {t} flores, {k} em cada vaso. Quantos vasos {ela} usa?", "{name} usa {box} vasos."),
    ),
}  # fmt: skip
EV_SHARE = {
    "en": (
        ("We split a bill of {t} dollars equally among {n} friends. How much does each person pay?",
         "Each person pays {box} dollars."),
        ("We paid {t} dollars for {n} tickets. How much was one ticket?", "One ticket was {box} dollars."),
        ("{name} has {t} {items} to share equally with {n} friends. How many does each friend get?",
         "Each friend gets {box} {items}."),
        ("A {t} km trip is driven in {n} equal days. How many km a day is that?", "That is {box} km a day."),
    ),
    "pt-BR": (
        ("Dividimos uma conta de {t} reais igualmente entre {n} amigos. Quanto cada um paga?",
         "Cada um paga {box} reais."),
        ("Pagamos {t} reais por {n} ingressos. Quanto custou cada ingresso?", "Cada ingresso custou {box} reais."),
        ("{name} vai dividir {t} {items} igualmente entre {n} amigos. Quanto cada amigo recebe?",
         "Cada amigo recebe {box} {items}."),
        ("Uma viagem de {t} km é feita em {n} dias iguais. Quantos km por dia?", "São {box} km por dia."),
    ),
}  # fmt: skip
EV_RATE_PLUS = {
    "en": (
        ("My rent is {v} dollars a month. I paid {n} months plus a deposit of {c} dollars. How much did I pay?",
         "I paid {box} dollars."),
        ("{name} pays {v} dollars a month for the gym and {c} dollars to join. What does {she} pay for the first {n} months?",
         "{name} pays {box} dollars."),
        ("I bought {n} shirts at {v} dollars each and a cap for {c} dollars. How much did I spend?",
         "I spent {box} dollars."),
        ("A plumber charges {v} dollars an hour and {c} dollars for the visit. What is the bill for {n} hours?",
         "The bill is {box} dollars."),
    ),
    "pt-BR": (
        ("Meu aluguel é {v} reais por mês. Paguei {n} meses e mais {c} reais de caução. Quanto paguei?",
         "Paguei {box} reais."),
        ("{name} paga {v} reais por mês de academia e {c} reais de matrícula. Quanto {ela} paga nos {n} primeiros meses?",
         "{name} paga {box} reais."),
        ("Comprei {n} camisetas a {v} reais cada e um boné de {c} reais. Quanto gastei?", "Gastei {box} reais."),
        ("O encanador cobra {v} reais por hora e {c} reais pela visita. Quanto custa um serviço de {n} horas?",
         "Custa {box} reais."),
    ),
}  # fmt: skip
EV_RATE_MINUS = {
    "en": (
        ("I get {v} dollars of pocket money a week. After {n} weeks I spent {c} dollars of it. How much is left?",
         "{box} dollars are left."),
        ("{name} earns {v} dollars a day. After {n} days {she} pays {c} dollars for lunch. What does {she} keep?",
         "{name} keeps {box} dollars."),
        ("A box holds {v} cookies. We opened {n} boxes and ate {c} cookies. How many cookies are left?",
         "{box} cookies are left."),
    ),
    "pt-BR": (
        ("Ganho {v} reais de mesada por semana. Em {n} semanas gastei {c} reais. Quanto sobrou?",
         "Sobraram {box} reais."),
        ("{name} ganha {v} reais por dia. Depois de {n} dias {ela} gasta {c} reais com almoço. Quanto sobra?",
         "Sobram {box} reais."),
        ("Uma caixa tem {v} biscoitos. Abrimos {n} caixas e comemos {c} biscoitos. Quantos sobraram?",
         "Sobraram {box} biscoitos."),
    ),
}  # fmt: skip
EV_CHANGE_N = {
    "en": (
        ("I bought {n} sandwiches at {v} dollars each and paid with {c} dollars. What change did I get?",
         "I got {box} dollars in change."),
        ("{name} buys {n} notebooks for {v} dollars each and hands over {c} dollars. How much change comes back?",
         "{box} dollars come back."),
    ),
    "pt-BR": (
        ("Comprei {n} sanduíches a {v} reais cada e paguei com {c} reais. Quanto recebi de troco?",
         "Recebi {box} reais de troco."),
        ("{name} compra {n} cadernos de {v} reais e entrega {c} reais. Quanto volta de troco?",
         "Voltam {box} reais."),
    ),
}  # fmt: skip
EV_CHANGE_TWO = {
    "en": (
        ("I paid for a shirt at {a} dollars and socks at {b} dollars with {c} dollars. What change did I get?",
         "I got {box} dollars back."),
        ("Lunch was {a} dollars and dessert {b} dollars. We paid with {c} dollars. How much change is that?",
         "The change is {box} dollars."),
    ),
    "pt-BR": (
        ("Paguei uma camisa de {a} reais e meias de {b} reais com {c} reais. Quanto recebi de troco?",
         "Recebi {box} reais de troco."),
        ("O almoço deu {a} reais e a sobremesa {b} reais. Pagamos com {c} reais. Qual foi o troco?",
         "O troco foi {box} reais."),
    ),
}  # fmt: skip
EV_OUT_IN = {
    "en": (
        ("The bus left with {a} people. At the next stop {b} got off and {c} got on. How many are on the bus now?",
         "{box} people are on the bus."),
        ("The shop had {a} melons. It sold {b} and then got {c} more. How many melons does it have now?",
         "It has {box} melons."),
        ("I had {a} dollars in the bank, took out {b} and put in {c}. How much is in the bank now?",
         "There are {box} dollars in the bank."),
    ),
    "pt-BR": (
        ("O ônibus saiu com {a} pessoas. No ponto seguinte desceram {b} e subiram {c}. Quantas há agora?",
         "Há {box} pessoas no ônibus."),
        ("A loja tinha {a} melões. Vendeu {b} e depois recebeu mais {c}. Quantos melões ela tem?",
         "Ela tem {box} melões."),
        ("Eu tinha {a} reais no banco, saquei {b} e depositei {c}. Quanto tenho no banco agora?",
         "Tenho {box} reais no banco."),
    ),
}  # fmt: skip
EV_TWO_OUT = {
    "en": (
        ("A jug has {a} ml of juice. I poured {b} ml into one glass and {c} ml into another. How much juice is in the jug now?",
         "There are {box} ml left."),
        ("{name} had {a} dollars. {She} spent {b} at the market and {c} at the bakery. How much money is left?",
         "{name} has {box} dollars left."),
    ),
    "pt-BR": (
        ("Uma jarra tem {a} ml de suco. Pus {b} ml num copo e {c} ml em outro. Quanto suco ficou na jarra?",
         "Ficaram {box} ml."),
        ("{name} tinha {a} reais. Gastou {b} na feira e {c} na padaria. Quanto sobrou?", "Sobraram {box} reais."),
    ),
}  # fmt: skip
EV_GAIN_SPEND = {
    "en": (
        ("I had {a} dollars, {rel} gave me {b} for my birthday, and I spent {c} on a game. How much do I have now?",
         "I have {box} dollars now."),
        ("{name} had {a} {items}, won {b} more and lost {c}. How many {items} does {she} have?",
         "{name} has {box} {items}."),
    ),
    "pt-BR": (
        ("Eu tinha {a} reais, {rel} me deu {b} de aniversário e gastei {c} num jogo. Com quanto fiquei?",
         "Fiquei com {box} reais."),
        ("{name} tinha {a} {items}, ganhou mais {b} e perdeu {c}. {Q} {items} {ela} tem agora?",
         "{name} tem {box} {items}."),
    ),
}  # fmt: skip


def _two(r: random.Random, lo: int, hi: int) -> tuple[int, int]:
    """(a, b), a > b, both in [lo, hi] and spread over digit counts."""
    a = _spread(r, lo + 2, hi)
    return a, r.randint(lo, a - 1)


@variant(EVERYDAY, "ev_add", lambda r: (_spread(r, 10, 4999), _spread(r, 10, 4999)))
def _ev_add(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _everyday(ctx, EV_ADD, [(a, "+", b)], f"{a + b} - {b} = {a}", a=a, b=b)


@variant(EVERYDAY, "ev_left", lambda r: _two(r, 5, 2999))
def _ev_left(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _everyday(ctx, EV_LEFT, [(a, "-", b)], f"{a - b} + {b} = {a}", a=a, b=b)


@variant(EVERYDAY, "ev_need", lambda r: _two(r, 5, 2999))
def _ev_need(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _everyday(ctx, EV_NEED, [(a, "-", b)], f"{b} + {a - b} = {a}", a=a, b=b)


@variant(EVERYDAY, "ev_apart", lambda r: _two(r, 5, 150))
def _ev_apart(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    return _everyday(ctx, EV_APART, [(a, "-", b)], f"{b} + {a - b} = {a}", a=a, b=b)


@variant(EVERYDAY, "ev_groups", lambda r: (r.randint(2, 12), r.randint(2, 99)))
def _ev_groups(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v = nums
    return _everyday(ctx, EV_GROUPS, [(n, "×", v)], f"{n * v} ÷ {n} = {v}", n=n, v=v)


@variant(EVERYDAY, "ev_rate", lambda r: (r.randint(2, 12), _spread(r, 3, 999)))
def _ev_rate(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v = nums
    return _everyday(ctx, EV_RATE, [(v, "×", n)], f"{n * v} ÷ {n} = {v}", n=n, v=v)


@variant(EVERYDAY, "ev_how_many", lambda r: (r.randint(2, 15), r.randint(2, 25)))
def _ev_how_many(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, groups = nums
    t = k * groups
    return _everyday(ctx, EV_HOW_MANY, [(t, "÷", k)], f"{groups} × {k} = {t}", t=t, k=k)


@variant(EVERYDAY, "ev_share", lambda r: (r.randint(2, 10), r.randint(2, 150)))
def _ev_share(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, each = nums
    t = n * each
    return _everyday(ctx, EV_SHARE, [(t, "÷", n)], f"{n} × {each} = {t}", t=t, n=n)


@variant(EVERYDAY, "ev_rate_plus", lambda r: (r.randint(2, 12), _spread(r, 5, 2500), r.randint(5, 500)))
def _ev_rate_plus(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    return _everyday(ctx, EV_RATE_PLUS, [(v, "×", n), (v * n, "+", c)], f"{v * n + c} - {c} = {v * n}",
                     n=n, v=v, c=c)  # fmt: skip


def _rate_minus_sample(r: random.Random) -> tuple[int, ...]:
    n, v = r.randint(2, 12), r.randint(3, 99)
    return n, v, r.randint(1, n * v - 1)


@variant(EVERYDAY, "ev_rate_minus", _rate_minus_sample)
def _ev_rate_minus(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    return _everyday(ctx, EV_RATE_MINUS, [(v, "×", n), (v * n, "-", c)], f"{v * n - c} + {c} = {v * n}",
                     n=n, v=v, c=c)  # fmt: skip


def _change_n_sample(r: random.Random) -> tuple[int, ...]:
    n, v = r.randint(2, 9), r.randint(2, 60)
    return n, v, next(b for b in (10, 20, 50, 100, 200, 500, 1000) if b > n * v)


@variant(EVERYDAY, "ev_change_n", _change_n_sample)
def _ev_change_n(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    return _everyday(ctx, EV_CHANGE_N, [(v, "×", n), (c, "-", v * n)], f"{v * n} + {c - v * n} = {c}",
                     n=n, v=v, c=c)  # fmt: skip


def _change_two_sample(r: random.Random) -> tuple[int, ...]:
    a, b = r.randint(3, 180), r.randint(2, 90)
    return a, b, next(c for c in (10, 20, 50, 100, 200, 500) if c > a + b)


@variant(EVERYDAY, "ev_change_two", _change_two_sample)
def _ev_change_two(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _everyday(ctx, EV_CHANGE_TWO, [(a, "+", b), (c, "-", a + b)], f"{a + b} + {c - a - b} = {c}",
                     a=a, b=b, c=c)  # fmt: skip


def _out_in_sample(r: random.Random) -> tuple[int, ...]:
    a = _spread(r, 12, 2999)
    return a, r.randint(1, a - 1), _spread(r, 1, 999)


@variant(EVERYDAY, "ev_out_in", _out_in_sample)
def _ev_out_in(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _everyday(ctx, EV_OUT_IN, [(a, "-", b), (a - b, "+", c)], f"{a - b + c} - {c} = {a - b}",
                     a=a, b=b, c=c)  # fmt: skip


def _two_out_sample(r: random.Random) -> tuple[int, ...]:
    a = _spread(r, 20, 2999)
    b = r.randint(1, a - 2)
    return a, b, r.randint(1, a - b - 1)


@variant(EVERYDAY, "ev_two_out", _two_out_sample)
def _ev_two_out(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _everyday(ctx, EV_TWO_OUT, [(a, "-", b), (a - b, "-", c)], f"{a - b - c} + {c} = {a - b}",
                     a=a, b=b, c=c)  # fmt: skip


def _gain_spend_sample(r: random.Random) -> tuple[int, ...]:
    a, b = _spread(r, 5, 999), _spread(r, 5, 999)
    return a, b, r.randint(1, a + b - 1)


@variant(EVERYDAY, "ev_gain_spend", _gain_spend_sample)
def _ev_gain_spend(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _everyday(ctx, EV_GAIN_SPEND, [(a, "+", b), (a + b, "-", c)], f"{a + b - c} + {c} = {a + b}",
                     a=a, b=b, c=c)  # fmt: skip


# ---------------------------------------------------------------------------- set-up in several steps

# Everyday questions whose difficulty is the set-up, not the arithmetic: two things at two prices,
# a sum or a difference that is then multiplied or shared, things packed and then sold, a total
# that is said last, "me and 3 friends", "4 years younger" followed by "together". The everyday
# stream above has at most two operations, each named by its sentence; here the first line has to
# find the quantity that the question never names ("the hours worked", "the people going").
MU_TWO_PRICES = {
    "en": (
        ("I bought {n} {goods} at {v} dollars each and {m} {goods2} at {w} dollars each. How much did I spend?",
         "I spent {box} dollars."),
        ("{name} orders {n} coffees at {v} dollars and {m} cakes at {w} dollars. What is the bill?",
         "The bill is {box} dollars."),
        ("A school buys {n} balls for {v} dollars each and {m} nets for {w} dollars each. What does it pay in all?",
         "It pays {box} dollars."),
        ("For the trip we got {n} kilos of rice at {v} dollars a kilo and {m} kilos of beans at {w} dollars a kilo. What did the food cost?",
         "The food cost {box} dollars."),
    ),
    "pt-BR": (
        ("Comprei {n} {goods} de {v} reais e {m} {goods2} de {w} reais. Quanto gastei?", "Gastei {box} reais."),
        ("{name} pediu {n} cafés a {v} reais e {m} bolos a {w} reais. Quanto deu a conta?",
         "A conta deu {box} reais."),
        ("A escola comprou {n} bolas por {v} reais cada e {m} redes por {w} reais cada. Quanto pagou ao todo?",
         "Pagou {box} reais."),
        ("Para a viagem levamos {n} quilos de arroz a {v} reais o quilo e {m} quilos de feijão a {w} reais o quilo. Quanto custou a comida?",
         "A comida custou {box} reais."),
    ),
}  # fmt: skip
MU_BUY_CHANGE = {
    "en": (
        ("I bought {n} {goods} at {v} dollars each and a {thing} for {c} dollars, and paid with {note} dollars. How much change did I get?",
         "I got {box} dollars in change."),
        ("{name} pays for {n} tickets at {v} dollars and a {c} dollar parking fee with {note} dollars. What is {her} change?",
         "{name} gets {box} dollars back."),
        ("I had {note} dollars. I bought {n} {goods} at {v} dollars each and a {thing} for {c} dollars. How much money do I have left?",
         "I have {box} dollars left."),
    ),
    "pt-BR": (
        ("Comprei {n} {goods} de {v} reais e um {coisa} de {c} reais e paguei com {note} reais. Quanto recebi de troco?",
         "Recebi {box} reais de troco."),
        ("{name} pagou {n} ingressos de {v} reais e {c} reais de estacionamento com {note} reais. Qual foi o troco?",
         "O troco foi {box} reais."),
        ("Eu tinha {note} reais. Comprei {n} {goods} a {v} reais cada e um {coisa} de {c} reais. Quanto sobrou?",
         "Sobraram {box} reais."),
    ),
}  # fmt: skip
MU_THINGS = {
    "en": ("cap", "pen case", "umbrella", "belt", "lamp"),
    "pt-BR": ("boné", "estojo", "guarda-chuva", "cinto", "abajur"),
}
MU_SUM_TIMES = {
    "en": (
        ("I worked {a} hours on Monday and {b} hours on Tuesday. I am paid {k} dollars an hour. How much did I earn?",
         "I earned {box} dollars."),
        ("{name} invited {a} friends from school and {b} from the street. Each guest gets {k} candies. How many candies does {she} need?",
         "{name} needs {box} candies."),
        ("My internet costs {a} dollars a month and my phone {b} dollars a month. What do I pay for both in {k} months?",
         "I pay {box} dollars."),
        ("There are {a} girls and {b} boys in the class, and each child needs {k} notebooks. How many notebooks are needed?",
         "{box} notebooks are needed."),
    ),
    "pt-BR": (
        ("Trabalhei {a} horas na segunda e {b} horas na terça. Ganho {k} reais por hora. Quanto ganhei?",
         "Ganhei {box} reais."),
        ("{name} convidou {a} amigos da escola e {b} da rua. Cada convidado ganha {k} balas. Quantas balas {ela} precisa?",
         "{name} precisa de {box} balas."),
        ("Minha internet custa {a} reais por mês e o celular {b} reais por mês. Quanto pago pelos dois em {k} meses?",
         "Pago {box} reais."),
        ("Na turma há {a} meninas e {b} meninos, e cada criança precisa de {k} cadernos. Quantos cadernos são precisos?",
         "São precisos {box} cadernos."),
    ),
}  # fmt: skip
MU_DIFF_TIMES = {
    "en": (
        ("I earn {a} dollars a month and spend {b}. How much do I save in {k} months?", "I save {box} dollars."),
        ("{name} gets {a} dollars a week and spends {b} dollars of it. How much does {she} keep after {k} weeks?",
         "{name} keeps {box} dollars."),
        ("A shirt costs {a} dollars, but today it is {b} dollars off. How much do {k} shirts cost today?",
         "They cost {box} dollars."),
    ),
    "pt-BR": (
        ("Ganho {a} reais por mês e gasto {b}. Quanto guardo em {k} meses?", "Guardo {box} reais."),
        ("{name} recebe {a} reais por semana e gasta {b} reais. Quanto {ela} junta em {k} semanas?",
         "{name} junta {box} reais."),
        ("Uma camisa custa {a} reais, mas hoje tem {b} reais de desconto. Quanto custam {k} camisas hoje?",
         "Custam {box} reais."),
    ),
}  # fmt: skip
MU_PACK_SELL = {
    "en": (
        ("{name} baked {t} cookies and put them in bags of {k}. {She} sells each bag for {p} dollars. How much does {she} make?",
         "{name} makes {box} dollars."),
        ("A farm packs {t} eggs in boxes of {k} and sells a box for {p} dollars. How much does it get for all of them?",
         "It gets {box} dollars."),
        ("I have {t} photos and each album page holds {k}. An album page costs {p} dollars. What do the pages cost?",
         "The pages cost {box} dollars."),
    ),
    "pt-BR": (
        ("{name} fez {t} brownies e colocou em saquinhos com {k}. {Ela} vende cada saquinho por {p} reais. Quanto {ela} ganha?",
         "{name} ganha {box} reais."),
        ("Um sítio põe {t} ovos em caixas de {k} e vende a caixa por {p} reais. Quanto recebe por todos?",
         "Recebe {box} reais."),
        ("Tenho {t} fotos e cada página do álbum cabe {k}. Cada página custa {p} reais. Quanto custam as páginas?",
         "Custam {box} reais."),
    ),
}  # fmt: skip
MU_SUM_SHARE = {
    "en": (
        ("We picked {a} apples and {b} pears and shared them equally among {n} families. How many pieces of fruit does each family get?",
         "Each family gets {box}."),
        ("Dinner was {a} dollars and drinks {b} dollars. We are {n} friends and split it evenly. How much does each pay?",
         "Each pays {box} dollars."),
        ("{name} has {a} red beads and {b} blue beads and makes {n} equal bracelets. How many beads go on each?",
         "Each bracelet gets {box} beads."),
    ),
    "pt-BR": (
        ("Colhemos {a} maçãs e {b} peras e dividimos igualmente entre {n} famílias. Quantas frutas cada família recebe?",
         "Cada família recebe {box}."),
        ("O jantar deu {a} reais e as bebidas {b} reais. Somos {n} amigos e dividimos igualmente. Quanto cada um paga?",
         "Cada um paga {box} reais."),
        ("{name} tem {a} miçangas vermelhas e {b} azuis e faz {n} pulseiras iguais. Quantas miçangas vão em cada uma?",
         "Vão {box} miçangas em cada pulseira."),
    ),
}  # fmt: skip
MU_TOTAL_LAST = {
    "en": (
        ("I walked {a} km on Saturday and {b} km on Sunday. My goal for the month is {t} km. How many km are still missing?",
         "{box} km are still missing."),
        ("{name} sold {a} tickets in the morning and {b} in the afternoon. The theatre has {t} seats. How many seats are still free?",
         "{box} seats are still free."),
        ("I paid {a} dollars for the hotel and {b} dollars for food. My budget was {t} dollars. How much is left?",
         "{box} dollars are left."),
    ),
    "pt-BR": (
        ("Caminhei {a} km no sábado e {b} km no domingo. Minha meta do mês é {t} km. Quantos km ainda faltam?",
         "Faltam {box} km."),
        ("{name} vendeu {a} ingressos de manhã e {b} à tarde. O teatro tem {t} lugares. Quantos lugares ainda estão livres?",
         "Estão livres {box} lugares."),
        ("Paguei {a} reais de hotel e {b} reais de comida. Meu orçamento era {t} reais. Quanto sobrou?",
         "Sobraram {box} reais."),
    ),
}  # fmt: skip
MU_PEOPLE = {  # me and k others, at a price each, plus one fee
    "en": (
        ("A museum ticket is {v} dollars. I am going with {k} friends, and we also pay {c} dollars for the guide. How much do we pay?",
         "We pay {box} dollars."),
        ("Lunch costs {v} dollars per person. I am eating with {k} colleagues and we leave a {c} dollar tip. What is the total?",
         "The total is {box} dollars."),
        ("{name} and {k} cousins rent bikes at {v} dollars each and pay a {c} dollar deposit. How much do they pay?",
         "They pay {box} dollars."),
    ),
    "pt-BR": (
        ("O ingresso do museu custa {v} reais. Vou com {k} amigos e ainda pagamos {c} reais pelo guia. Quanto pagamos?",
         "Pagamos {box} reais."),
        ("O almoço custa {v} reais por pessoa. Vamos eu e {k} amigos, e deixamos {c} reais de gorjeta. Quanto deu tudo?",
         "Deu {box} reais."),
        ("{name} e {k} primos alugam bicicletas a {v} reais cada e pagam {c} reais de caução. Quanto pagam?",
         "Pagam {box} reais."),
    ),
}  # fmt: skip
MU_RELATION_SUM = {  # a, and the other a ± d: both together
    "en": {
        "-": (("My mom is {a}. My dad is {d} years younger than her. How old are they together?",
               "Together they are {box}."),
              ("{name} has {a} stickers and {name2} has {d} fewer. How many stickers do they have in all?",
               "They have {box} stickers."),
              ("The red bag weighs {a} kg and the blue one is {d} kg lighter. What do both weigh?",
               "Both weigh {box} kg.")),
        "+": (("My brother is {a}. My sister is {d} years older than him. What is the sum of their ages?",
               "The sum is {box}."),
              ("{name} read {a} pages and {name2} read {d} more than that. How many pages did they read altogether?",
               "They read {box} pages."),
              ("A sofa costs {a} dollars and a bed costs {d} dollars more. What do the two cost?",
               "They cost {box} dollars.")),
    },
    "pt-BR": {
        "-": (("Minha mãe tem {a} anos. Meu pai é {d} anos mais novo que ela. Quanto dá a soma das idades?",
               "A soma é {box}."),
              ("{name} tem {a} figurinhas e {name2} tem {d} a menos. Quantas figurinhas os dois têm juntos?",
               "Têm {box} figurinhas."),
              ("A mala vermelha pesa {a} kg e a azul é {d} kg mais leve. Quanto pesam as duas?",
               "Pesam {box} kg.")),
        "+": (("Meu irmão tem {a} anos. Minha irmã é {d} anos mais velha que ele. Quanto dá a soma das idades?",
               "A soma é {box}."),
              ("{name} leu {a} páginas e {name2} leu {d} a mais. Quantas páginas leram ao todo?",
               "Leram {box} páginas."),
              ("Um sofá custa {a} reais e uma cama custa {d} reais a mais. Quanto custam os dois?",
               "Custam {box} reais.")),
    },
}  # fmt: skip


MU_WITH_ME = ("counting me too", "contando comigo")
MU_OTHER = ("the other one", "o outro")
MU_BOTH = ("both together", "os dois juntos")


def _mu(ctx: Ctx, stories: dict, ops: Sequence[tuple[int, str, int]], check: str, labels=(), **kw) -> Draft:
    """Like `_everyday`, with a thing to buy for the templates that name one; `labels` (en, pt),
    one per line from the first, None for none, say what a line finds before its operation word
    ("counting me too, add: 4 + 1 = 5."); they are filled like the stories ("{k} people share it")."""
    steps, value = _op_lines(ctx, ops)
    for i, label in enumerate(labels):
        if label:  # None: this line has no label
            steps[i] = f"{label[0 if ctx.en else 1].format(**ctx.words, **kw)}, {steps[i]}"
    thing = ctx.rng.choice(MU_THINGS[ctx.lang])
    rel = ctx.rng.choice(REL[ctx.lang])
    return _int_draft(
        ctx, stories, [], steps, check, value, rel=rel, Rel=_cap(rel), thing=thing, coisa=thing, **kw
    )


def _two_prices_sample(r: random.Random) -> tuple[int, ...]:
    return r.randint(2, 9), r.randint(2, 60), r.randint(2, 9), r.randint(2, 60)


@variant(MULTI, "mu_two_prices", _two_prices_sample)
def _mu_two_prices(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, m, w = nums
    return _mu(ctx, MU_TWO_PRICES, [(n, "×", v), (m, "×", w), (n * v, "+", m * w)],
               f"{n * v + m * w} - {m * w} = {n * v}", n=n, v=v, m=m, w=w)  # fmt: skip


def _buy_change_sample(r: random.Random) -> tuple[int, ...]:
    n, v, c = r.randint(2, 9), r.randint(2, 60), r.randint(3, 90)
    return n, v, c, next(b for b in (20, 50, 100, 200, 500, 1000) if b > n * v + c)


@variant(MULTI, "mu_buy_change", _buy_change_sample)
def _mu_buy_change(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c, note = nums
    t = n * v + c
    return _mu(ctx, MU_BUY_CHANGE, [(n, "×", v), (n * v, "+", c), (note, "-", t)],
               f"{t} + {note - t} = {note}", n=n, v=v, c=c, note=note)  # fmt: skip


@variant(MULTI, "mu_sum_times", lambda r: (r.randint(2, 60), r.randint(2, 60), r.randint(2, 12)))
def _mu_sum_times(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, k = nums
    return _mu(ctx, MU_SUM_TIMES, [(a, "+", b), (a + b, "×", k)], f"{(a + b) * k} ÷ {k} = {a + b}",
               a=a, b=b, k=k)  # fmt: skip


def _diff_times_sample(r: random.Random) -> tuple[int, ...]:
    a = _spread(r, 20, 4999)
    return a, r.randint(5, a - 5), r.randint(2, 12)


@variant(MULTI, "mu_diff_times", _diff_times_sample)
def _mu_diff_times(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, k = nums
    return _mu(ctx, MU_DIFF_TIMES, [(a, "-", b), (a - b, "×", k)], f"{(a - b) * k} ÷ {k} = {a - b}",
               a=a, b=b, k=k)  # fmt: skip


@variant(MULTI, "mu_pack_sell", lambda r: (r.randint(2, 12), r.randint(2, 15), r.randint(2, 30)))
def _mu_pack_sell(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, bags, p = nums
    t = k * bags
    return _mu(ctx, MU_PACK_SELL, [(t, "÷", k), (bags, "×", p)], f"{bags * p} ÷ {p} = {bags}",
               t=t, k=k, p=p)  # fmt: skip


def _sum_share_sample(r: random.Random) -> tuple[int, ...]:
    n, each = r.randint(2, 9), r.randint(2, 60)
    a = r.randint(1, n * each - 1)
    return n, each, a


@variant(MULTI, "mu_sum_share", _sum_share_sample)
def _mu_sum_share(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, each, a = nums
    b, t = n * each - a, n * each
    return _mu(ctx, MU_SUM_SHARE, [(a, "+", b), (t, "÷", n)], f"{each} × {n} = {t}", a=a, b=b, n=n)


def _total_last_sample(r: random.Random) -> tuple[int, ...]:
    t = _spread(r, 30, 4999)
    a = r.randint(1, t - 3)
    return t, a, r.randint(1, t - a - 1)


@variant(MULTI, "mu_total_last", _total_last_sample)
def _mu_total_last(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    t, a, b = nums
    return _mu(ctx, MU_TOTAL_LAST, [(a, "+", b), (t, "-", a + b)], f"{a + b} + {t - a - b} = {t}",
               t=t, a=a, b=b)  # fmt: skip


@variant(MULTI, "mu_people", lambda r: (r.randint(2, 6), r.randint(3, 90), r.randint(2, 60)))
def _mu_people(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, v, c = nums
    n = k + 1  # the one asking counts too
    return _mu(ctx, MU_PEOPLE, [(k, "+", 1), (n, "×", v), (n * v, "+", c)], f"{n * v + c} - {c} = {n * v}",
               labels=[MU_WITH_ME], k=k, v=v, c=c)  # fmt: skip


def _relation_sum_sample(r: random.Random) -> tuple[int, ...]:
    a, sign = r.randint(20, 90), r.randrange(2)
    return a, r.randint(2, a - 2 if sign else 40), sign


@variant(MULTI, "mu_relation_sum", _relation_sum_sample)
def _mu_relation_sum(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, d, minus = nums
    op = "-" if minus else "+"
    other = APPLY[op](a, d)
    stories = {ctx.lang: MU_RELATION_SUM[ctx.lang][op]}
    return _mu(ctx, stories, [(a, op, d), (a, "+", other)], f"{a + other} - {other} = {a}",
               labels=[MU_OTHER, MU_BOTH], a=a, d=d)  # fmt: skip


# Set-ups of two operations that begin like the three-operation ones above: things at a price and
# one extra, with no note to pay; "me and k friends" with no fee; a bill shared by the one asking
# and k others. A model that only met the three-operation kind writes a third line after the
# right result of two ("36 + 15 = 51. Add: 51 + 15 = 66."). Days in w weeks (weekdays, every
# day, weekends) say the number of days a week that the question leaves unsaid.
MU_BUY_TOTAL = {
    "en": (
        ("I bought {n} {goods} at {v} dollars each and a {thing} for {c} dollars. How much did I spend?",
         "I spent {box} dollars."),
        ("{name} buys {n} tickets at {v} dollars and pays {c} dollars for parking. What does {she} pay in all?",
         "{name} pays {box} dollars."),
        ("For the party I got a cake for {c} dollars and {n} {goods} at {v} dollars each. What was the total?",
         "The total was {box} dollars."),
    ),
    "pt-BR": (
        ("Comprei {n} {goods} de {v} reais e um {coisa} de {c} reais. Quanto gastei?", "Gastei {box} reais."),
        ("{name} comprou {n} ingressos de {v} reais e pagou {c} reais de estacionamento. Quanto {ela} pagou ao todo?",
         "{name} pagou {box} reais."),
        ("Para a festa comprei um bolo de {c} reais e {n} {goods} a {v} reais cada. Quanto deu?", "Deu {box} reais."),
    ),
}  # fmt: skip
MU_PEOPLE_EACH = {  # me and k others, at a price each
    "en": (
        ("Me and my {k} friends are going to the cinema and a ticket is {v} dollars. How much do the tickets cost?",
         "The tickets cost {box} dollars."),
        ("I am travelling with {k} coworkers and the bus fare is {v} dollars per person. What do we pay together?",
         "We pay {box} dollars."),
        ("My {k} cousins and I each buy an ice cream at {v} dollars. How much is that?", "That is {box} dollars."),
    ),
    "pt-BR": (
        ("Eu e mais {k} amigos vamos ao cinema e o ingresso custa {v} reais. Quanto custam os ingressos?",
         "Custam {box} reais."),
        ("Vou viajar com {k} colegas e a passagem custa {v} reais por pessoa. Quanto pagamos juntos?",
         "Pagamos {box} reais."),
        ("Eu e meus {k} primos compramos um sorvete de {v} reais cada. Quanto deu?", "Deu {box} reais."),
    ),
}  # fmt: skip
MU_PEOPLE_SPLIT = {  # m things at v, shared by me and k others
    "en": (
        ("My {k} friends and I had {m} pizzas at {v} dollars each and shared the cost equally. How much does each of us pay?",
         "Each of us pays {box} dollars."),
        ("I rented a cabin with {k} friends for {m} nights at {v} dollars a night and we split it evenly. What is my share?",
         "My share is {box} dollars."),
        ("{name} and {k} classmates bought {m} boxes of paint at {v} dollars each and split the cost. How much does each pay?",
         "Each pays {box} dollars."),
    ),
    "pt-BR": (
        ("Eu e mais {k} amigos pedimos {m} pizzas de {v} reais e dividimos a conta igualmente. Quanto cada um pagou?",
         "Cada um pagou {box} reais."),
        ("Aluguei uma casa com {k} amigos por {m} noites a {v} reais a noite e dividimos igualmente. Quanto eu pago?",
         "Pago {box} reais."),
        ("{name} e {k} colegas compraram {m} caixas de tinta a {v} reais e dividiram o valor. Quanto cada um paga?",
         "Cada um paga {box} reais."),
    ),
}  # fmt: skip
MU_PEOPLE_SHARE = {  # a bill of t, shared by me and k others
    "en": (
        ("Dinner for me and my {k} friends came to {t} dollars and we split it equally. How much does each pay?",
         "Each pays {box} dollars."),
        ("I share a {t} dollar taxi ride with {k} colleagues, all paying the same. What do I pay?",
         "I pay {box} dollars."),
    ),
    "pt-BR": (
        ("O jantar meu e de mais {k} amigos deu {t} reais e dividimos igualmente. Quanto cada um paga?",
         "Cada um paga {box} reais."),
        ("Divido um táxi de {t} reais com {k} colegas, todos pagando o mesmo. Quanto eu pago?", "Pago {box} reais."),
    ),
}  # fmt: skip
MU_DAYS = {  # a each day of d days a week, for w weeks
    5: {
        "en": (("I cycle {a} km to work every weekday. How many km is that in {w} weeks?", "That is {box} km."),
               ("{name} reads {a} pages every school day. How many pages does {she} read in {w} weeks?",
                "{name} reads {box} pages."),
               ("I spend {a} dollars on lunch from Monday to Friday. How much do I spend in {w} weeks?",
                "I spend {box} dollars.")),
        "pt-BR": (("Pedalo {a} km até o trabalho todo dia útil. Quantos km são em {w} semanas?", "São {box} km."),
                  ("{name} lê {a} páginas em cada dia de aula. Quantas páginas {ela} lê em {w} semanas?",
                   "{name} lê {box} páginas."),
                  ("Gasto {a} reais de almoço de segunda a sexta. Quanto gasto em {w} semanas?",
                   "Gasto {box} reais.")),
    },
    7: {
        "en": (("I walk {a} minutes every day. How many minutes do I walk in {w} weeks?", "I walk {box} minutes."),
               ("{name} saves {a} dollars every single day. How much does {she} save in {w} weeks?",
                "{name} saves {box} dollars.")),
        "pt-BR": (("Caminho {a} minutos todos os dias. Quantos minutos caminho em {w} semanas?",
                   "Caminho {box} minutos."),
                  ("{name} guarda {a} reais todo dia. Quanto {ela} junta em {w} semanas?",
                   "{name} junta {box} reais.")),
    },
    2: {
        "en": (("I spend {a} dollars at the market every Saturday and Sunday. How much is that in {w} weeks?",
                "That is {box} dollars."),),
        "pt-BR": (("Gasto {a} reais na feira todo sábado e domingo. Quanto gasto em {w} semanas?",
                   "Gasto {box} reais."),),
    },
}  # fmt: skip
MU_DAYS_LABEL = {5: ("5 weekdays a week", "5 dias úteis por semana"), 7: ("7 days a week", "7 dias por semana"),
                 2: ("2 days a week", "2 dias por semana")}  # fmt: skip


@variant(MULTI, "mu_buy_total", lambda r: (r.randint(2, 9), r.randint(2, 60), r.randint(3, 90)))
def _mu_buy_total(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    return _mu(ctx, MU_BUY_TOTAL, [(n, "×", v), (n * v, "+", c)], f"{n * v + c} - {c} = {n * v}",
               n=n, v=v, c=c)  # fmt: skip


@variant(MULTI, "mu_people_each", lambda r: (r.randint(2, 8), r.randint(3, 90)))
def _mu_people_each(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, v = nums
    return _mu(ctx, MU_PEOPLE_EACH, [(k, "+", 1), (k + 1, "×", v)], f"{(k + 1) * v} ÷ {k + 1} = {v}",
               labels=[MU_WITH_ME], k=k, v=v)  # fmt: skip


def _people_split_sample(r: random.Random) -> tuple[int, ...]:
    k, m = r.randint(2, 7), r.randint(2, 6)
    n = k + 1
    step = m // math.gcd(n, m)  # each share a multiple of it, so that m divides the bill
    return k, m, n * step * r.randint(1, max(1, 60 // step)) // m


@variant(MULTI, "mu_people_split", _people_split_sample)
def _mu_people_split(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, m, v = nums
    t, n = m * v, k + 1
    return _mu(ctx, MU_PEOPLE_SPLIT, [(m, "×", v), (k, "+", 1), (t, "÷", n)], f"{t // n} × {n} = {t}",
               labels=[None, MU_WITH_ME], k=k, m=m, v=v)  # fmt: skip


def _people_share_sample(r: random.Random) -> tuple[int, ...]:
    k = r.randint(2, 8)
    return k, (k + 1) * r.randint(3, 90)


@variant(MULTI, "mu_people_share", _people_share_sample)
def _mu_people_share(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, t = nums
    n = k + 1
    return _mu(ctx, MU_PEOPLE_SHARE, [(k, "+", 1), (t, "÷", n)], f"{t // n} × {n} = {t}",
               labels=[MU_WITH_ME], k=k, t=t)  # fmt: skip


@variant(MULTI, "mu_days", lambda r: (r.choice((5, 5, 7, 2)), r.randint(2, 60), r.randint(2, 8)))
def _mu_days(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    d, a, w = nums
    stories = {ctx.lang: MU_DAYS[d][ctx.lang]}
    return _mu(ctx, stories, [(d, "×", w), (d * w, "×", a)], f"{d * w * a} ÷ {a} = {d * w}",
               labels=[MU_DAYS_LABEL[d]], a=a, w=w)  # fmt: skip


# More set-ups people write, each in two or three lines: weeks still to save, a product of three
# (hours a day, days a week, a wage), what is still to buy, what is left after some ate, a round
# trip, dozens, a distance at so many km a litre, a share among groups of a size, and "twice as
# many" read backwards. Lines for a number the question leaves unsaid say where it comes from.
MU_BACK = ("there and back", "ida e volta")
MU_DOZEN = ("a dozen is 12", "uma dúzia são 12")
MU_HALF = ("twice as many, so half", "o dobro, então a metade")
MU_NEED_WEEKS = {
    "en": (
        ("{name} wants a bike that costs {t} dollars. {She} has {h} dollars and saves {s} dollars a week. How many weeks until {she} can buy it?",
         "{name} needs {box} weeks."),
        ("A book has {t} pages. I have read {h} of them and I read {s} pages a day. In how many days do I finish it?",
         "I finish it in {box} days."),
    ),
    "pt-BR": (
        ("{name} quer uma bicicleta de {t} reais. {Ela} tem {h} reais e guarda {s} reais por semana. Em quantas semanas {ela} consegue comprar?",
         "Em {box} semanas."),
        ("Um livro tem {t} páginas. Já li {h} e leio {s} páginas por dia. Em quantos dias termino?",
         "Termino em {box} dias."),
    ),
}  # fmt: skip
MU_THREE_TIMES = {  # a × b, then × c
    "en": (
        ("{name} works {a} hours a day, {b} days a week, and earns {c} dollars an hour. How much does {she} earn in a week?",
         "{name} earns {box} dollars."),
        ("A shelf has {a} rows of {b} boxes, and each box holds {c} pens. How many pens are on the shelf?",
         "There are {box} pens."),
        ("I run {a} km a day, {b} days a week. How many km do I run in {c} weeks?", "I run {box} km."),
    ),
    "pt-BR": (
        ("{name} trabalha {a} horas por dia, {b} dias por semana, e ganha {c} reais por hora. Quanto {ela} ganha por semana?",
         "{name} ganha {box} reais."),
        ("Uma estante tem {a} prateleiras com {b} caixas, e cada caixa tem {c} canetas. Quantas canetas há na estante?",
         "Há {box} canetas."),
        ("Corro {a} km por dia, {b} dias por semana. Quantos km corro em {c} semanas?", "Corro {box} km."),
    ),
}  # fmt: skip
MU_NEED_BUY = {  # a each for b, with h already there
    "en": (
        ("A cake takes {a} eggs and I am making {b} cakes. I already have {h} eggs. How many eggs do I still need to buy?",
         "I need to buy {box} eggs."),
        ("Each of the {b} tables needs {a} chairs, and we have {h} chairs. How many more chairs do we need?",
         "We need {box} more chairs."),
    ),
    "pt-BR": (
        ("Um bolo leva {a} ovos e vou fazer {b} bolos. Já tenho {h} ovos. Quantos ovos ainda preciso comprar?",
         "Preciso comprar {box} ovos."),
        ("Cada uma das {b} mesas precisa de {a} cadeiras, e temos {h} cadeiras. Quantas cadeiras faltam?",
         "Faltam {box} cadeiras."),
    ),
}  # fmt: skip
MU_EATEN_LEFT = {  # n of s each, p people took e each
    "en": (
        ("We ordered {n} pizzas cut into {s} slices each, and the {p} of us ate {e} slices each. How many slices are left?",
         "{box} slices are left."),
        ("{name} bought {n} packs of {s} stickers and gave {e} stickers to each of {p} friends. How many stickers does {she} have left?",
         "{name} has {box} stickers left."),
    ),
    "pt-BR": (
        ("Pedimos {n} pizzas de {s} fatias, e nós {p} comemos {e} fatias cada um. Quantas fatias sobraram?",
         "Sobraram {box} fatias."),
        ("{name} comprou {n} pacotes com {s} figurinhas e deu {e} figurinhas para cada um de {p} amigos. Com quantas {ela} ficou?",
         "{name} ficou com {box} figurinhas."),
    ),
}  # fmt: skip
MU_ROUND_TRIP = {  # n people at p each way
    "en": (
        ("A family of {n} takes the bus to the beach. A ticket costs {p} dollars each way. What do they pay there and back?",
         "They pay {box} dollars."),
        ("{n} of us go to the stadium by train at {p} dollars a ride, going and coming back. How much do we spend?",
         "We spend {box} dollars."),
    ),
    "pt-BR": (
        ("Uma família de {n} pessoas vai de ônibus para a praia. A passagem custa {p} reais cada trecho. Quanto gastam na ida e na volta?",
         "Gastam {box} reais."),
        ("Somos {n} e vamos ao estádio de trem a {p} reais a viagem, ida e volta. Quanto gastamos?",
         "Gastamos {box} reais."),
    ),
}  # fmt: skip
MU_DOZENS = {  # k dozen, in groups of b
    "en": (
        ("A baker makes {k} dozen rolls and puts them in bags of {b}. How many bags does she fill?",
         "She fills {box} bags."),
        ("I bought {k} dozen eggs and we use {b} eggs a day. How many days do they last?", "They last {box} days."),
    ),
    "pt-BR": (
        ("Uma padeira faz {k} dúzias de pães e coloca em sacos de {b}. Quantos sacos ela enche?", "Enche {box} sacos."),
        ("Comprei {k} dúzias de ovos e usamos {b} ovos por dia. Quantos dias eles duram?", "Duram {box} dias."),
    ),
}  # fmt: skip
MU_RATE_COST = {  # d ÷ r units, at p each
    "en": (
        ("My car does {r} km per litre and fuel costs {p} dollars a litre. What does a trip of {d} km cost?",
         "The trip costs {box} dollars."),
        ("A tailor has {d} metres of fabric and each curtain takes {r} metres. Sewing a curtain costs {p} dollars. What does sewing all of them cost?",
         "It costs {box} dollars."),
    ),
    "pt-BR": (
        ("Quanto gasto de gasolina numa viagem de {d} km, se meu carro faz {r} km por litro e o litro custa {p} reais?",
         "Gasto {box} reais."),
        ("Uma costureira tem {d} metros de tecido e cada cortina usa {r} metros. Costurar uma cortina custa {p} reais. Quanto custa costurar todas?",
         "Custa {box} reais."),
    ),
}  # fmt: skip
MU_PER_GROUP = {  # t shared among g groups of s
    "en": (
        ("A teacher has {t} pencils to share equally among {g} classes of {s} students. How many pencils does each student get?",
         "Each student gets {box} pencils."),
        ("{t} candies are shared equally by {g} tables of {s} children. How many does each child get?",
         "Each child gets {box}."),
    ),
    "pt-BR": (
        ("A professora tem {t} lápis para dividir igualmente entre {g} turmas de {s} alunos. Quantos lápis cada aluno recebe?",
         "Cada aluno recebe {box} lápis."),
        ("{t} balas são divididas igualmente entre {g} mesas de {s} crianças. Quantas balas cada criança ganha?",
         "Cada criança ganha {box} balas."),
    ),
}  # fmt: skip
MU_TWICE = {  # a is twice the other; the other, less d
    "en": (
        ("{name} has {a} stickers, which is twice as many as {name2}. {name2} then gives {d} away. How many stickers does {name2} have left?",
         "{name2} has {box} stickers left."),
        ("My grandpa is {a}, twice my dad's age, and my dad is {d} years older than me. How old am I?",
         "I am {box}."),
    ),
    "pt-BR": (
        ("{name} tem {a} figurinhas, o dobro de {name2}. Depois {name2} dá {d} figurinhas. Com quantas {name2} fica?",
         "{name2} fica com {box} figurinhas."),
        ("Meu avô tem {a} anos, o dobro da idade do meu pai, e meu pai é {d} anos mais velho que eu. Qual é a minha idade?",
         "Tenho {box} anos."),
    ),
}  # fmt: skip


def _need_weeks_sample(r: random.Random) -> tuple[int, ...]:
    s, w, h = r.randint(2, 60), r.randint(2, 20), r.randint(5, 500)
    return h + s * w, h, s


@variant(MULTI, "mu_need_weeks", _need_weeks_sample)
def _mu_need_weeks(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    t, h, s = nums
    return _mu(ctx, MU_NEED_WEEKS, [(t, "-", h), (t - h, "÷", s)], f"{(t - h) // s} × {s} = {t - h}",
               t=t, h=h, s=s)  # fmt: skip


@variant(MULTI, "mu_three_times", lambda r: (r.randint(2, 12), r.randint(2, 7), r.randint(2, 30)))
def _mu_three_times(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _mu(ctx, MU_THREE_TIMES, [(a, "×", b), (a * b, "×", c)], f"{a * b * c} ÷ {c} = {a * b}",
               a=a, b=b, c=c)  # fmt: skip


def _need_buy_sample(r: random.Random) -> tuple[int, ...]:
    a, b = r.randint(2, 12), r.randint(2, 9)
    return a, b, r.randint(1, a * b - 1)


@variant(MULTI, "mu_need_buy", _need_buy_sample)
def _mu_need_buy(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, h = nums
    return _mu(ctx, MU_NEED_BUY, [(a, "×", b), (a * b, "-", h)], f"{a * b - h} + {h} = {a * b}",
               a=a, b=b, h=h)  # fmt: skip


def _eaten_left_sample(r: random.Random) -> tuple[int, ...]:
    n, s, p = r.randint(2, 9), r.randint(4, 12), r.randint(2, 8)
    return n, s, p, r.randint(1, max(1, (n * s - 1) // p))


@variant(MULTI, "mu_eaten_left", _eaten_left_sample)
def _mu_eaten_left(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, s, p, e = nums
    return _mu(ctx, MU_EATEN_LEFT, [(n, "×", s), (p, "×", e), (n * s, "-", p * e)],
               f"{n * s - p * e} + {p * e} = {n * s}", n=n, s=s, p=p, e=e)  # fmt: skip


@variant(MULTI, "mu_round_trip", lambda r: (r.randint(2, 8), r.randint(2, 90)))
def _mu_round_trip(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, p = nums
    return _mu(ctx, MU_ROUND_TRIP, [(n, "×", p), (n * p, "×", 2)], f"{n * p * 2} ÷ 2 = {n * p}",
               labels=[None, MU_BACK], n=n, p=p)  # fmt: skip


@variant(MULTI, "mu_dozens", lambda r: (r.randint(2, 24), r.choice((2, 3, 4, 6))))
def _mu_dozens(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, b = nums
    return _mu(ctx, MU_DOZENS, [(k, "×", 12), (12 * k, "÷", b)], f"{12 * k // b} × {b} = {12 * k}",
               labels=[MU_DOZEN], k=k, b=b)  # fmt: skip


@variant(MULTI, "mu_rate_cost", lambda r: (r.randint(5, 15), r.randint(2, 60), r.randint(2, 9)))
def _mu_rate_cost(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    r, n, p = nums
    return _mu(ctx, MU_RATE_COST, [(r * n, "÷", r), (n, "×", p)], f"{n * p} ÷ {p} = {n}",
               d=r * n, r=r, p=p)  # fmt: skip


@variant(MULTI, "mu_per_group", lambda r: (r.randint(2, 6), r.randint(2, 30), r.randint(1, 5)))
def _mu_per_group(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    g, s, e = nums
    return _mu(ctx, MU_PER_GROUP, [(g, "×", s), (g * s * e, "÷", g * s)], f"{e} × {g * s} = {g * s * e}",
               t=g * s * e, g=g, s=s)  # fmt: skip


def _twice_sample(r: random.Random) -> tuple[int, ...]:
    b = r.randint(20, 50)
    return b, r.randint(b // 2 + 5, b - 2)


@variant(MULTI, "mu_twice", _twice_sample)
def _mu_twice(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    b, d = nums
    return _mu(ctx, MU_TWICE, [(2 * b, "÷", 2), (b, "-", d)], f"{b - d} + {d} = {b}",
               labels=[MU_HALF], a=2 * b, d=d)  # fmt: skip


# Groups the one asking is not part of, beside the "me and k friends" kind above. A model that
# only met people counted with the one asking learns "counting me too, + 1" for any group
# ("Three friends split a bill", "5 classes of 28 students", "my mom paid for 8 notebooks"). Here
# the group is counted as named (its size is sometimes a word, "Three friends", said as a number
# in the line), and "{name} and her 2 friends" counts {name}, not the one asking.
NUM_WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
    "pt-BR": ("zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove", "dez"),
}
MU_GROUP_SPLIT = {  # k people, not the one asking, share a bill of a and an extra c
    "en": (
        ("{K} friends went out for dinner. The food was {a} dollars and the drinks {c} dollars, and they split it equally. How much does each friend pay?",
         "Each friend pays {box} dollars."),
        ("{k} coworkers buy a gift for {a} dollars and a card for {c} dollars and share the cost. What does each one pay?",
         "Each one pays {box} dollars."),
        ("My {k} kids got {a} dollars from grandma and {c} dollars from grandpa to share equally. How much does each kid get?",
         "Each kid gets {box} dollars."),
    ),
    "pt-BR": (
        ("{K} amigos saíram para jantar. A comida deu {a} reais e a bebida {c} reais, e eles dividiram igualmente. Quanto cada amigo paga?",
         "Cada amigo paga {box} reais."),
        ("{k} colegas compram um presente de {a} reais e um cartão de {c} reais e dividem o valor. Quanto cada um paga?",
         "Cada um paga {box} reais."),
        ("Meus {k} filhos ganharam {a} reais da avó e {c} reais do avô para dividir igualmente. Quanto cada filho ganha?",
         "Cada filho ganha {box} reais."),
    ),
}  # fmt: skip
MU_GROUP_SPLIT_LABEL = ("{k} people share it", "são {k} pessoas")
MU_NAMED_EACH = {  # {name} and k friends: k + 1 people, counting {name}, at v each
    "en": (
        ("{name} and {her} {k} friends each want a sandwich that costs {v} dollars. What do the sandwiches cost?",
         "The sandwiches cost {box} dollars."),
        ("{name} is taking {her} {k} cousins to the zoo, and a ticket is {v} dollars a person. How much do the tickets cost?",
         "The tickets cost {box} dollars."),
    ),
    "pt-BR": (
        ("{name} e os {k} amigos querem um sanduíche de {v} reais cada. Quanto custam os sanduíches?",
         "Os sanduíches custam {box} reais."),
        ("{name} vai levar os {k} primos ao zoológico e o ingresso custa {v} reais por pessoa. Quanto custam os ingressos?",
         "Os ingressos custam {box} reais."),
    ),
}  # fmt: skip
MU_NAMED_LABEL = ("counting {name} too", "contando {name} também")
MU_CLASSES = {  # g groups of s people and c more: g × s + c
    "en": (
        ("{K} classes of {s} students go on a school trip with {c} teachers. How many people go?",
         "{box} people go."),
        ("A wedding has {g} tables of {s} guests and {c} more guests standing. How many guests are there?",
         "There are {box} guests."),
    ),
    "pt-BR": (
        ("{Kf} turmas de {s} alunos vão a um passeio com {c} professores. Quantas pessoas vão?",
         "Vão {box} pessoas."),
        ("Numa festa há {g} mesas com {s} convidados e mais {c} convidados em pé. Quantos convidados são?",
         "São {box} convidados."),
    ),
}  # fmt: skip
MU_CLASSES_LABEL = ("{g} groups of {s}", "{g} grupos de {s}")
MU_UNIT_PRICE = {  # t paid for n things: what m of them cost
    "en": (
        ("My mom paid {t} dollars for {n} notebooks. How much would {m} notebooks cost?",
         "{m} notebooks cost {box} dollars."),
        ("{name} paid {t} dollars for {n} bus tickets. What do {m} tickets cost at the same price?",
         "{m} tickets cost {box} dollars."),
    ),
    "pt-BR": (
        ("Minha mãe pagou {t} reais por {n} cadernos. Quanto custariam {m} cadernos?",
         "{m} cadernos custariam {box} reais."),
        ("{name} pagou {t} reais por {n} passagens de ônibus. Quanto custam {m} passagens pelo mesmo preço?",
         "{m} passagens custam {box} reais."),
    ),
}  # fmt: skip


def _group_words(ctx: Ctx, k: int) -> dict:
    """A group's size as the question says it: a word ("Three", "Duas" before a feminine noun as
    {Kf}) half the time, else digits."""
    if ctx.rng.random() >= 0.5:
        return {"K": str(k), "Kf": str(k)}
    word = NUM_WORDS[ctx.lang][k]
    return {"K": _cap(word), "Kf": _cap("duas" if word == "dois" else word)}


def _group_split_sample(r: random.Random) -> tuple[int, ...]:
    k, each = r.randint(2, 10), r.randint(3, 60)
    a = r.randint(1, k * each - 1)
    return k, a, k * each - a


@variant(MULTI, "mu_group_split", _group_split_sample)
def _mu_group_split(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, a, c = nums
    return _mu(ctx, MU_GROUP_SPLIT, [(a, "+", c), (a + c, "÷", k)], f"{(a + c) // k} × {k} = {a + c}",
               labels=[None, MU_GROUP_SPLIT_LABEL], k=k, a=a, c=c, **_group_words(ctx, k))  # fmt: skip


@variant(MULTI, "mu_named_each", lambda r: (r.randint(2, 6), r.randint(2, 60)))
def _mu_named_each(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, v = nums
    return _mu(ctx, MU_NAMED_EACH, [(k, "+", 1), (k + 1, "×", v)], f"{(k + 1) * v} ÷ {k + 1} = {v}",
               labels=[MU_NAMED_LABEL], k=k, v=v)  # fmt: skip


@variant(MULTI, "mu_classes", lambda r: (r.randint(2, 10), r.randint(5, 40), r.randint(2, 12)))
def _mu_classes(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    g, s, c = nums
    return _mu(ctx, MU_CLASSES, [(g, "×", s), (g * s, "+", c)], f"{g * s + c} - {c} = {g * s}",
               labels=[MU_CLASSES_LABEL], g=g, s=s, c=c, **_group_words(ctx, g))  # fmt: skip


def _unit_price_sample(r: random.Random) -> tuple[int, ...]:
    n, m = r.sample(range(2, 13), 2)
    return n * r.randint(2, 40), n, m


@variant(MULTI, "mu_unit_price", _unit_price_sample)
def _mu_unit_price(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    t, n, m = nums
    return _mu(ctx, MU_UNIT_PRICE, [(t, "÷", n), (m, "×", t // n)], f"{m * t // n} ÷ {m} = {t // n}",
               t=t, n=n, m=m)  # fmt: skip


# ---------------------------------------------------------------------------- phrased from parts

# The everyday stream above has four to eight fixed sentences per kind, and a model trained on it
# learns those sentences more than the operations behind them: "gave 12 to my brother" is a
# subtraction in one of its sentences and, elsewhere, read as an addition. Here a question is put
# together from parts (who, the things, the verb that changes them, the container, the way the
# question is asked), and the same question endings ("How many ... now?") follow verbs that add
# and verbs that take away, so that the verb and the question's words decide the operation, not
# the sentence around them. Numbers a question leaves unsaid (twelve months in a year, seven days
# in a week, twelve in a dozen) are written as a line of their own before the arithmetic.
#
# Subjects: en (Subject, subject, do, have, object, possessive); pt-BR (Subject, subject, person
# 0 = eu, 1 = ele/ela, 2 = nós; gender). Verbs in pt-BR have one form per person.
PH_WHO = {
    "en": (
        lambda w: ("I", "I", "do", "have", "me", "my"),
        lambda w: ("We", "we", "do", "have", "us", "our"),
        lambda w: (w["name"], w["name"], "does", "has", w["him"], w["her"]),
        lambda w: (_cap(w["rel"]), w["rel"], "does", "has", w["rel_him"], w["rel_her"]),
    ),
    "pt-BR": (
        lambda w: ("Eu", "eu", 0, "m"),
        lambda w: ("Nós", "nós", 2, "m"),
        lambda w: (w["name"], w["name"], 1, w["g"]),
        lambda w: (_cap(w["rel"]), w["rel"], 1, w["rel_g"]),
    ),
}
PH_REL = {
    "en": (("my aunt", "f"), ("my uncle", "m"), ("my grandma", "f"), ("my grandpa", "m"), ("my brother", "m"),
           ("my sister", "f"), ("my neighbour", "f"), ("my friend", "m"), ("my mom", "f"), ("my dad", "m"),
           ("my cousin", "m"), ("my teacher", "f")),
    "pt-BR": (("minha tia", "f"), ("meu tio", "m"), ("minha avó", "f"), ("meu avô", "m"), ("meu irmão", "m"),
              ("minha irmã", "f"), ("minha vizinha", "f"), ("meu amigo", "m"), ("minha mãe", "f"),
              ("meu pai", "m"), ("meu primo", "m"), ("minha professora", "f")),
}  # fmt: skip
PH_THINGS = {  # (singular, plural[, gender])
    "en": (("marble", "marbles"), ("egg", "eggs"), ("cupcake", "cupcakes"), ("toy car", "toy cars"),
           ("bottle", "bottles"), ("plant", "plants"), ("photo", "photos"), ("crayon", "crayons"),
           ("banana", "bananas"), ("comic", "comics"), ("bead", "beads"), ("ticket", "tickets"),
           ("muffin", "muffins"), ("candle", "candles"), ("sticker", "stickers"), ("orange", "oranges")),
    "pt-BR": (("bolinha de gude", "bolinhas de gude", "f"), ("ovo", "ovos", "m"), ("bolinho", "bolinhos", "m"),
              ("carrinho", "carrinhos", "m"), ("garrafa", "garrafas", "f"), ("planta", "plantas", "f"),
              ("foto", "fotos", "f"), ("giz de cera", "gizes de cera", "m"), ("banana", "bananas", "f"),
              ("gibi", "gibis", "m"), ("miçanga", "miçangas", "f"), ("ingresso", "ingressos", "m"),
              ("brigadeiro", "brigadeiros", "m"), ("vela", "velas", "f"), ("figurinha", "figurinhas", "f"),
              ("laranja", "laranjas", "f")),
}  # fmt: skip
PH_BOXES = {  # containers and rows: (singular, plural[, gender])
    "en": (("box", "boxes"), ("bag", "bags"), ("basket", "baskets"), ("jar", "jars"), ("tray", "trays"),
           ("pack", "packs"), ("row", "rows"), ("shelf", "shelves"), ("plate", "plates"), ("carton", "cartons")),
    "pt-BR": (("caixa", "caixas", "f"), ("saco", "sacos", "m"), ("cesta", "cestas", "f"), ("pote", "potes", "m"),
              ("bandeja", "bandejas", "f"), ("pacote", "pacotes", "m"), ("fileira", "fileiras", "f"),
              ("prateleira", "prateleiras", "f"), ("prato", "pratos", "m"), ("caixinha", "caixinhas", "f")),
}  # fmt: skip
# Verbs that add to what the subject had, and verbs that take from it (en: past tense, the same
# for every subject; pt-BR: eu / ele / nós). {b} is the amount, {rel2} another person.
PH_GAIN = {
    "en": ("{S} bought {b} more.", "Then {s} found {b} more.", "{Rel2} gave {o} {b} more.",
           "{S} got {b} more from {rel2}.", "{S} won {b} more.", "Later {s} picked up {b} more.",
           "{S} received {b} more as a gift.", "After that {s} collected {b} more.", "{S} made {b} more."),
    "pt-BR": (("Comprei mais {b}.", "Comprou mais {b}.", "Compramos mais {b}."),
              ("Depois achei mais {b}.", "Depois achou mais {b}.", "Depois achamos mais {b}."),
              ("Ganhei mais {b} de {rel2}.", "Ganhou mais {b} de {rel2}.", "Ganhamos mais {b} de {rel2}."),
              ("Recebi mais {b} de presente.", "Recebeu mais {b} de presente.", "Recebemos mais {b} de presente."),
              ("Depois juntei mais {b}.", "Depois juntou mais {b}.", "Depois juntamos mais {b}."),
              ("Fiz mais {b}.", "Fez mais {b}.", "Fizemos mais {b}.")),
}  # fmt: skip
PH_LOSE = {
    "en": ("{S} gave {b} to {rel2}.", "{S} gave {b} of them away.", "{S} sold {b}.", "{S} lost {b}.",
           "{S} used {b}.", "{S} gave {rel2} {b}.", "{S} donated {b} to the school.", "{b} of them broke.",
           "{S} threw away {b} old ones.", "Then {s} gave away {b}."),
    "pt-BR": (("Dei {b} para {rel2}.", "Deu {b} para {rel2}.", "Demos {b} para {rel2}."),
              ("Vendi {b}.", "Vendeu {b}.", "Vendemos {b}."),
              ("Perdi {b}.", "Perdeu {b}.", "Perdemos {b}."),
              ("Usei {b}.", "Usou {b}.", "Usamos {b}."),
              ("Doei {b} para a escola.", "Doou {b} para a escola.", "Doamos {b} para a escola."),
              ("Joguei fora {b}.", "Jogou fora {b}.", "Jogamos fora {b}."),
              ("Depois dei {b} de presente.", "Depois deu {b} de presente.", "Depois demos {b} de presente.")),
}  # fmt: skip
PH_HAD = {
    "en": ("{S} had {a} {items}.", "{S} had {a} {items} at home.", "At first {s} had {a} {items}.",
           "{S} had a box of {a} {items}."),
    "pt-BR": (("Eu tinha {a} {items}.", "{S} tinha {a} {items}.", "Nós tínhamos {a} {items}."),
              ("No começo eu tinha {a} {items}.", "No começo {s} tinha {a} {items}.",
               "No começo tínhamos {a} {items}."),
              ("Tinha {a} {items} em casa.", "{S} tinha {a} {items} em casa.", "Tínhamos {a} {items} em casa.")),
}  # fmt: skip
# The question after a change: the same endings for gains and losses, so "now" decides nothing.
PH_HOW_MANY = {
    "en": ("How many {items} {do} {s} have now?", "How many {items} {do} {s} have left?",
           "How many {items} {do} {s} have at the end?", "How many {items} are there now?",
           "How many {items} is that now?", "How many {do} {s} have now?"),
    "pt-BR": (("{Q} {items} eu tenho agora?", "{Q} {items} {s} tem agora?", "{Q} {items} temos agora?"),
              ("Com {q} {items} eu fiquei?", "Com {q} {items} {s} ficou?", "Com {q} {items} ficamos?"),
              ("{Q} {items} há agora?", "{Q} {items} há agora?", "{Q} {items} há agora?"),
              ("{Q} ficaram no fim?", "{Q} ficaram no fim?", "{Q} ficaram no fim?")),
}  # fmt: skip
PH_ANSWER = {
    "en": ("The answer is {box} {items}.", "That makes {box} {items}.", "There are {box} {items}."),
    "pt-BR": ("A resposta é {box} {items}.", "São {box} {items}.", "Ficam {box} {items}."),
}
# Containers: n of them with v things in each.
PH_EACH = {
    "en": ("{S} bought {n} {boxes} of {items}, with {v} {items} in each {box1}.",
           "There are {n} {boxes} with {v} {items} in each.", "{S} had {n} {boxes}, and every {box1} held {v} {items}.",
           "Each {box1} holds {v} {items}. {S} filled {n} {boxes}.", "{S} put {v} {items} in each of {n} {boxes}.",
           "{n} {boxes}, {v} {items} per {box1}."),
    "pt-BR": (("Comprei {n} {boxes} de {items}, com {v} {items} em cada {box1}.",
               "{S} comprou {n} {boxes} de {items}, com {v} {items} em cada {box1}.",
               "Compramos {n} {boxes} de {items}, com {v} {items} em cada {box1}."),
              "Há {n} {boxes} com {v} {items} em cada.",
              ("Tenho {n} {boxes}, e cada {box1} tem {v} {items}.", "{S} tem {n} {boxes}, e cada {box1} tem {v} {items}.",
               "Temos {n} {boxes}, e cada {box1} tem {v} {items}."),
              ("Cada {box1} leva {v} {items}. Enchi {n} {boxes}.", "Cada {box1} leva {v} {items}. {S} encheu {n} {boxes}.",
               "Cada {box1} leva {v} {items}. Enchemos {n} {boxes}."),
              ("Pus {v} {items} em cada {box1} e enchi {n} {boxes}.", "{S} pôs {v} {items} em cada {box1} e encheu {n} {boxes}.",
               "Pusemos {v} {items} em cada {box1} e enchemos {n} {boxes}."),
              "São {n} {boxes} com {v} {items} cada."),
}  # fmt: skip
PH_EACH_Q = {
    "en": (
        "How many {items} are there in all?",
        "How many {items} is that altogether?",
        "How many {items} are there?",
        "How many {items} in total?",
    ),
    "pt-BR": (
        "{Q} {items} há ao todo?",
        "{Q} {items} são no total?",
        "{Q} {items} há?",
        "Quantos são no total?",
    ),
}
# Packing: t things, k to a container; how many containers.
PH_PACK = {
    "en": ("{S} had {t} {items} and put {k} in each {box1}.", "{S} packed {t} {items} into {boxes} of {k}.",
           "{t} {items} are set out in {boxes} of {k}.", "{S} wanted to put {t} {items} into {boxes}, {k} per {box1}.",
           "Each {box1} takes {k} {items}, and there are {t} {items}."),
    "pt-BR": (("Tenho {t} {items} e ponho {k} em cada {box1}.", "{S} tem {t} {items} e põe {k} em cada {box1}.",
               "Temos {t} {items} e pomos {k} em cada {box1}."),
              ("Embalei {t} {items} em {boxes} de {k}.", "{S} embalou {t} {items} em {boxes} de {k}.",
               "Embalamos {t} {items} em {boxes} de {k}."),
              "Arrumaram {t} {items} em {boxes} de {k}.",
              ("Quero guardar {t} {items} em {boxes}, {k} por {box1}.", "{S} quer guardar {t} {items} em {boxes}, {k} por {box1}.",
               "Queremos guardar {t} {items} em {boxes}, {k} por {box1}."),
              "Cada {box1} leva {k} {items}, e há {t} {items}."),
}  # fmt: skip
PH_PACK_Q = {
    "en": (
        "How many {boxes} are needed?",
        "How many {boxes} does that fill?",
        "How many {boxes} are there?",
        "How many {boxes} will there be?",
    ),
    "pt-BR": ("{Qb} {boxes} dá para encher?", "{Qb} {boxes} são no total?", "Qual é o número de {boxes}?"),
}
# Sharing: t things shared equally by n people; how many each.
PH_SPLIT = {
    "en": ("{S} shared {t} {items} equally among {n} friends.", "{t} {items} are split evenly between {n} kids.",
           "{S} divided {t} {items} equally into {n} {boxes}.", "{n} children share {t} {items} fairly."),
    "pt-BR": (("Dividi {t} {items} igualmente entre {n} amigos.", "{S} dividiu {t} {items} igualmente entre {n} amigos.",
               "Dividimos {t} {items} igualmente entre {n} amigos."),
              "Repartiram {t} {items} entre {n} crianças, em partes iguais.",
              ("Separei {t} {items} em {n} {boxes} iguais.", "{S} separou {t} {items} em {n} {boxes} iguais.",
               "Separamos {t} {items} em {n} {boxes} iguais."),
              "{n} crianças dividem {t} {items} igualmente."),
}  # fmt: skip
PH_SPLIT_Q = {
    "en": (
        "How many {items} does each one get?",
        "How many {items} go to each?",
        "How many is that for each?",
        "How many {items} in each share?",
    ),
    "pt-BR": (
        "{Q} {items} cada um recebe?",
        "{Q} {items} ficam para cada um?",
        "Quanto dá para cada um?",
        "{Q} {items} vão em cada parte?",
    ),
}
# Prices: n things at v each.
PH_PRICE = {
    "en": ("{S} bought {n} {goods} at {v} dollars each.", "{Goods} cost {v} dollars each. {S} bought {n}.",
           "One of the {goods} is {v} dollars, and {s} took {n}.", "{S} paid for {n} {goods}, {v} dollars apiece."),
    "pt-BR": (("Comprei {n} {goods} a {v} reais cada.", "{S} comprou {n} {goods} a {v} reais cada.",
               "Compramos {n} {goods} a {v} reais cada."),
              ("Cada {good1} custa {v} reais. Comprei {n}.", "Cada {good1} custa {v} reais. {S} comprou {n}.",
               "Cada {good1} custa {v} reais. Compramos {n}."),
              ("Levei {n} {goods} de {v} reais cada.", "{S} levou {n} {goods} de {v} reais cada.",
               "Levamos {n} {goods} de {v} reais cada.")),
}  # fmt: skip
PH_PRICE_Q = {
    "en": (
        "How much was that?",
        "What was the total?",
        "How much money was that in all?",
        "What did it cost?",
    ),
    "pt-BR": ("Quanto deu?", "Qual foi o total?", "Quanto foi ao todo?", "Quanto custou?"),
}
PH_MONEY_ANSWER = {"en": ("The total is {box} dollars.", "It is {box} dollars."),
                   "pt-BR": ("O total é {box} reais.", "Dá {box} reais.")}  # fmt: skip
# Comparisons: (en taller/shorter words, pt, unit) with the difference asked from either side.
PH_COMPARE = {
    "en": (
        ("{A} is {a} cm tall and {B} is {b} cm tall.", ("How much taller is {A}?", "How much shorter is {B}?",
         "What is the difference in height?", "By how many cm is {A} taller than {B}?"), "cm"),
        ("{A} is {a} years old and {B} is {b}.", ("How much older is {A}?", "How much younger is {B}?",
         "How many years older is {A} than {B}?", "What is the age difference?"), "years"),
        ("{A} weighs {a} kg and {B} weighs {b} kg.", ("How much heavier is {A}?", "How much lighter is {B}?",
         "How many kg more does {A} weigh?"), "kg"),
        ("{A} has {a} {items} and {B} has {b}.", ("How many more {items} does {A} have?",
         "How many fewer {items} does {B} have?", "How many {items} more has {A} got?"), "{items}"),
        ("{A} lives {a} km from school and {B} lives {b} km away.", ("How much farther away does {A} live?",
         "How much closer is {B}?"), "km"),
    ),
    "pt-BR": (
        ("{A} mede {a} cm e {B} mede {b} cm.", ("Quantos centímetros {A} tem a mais?",
         "Quanto {B} é mais {baixo}?", "Qual é a diferença de altura?"), "cm"),
        ("{A} tem {a} anos e {B} tem {b}.", ("Quantos anos {A} tem a mais que {B}?", "Quanto {B} é mais {novo}?",
         "Qual é a diferença de idade?"), "anos"),
        ("{A} pesa {a} kg e {B} pesa {b} kg.", ("Quantos quilos {A} pesa a mais?", "Quanto {B} pesa a menos?"), "kg"),
        ("{A} tem {a} {items} e {B} tem {b}.", ("{Q} {items} {A} tem a mais?", "{Q} {items} {B} tem a menos?"),
         "{items}"),
        ("{A} mora a {a} km da escola e {B} mora a {b} km.", ("Quantos km {A} mora mais longe?",
         "Quanto {B} mora mais perto?"), "km"),
    ),
}  # fmt: skip


def _ph_words(ctx: Ctx) -> dict:
    """The parts one phrased question is built from, chosen with the problem's random source."""
    rng, en = ctx.rng, ctx.en
    w = dict(ctx.words)
    (rel, rel_g), (rel2, _) = rng.sample(PH_REL[ctx.lang], 2)
    g = next(gg for n, gg in PEOPLE[ctx.lang] if n == w["name"])
    thing, box = rng.choice(PH_THINGS[ctx.lang]), rng.choice(PH_BOXES[ctx.lang])
    w |= {"rel": rel, "rel_g": rel_g, "rel2": rel2, "Rel2": _cap(rel2), "g": g,
          "item1": thing[0], "items": thing[1], "box1": box[0], "boxes": box[1]}  # fmt: skip
    if en:
        w |= {"him": "her" if g == "f" else "him", "her": "her" if g == "f" else "his",
              "rel_him": "her" if rel_g == "f" else "him", "rel_her": "her" if rel_g == "f" else "his"}  # fmt: skip
        who = rng.choice(PH_WHO["en"])(w)
        w |= dict(zip(("S", "s", "do", "have", "o", "poss"), who, strict=True))
    else:
        w |= {"Q": "Quantas" if thing[2] == "f" else "Quantos", "q": "quantas" if thing[2] == "f" else "quantos",
              "Qb": "Quantas" if box[2] == "f" else "Quantos"}  # fmt: skip
        who = rng.choice(PH_WHO["pt-BR"])(w)
        w |= dict(zip(("S", "s", "p", "sg"), who, strict=True))
    return w


PH_PAIRS = {  # the two people a comparison is about, besides the names: (word, gender)
    "en": (("Dad", "m"), ("Mom", "f"), ("Grandma", "f"), ("Grandpa", "m"), ("my brother", "m"),
           ("my sister", "f"), ("my cousin", "m"), ("my best friend", "f")),
    "pt-BR": (("meu pai", "m"), ("minha mãe", "f"), ("minha avó", "f"), ("meu avô", "m"), ("meu irmão", "m"),
              ("minha irmã", "f"), ("meu primo", "m"), ("minha melhor amiga", "f")),
}  # fmt: skip
PH_KNOWN = (  # (count, en questions, pt questions, en fact, pt fact); {v} a rate, {n} a number of periods
    (12, ("{name} pays {v} dollars a month for the gym. How much is that for a whole year?",
          "My phone plan is {v} dollars a month. What do I pay in a year?"),
         ("{name} paga {v} reais por mês de academia. Quanto dá em um ano inteiro?",
          "Meu plano de celular custa {v} reais por mês. Quanto pago em um ano?"),
     "A year has 12 months.", "Um ano tem 12 meses."),
    (7, ("{name} reads {v} pages every day. How many pages is that in a week?",
         "I walk {v} minutes a day. How many minutes do I walk in one week?"),
        ("{name} lê {v} páginas por dia. Quantas páginas lê em uma semana?",
         "Eu ando {v} minutos por dia. Quantos minutos ando em uma semana?"),
     "A week has 7 days.", "Uma semana tem 7 dias."),
    (12, ("{name} bought {v} dozen eggs. How many eggs is that?", "How many rolls are in {v} dozen rolls?"),
         ("{name} comprou {v} dúzias de ovos. Quantos ovos são?", "Quantos pães há em {v} dúzias de pães?"),
     "A dozen is 12.", "Uma dúzia são 12."),
    (60, ("The drive took {v} hours. How many minutes is that?", "{name} slept {v} hours. How many minutes is that?"),
         ("A viagem levou {v} horas. Quantos minutos são?", "{name} dormiu {v} horas. Quantos minutos são?"),
     "An hour has 60 minutes.", "Uma hora tem 60 minutos."),
    (5, ("{name} earns {v} dollars a day, Monday to Friday. How much is that for the week?",),
        ("{name} ganha {v} reais por dia, de segunda a sexta. Quanto ganha na semana?",),
     "Monday to Friday is 5 days.", "De segunda a sexta são 5 dias."),
)  # fmt: skip
PH_KNOWN_ANSWER = {
    "en": ("The answer is {box}.", "That is {box}."),
    "pt-BR": ("A resposta é {box}.", "São {box}."),
}


def _ph_pick(ctx: Ctx, w: dict, table: dict, with_subject: bool = False) -> str:
    """One sentence of a table, in the subject's person for pt-BR tables of (eu, ele, nós) forms;
    `with_subject`: only sentences that name the subject (a sentence after it may leave it out)."""
    options = table[ctx.lang]
    if with_subject:
        options = [o for o in options if isinstance(o, tuple) or "{S}" in o]
    choice = ctx.rng.choice(options)
    if isinstance(choice, tuple):
        choice = choice[w["p"]]
    return _cap(choice.format(**w))


def _ph_draft(ctx: Ctx, sentences: Sequence[str], answers: dict, w: dict, ops, check: str,
              fact: str = "") -> Draft:  # fmt: skip
    """A Draft from the question's sentences and `op word: a op b = c.` lines (a fact line first)."""
    lines, value = _op_lines(ctx, ops)
    steps = ([fact[:1].lower() + fact[1:]] if fact else []) + lines
    answer = ctx.rng.choice(answers[ctx.lang]).format(**w, box=_box(str(value)))
    return Draft(
        " ".join(_cap(s) for s in sentences), (), tuple(steps), check, str(value), str(value), answer
    )


def _ph_change(ctx: Ctx, nums: tuple[int, ...], moves: Sequence[dict]) -> Draft:
    """Had a, then one or two moves (gain or loss) of nums[1:], then how many now."""
    w = _ph_words(ctx)
    w["a"] = nums[0]
    sentences, ops, value = [_ph_pick(ctx, w, PH_HAD)], [], nums[0]
    for table, b in zip(moves, nums[1:], strict=True):
        sentences.append(_ph_pick(ctx, w | {"b": b}, table))
        op = "+" if table is PH_GAIN else "-"
        ops.append((value, op, b))
        value = APPLY[op](value, b)
    sentences.append(_ph_pick(ctx, w, PH_HOW_MANY))
    last_a, last_op, last_b = ops[-1]
    check = f"{value} - {last_b} = {last_a}" if last_op == "+" else f"{value} + {last_b} = {last_a}"
    return _ph_draft(ctx, sentences, PH_ANSWER, w, ops, check)


@variant(PHRASED, "ph_gain", lambda r: (_spread(r, 3, 999), _spread(r, 2, 999)))
def _ph_gain(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _ph_change(ctx, nums, (PH_GAIN,))


@variant(PHRASED, "ph_lose", lambda r: _two(r, 2, 999))
def _ph_lose(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _ph_change(ctx, nums, (PH_LOSE,))


def _gain_lose_sample(r: random.Random) -> tuple[int, ...]:
    a, b = _spread(r, 3, 500), _spread(r, 2, 500)
    return a, b, r.randint(1, a + b - 1)


@variant(PHRASED, "ph_gain_lose", _gain_lose_sample)
def _ph_gain_lose(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _ph_change(ctx, nums, (PH_GAIN, PH_LOSE))


def _lose_gain_sample(r: random.Random) -> tuple[int, ...]:
    a = _spread(r, 5, 500)
    return a, r.randint(1, a - 1), _spread(r, 1, 500)


@variant(PHRASED, "ph_lose_gain", _lose_gain_sample)
def _ph_lose_gain(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _ph_change(ctx, nums, (PH_LOSE, PH_GAIN))


def _lose_two_sample(r: random.Random) -> tuple[int, ...]:
    a = _spread(r, 10, 999)
    b = r.randint(1, a - 2)
    return a, b, r.randint(1, a - b - 1)


@variant(PHRASED, "ph_lose_two", _lose_two_sample)
def _ph_lose_two(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    return _ph_change(ctx, nums, (PH_LOSE, PH_LOSE))


@variant(PHRASED, "ph_each", lambda r: (r.randint(2, 15), r.randint(2, 60)))
def _ph_each(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v = nums
    w = _ph_words(ctx) | {"n": n, "v": v}
    sentences = [_ph_pick(ctx, w, PH_EACH), _ph_pick(ctx, w, PH_EACH_Q)]
    return _ph_draft(ctx, sentences, PH_ANSWER, w, [(n, "×", v)], f"{n * v} ÷ {n} = {v}")


def _each_lose_sample(r: random.Random) -> tuple[int, ...]:
    n, v = r.randint(2, 12), r.randint(2, 40)
    return n, v, r.randint(1, n * v - 1)


@variant(PHRASED, "ph_each_lose", _each_lose_sample)
def _ph_each_lose(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    w = _ph_words(ctx) | {"n": n, "v": v, "b": c}
    sentences = [
        _ph_pick(ctx, w, PH_EACH, with_subject=True),
        _ph_pick(ctx, w, PH_LOSE),
        _ph_pick(ctx, w, PH_HOW_MANY),
    ]
    return _ph_draft(
        ctx, sentences, PH_ANSWER, w, [(n, "×", v), (n * v, "-", c)], f"{n * v - c} + {c} = {n * v}"
    )


@variant(PHRASED, "ph_price", lambda r: (r.randint(2, 12), _spread(r, 2, 450)))
def _ph_price(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v = nums
    w = _ph_words(ctx) | {"n": n, "v": v}
    good = ctx.rng.choice(GOODS[ctx.lang])
    w |= {"goods": good[1], "Goods": _cap(good[1]), "good1": good[0].split(" ", 1)[1]}
    sentences = [_ph_pick(ctx, w, PH_PRICE), _ph_pick(ctx, w, PH_PRICE_Q)]
    return _ph_draft(ctx, sentences, PH_MONEY_ANSWER, w, [(v, "×", n)], f"{n * v} ÷ {n} = {v}")


@variant(PHRASED, "ph_pack", lambda r: (r.randint(2, 15), r.randint(2, 30)))
def _ph_pack(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    k, groups = nums
    t = k * groups
    w = _ph_words(ctx) | {"t": t, "k": k}
    sentences = [_ph_pick(ctx, w, PH_PACK), _ph_pick(ctx, w, PH_PACK_Q)]
    answers = {"en": ("There are {box} {boxes}.", "That fills {box} {boxes}."),
               "pt-BR": ("São {box} {boxes}.", "A resposta é {box} {boxes}.")}  # fmt: skip
    return _ph_draft(ctx, sentences, answers, w, [(t, "÷", k)], f"{groups} × {k} = {t}")


@variant(PHRASED, "ph_split", lambda r: (r.randint(2, 12), r.randint(2, 60)))
def _ph_split(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, each = nums
    t = n * each
    w = _ph_words(ctx) | {"t": t, "n": n}
    sentences = [_ph_pick(ctx, w, PH_SPLIT), _ph_pick(ctx, w, PH_SPLIT_Q)]
    answers = {"en": ("Each one gets {box} {items}.", "That is {box} {items} each."),
               "pt-BR": ("Cada um recebe {box} {items}.", "São {box} {items} para cada um.")}  # fmt: skip
    return _ph_draft(ctx, sentences, answers, w, [(t, "÷", n)], f"{n} × {each} = {t}")


@variant(PHRASED, "ph_compare", lambda r: _two(r, 2, 250))
def _ph_compare(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b = nums
    w = _ph_words(ctx) | {"a": a, "b": b}
    names = [(n, g) for n, g in PEOPLE[ctx.lang][:6]] + list(PH_PAIRS[ctx.lang])
    (pa, _), (pb, gb) = ctx.rng.sample(names, 2)
    setup, questions, unit = ctx.rng.choice(PH_COMPARE[ctx.lang])
    w |= {
        "A": pa,
        "B": pb,
        "baixo": "baixa" if gb == "f" else "baixo",
        "novo": "nova" if gb == "f" else "novo",
    }
    w["unit"] = unit.format(**w)
    sentences = [setup.format(**w), ctx.rng.choice(questions).format(**w)]
    answers = {"en": ("The difference is {box} {unit}.",), "pt-BR": ("A diferença é de {box} {unit}.",)}
    return _ph_draft(ctx, sentences, answers, w, [(a, "-", b)], f"{b} + {a - b} = {a}")


@variant(PHRASED, "ph_known", lambda r: (r.randrange(len(PH_KNOWN)), r.randint(2, 99)))
def _ph_known(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    which, v = nums
    count, en_q, pt_q, en_fact, pt_fact = PH_KNOWN[which]
    w = _ph_words(ctx) | {"v": v}
    question = ctx.rng.choice(en_q if ctx.en else pt_q).format(**w)
    fact = en_fact if ctx.en else pt_fact
    return _ph_draft(ctx, [question], PH_KNOWN_ANSWER, w, [(v, "×", count)], f"{v * count} ÷ {count} = {v}",
                     fact=fact)  # fmt: skip


# ---------------------------------------------------------------------------- rates over periods

# Something done or paid per day (or per month), asked for a week, two weeks, Monday to Friday, a
# year or half a year, and the total asked back per day or per month. The period's number of days
# or months is never in the question: the first thinking line says it ("A week has 7 days."), so
# that the model learns to bring it in, and to multiply or divide by what the question asks. The
# parts are combined freely (who, what, how often it is said, how the period is asked), so that no
# one wording carries the operation.

RT_PERIODS = {  # name: (count, per "day"/"month", en fact, pt fact, en "in …" phrases, pt phrases)
    "week": (7, "day", "A week has 7 days.", "Uma semana tem 7 dias.",
             ("in a week", "in one week", "every week", "in a whole week", "each week"),
             ("em uma semana", "por semana", "na semana", "em uma semana inteira", "toda semana")),
    "two_weeks": (14, "day", "Two weeks have 14 days.", "Duas semanas têm 14 dias.",
                  ("in two weeks", "in 2 weeks", "over two weeks"),
                  ("em duas semanas", "em 2 semanas", "ao longo de duas semanas")),
    "weekdays": (5, "day", "Monday to Friday is 5 days.", "De segunda a sexta são 5 dias.",
                 ("from Monday to Friday", "on the weekdays, Monday to Friday", "in a work week, Monday to Friday"),
                 ("de segunda a sexta", "na semana, de segunda a sexta", "nos dias úteis, de segunda a sexta")),
    "year": (12, "month", "A year has 12 months.", "Um ano tem 12 meses.",
             ("in a year", "in one year", "for the whole year", "per year", "in 12 months"),
             ("em um ano", "por ano", "no ano", "em um ano inteiro", "no ano todo")),
    "half_year": (6, "month", "Half a year is 6 months.", "Meio ano são 6 meses.",
                  ("in half a year", "in six months", "in 6 months"),
                  ("em meio ano", "em seis meses", "em um semestre")),
}  # fmt: skip
RT_FREQ = {  # how "per day" / "per month" is said after an amount
    "en": {"day": ("a day", "every day", "each day", "per day", "daily", "every night", "every morning",
                   "each evening"),
           "month": ("a month", "every month", "each month", "per month", "monthly")},
    "pt-BR": {"day": ("por dia", "todo dia", "todos os dias", "diariamente", "toda noite", "toda manhã",
                      "a cada dia"),
              "month": ("por mês", "todo mês", "todos os meses", "mensalmente", "a cada mês")},
}  # fmt: skip
RT_DOING = {  # (per, fact sentence with {v} and {freq}, question with {period}, answer with {box})
    "en": (
        ("day", "I walk my dog {v} times {freq}.", "How many walks is that {period}?", "That is {box} walks."),
        ("day", "{name} reads {v} pages {freq}.", "How many pages does {she} read {period}?",
         "{She} reads {box} pages."),
        ("day", "I drink {v} glasses of water {freq}.", "How many glasses do I drink {period}?",
         "That is {box} glasses."),
        ("day", "My son practises the piano for {v} minutes {freq}.", "How many minutes does he practise {period}?",
         "He practises {box} minutes."),
        ("day", "Our cat eats {v} grams of food {freq}.", "How much food does it eat {period}?",
         "It eats {box} grams."),
        ("day", "The bakery sells {v} cakes {freq}.", "How many cakes does it sell {period}?",
         "It sells {box} cakes."),
        ("day", "{name} saves {v} dollars {freq}.", "How much does {she} save {period}?", "{She} saves {box} dollars."),
        ("day", "I spend {v} dollars on the bus {freq}.", "How much do I spend on the bus {period}?",
         "I spend {box} dollars."),
        ("day", "We use {v} eggs {freq}.", "How many eggs do we use {period}?", "We use {box} eggs."),
        ("day", "Grandma takes {v} pills {freq}.", "How many pills does she take {period}?",
         "She takes {box} pills."),
        ("day", "{name} runs {v} km {freq}.", "How far does {she} run {period}?", "{She} runs {box} km."),
        ("day", "My daughter does {v} math exercises {freq}.", "How many exercises is that {period}?",
         "That is {box} exercises."),
        ("month", "My phone plan is {v} dollars {freq}.", "How much do I pay {period}?", "I pay {box} dollars."),
        ("month", "{name} pays {v} dollars {freq} for the gym.", "How much is that {period}?",
         "That is {box} dollars."),
        ("month", "Our internet costs {v} dollars {freq}.", "What do we pay for it {period}?",
         "We pay {box} dollars."),
        ("month", "I put {v} dollars into savings {freq}.", "How much do I save {period}?", "I save {box} dollars."),
        ("month", "{name} buys {v} books {freq}.", "How many books does {she} buy {period}?",
         "{She} buys {box} books."),
        ("month", "The garage rent is {v} dollars {freq}.", "How much rent is that {period}?",
         "That is {box} dollars."),
    ),
    "pt-BR": (
        ("day", "Levo meu cachorro para passear {v} vezes {freq}.", "Quantos passeios são {period}?",
         "São {box} passeios."),
        ("day", "{name} lê {v} páginas {freq}.", "Quantas páginas {ela} lê {period}?", "{Ela} lê {box} páginas."),
        ("day", "Bebo {v} copos de água {freq}.", "Quantos copos eu bebo {period}?", "São {box} copos."),
        ("day", "Meu filho estuda piano {v} minutos {freq}.", "Quantos minutos ele estuda {period}?",
         "Ele estuda {box} minutos."),
        ("day", "Nossa gata come {v} gramas de ração {freq}.", "Quanto de ração ela come {period}?",
         "Ela come {box} gramas."),
        ("day", "A padaria vende {v} bolos {freq}.", "Quantos bolos ela vende {period}?", "Ela vende {box} bolos."),
        ("day", "{name} guarda {v} reais {freq}.", "Quanto {ela} guarda {period}?", "{Ela} guarda {box} reais."),
        ("day", "Gasto {v} reais de ônibus {freq}.", "Quanto gasto de ônibus {period}?", "Gasto {box} reais."),
        ("day", "Usamos {v} ovos {freq}.", "Quantos ovos usamos {period}?", "Usamos {box} ovos."),
        ("day", "Minha avó toma {v} comprimidos {freq}.", "Quantos comprimidos ela toma {period}?",
         "Ela toma {box} comprimidos."),
        ("day", "{name} corre {v} km {freq}.", "Quantos km {ela} corre {period}?", "{Ela} corre {box} km."),
        ("day", "Minha filha faz {v} exercícios de matemática {freq}.", "Quantos exercícios são {period}?",
         "São {box} exercícios."),
        ("month", "Meu plano de celular custa {v} reais {freq}.", "Quanto pago {period}?", "Pago {box} reais."),
        ("month", "{name} paga {v} reais {freq} de academia.", "Quanto dá {period}?", "Dá {box} reais."),
        ("month", "Nossa internet custa {v} reais {freq}.", "Quanto pagamos por ela {period}?",
         "Pagamos {box} reais."),
        ("month", "Guardo {v} reais na poupança {freq}.", "Quanto guardo {period}?", "Guardo {box} reais."),
        ("month", "{name} compra {v} livros {freq}.", "Quantos livros {ela} compra {period}?",
         "{Ela} compra {box} livros."),
        ("month", "O aluguel da garagem é {v} reais {freq}.", "Quanto dá de aluguel {period}?", "Dá {box} reais."),
    ),
}  # fmt: skip
RT_BACK = {  # the total over a period, asked per day or month: (per, total with {t} and {period}, question)
    "en": (
        ("day", "We used {t} eggs {period}, the same number every day.", "How many eggs a day is that?",
         "That is {box} eggs a day."),
        ("day", "{name} walked {t} km {period}, the same distance each day.", "How many km did {she} walk a day?",
         "{She} walked {box} km a day."),
        ("day", "I drank {t} glasses of water {period}, the same every day.", "How many glasses a day?",
         "That is {box} glasses a day."),
        ("day", "The bakery sold {t} cakes {period}, the same number each day.", "How many cakes did it sell a day?",
         "It sold {box} cakes a day."),
        ("month", "I pay {t} dollars for my phone {period}, the same every month.", "How much is that a month?",
         "That is {box} dollars a month."),
        ("month", "{name} saved {t} dollars {period}, the same amount each month.",
         "How much did {she} save every month?", "{She} saved {box} dollars a month."),
    ),
    "pt-BR": (
        ("day", "Usamos {t} ovos {period}, o mesmo número todo dia.", "Quantos ovos por dia?",
         "São {box} ovos por dia."),
        ("day", "{name} andou {t} km {period}, a mesma distância cada dia.", "Quantos km {ela} andou por dia?",
         "{Ela} andou {box} km por dia."),
        ("day", "Bebi {t} copos de água {period}, o mesmo tanto todo dia.", "Quantos copos por dia?",
         "São {box} copos por dia."),
        ("day", "A padaria vendeu {t} bolos {period}, o mesmo número cada dia.", "Quantos bolos ela vendeu por dia?",
         "Ela vendeu {box} bolos por dia."),
        ("month", "Pago {t} reais de celular {period}, o mesmo valor todo mês.", "Quanto é por mês?",
         "São {box} reais por mês."),
        ("month", "{name} guardou {t} reais {period}, o mesmo valor cada mês.", "Quanto {ela} guardou por mês?",
         "{Ela} guardou {box} reais por mês."),
    ),
}  # fmt: skip


def _rt_sample(table: dict, tops: Sequence[int]) -> Callable[[random.Random], tuple[int, ...]]:
    """(which sentence, which period of its unit, the amount per day or month up to its top)."""

    def sample(r: random.Random) -> tuple[int, ...]:
        which = r.randrange(len(table["en"]))
        period = r.randrange(len(_rt_periods(table["en"][which][0])))
        return which, period, r.randint(2, tops[which])

    return sample


def _rt_periods(per: str) -> list[str]:
    """The periods counted in days ("week", "two_weeks", "weekdays") or months ("year", "half_year")."""
    return [name for name, p in RT_PERIODS.items() if p[1] == per]


def _rt_fact(ctx: Ctx, name: str) -> tuple[int, str, str]:
    """A period's count, its fact line (first word lower case, "Monday" kept) and one way to ask it."""
    count, _, en_fact, pt_fact, en_in, pt_in = RT_PERIODS[name]
    fact = en_fact if ctx.en else pt_fact
    if not fact.startswith("Monday"):
        fact = fact[:1].lower() + fact[1:]
    return count, fact, ctx.rng.choice(en_in if ctx.en else pt_in)


def _period_draft(
    ctx: Ctx, row: Sequence[str], w: dict, steps: Sequence, check: str, signs: bool = True
) -> Draft:
    """A Draft from a (sentence, question, answer) row and thinking lines in order: fact strings as
    they are, and (a, op, b) operations as `op word: a op b = c.` lines; the last operation's
    result is the answer. `signs`: whole amounts in the question may be written "$4" / "R$ 38"
    (`Ctx.signs`). The rates streams, in one and in two steps."""
    fact_s, question_s, answer_s = row
    lines, value = [], 0
    for step in steps:
        if isinstance(step, str):
            lines.append(step)
        else:
            op_lines, value = _op_lines(ctx, [step])
            lines += op_lines
    w = ctx.words | w
    question = " ".join(_cap(s.format(**w)) for s in (fact_s, question_s))
    return Draft(ctx.signs(question) if signs else question, (), tuple(lines), check, str(value), str(value),
                 answer_s.format(**w, box=_box(str(value))))  # fmt: skip


RT_DOING_TOP = (
    6,
    60,
    12,
    90,
    99,
    99,
    50,
    20,
    30,
    6,
    20,
    40,
    99,
    99,
    99,
    99,
    8,
    99,
)  # the most per day or month
RT_BACK_TOP = (30, 20, 12, 60, 99, 99)


@variant(RATES, "rt_over", _rt_sample(RT_DOING, RT_DOING_TOP))
def _rt_over(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "I walk my dog 3 times a day. How many walks is that in a week?": v × the period's count."""
    which, period, v = nums
    per, *row = RT_DOING[ctx.lang][which]
    count, fact, said = _rt_fact(ctx, _rt_periods(per)[period])
    w = {"v": v, "freq": ctx.rng.choice(RT_FREQ[ctx.lang][per]), "period": said}
    return _period_draft(ctx, row, w, (fact, (v, "×", count)), f"{v * count} ÷ {count} = {v}")


@variant(RATES, "rt_back", _rt_sample(RT_BACK, RT_BACK_TOP))
def _rt_back(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "We used 84 eggs in a week, the same number every day. How many a day?": the total ÷ the count."""
    which, period, v = nums
    per, *row = RT_BACK[ctx.lang][which]
    count, fact, said = _rt_fact(ctx, _rt_periods(per)[period])
    while said.startswith(("every", "each", "toda", "por")):  # "in a week", not "every week", for a total
        said = _rt_fact(ctx, _rt_periods(per)[period])[2]
    w = {"t": v * count, "period": said}
    return _period_draft(ctx, row, w, (fact, (v * count, "÷", count)), f"{v} × {count} = {v * count}")


# ---------------------------------------------------------------------------- rates in two steps

# Amounts over periods with one more step than the rates stream: a count in dozens, time in hours
# asked in minutes (or minutes asked in hours), two amounts a day, a fare there and back, and a
# yearly total written the way people write big amounts ("$2,400", "R$ 2.400") asked per month.
# Every fact the question leaves out has its own thinking line ("a dozen is 12.", "an hour has 60
# minutes.", "a week has 7 days."), and the arithmetic is written with plain digits ("2400 ÷ 12").

RS_DOZEN = {  # (fact sentence with {v} dozen and {freq}, question with {period}, answer with {box})
    "en": (
        ("The bakery sells {v} dozen rolls {freq}.", "How many rolls does it sell {period}?", "It sells {box} rolls."),
        ("{name} bakes {v} dozen cookies {freq}.", "How many cookies does {she} bake {period}?",
         "{She} bakes {box} cookies."),
        ("Our farm collects {v} dozen eggs {freq}.", "How many eggs is that {period}?", "That is {box} eggs."),
        ("The florist sells {v} dozen roses {freq}.", "How many roses does she sell {period}?",
         "She sells {box} roses."),
        ("We use {v} dozen eggs at the restaurant {freq}.", "How many eggs do we use {period}?",
         "We use {box} eggs."),
        ("I make {v} dozen pastries {freq}.", "How many pastries do I make {period}?", "I make {box} pastries."),
    ),
    "pt-BR": (
        ("A padaria vende {v} dúzias de pães {freq}.", "Quantos pães ela vende {period}?", "Ela vende {box} pães."),
        ("{name} faz {v} dúzias de brigadeiros {freq}.", "Quantos brigadeiros {ela} faz {period}?",
         "{Ela} faz {box} brigadeiros."),
        ("Nosso sítio recolhe {v} dúzias de ovos {freq}.", "Quantos ovos são {period}?", "São {box} ovos."),
        ("A floricultura vende {v} dúzias de rosas {freq}.", "Quantas rosas ela vende {period}?",
         "Ela vende {box} rosas."),
        ("No restaurante usamos {v} dúzias de ovos {freq}.", "Quantos ovos usamos {period}?", "Usamos {box} ovos."),
        ("Eu faço {v} dúzias de pastéis {freq}.", "Quantos pastéis eu faço {period}?", "Faço {box} pastéis."),
    ),
}  # fmt: skip
RS_HOURS = {  # hours a day, asked in minutes over the period
    "en": (
        ("I study for {v} hours {freq}.", "How many minutes do I study {period}?", "I study {box} minutes."),
        ("{name} works out {v} hours {freq}.", "How many minutes is that {period}?", "That is {box} minutes."),
        ("My son plays video games {v} hours {freq}.", "How many minutes does he play {period}?",
         "He plays {box} minutes."),
        ("{name} practises the guitar {v} hours {freq}.", "How many minutes does {she} practise {period}?",
         "{She} practises {box} minutes."),
    ),
    "pt-BR": (
        ("Estudo {v} horas {freq}.", "Quantos minutos eu estudo {period}?", "Estudo {box} minutos."),
        ("{name} malha {v} horas {freq}.", "Quantos minutos são {period}?", "São {box} minutos."),
        ("Meu filho joga videogame {v} horas {freq}.", "Quantos minutos ele joga {period}?",
         "Ele joga {box} minutos."),
        ("{name} pratica violão {v} horas {freq}.", "Quantos minutos {ela} pratica {period}?",
         "{Ela} pratica {box} minutos."),
    ),
}  # fmt: skip
RS_MINUTES = {  # minutes a day, asked in hours over the period
    "en": (
        ("I walk for {v} minutes {freq}.", "How many hours is that {period}?", "That is {box} hours."),
        ("{name} reads for {v} minutes {freq}.", "How many hours does {she} read {period}?",
         "{She} reads {box} hours."),
        ("My daughter practises the piano {v} minutes {freq}.", "How many hours does she practise {period}?",
         "She practises {box} hours."),
    ),
    "pt-BR": (
        ("Caminho {v} minutos {freq}.", "Quantas horas são {period}?", "São {box} horas."),
        ("{name} lê {v} minutos {freq}.", "Quantas horas {ela} lê {period}?", "{Ela} lê {box} horas."),
        ("Minha filha estuda piano {v} minutos {freq}.", "Quantas horas ela estuda {period}?",
         "Ela estuda {box} horas."),
    ),
}  # fmt: skip
RS_TWO = {  # two amounts every day, with {a} and {b}
    "en": (
        ("Grandma takes {a} pills every morning and {b} every night.", "How many pills does she take {period}?",
         "She takes {box} pills."),
        ("I drink {a} cups of coffee in the morning and {b} in the afternoon, every day.",
         "How many cups is that {period}?", "That is {box} cups."),
        ("Our dog gets {a} treats after breakfast and {b} after dinner each day.",
         "How many treats does it get {period}?", "It gets {box} treats."),
        ("{name} walks {a} km in the morning and {b} km in the evening every day.", "How far does {she} walk {period}?",
         "{She} walks {box} km."),
        ("The café sells {a} cakes before noon and {b} after noon every day.", "How many cakes does it sell {period}?",
         "It sells {box} cakes."),
    ),
    "pt-BR": (
        ("Minha mãe toma {a} comprimidos toda manhã e {b} toda noite.", "Quantos comprimidos ela toma {period}?",
         "Ela toma {box} comprimidos."),
        ("Tomo {a} xícaras de café de manhã e {b} à tarde, todo dia.", "Quantas xícaras são {period}?",
         "São {box} xícaras."),
        ("Nosso cachorro ganha {a} petiscos depois do café e {b} depois do jantar, todo dia.",
         "Quantos petiscos ele ganha {period}?", "Ele ganha {box} petiscos."),
        ("{name} caminha {a} km de manhã e {b} km à noite, todos os dias.", "Quantos km {ela} caminha {period}?",
         "{Ela} caminha {box} km."),
        ("A lanchonete vende {a} bolos de manhã e {b} à tarde, todo dia.", "Quantos bolos ela vende {period}?",
         "Ela vende {box} bolos."),
    ),
}  # fmt: skip
RS_TRIP = {  # one fare, there and back every day
    "en": (
        ("A bus ride costs {v} dollars, and I go to work and back home every day.",
         "How much do I spend on rides {period}?", "I spend {box} dollars."),
        ("{name} takes the train to school and back each day, and one ticket is {v} dollars.",
         "How much does {she} spend on tickets {period}?", "{She} spends {box} dollars."),
    ),
    "pt-BR": (
        ("A passagem de ônibus custa {v} reais, e vou ao trabalho e volto para casa todo dia.",
         "Quanto gasto de passagem {period}?", "Gasto {box} reais."),
        ("{name} vai de metrô para a escola e volta todo dia, e cada passagem custa {v} reais.",
         "Quanto {ela} gasta de passagem {period}?", "{Ela} gasta {box} reais."),
    ),
}  # fmt: skip
RS_YEARLY = {  # a yearly total with {t} written as people write big amounts, asked per month
    "en": (
        ("My car insurance costs {t} a year.", "How much is that per month?", "That is {box} dollars a month."),
        ("{name} pays {t} a year in rent for the shop.", "How much is it each month?",
         "It is {box} dollars a month."),
        ("I want to save {t} in a year, the same amount every month.", "How much should I save each month?",
         "Save {box} dollars a month."),
        ("Our school fees are {t} for the year, paid in equal monthly parts.", "How much is each month?",
         "Each month is {box} dollars."),
    ),
    "pt-BR": (
        ("O seguro do meu carro custa {t} por ano.", "Quanto dá por mês?", "Dá {box} reais por mês."),
        ("{name} paga {t} por ano de aluguel da loja.", "Quanto é por mês?", "São {box} reais por mês."),
        ("Quero juntar {t} em um ano, o mesmo valor todo mês.", "Quanto devo guardar por mês?",
         "Guarde {box} reais por mês."),
        ("A escola custa {t} por ano, pagos em parcelas mensais iguais.", "Qual o valor de cada mês?",
         "Cada mês são {box} reais."),
    ),
}  # fmt: skip
RS_FACTS = {  # the facts a question leaves out, as thinking lines
    "dozen": ("a dozen is 12.", "uma dúzia são 12."),
    "hour": ("an hour has 60 minutes.", "uma hora tem 60 minutos."),
    "trip": ("there and back is 2 rides.", "ida e volta são 2 passagens."),
}


def _rs_fact(ctx: Ctx, name: str) -> str:
    return RS_FACTS[name][0 if ctx.en else 1]


def _rs_days(r: random.Random, table: dict) -> tuple[int, int]:
    """(which sentence, which period counted in days)."""
    return r.randrange(len(table["en"])), r.randrange(len(_rt_periods("day")))


def _rs_grouped(ctx: Ctx, n: int) -> str:
    """A whole amount as people write it: "$2,400" or "2,400 dollars"; "R$ 2.400" or "2.400 reais"."""
    digits = f"{n:,}" if ctx.en else f"{n:,}".replace(",", ".")
    if ctx.rng.random() < 0.5:
        return f"${digits}" if ctx.en else f"R$ {digits}"
    return f"{digits} {'dollars' if ctx.en else 'reais'}"


def _rs_period(ctx: Ctx, period: int) -> tuple[int, str, dict]:
    """A period counted in days: its count, its fact line and the words that say it and "a day"."""
    count, fact, said = _rt_fact(ctx, _rt_periods("day")[period])
    return count, fact, {"period": said, "freq": ctx.rng.choice(RT_FREQ[ctx.lang]["day"])}


@variant(RATE_STEPS, "rs_dozen", lambda r: (*_rs_days(r, RS_DOZEN), r.randint(2, 9)))
def _rs_dozen(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "The bakery sells 5 dozen rolls a day. How many rolls in a week?": v × 12 × the count."""
    which, period, v = nums
    count, fact, w = _rs_period(ctx, period)
    steps = (_rs_fact(ctx, "dozen"), (v, "×", 12), fact, (12 * v, "×", count))
    return _period_draft(
        ctx, RS_DOZEN[ctx.lang][which], w | {"v": v}, steps, f"{12 * v * count} ÷ {count} = {12 * v}"
    )


@variant(RATE_STEPS, "rs_hours", lambda r: (*_rs_days(r, RS_HOURS), r.randint(2, 5)))
def _rs_hours(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "I study 2 hours a day. How many minutes in a week?": v × 60 × the count."""
    which, period, v = nums
    count, fact, w = _rs_period(ctx, period)
    steps = (_rs_fact(ctx, "hour"), (v, "×", 60), fact, (60 * v, "×", count))
    return _period_draft(
        ctx, RS_HOURS[ctx.lang][which], w | {"v": v}, steps, f"{60 * v * count} ÷ {count} = {60 * v}"
    )


def _rs_minutes_sample(r: random.Random) -> tuple[int, ...]:
    """Minutes a day whose total over the period is a whole number of hours, at least 2."""
    which, period = _rs_days(r, RS_MINUTES)
    count = RT_PERIODS[_rt_periods("day")[period]][0]
    step = 60 // math.gcd(count, 60)
    return which, period, step * r.randint(max(1, -(-120 // (step * count))), 120 // step)


@variant(RATE_STEPS, "rs_minutes", _rs_minutes_sample)
def _rs_minutes(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "I walk 30 minutes a day. How many hours in two weeks?": v × the count ÷ 60."""
    which, period, v = nums
    count, fact, w = _rs_period(ctx, period)
    steps = (fact, (v, "×", count), _rs_fact(ctx, "hour"), (v * count, "÷", 60))
    return _period_draft(
        ctx, RS_MINUTES[ctx.lang][which], w | {"v": v}, steps, f"{v * count // 60} × 60 = {v * count}"
    )


@variant(RATE_STEPS, "rs_two", lambda r: (*_rs_days(r, RS_TWO), r.randint(2, 6), r.randint(1, 6)))
def _rs_two(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "2 pills every morning and 1 every night. How many in two weeks?": (a + b) × the count."""
    which, period, a, b = nums
    count, fact, w = _rs_period(ctx, period)
    steps = ((a, "+", b), fact, (a + b, "×", count))
    return _period_draft(
        ctx, RS_TWO[ctx.lang][which], w | {"a": a, "b": b}, steps, f"{(a + b) * count} ÷ {count} = {a + b}"
    )


@variant(RATE_STEPS, "rs_trip", lambda r: (*_rs_days(r, RS_TRIP), r.randint(2, 9)))
def _rs_trip(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "A ride costs $4; to work and back every day. How much from Monday to Friday?": v × 2 × the count."""
    which, period, v = nums
    count, fact, w = _rs_period(ctx, period)
    steps = (_rs_fact(ctx, "trip"), (v, "×", 2), fact, (2 * v, "×", count))
    return _period_draft(
        ctx, RS_TRIP[ctx.lang][which], w | {"v": v}, steps, f"{2 * v * count} ÷ {count} = {2 * v}"
    )


@variant(RATE_STEPS, "rs_yearly", lambda r: (r.randrange(len(RS_YEARLY["en"])), r.randint(15, 800)))
def _rs_yearly(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "My car insurance costs R$ 2.400 a year. How much per month?": the total ÷ 12, read without
    its thousands separator."""
    which, v = nums
    count, fact, _ = _rt_fact(ctx, "year")
    steps = (fact, (v * count, "÷", count))
    t = _rs_grouped(ctx, v * count)  # its own sign or word: `Ctx.signs` would split "2,400 dollars"
    return _period_draft(
        ctx, RS_YEARLY[ctx.lang][which], {"t": t}, steps, f"{v} × {count} = {v * count}", signs=False
    )


RS_TIMES = {  # something done {times} ("3 times a week", "twice a week"), {v} each time
    "en": (
        ("My guitar lesson lasts {v} minutes and I have {n} lessons a week.",
         "How many minutes of lessons do I have {span}?", "That is {box} minutes."),
        ("{name} goes to the gym {times} and burns {v} calories each time.",
         "How many calories does {she} burn {span}?", "{She} burns {box} calories."),
        ("I water the garden {times}, {v} liters each time.", "How many liters do I use {span}?",
         "I use {box} liters."),
        ("We order pizza {times}, {v} dollars each time.", "How much do we spend on pizza {span}?",
         "We spend {box} dollars."),
        ("I swim {times} and do {v} laps each time.", "How many laps do I swim {span}?",
         "I swim {box} laps."),
        ("{name} cleans an office {times} and is paid {v} dollars for each cleaning.",
         "How much does {she} earn {span}?", "{She} earns {box} dollars."),
        ("The café gets {v} liters of milk {times}.", "How many liters of milk arrive {span}?",
         "{box} liters arrive."),
        ("I play tennis {times}, {v} minutes every time I play.", "How many minutes of tennis is that {span}?",
         "That is {box} minutes."),
    ),
    "pt-BR": (
        ("Minha aula de violão dura {v} minutos e tenho {n} aulas por semana.",
         "Quantos minutos de aula tenho {span}?", "São {box} minutos."),
        ("{name} vai à academia {times} e gasta {v} calorias em cada vez.",
         "Quantas calorias {ela} gasta {span}?", "{Ela} gasta {box} calorias."),
        ("Rego o jardim {times}, {v} litros em cada vez.", "Quantos litros uso {span}?",
         "Uso {box} litros."),
        ("Pedimos pizza {times}, {v} reais cada vez.", "Quanto gastamos com pizza {span}?",
         "Gastamos {box} reais."),
        ("Nado {times} e faço {v} piscinas em cada treino.", "Quantas piscinas faço {span}?",
         "Faço {box} piscinas."),
        ("{name} faz faxina num escritório {times} e recebe {v} reais por faxina.",
         "Quanto {ela} recebe {span}?", "{Ela} recebe {box} reais."),
        ("O café recebe {v} litros de leite {times}.", "Quantos litros de leite chegam {span}?",
         "Chegam {box} litros."),
        ("Jogo tênis {times}, {v} minutos cada vez que jogo.", "Quantos minutos de tênis são {span}?",
         "São {box} minutos."),
    ),
}  # fmt: skip
RS_TIMES_SAID = {  # "{n} times a week" as people write it; `words` for 2–6, the digit's fact line either way
    "en": (("{n} times a week", "{n} times per week", "{words} a week"),
           {2: "twice", 3: "three times", 4: "four times", 5: "five times", 6: "six times"}),
    "pt-BR": (("{n} vezes por semana", "{n} vezes na semana", "{words} por semana"),
              {2: "duas vezes", 3: "três vezes", 4: "quatro vezes", 5: "cinco vezes", 6: "seis vezes"}),
}  # fmt: skip
RS_DAYS = {  # something done {n} days a week, {v} each of those days
    "en": (
        ("I drive to work {n} days a week and parking costs {v} dollars a day.",
         "How much do I pay for parking {span}?", "I pay {box} dollars."),
        ("{name} practices the piano {n} days a week, {v} minutes a day.",
         "How many minutes does {she} practice {span}?", "{She} practices {box} minutes."),
        ("The school kitchen cooks {v} lunches a day and is open {n} days a week.",
         "How many lunches does it cook {span}?", "It cooks {box} lunches."),
        ("{name} sells {v} cakes on each day {she} works, and {she} works {n} days a week.",
         "How many cakes does {she} sell {span}?", "{She} sells {box} cakes."),
    ),
    "pt-BR": (
        ("Vou de carro ao trabalho {n} dias por semana e pago {v} reais de estacionamento por dia.",
         "Quanto pago de estacionamento {span}?", "Pago {box} reais."),
        ("{name} estuda piano {n} dias por semana, {v} minutos por dia.",
         "Quantos minutos {ela} estuda {span}?", "{Ela} estuda {box} minutos."),
        ("A cozinha da escola faz {v} almoços por dia e abre {n} dias por semana.",
         "Quantos almoços ela faz {span}?", "Faz {box} almoços."),
        ("{name} vende {v} bolos em cada dia que trabalha, e trabalha {n} dias por semana.",
         "Quantos bolos {ela} vende {span}?", "{Ela} vende {box} bolos."),
    ),
}  # fmt: skip
RS_TIMES_SPAN = {  # one week, or {k} weeks
    "en": (("a week", "in a week", "each week"), "in {k} weeks"),
    "pt-BR": (("por semana", "em uma semana", "toda semana"), "em {k} semanas"),
}
RS_TIMES_FACT = ("{n} times a week, not every day.", "{n} vezes por semana, não todo dia.")
RS_DAYS_FACT = ("{n} days a week, not every day.", "{n} dias por semana, não todo dia.")


def _rs_week_sample(rows: dict) -> Callable[[random.Random], tuple[int, ...]]:
    """(which sentence, times or days a week 2–6, the amount each time 5–120 in fives, weeks: one in
    three asks for one)."""
    return lambda r: (
        r.randrange(len(rows["en"])),
        r.randint(2, 6),
        5 * r.randint(1, 24),
        r.choice((1, 1, 2, 3, 4, 6)),
    )


def _rs_week_draft(ctx: Ctx, rows: dict, fact: tuple[str, str], nums: tuple[int, ...], times: str) -> Draft:
    """v × n, and × the weeks when more than one is asked; the first line says the week counts n,
    against the days-in-a-week fact the one-step periods stream writes."""
    which, n, v, weeks = nums
    one, several = RS_TIMES_SPAN[ctx.lang]
    span = ctx.rng.choice(one) if weeks == 1 else several.format(k=weeks)
    steps: list = [fact[0 if ctx.en else 1].format(n=n), (v, "×", n)]
    check = f"{v * n} ÷ {n} = {v}"
    if weeks > 1:
        steps.append((v * n, "×", weeks))
        check = f"{v * n * weeks} ÷ {weeks} = {v * n}"
    return _period_draft(
        ctx, rows[ctx.lang][which], {"n": n, "v": v, "span": span, "times": times}, steps, check
    )


@variant(RATE_STEPS, "rs_times", _rs_week_sample(RS_TIMES))
def _rs_times(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "I swim twice a week, 30 laps each time. How many laps in 3 weeks?": the times, not the 7 days."""
    forms, words = RS_TIMES_SAID[ctx.lang]
    times = ctx.rng.choice(forms).format(n=nums[1], words=words[nums[1]])
    return _rs_week_draft(ctx, RS_TIMES, RS_TIMES_FACT, nums, times)


@variant(RATE_STEPS, "rs_days", _rs_week_sample(RS_DAYS))
def _rs_days_a_week(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "I drive to work 5 days a week and parking costs 12 dollars a day. How much a week?": the
    days worked, not the week's 7."""
    return _rs_week_draft(ctx, RS_DAYS, RS_DAYS_FACT, nums, "")


RS_DAILY_SAID = {
    "en": ("every day", "each day", "daily"),
    "pt-BR": ("todo dia", "todos os dias", "diariamente"),
}
RS_DAILY_ROWS = [i for i, row in enumerate(RS_TIMES["en"]) if "{times}" in row[0]]  # not "{n} lessons a week"


@variant(RATE_STEPS, "rs_daily", lambda r: (r.choice(RS_DAILY_ROWS), r.randrange(2), 5 * r.randint(1, 24)))
def _rs_daily(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    """ "I swim every day and do 30 laps each time. How many laps in two weeks?": `rs_times`'s
    situations done every day, counted over the week's 7 days (or two weeks' 14). The same sentence
    with "3 times a week" counts 3: the pair makes the count come from those words."""
    which, two, v = nums
    count, fact, span = _rt_fact(ctx, ("week", "two_weeks")[two])
    times = ctx.rng.choice(RS_DAILY_SAID[ctx.lang])
    w = {"n": 0, "v": v, "span": span, "times": times}
    return _period_draft(
        ctx, RS_TIMES[ctx.lang][which], w, [fact, (v, "×", count)], f"{v * count} ÷ {count} = {v}"
    )


# ---------------------------------------------------------------------------- follow-ups

# A second question about the first one's answer, asked in the same chat: "And if I buy 3 more?",
# "Then 12 more came. How many now?". The first question and its answer sentence (with its
# \boxed{}, as the app keeps an answer in a chat) come before it as an earlier turn (`Draft.earlier`,
# `Problem.earlier`). Where the follow-up builds on the earlier result, the trace's first step
# says that result ("the earlier answer was 24."), which the model reads off its own earlier box;
# where it asks the first question again with a number changed, the trace redoes the arithmetic
# with the new number, which it reads off the earlier question.
FU_BUY = {  # the earlier question: n things at v each
    "en": (
        ("I buy {n} {things} at {v} dollars each. How much do I pay?", "You pay {box} dollars."),
        ("{name} orders {n} {things}, {v} dollars each. What does {she} pay?", "{name} pays {box} dollars."),
    ),
    "pt-BR": (
        ("Compro {n} {things_pt} a {v} reais cada. Quanto pago?", "Você paga {box} reais."),
        ("{name} pede {n} {things_pt} de {v} reais cada. Quanto {ela} paga?", "{name} paga {box} reais."),
    ),
}  # fmt: skip
FU_THINGS = (("sandwiches", "sanduíches"), ("tickets", "ingressos"), ("mugs", "canecas"),
             ("plants", "plantas"), ("towels", "toalhas"), ("pizzas", "pizzas"), ("lamps", "luminárias"))  # fmt: skip
FU_MORE = {
    "en": ("And if I buy {k} more, how much is it in total?", "What if we add {k} more? What is the total then?",
           "And with {k} more, how much altogether?"),
    "pt-BR": ("E se comprar mais {k}, quanto fica no total?", "E com mais {k}, qual é o total?",
              "E se forem mais {k}, quanto dá ao todo?"),
}  # fmt: skip
FU_MORE_ANSWER = {"en": ("The total is {box} dollars.",), "pt-BR": ("O total é {box} reais.",)}
FU_INSTEAD = {
    "en": ("And if each one cost {w} dollars instead?", "What if they were {w} dollars each?",
           "How much would it be at {w} dollars each?"),
    "pt-BR": ("E se cada um custasse {w} reais?", "E se fossem {w} reais cada?", "Quanto daria a {w} reais cada?"),
}  # fmt: skip
FU_INSTEAD_ANSWER = {"en": ("It would be {box} dollars.",), "pt-BR": ("Daria {box} reais.",)}
FU_CHANGE = {
    "en": ("I pay with {c} dollars. How much change do I get?", "If I hand over {c} dollars, what comes back?",
           "And the change from {c} dollars?"),
    "pt-BR": ("Pago com {c} reais. Quanto recebo de troco?", "Se eu der {c} reais, quanto volta de troco?",
              "E o troco de {c} reais?"),
}  # fmt: skip
FU_CHANGE_ANSWER = {"en": ("The change is {box} dollars.",), "pt-BR": ("O troco é {box} reais.",)}
FU_LEFT = {  # the earlier question: a things, b taken away
    "en": (
        ("{name} had {a} {items} and gave {b} away. How many are left?", "{name} has {box} {items} left."),
        ("There were {a} {items} in the box and we used {b}. How many are still there?",
         "There are {box} {items} left."),
    ),
    "pt-BR": (
        ("{name} tinha {a} {items} e deu {b}. {Q} sobraram?", "Sobraram {box} {items}."),
        ("Havia {a} {items} na caixa e usamos {b}. {Q} ainda restam?", "Restam {box} {items}."),
    ),
}  # fmt: skip
FU_GOT = {  # the earlier question: a things, b more
    "en": (
        ("{name} has {a} {items} and gets {b} more. How many does {she} have now?", "{name} has {box} {items}."),
        ("We collected {a} {items} on Monday and {b} on Tuesday. How many is that?", "That is {box} {items}."),
    ),
    "pt-BR": (
        ("{name} tem {a} {items} e ganha mais {b}. {Q} {ela} tem agora?", "{name} tem {box} {items}."),
        ("Juntamos {a} {items} na segunda e {b} na terça. {Q} são?", "São {box} {items}."),
    ),
}  # fmt: skip
FU_THEN_MORE = {
    "en": ("Then {c} more came. How many are there now?", "After that we got {c} more. How many now?",
           "And if {c} more are added?"),
    "pt-BR": ("Depois chegaram mais {c}. {Q} há agora?", "Em seguida ganhamos mais {c}. {Q} temos agora?",
              "E se juntarmos mais {c}?"),
}  # fmt: skip
FU_THEN_LESS = {
    "en": ("Then {c} of them got lost. How many are left?", "After that {c} were given away. How many remain?",
           "And if {c} are used up?"),
    "pt-BR": ("Depois {c} se perderam. {Q} sobraram?", "Em seguida demos {c}. {Q} restam?",
              "E se usarmos {c}?"),
}  # fmt: skip
FU_NOW_ANSWER = {"en": ("Now there are {box} {items}.",), "pt-BR": ("Agora são {box} {items}.",)}
FU_BOXES = {  # the earlier question: q boxes of k
    "en": (
        ("There are {q} boxes with {k} {items} in each. How many {items} is that?", "That is {box} {items}."),
        ("{name} fills {q} bags with {k} {items} each. How many {items} in all?", "{box} {items} in all."),
    ),
    "pt-BR": (
        ("Há {q} caixas com {k} {items} em cada uma. {Q} {items} são?", "São {box} {items}."),
        ("{name} enche {q} sacos com {k} {items} cada. {Q} {items} ao todo?", "São {box} {items} ao todo."),
    ),
}  # fmt: skip
FU_SHARE = {
    "en": ("If we share them equally among {n} people, how many does each get?",
           "Split evenly between {n} friends, how many each?", "And for {n} kids, how many per kid?"),
    "pt-BR": ("Se dividirmos igualmente entre {n} pessoas, quantos cada uma ganha?",
              "Divididos entre {n} amigos, quantos para cada um?", "E para {n} crianças, quantos por criança?"),
}  # fmt: skip
FU_SHARE_ANSWER = {"en": ("Each gets {box} {items}.",), "pt-BR": ("Cada um fica com {box} {items}.",)}
FU_RATE = {  # the earlier question: v per week, for w weeks
    "en": (
        ("I save {v} dollars a week. How much do I save in {w} weeks?", "You save {box} dollars."),
        ("{name} earns {v} dollars a week. How much is that in {w} weeks?", "That is {box} dollars."),
    ),
    "pt-BR": (
        ("Guardo {v} reais por semana. Quanto guardo em {w} semanas?", "Você guarda {box} reais."),
        ("{name} ganha {v} reais por semana. Quanto dá em {w} semanas?", "Dá {box} reais."),
    ),
}  # fmt: skip
FU_WEEKS = {
    "en": ("And in {x} weeks?", "What about {x} weeks?", "How much in {x} weeks then?"),
    "pt-BR": ("E em {x} semanas?", "E se forem {x} semanas?", "Quanto dá em {x} semanas, então?"),
}  # fmt: skip
FU_WEEKS_ANSWER = {
    "en": ("In {x} weeks it is {box} dollars.",),
    "pt-BR": ("Em {x} semanas são {box} reais.",),
}
FU_NEED = {
    "en": ("The game I want costs {c} dollars. How much more do I need?",
           "Is it enough for a {c} dollar phone? How much is missing?",
           "A trip costs {c} dollars. How much is still missing?"),
    "pt-BR": ("O jogo que eu quero custa {c} reais. Quanto ainda falta?",
              "Dá para um celular de {c} reais? Quanto falta?", "Uma viagem custa {c} reais. Quanto ainda falta?"),
}  # fmt: skip
FU_NEED_ANSWER = {"en": ("You still need {box} dollars.",), "pt-BR": ("Ainda faltam {box} reais.",)}


FU_DAY = {  # the earlier question: v a day, for a week
    "en": (
        ("I walk {v} km a day. How many km is that in a week?", "That is {box} km."),
        ("{name} reads {v} pages a day. How many pages does {she} read in a week?", "{name} reads {box} pages."),
    ),
    "pt-BR": (
        ("Caminho {v} km por dia. Quantos km são em uma semana?", "São {box} km."),
        ("{name} lê {v} páginas por dia. Quantas páginas {ela} lê em uma semana?", "{name} lê {box} páginas."),
    ),
}  # fmt: skip
FU_MORE_WEEKS = {
    "en": ("And in {k} weeks?", "How much is that over {k} weeks?", "What about {k} weeks like that?"),
    "pt-BR": ("E em {k} semanas?", "Quanto dá em {k} semanas?", "E se forem {k} semanas assim?"),
}  # fmt: skip
FU_MORE_WEEKS_ANSWER = {"en": ("In {k} weeks it is {box}.",), "pt-BR": ("Em {k} semanas são {box}.",)}
FU_OTHER = (("drinks", "bebidas"), ("cakes", "bolos"), ("hats", "chapéus"), ("books", "livros"),
            ("candles", "velas"), ("bowls", "tigelas"))  # fmt: skip
FU_PLUS_OTHER = {
    "en": ("And if I also take {k} {other} at {w} dollars each, what is the total?",
           "Add {k} {other} for {w} dollars each. How much is it now?",
           "With {k} {other} at {w} dollars each too, how much altogether?"),
    "pt-BR": ("E se eu levar também {k} {other_pt} de {w} reais cada, qual é o total?",
              "Mais {k} {other_pt} a {w} reais cada: quanto dá agora?",
              "Com {k} {other_pt} de {w} reais cada também, quanto fica ao todo?"),
}  # fmt: skip
FU_PLUS_ONE = {
    "en": ("And a bag for {c} dollars on top of that?", "If I add a {c} dollar cap, what is the total?",
           "Plus delivery of {c} dollars, how much is it?"),
    "pt-BR": ("E mais uma bolsa de {c} reais?", "Se eu juntar um boné de {c} reais, quanto dá?",
              "Com a entrega de {c} reais, quanto fica?"),
}  # fmt: skip


def _followup(ctx: Ctx, earlier: dict, value: int, follow: dict, answers: dict, ops, check: str,
              restate: bool = True, **kw) -> Draft:  # fmt: skip
    """A Draft for a follow-up: `earlier` the first question's stories (its answer `value`),
    `follow` the second question's wordings; the steps are `op word: a op b = c.` lines, after
    the earlier result when `restate`."""
    things, other = ctx.rng.choice(FU_THINGS), ctx.rng.choice(FU_OTHER)
    words = {"things": things[0], "things_pt": things[1], "other": other[0], "other_pt": other[1], **kw}
    q0, a0 = ctx.story(earlier, box=_box(str(value)), **words)
    steps = (
        [ctx.say(("the earlier answer was {r}.",), ("a resposta anterior foi {r}.",), r=value)]
        if restate
        else []
    )
    lines, result = _op_lines(ctx, ops)
    steps += lines
    question = ctx.rng.choice(follow[ctx.lang]).format(**ctx.words, **words)
    answer_text = ctx.rng.choice(answers[ctx.lang]).format(**ctx.words, **words, box=_box(str(result)))
    return Draft(question, (), tuple(steps), check, str(result), str(result), answer_text, earlier=(q0, a0))


def _buy_sample(r: random.Random) -> tuple[int, ...]:
    return r.randint(2, 9), r.randint(2, 60), r.randint(1, 6)


@variant(FOLLOWUP, "fu_more", _buy_sample)
def _fu_more(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, k = nums
    ops = [(k, "×", v), (n * v, "+", k * v)]
    return _followup(ctx, FU_BUY, n * v, FU_MORE, FU_MORE_ANSWER, ops, f"{n + k} × {v} = {(n + k) * v}",
                     n=n, v=v, k=k)  # fmt: skip


@variant(FOLLOWUP, "fu_instead", lambda r: (r.randint(2, 9), *r.sample(range(2, 61), 2)))
def _fu_instead(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, w = nums
    return _followup(ctx, FU_BUY, n * v, FU_INSTEAD, FU_INSTEAD_ANSWER, [(n, "×", w)],
                     f"{n * w} ÷ {n} = {w}", restate=False, n=n, v=v, w=w)  # fmt: skip


def _fu_change_sample(r: random.Random) -> tuple[int, ...]:
    n, v = r.randint(2, 9), r.randint(2, 60)
    return n, v, next(c for c in (10, 20, 50, 100, 200, 500, 1000) if c > n * v)


@variant(FOLLOWUP, "fu_change", _fu_change_sample)
def _fu_change(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    return _followup(ctx, FU_BUY, n * v, FU_CHANGE, FU_CHANGE_ANSWER, [(c, "-", n * v)],
                     f"{c - n * v} + {n * v} = {c}", n=n, v=v, c=c)  # fmt: skip


def _fu_left_sample(r: random.Random) -> tuple[int, ...]:
    a = _spread(r, 12, 999)
    return a, r.randint(1, a - 2), _spread(r, 1, 500)


@variant(FOLLOWUP, "fu_left_more", _fu_left_sample)
def _fu_left_more(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _followup(ctx, FU_LEFT, a - b, FU_THEN_MORE, FU_NOW_ANSWER, [(a - b, "+", c)],
                     f"{a - b + c} - {c} = {a - b}", a=a, b=b, c=c)  # fmt: skip


def _fu_got_sample(r: random.Random) -> tuple[int, ...]:
    a, b = _spread(r, 5, 999), _spread(r, 2, 500)
    return a, b, r.randint(1, a + b - 2)


@variant(FOLLOWUP, "fu_got_less", _fu_got_sample)
def _fu_got_less(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    a, b, c = nums
    return _followup(ctx, FU_GOT, a + b, FU_THEN_LESS, FU_NOW_ANSWER, [(a + b, "-", c)],
                     f"{a + b - c} + {c} = {a + b}", a=a, b=b, c=c)  # fmt: skip


def _fu_share_sample(r: random.Random) -> tuple[int, ...]:
    while True:
        q, k = r.randint(2, 9), r.randint(2, 24)
        ways = [n for n in range(2, 13) if (q * k) % n == 0 and n != q and q * k >= 2 * n]
        if ways:
            return q, k, r.choice(ways)


@variant(FOLLOWUP, "fu_share", _fu_share_sample)
def _fu_share(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    q, k, n = nums
    t = q * k
    return _followup(ctx, FU_BOXES, t, FU_SHARE, FU_SHARE_ANSWER, [(t, "÷", n)], f"{n} × {t // n} = {t}",
                     q=q, k=k, n=n)  # fmt: skip


def _fu_weeks_sample(r: random.Random) -> tuple[int, ...]:
    v, w = r.randint(3, 90), r.randint(2, 10)
    return v, w, r.choice([x for x in range(2, 53) if x != w])


@variant(FOLLOWUP, "fu_weeks", _fu_weeks_sample)
def _fu_weeks(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    v, w, x = nums
    return _followup(ctx, FU_RATE, v * w, FU_WEEKS, FU_WEEKS_ANSWER, [(v, "×", x)], f"{v * x} ÷ {x} = {v}",
                     restate=False, v=v, w=w, x=x)  # fmt: skip


def _fu_need_sample(r: random.Random) -> tuple[int, ...]:
    v, w = r.randint(3, 90), r.randint(2, 10)
    return v, w, v * w + _spread(r, 1, 900)


@variant(FOLLOWUP, "fu_need", _fu_need_sample)
def _fu_need(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    v, w, c = nums
    return _followup(ctx, FU_RATE, v * w, FU_NEED, FU_NEED_ANSWER, [(c, "-", v * w)],
                     f"{v * w} + {c - v * w} = {c}", v=v, w=w, c=c)  # fmt: skip


@variant(FOLLOWUP, "fu_scale", lambda r: (r.randint(2, 60), r.randint(2, 12)))
def _fu_scale(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    v, k = nums
    return _followup(ctx, FU_DAY, 7 * v, FU_MORE_WEEKS, FU_MORE_WEEKS_ANSWER, [(7 * v, "×", k)],
                     f"{7 * v * k} ÷ {k} = {7 * v}", v=v, k=k)  # fmt: skip


@variant(
    FOLLOWUP,
    "fu_plus_other",
    lambda r: (r.randint(2, 9), r.randint(2, 60), r.randint(1, 6), r.randint(2, 60)),
)
def _fu_plus_other(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, k, w = nums
    ops = [(k, "×", w), (n * v, "+", k * w)]
    return _followup(ctx, FU_BUY, n * v, FU_PLUS_OTHER, FU_MORE_ANSWER, ops, f"{n * v + k * w} - {k * w} = {n * v}",
                     n=n, v=v, k=k, w=w)  # fmt: skip


@variant(FOLLOWUP, "fu_plus_one", lambda r: (r.randint(2, 9), r.randint(2, 60), r.randint(2, 150)))
def _fu_plus_one(ctx: Ctx, nums: tuple[int, ...]) -> Draft:
    n, v, c = nums
    return _followup(ctx, FU_BUY, n * v, FU_PLUS_ONE, FU_MORE_ANSWER, [(n * v, "+", c)], f"{n * v + c} - {c} = {n * v}",
                     n=n, v=v, c=c)  # fmt: skip


# ---------------------------------------------------------------------------- assembling a trace

# Every trace opens with the same words in its language. SwiReasoning starts in latent mode:
# the first thing the model reads after <think> is the probability-weighted mix of its
# candidate first tokens. Where traces open in several ways that mix blends them ("First start
# with 75 stickers.", half an opener and half a step); with one opening the first token is
# near-certain, the mix is that token, and the latent start reads what CoT reads.
OPENING = {"en": "First, ", "pt-BR": "Primeiro, "}
NEXT = {"en": ("Then ", "Next, ", "Now ", ""), "pt-BR": ("Depois, ", "Em seguida, ", "Agora, ", "")}
LAST = {"en": ("Finally, ", "Last, "), "pt-BR": ("Por fim, ", "Finalmente, ")}
CHECK = {
    "en": ("Check: {s}. ✓", "Quick check: {s}. ✓"),
    "pt-BR": ("Conferindo: {s}. ✓", "Verificando: {s}. ✓"),
}
FINAL = {  # the first phrase is listed twice: it is the most common
    "en": ("So the answer is {r}.", "The answer is {r}.", "So the answer is {r}."),
    "pt-BR": ("Então a resposta é {r}.", "Logo, a resposta é {r}.", "A resposta é {r}."),
}


def _cap(line: str) -> str:
    return line[:1].upper() + line[1:]


def _connect(lang: str, rng: random.Random, steps: Sequence[str]) -> list[str]:
    """Step bodies after the first line, with connecting words (Then, Finally, ...) or plain."""
    if rng.random() < P_PLAIN:
        return [_cap(s) for s in steps]
    out = []
    for i, body in enumerate(steps):
        last = i == len(steps) - 1 and len(steps) >= 2 and rng.random() < 0.5
        out.append(_cap(rng.choice((LAST if last else NEXT)[lang]) + body))
    return out


def trace_lines(
    lang: str, rng: random.Random, draft: Draft, with_check: bool, compact: bool = False
) -> list[str]:
    """The thinking trace: the opening words with a restatement or the first step, the other
    steps, an optional check, the result."""
    if compact:
        lines = [OPENING[lang] + draft.steps[0], *(_cap(s) for s in draft.steps[1:])]
    elif draft.openers and rng.random() < P_OPENER:
        lines = [OPENING[lang] + rng.choice(draft.openers), *_connect(lang, rng, draft.steps)]
    else:
        lines = [OPENING[lang] + draft.steps[0], *_connect(lang, rng, draft.steps[1:])]
    if with_check:
        lines.append(rng.choice(CHECK[lang]).format(s=draft.check))
    lines.append(rng.choice(FINAL[lang]).format(r=draft.result))
    return lines


_TOKEN_RE = re.compile(r"\d| (?=\d)|[A-Za-z]{1,3}|[^\x00-\x7f]|[^\w\s]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def approx_tokens(text: str) -> int:
    """A rough count of SmolLM2 tokens: digits one each, words in 3-letter pieces, non-ASCII twice.

    On these traces it is within about 2 tokens of the real tokenizer, for en and pt-BR alike.
    """
    return len(_TOKEN_RE.findall(text)) + len(_NON_ASCII.findall(text))


# ---------------------------------------------------------------------------- the public API


def params_hash(kind: str, params: tuple) -> str:
    return hashlib.sha256(repr((kind, params)).encode()).hexdigest()


def is_heldout(kind: str, params: tuple) -> bool:
    """Whether this parameter set belongs to the held-out split (stable across runs and languages)."""
    return int(params_hash(kind, params)[:12], 16) % HELDOUT_MOD == 0


def normalize_answer(text: str) -> str:
    """The canonical form of a boxed answer: "85", "12.50", "64", "9:05" (see the module docstring)."""
    s = re.sub(r"\s+", "", text).replace("R$", "").replace("$", "")
    s = re.sub(r"(reais|real|dollars?|d[óo]lares|minutes|minutos|min|cm|g)$", "", s)
    time = re.fullmatch(r"(\d{1,2})[:h](\d{2})", s)
    if time:
        return f"{int(time.group(1))}:{time.group(2)}"
    if re.fullmatch(r"\d+(?:[.,]\d+)?", s):
        try:
            value = Decimal(s.replace(",", "."))
        except InvalidOperation:
            return s
        if value == value.to_integral_value():
            return str(int(value))
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value.normalize())
    return s


def _render(
    v: Variant, params: tuple, lang: str, rng: random.Random, with_check: bool, p_direct: float = P_DIRECT
) -> tuple[Draft, list[str]]:
    """Render until the trace fits the token budget: a few random tries, then a compact one (direct
    arithmetic, shortest wording); keep the shortest rendering if none fits. The check line is kept."""
    best: tuple[int, Draft, list[str]] | None = None
    for compact in [False] * RENDER_TRIES + [True] * COMPACT_TRIES:
        draft = v.render(Ctx(lang, rng, _words(lang, rng), compact, p_direct), params[1:])
        lines = trace_lines(lang, rng, draft, with_check, compact)
        size = approx_tokens("\n".join(lines))
        if size <= TRACE_BUDGET + CHECK_BUDGET * with_check:
            return draft, lines
        if best is None or size < best[0]:
            best = (size, draft, lines)
    assert best is not None
    return best[1], best[2]


def make_problem(
    kind: str,
    params: tuple,
    lang: str,
    rng: random.Random,
    check_prob: float = 0.35,
    p_direct: float = P_DIRECT,
) -> Problem:
    """One problem for a given kind and parameter set (params[0] names the variant)."""
    v = next(x for x in VARIANTS[kind] if x.name == params[0])
    draft, lines = _render(v, params, lang, rng, rng.random() < check_prob, p_direct)
    pid = f"{kind}-{params_hash(kind, params)[:12]}"
    return Problem(
        pid,
        lang,
        kind,
        draft.question,
        "\n".join(lines),
        draft.answer_text,
        normalize_answer(draft.box),
        params,
        draft.earlier,
    )


def generate(
    n: int,
    seed: int,
    split: str = "train",
    langs: Sequence[str] = LANGS,
    check_prob: float = 0.35,
    p_direct: float = P_DIRECT,
    kinds: Sequence[str] = KINDS,
) -> list[Problem]:
    """n distinct problems (kinds drawn evenly) of one split, identical for the same arguments.

    `p_direct` is the chance that an operation is written directly rather than decomposed; it
    changes the traces and, through the shared random source, which problems are drawn.

    A kind whose parameter sets run out stops growing and the others fill in: percentages hold
    about 420 train and 60 held-out sets, the other kinds thousands.
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"split must be 'train' or 'heldout', not {split!r}")
    if not langs or any(lang not in LANGS for lang in langs):
        raise ValueError(f"langs must be a non-empty subset of {LANGS}, not {langs!r}")
    rng, seen, out = random.Random(seed), set(), []
    for _ in range(4 * n + 100):
        if len(out) == n:
            return out
        kind = rng.choice(tuple(kinds))
        params = _fresh_params(rng, kind, split == "heldout", seen)
        if params is not None:
            seen.add((kind, params))
            out.append(make_problem(kind, params, rng.choice(tuple(langs)), rng, check_prob, p_direct))
    if len(out) == n:
        return out
    raise RuntimeError(f"could only find {len(out)} distinct {split} problems of the {n} asked")


def _fresh_params(rng: random.Random, kind: str, heldout: bool, seen: set) -> tuple | None:
    """Parameters of this kind, in the wanted split and not yet used; None if none turn up."""
    for _ in range(400):
        v = rng.choice(VARIANTS[kind])
        params = (v.name, *v.sample(rng))
        if (kind, params) not in seen and is_heldout(kind, params) == heldout:
            return params
    return None


def task_record(p: Problem) -> dict:
    """The evaluation task for a problem: graded by its last \\boxed{} (see normalize_answer)."""
    return {
        "id": p.id,
        "question": p.question,
        "answer": p.answer,
        "lang": p.lang,
        "kind": p.kind,
        "match": "boxed",
    } | ({"history": [{"role": "user", "text": p.earlier[0]}, {"role": "assistant", "text": p.earlier[1]}]}
         if p.earlier else {})  # fmt: skip


def write_tasks(path: str | Path, problems: Iterable[Problem]) -> None:
    """Write one task record per line (UTF-8 JSONL)."""
    with Path(path).open("w", encoding="utf-8") as f:
        for p in problems:
            f.write(json.dumps(task_record(p), ensure_ascii=False) + "\n")
