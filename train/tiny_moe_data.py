"""Seeded tasks for the tiny qwen3_5_moe, in English and Brazilian Portuguese, with `<think>` traces.

Owns: the five task kinds and their parameters, the thinking traces (one opening per kind, then
column arithmetic written digit by digit in varied wording), the final boxed sentence, the
held-out split (a stable hash of kind + parameters, the same for both languages, as
`train.arith_data` does), the training stream, the tokenizer corpus and the evaluation task
files (JSONL plus JPEG/MP4 media) that `python -m engine.eval` reads.

Kinds:
- `text`: a multi-step problem (two or three operations: +, -, × by one digit), as a bare
  expression or as a short story (names and items from `train.arith_data`);
- `image`: "What is the result of the expression in the image?" for `a + b`, `a - b` (a >= b)
  and `a × d` (d one digit), operands of one to three digits;
- `shapes`: "How many squares are in the image?", 1-9 squares among circles and triangles;
- `video`: "What is the sum of the numbers shown in the video?", 2-4 numbers from 1 to 9;
- `double`: "Now double it." after a text or image turn whose answer is in the history;
- `after` (not a kind of its own in the corpus): a fresh text, image, shapes or video question
  asked after one earlier exchange, so that a new question is answered on its own rather than as
  a follow-up to what came before (only `double` needs the history); `after_long`: the same
  after one to three exchanges, sometimes with small talk among them; `after_other`: the same
  after one or two exchanges with another model (a word problem in `train.arith_data`'s words
  and its answer sentence, or a chat prompt of `train.chat_prompts` and a reply), as when a
  visitor talks to the app's text default first and then switches to tiny-moe for a picture.

Leaves pixels to `tiny_moe_media.py`, tokenisation and chat templates to the processor, and
training to `tiny_moe_train.py`. Command line: `python -m train.tiny_moe_data --tasks DIR`
writes the held-out task files; `--corpus FILE` writes the tokenizer corpus.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from train import arith_data, chat_prompts
from train import tiny_moe_media as media
from train.arith_data import ITEMS, PEOPLE, is_heldout, params_hash

LANGS = ("en", "pt-BR")
KINDS = ("text", "image", "shapes", "video", "double")
QUESTIONS = {
    "image": ("What is the result of the expression in the image?", "Qual é o resultado da expressão na imagem?"),
    "shapes": ("How many squares are in the image?", "Quantos quadrados há na imagem?"),
    "video": ("What is the sum of the numbers shown in the video?", "Qual é a soma dos números mostrados no vídeo?"),
    "double": ("Now double it.", "Agora dobre."),
}  # fmt: skip
PARAPHRASES = {
    "image": (("Compute the expression in the image.", "Solve the expression shown."),
              ("Calcule a expressão da imagem.", "Resolva a conta mostrada na imagem.")),
    "shapes": (("Count the squares in the image.", "How many squares do you see?"),
               ("Conte os quadrados da imagem.", "Quantos quadrados você vê?")),
    "video": (("Add up the numbers in the video.", "What do the numbers in the video add up to?"),
              ("Some os números do vídeo.", "Quanto dá a soma dos números do vídeo?")),
    "double": (("Now double that.", "Double the result."), ("Agora dobre o resultado.", "Dobre esse valor.")),
}  # fmt: skip
P_PARAPHRASE = 0.15
# Questions as a visitor types them, for training only (`P_EVERYDAY`, set by the training script;
# 0 here, so the held-out files draw exactly as before). The pictures' lists end with questions
# that do not name the task: there the picture alone says whether to read or to count.
_ANY_EN = (
    "Can you help me with this?",
    "What's the answer?",
    "Help me with this one, please.",
    "Here's one for you.",
    "Look at this.",
)
_ANY_PT = (
    "Me ajuda com isso?",
    "Qual é a resposta?",
    "Consegue resolver essa?",
    "Olha essa aqui.",
    "Dá uma olhada nisso.",
)
EVERYDAY_QUESTIONS = {
    "image": (("Can you solve this?", "Work this out for me.", "What does this come to?",
               "Calculate this, please.", "What is this equal to?", "Solve it.", "How much is that?",
               "What's the result?", "Do the maths on this one.", "What's this sum?", *_ANY_EN),
              ("Resolve isso pra mim?", "Quanto dá isso?", "Calcula isso, por favor.", "Qual o resultado?",
               "Faz essa conta pra mim.", "Quanto é isso?", "Qual é o valor dessa conta?",
               "Resolve essa conta.", *_ANY_PT)),
    "shapes": (("How many squares?", "Count the squares, please.", "How many squares can you find?",
                "Tell me how many squares there are.", "Number of squares?",
                "How many squares are there in this picture?", "Count the squares for me.", *_ANY_EN),
               ("Quantos quadrados?", "Conta os quadrados pra mim.", "Quantos quadrados você consegue achar?",
                "Me diz quantos quadrados tem.", "Quantos quadrados aparecem na figura?",
                "Conte os quadrados, por favor.", *_ANY_PT)),
    "video": (("What's the total in the video?", "Add these up for me.", "What do these numbers make?"),
              ("Qual é o total do vídeo?", "Soma esses números pra mim.", "Quanto dão esses números?")),
}  # fmt: skip
P_EVERYDAY = 0.0
# Wordings that no training example uses, for the `wording` task file (the v1 renderer's
# held-out pictures asked in other words): what the model makes of a visitor's own question.
HELDOUT_QUESTIONS = {
    "image": (("Can you work out the sum in this picture?", "What do I get if I do this?",
               "Please figure this one out.", "Any idea what this makes?", "Solve this for me please",
               "What about this one?"),
              ("Me ajuda com essa conta?", "Você sabe quanto dá isso aqui?", "Descobre o resultado pra mim.",
               "Quanto que dá?", "E essa aqui?")),
    "shapes": (("How many little squares are in there?", "Could you count the squares?",
                "What's the square count here?", "Squares: how many?", "What about this one?"),
               ("Quantos quadrados tem aí?", "Dá pra contar os quadrados?",
                "Conta pra mim quantos quadradinhos tem.", "Quantos quadrados há aqui?", "E essa aqui?")),
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    """One conversation to learn from or to grade: the last user turn, its trace and answer."""

    id: str
    kind: str
    lang: str
    question: str
    thinking: str  # the trace, lines joined by "\n" (no <think> tags)
    answer_text: str  # the final sentence with \boxed{...}
    answer: str
    params: tuple
    images: tuple[Image.Image, ...] = ()
    frames: np.ndarray | None = None  # [T, H, W, 3]: the frames the app samples (2 per number)
    numbers: tuple[int, ...] = ()  # a video's numbers (to write its file again)
    vision: tuple = ()  # what the last turn's picture holds, for training's auxiliary vision loss
    history: tuple[dict, ...] = field(default=())  # earlier turns: {"role", "text", "images"}


def _pick(lang: str, en: Sequence[str], pt: Sequence[str], rng: random.Random) -> str:
    return rng.choice(en if lang == "en" else pt)


# ---------------------------------------------------------------- column arithmetic

PLACE = {
    "en": ("Ones", "Tens", "Hundreds", "Thousands"),
    "pt-BR": ("Unidades", "Dezenas", "Centenas", "Milhares"),
}
SO = {"en": ("So ", "Then ", ""), "pt-BR": ("Então ", "Logo, ", "")}


@dataclass(frozen=True)
class Words:
    """The wording of one trace's column lines, drawn once per trace."""

    lang: str
    labels: bool  # "Ones: ..." prefixes
    write: str  # ", write {d}, carry {c}" and friends
    borrow: str
    so: str


def words(lang: str, rng: random.Random) -> Words:
    if lang == "en":
        write = rng.choice((", write {d}, carry {c}", ", write {d} and carry {c}", ", keep {d}, carry {c}"))
        borrow = rng.choice((", borrow 1", ", borrowing 1"))
    else:
        write = rng.choice((", escrevo {d} e vai {c}", ", fica {d} e vai {c}", ", escrevo {d}, vai {c}"))
        borrow = rng.choice((", pego 1 emprestado", ", empresta 1"))
    return Words(lang, rng.random() < 0.4, write, borrow, rng.choice(SO[lang]))


def _digits(n: int) -> list[int]:
    """Least significant first."""
    return [int(c) for c in reversed(str(n))]


def _line(w: Words, col: int, body: str) -> str:
    return f"{PLACE[w.lang][col]}: {body}." if w.labels else f"{body}."


def add_lines(a: int, b: int, w: Words) -> list[str]:
    """`a + b` column by column (one-digit pairs at once), ending with the whole sum."""
    if a < 10 and b < 10:
        return [f"{a} + {b} = {a + b}."]
    da, db, carry, lines = _digits(a), _digits(b), 0, [f"{a} + {b}:"]
    cols = max(len(da), len(db))
    for i in range(cols):
        x, y = (da[i] if i < len(da) else 0), (db[i] if i < len(db) else 0)
        s = x + y + carry
        body = f"{x} + {y}" + (f" + {carry}" if carry else "") + f" = {s}"
        if s >= 10 and i < cols - 1:
            body += w.write.format(d=s % 10, c=1)
        lines.append(_line(w, i, body))
        carry = s // 10 if i < cols - 1 else 0
    lines.append(f"{w.so}{a} + {b} = {a + b}.")
    return lines


def sub_lines(a: int, b: int, w: Words) -> list[str]:
    """`a - b` (a >= b) column by column with borrows, ending with the whole difference."""
    if a < 10:
        return [f"{a} - {b} = {a - b}."]
    da, db, borrow, lines = _digits(a), _digits(b), 0, [f"{a} - {b}:"]
    for i in range(len(da)):
        x, y = da[i], (db[i] if i < len(db) else 0)
        need = x - borrow < y
        top = f"1{x}" if need else f"{x}"
        d = int(top) - y - borrow
        body = f"{top} - {y}" + (" - 1" if borrow else "") + f" = {d}" + (w.borrow if need else "")
        lines.append(_line(w, i, body))
        borrow = int(need)
    lines.append(f"{w.so}{a} - {b} = {a - b}.")
    return lines


def mul_lines(a: int, m: int, w: Words) -> list[str]:
    """`a × m` with `m` one digit: column by column with carries, ending with the product."""
    if a < 10:
        return [f"{a} × {m} = {a * m}."]
    da, carry, lines = _digits(a), 0, [f"{a} × {m}:"]
    for i, x in enumerate(da):
        p = x * m + carry
        body = f"{x} × {m}" + (f" + {carry}" if carry else "") + f" = {p}"
        last = i == len(da) - 1
        if p >= 10 and not last:
            body += w.write.format(d=p % 10, c=p // 10)
        lines.append(_line(w, i, body))
        carry = p // 10
    lines.append(f"{w.so}{a} × {m} = {a * m}.")
    return lines


def op_lines(a: int, op: str, b: int, w: Words) -> list[str]:
    """Any of the three operations; `d × a` with a one-digit `d` is turned around first."""
    if op == "+":
        return add_lines(a, b, w)
    if op == "-":
        return sub_lines(a, b, w)
    if a < 10 <= b:
        return [f"{a} × {b} = {b} × {a}.", *mul_lines(b, a, w)]
    return mul_lines(a, b, w)


def apply(a: int, op: str, b: int) -> int:
    return a + b if op == "+" else a - b if op == "-" else a * b


# ---------------------------------------------------------------- final sentences

ANSWER = {
    "en": ("The answer is \\boxed{{{v}}}.", "So the answer is \\boxed{{{v}}}.", "\\boxed{{{v}}}"),
    "pt-BR": ("A resposta é \\boxed{{{v}}}.", "Então a resposta é \\boxed{{{v}}}.", "\\boxed{{{v}}}"),
}


def answer_sentence(lang: str, value: int, rng: random.Random) -> str:
    return rng.choice(ANSWER[lang]).format(v=value)


# ---------------------------------------------------------------- text: multi-step problems


def _text_params(rng: random.Random) -> tuple:
    """(form, n0, op1, n1, op2, n2[, op3, n3]): 2-3 operations left to right, two-digit terms,
    one-digit factors, every value from 0 to 999."""
    value = rng.randint(10, 99)
    params: list = [rng.choice(("expr", "story")), value]
    for _ in range(2 if rng.random() < 0.7 else 3):
        ok = {"+": value <= 899, "-": value >= 11, "×": 2 <= value <= 499}
        op = rng.choice([o for o, yes in ok.items() if yes])
        if op == "+":
            n = rng.randint(10, 99)
        elif op == "-":
            n = rng.randint(10, min(99, value - 1))
        else:
            n = rng.randint(2, min(9, 999 // value))
        params += [op, n]
        value = apply(value, op, n)
    return tuple(params)


STORY = {
    "en": {
        "start": "{name} has {n} {items}.",
        "+": ("{She} gets {n} more.", "{She} buys {n} more.", "A friend gives {her} {n} more."),
        "-": ("{She} gives {n} away.", "{She} loses {n}.", "{She} uses {n}."),
        "×": ("Then {she} has {n} times as many.", "The pile grows to {n} times as many."),
        "ask": "How many {items} does {she} have now?",
        "step": {"+": "{n} more", "-": "{n} fewer", "×": "{n} times as many"},
        "end": ("{name} has {v} {items}.", "So {she} has {v} {items}."),
    },
    "pt-BR": {
        "start": "{name} tem {n} {items}.",
        "+": ("{Ela} ganha mais {n}.", "{Ela} compra mais {n}.", "Um amigo dá mais {n} para {ela}."),
        "-": ("{Ela} dá {n}.", "{Ela} perde {n}.", "{Ela} usa {n}."),
        "×": ("Depois a quantidade é multiplicada por {n}.", "{Ela} multiplica o total por {n}."),
        "ask": "{Q} {items} {ela} tem agora?",
        "step": {"+": "mais {n}", "-": "menos {n}", "×": "{n} vezes"},
        "end": ("{name} tem {v} {items}.", "Então {ela} tem {v} {items}."),
    },
}
ASK_EXPR = {"en": ("What is {e}?", "Compute {e}.", "Calculate {e}."),
            "pt-BR": ("Quanto é {e}?", "Calcule {e}.", "Qual é o valor de {e}?")}  # fmt: skip
# One opening per kind and language. SwiReasoning's first step is latent: the model reads the
# probability-weighted mix of its candidate first tokens. Where a kind's traces open in several
# ways that mix blends them (a shape count began "Row começa with 4." and went wrong); with one
# opening the first token is near-certain, the mix is that token, and the latent start reads
# what CoT reads. The model card's "first step" experiment measures it.
OPENING = {
    "expr": {"en": "Step by step.", "pt-BR": "Passo a passo."},
    "story": {"en": "{name} starts with {n} {items}.", "pt-BR": "{name} começa com {n} {items}."},
    "image": {"en": "The image shows {e}.", "pt-BR": "A imagem mostra {e}."},
    "shapes": {"en": "I count row by row.", "pt-BR": "Conto linha por linha."},
    "video": {"en": "The video shows {l}.", "pt-BR": "O vídeo mostra {l}."},
    "double": {"en": "The previous answer is {v}.", "pt-BR": "A resposta anterior é {v}."},
}


def _people(lang: str, rng: random.Random) -> dict:
    name, gender = rng.choice(PEOPLE[lang])
    item = rng.choice(ITEMS[lang])
    if lang == "en":
        she, her = ("she", "her") if gender == "f" else ("he", "him")
        return {"name": name, "items": item[1], "she": she, "She": she.capitalize(), "her": her}
    ela = "ela" if gender == "f" else "ele"
    q = "Quantas" if item[2] == "f" else "Quantos"
    return {"name": name, "items": item[1], "ela": ela, "Ela": ela.capitalize(), "Q": q}


def _ops(params: tuple) -> list[tuple[str, int]]:
    rest = params[2:]
    return [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]


def _chain(first: int, ops: list[tuple[str, int]], w: Words, heads: list[str]) -> tuple[list[str], int]:
    """The trace lines of a left-to-right chain; `heads[i]` (may be "") opens operation i."""
    value, lines = first, []
    for (op, n), head in zip(ops, heads, strict=True):
        if head:
            lines.append(head)
        lines += op_lines(value, op, n, w)
        value = apply(value, op, n)
    return lines, value


def _expression(first: int, ops: list[tuple[str, int]]) -> str:
    """The chain as a formula: parentheses where a product follows a sum or difference."""
    expr, mixed = str(first), False
    for op, n in ops:
        if op == "×" and mixed:
            expr = f"({expr})"
        expr, mixed = f"{expr} {op} {n}", mixed or op != "×"
    return expr


def text_example(params: tuple, lang: str, rng: random.Random) -> Example:
    form, first, ops = params[0], params[1], _ops(params)
    w = words(lang, rng)
    if form == "expr":
        expr = _expression(first, ops)
        question = _pick(lang, *(ASK_EXPR[k] for k in LANGS), rng).format(e=expr)
        lines, value = _chain(first, ops, w, [""] * len(ops))
        lines = [OPENING["expr"][lang], *lines, f"{expr} = {value}."]
    else:
        s, ctx = STORY[lang], _people(lang, rng)
        sent = [s["start"].format(n=first, **ctx)]
        sent += [rng.choice(s[op]).format(n=n, **ctx) for op, n in ops]
        question = " ".join([*sent, s["ask"].format(**ctx)])
        heads = [_cap(s["step"][op].format(n=n)) + ":" for op, n in ops]
        lines, value = _chain(first, ops, w, heads)
        lines = [
            OPENING["story"][lang].format(n=first, **ctx),
            *lines,
            rng.choice(s["end"]).format(v=value, **ctx),
        ]
    return _example("text", lang, question, lines, value, params, rng)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _example(kind: str, lang: str, question: str, lines: list[str], value: int, params: tuple,
             rng: random.Random, **extra) -> Example:  # fmt: skip
    pid = f"{kind}-{params_hash(kind, params)[:12]}-{'en' if lang == 'en' else 'pt'}"
    return Example(pid, kind, lang, question, "\n".join(lines), answer_sentence(lang, value, rng),
                   str(value), params, **extra)  # fmt: skip


# ---------------------------------------------------------------- image: an expression


def _operand(rng: random.Random) -> int:
    digits = rng.choice((1, 2, 2, 3))
    return rng.randint(1 if digits == 1 else 10 ** (digits - 1), 10**digits - 1)


def _image_params(rng: random.Random) -> tuple:
    """(a, op, b): one- to three-digit operands; a - b has a >= b; × has a one-digit factor."""
    op = rng.choice("+-×")
    a, b = _operand(rng), _operand(rng)
    if op == "-" and b > a:
        a, b = b, a
    if op == "×":
        b = rng.randint(2, 9)
        if rng.random() < 0.3:
            a, b = b, a
    return (a, op, b)


def _ask(kind: str, lang: str, rng: random.Random) -> str:
    i = 0 if lang == "en" else 1
    if P_EVERYDAY and kind in EVERYDAY_QUESTIONS and rng.random() < P_EVERYDAY:
        return rng.choice(EVERYDAY_QUESTIONS[kind][i])
    if rng.random() < P_PARAPHRASE:
        return rng.choice(PARAPHRASES[kind][i])
    return QUESTIONS[kind][i]


def image_example(params: tuple, lang: str, rng: random.Random, render: bool = True,
                  split: str = "train") -> Example:  # fmt: skip
    a, op, b = params
    w = words(lang, rng)
    lines = [OPENING["image"][lang].format(e=f"{a} {op} {b}"), *op_lines(a, op, b, w)]
    question, value = _ask("image", lang, rng), apply(a, op, b)
    if not render:
        return _example("image", lang, question, lines, value, params, rng)
    image, chars = media.expression_image(a, op, b, rng, split)
    return _example("image", lang, question, lines, value, params, rng, images=(image,),
                    vision=("expr", image.width, chars))  # fmt: skip


# ---------------------------------------------------------------- image: counting squares


def _shapes_params(rng: random.Random, split: str = "train") -> tuple:
    """(squares per row, scene): 1-9 squares and up to 6 circles or triangles placed by a layout
    of the renderer split; a "row" is one of the picture's 4 horizontal bands."""
    n = rng.randint(1, 9)
    others = rng.randint(0, 6)
    scene = media.shapes_scene(n, others, rng, split)
    return (scene.rows(), scene)


ROW = {"en": "Row {r}: {k} {sq}.", "pt-BR": "Linha {r}: {k} {sq}."}
TOTAL = {"en": ("There are {v} squares.", "In all, {v} squares."),
         "pt-BR": ("Há {v} quadrados.", "Ao todo, {v} quadrados.")}  # fmt: skip


def _square_word(lang: str, k: int) -> str:
    if lang == "en":
        return "square" if k == 1 else "squares"
    return "quadrado" if k == 1 else "quadrados"


def shapes_example(params: tuple, lang: str, rng: random.Random, render: bool = True) -> Example:
    rows, scene = params
    lines = [OPENING["shapes"][lang]]
    lines += [ROW[lang].format(r=r + 1, k=k, sq=_square_word(lang, k)) for r, k in enumerate(rows)]
    total = rows[0]
    for k in rows[1:]:
        lines.append(f"{total} + {k} = {total + k}.")
        total += k
    lines.append(_pick(lang, *(TOTAL[k] for k in LANGS), rng).format(v=total))
    image = (media.draw_scene(scene),) if render else ()
    question = _ask("shapes", lang, rng)
    return _example("shapes", lang, question, lines, total, (rows, scene), rng, images=image,
                    vision=("shapes", scene) if render else ())  # fmt: skip


# ---------------------------------------------------------------- video: a sum


def _video_params(rng: random.Random) -> tuple:
    return tuple(rng.randint(1, 9) for _ in range(rng.choice((2, 3, 3, 4))))


def _listing(lang: str, numbers: Sequence[int]) -> str:
    head = ", ".join(str(n) for n in numbers[:-1])
    return f"{head} {'and' if lang == 'en' else 'e'} {numbers[-1]}"


def video_example(numbers: tuple, lang: str, rng: random.Random, render: bool = True) -> Example:
    w = words(lang, rng)
    lines = [OPENING["video"][lang].format(l=_listing(lang, numbers))]
    total = numbers[0]
    for n in numbers[1:]:
        lines += add_lines(total, n, w)
        total += n
    frames = media.number_frames(numbers, rng, media.SAMPLED_OFFSETS) if render else None
    return _example("video", lang, _ask("video", lang, rng), lines, total, numbers, rng, frames=frames,
                    numbers=numbers)  # fmt: skip


# ---------------------------------------------------------------- multi-turn: double it


def exchange(ex: Example) -> tuple[dict, ...]:
    """`ex` as earlier turns: its own history, then its question and answer."""
    return (
        *ex.history,
        {"role": "user", "text": ex.question, "images": ex.images},
        {"role": "assistant", "text": ex.answer_text},
    )


def double_example(first: Example, lang: str, rng: random.Random) -> Example:
    """Double the answer of `first`, which becomes the history (its answer sentence only)."""
    v, w = int(first.answer), words(lang, rng)
    lines = [OPENING["double"][lang].format(v=v), *mul_lines(v, 2, w)]
    params, question = (first.kind, first.params), _ask("double", lang, rng)
    return _example("double", lang, question, lines, 2 * v, params, rng, history=exchange(first))


# ---------------------------------------------------------------- multi-turn: a fresh question

AFTER_FRESH = (("image", 0.4), ("shapes", 0.3), ("text", 0.2), ("video", 0.1))
AFTER_EARLIER = ("text", "text", "double")  # and an image turn with probability `p_image`
AFTER_LONG_EXCHANGES = (1, 2, 2, 3)  # task exchanges before an `after_long` question
P_SMALL_TALK = 0.35  # an `after_long` chat also holds one small-talk exchange
SMALL_TALK = {
    "en": (("Hello!", "Hello! Send me a problem, a picture or a clip."), ("Thanks!", "You're welcome."),
           ("Can you help me with a few sums?", "Yes: write the problem or send a picture."),
           ("Good morning", "Good morning! What shall we work out?"), ("ok", "Ok. What next?"),
           ("That was quick, thank you.", "Glad to help. Anything else?")),
    "pt-BR": (("Olá!", "Olá! Mande um problema, uma imagem ou um vídeo."), ("Obrigado!", "De nada."),
              ("Você me ajuda com umas contas?", "Sim: escreva o problema ou mande uma imagem."),
              ("Bom dia", "Bom dia! O que vamos calcular?"), ("ok", "Ok. E agora?"),
              ("Foi rápido, obrigada.", "Que bom que ajudei. Mais alguma coisa?")),
}  # fmt: skip


# ---------------------------------------------------------------- multi-turn: another model first
# In the app a visitor often talks to the text default first (word problems, chat) and switches to
# tiny-moe when a picture arrives, the conversation kept: the earlier turns are another model's.
# Training draws them when its task mix names `after_other` (v12 did; it was not shipped).
P_FOREIGN_CHAT = 0.3  # of those, a chat prompt and a reply; the rest, a word problem and its answer
P_PLAIN_ANSWER = 0.4  # a word problem's answer shown without its \boxed{}
FOREIGN_EXCHANGES = (1, 1, 2)  # exchanges before an `after_other` question
CHAT_SPLIT_SEED = 0  # the chat prompts' split, the one smollm2-think trains with
ARITH_KINDS = (*arith_data.KINDS, arith_data.ONE_STEP, arith_data.EVERYDAY)
# Replies to chat prompts, by the prompt's category: text another model might write (what it
# says does not matter here, only that it is long, plain and about something else).
CHAT_REPLIES = {
    "en": {
        "fact": ("Good question! That one is about {topic}. It is a well-known fact, and I can tell "
                 "you more about it if you like.",
                 "Here is a short answer about {topic}, with the main idea first."),
        "definition": ("In simple words: this is about {topic}. People use the word in everyday "
                       "speech, and the idea is easy to remember.",
                       "A quick definition of {topic}: the basic idea, with one example."),
        "advice": ("A few tips on {topic}: start small, be consistent, and keep track of what works.",
                   "For {topic}, a simple plan helps. Pick one step today and build on it."),
        "explain": ("Let me explain {topic} step by step. The short version is below, and I can go "
                    "deeper if you want.", "Sure. Here is how {topic} works, in a few sentences."),
        "writing": ("Here you go, a short piece on {topic}:\n\nGolden light, a quiet street, and a "
                    "slow afternoon.", "Of course! Something short about {topic}."),
        "greeting": ("Hello! I'm doing well, thanks for asking. How can I help you today?",
                     "Hi there! What would you like to talk about?"),
        "convert": ("That is a conversion: {topic}. Multiply by the factor, and you have it.",
                    "For {topic}, use the standard factor."),
    },
    "pt-BR": {
        "fact": ("Boa pergunta! É sobre {topic}. É um fato bem conhecido, e posso contar mais se "
                 "você quiser.", "Uma resposta curta sobre {topic}, com a ideia principal primeiro."),
        "definition": ("Em palavras simples: é sobre {topic}. A palavra aparece no dia a dia, e a "
                       "ideia é fácil de lembrar.", "Uma definição rápida de {topic}, com um exemplo."),
        "advice": ("Algumas dicas sobre {topic}: comece aos poucos, seja constante e anote o que "
                   "funciona.", "Para {topic}, um plano simples ajuda. Escolha um passo hoje."),
        "explain": ("Vou explicar {topic} passo a passo. A versão curta está abaixo.",
                    "Claro. Veja como funciona {topic}, em poucas frases."),
        "writing": ("Aqui está, um texto curto sobre {topic}:\n\nLuz dourada, rua calma e uma tarde "
                    "lenta.", "Claro! Algo curto sobre {topic}."),
        "greeting": ("Olá! Estou bem, obrigado por perguntar. Como posso ajudar hoje?",
                     "Oi! Sobre o que você quer conversar?"),
        "convert": ("É uma conversão: {topic}. Multiplique pelo fator e pronto.",
                    "Para {topic}, use o fator de sempre."),
    },
}  # fmt: skip


@functools.cache
def _foreign_problems(lang: str, heldout: bool) -> tuple:
    """Word problems of every `train.arith_data` stream in `lang`, of its training or held-out split."""
    split = "heldout" if heldout else "train"
    return tuple(arith_data.generate(400, 20 + heldout, split=split, langs=(lang,), kinds=ARITH_KINDS))


@functools.cache
def _foreign_prompts(lang: str, heldout: bool) -> tuple:
    """(prompt, category, topic) of the chat prompts' training or held-out split in `lang`."""
    prompts = chat_prompts.split_prompts(CHAT_SPLIT_SEED)[heldout]
    return tuple((p, *chat_prompts.BY_PROMPT[lg, p]) for lg, p in prompts if lg == lang)


def foreign_exchange(lang: str, rng: random.Random, heldout: bool) -> tuple[dict, dict]:
    """One exchange with another model: a word problem and its answer sentence, or a chat prompt
    and a reply; held-out problems and prompts for held-out examples."""
    if rng.random() < P_FOREIGN_CHAT:
        prompt, category, topic = rng.choice(_foreign_prompts(lang, heldout))
        reply = rng.choice(CHAT_REPLIES[lang][category]).format(topic=topic)
        return {"role": "user", "text": prompt}, {"role": "assistant", "text": reply}
    problem = rng.choice(_foreign_problems(lang, heldout))
    answer = problem.answer_text
    if rng.random() < P_PLAIN_ANSWER:
        answer = re.sub(r"\\boxed\{([^{}]*)\}", r"\1", answer)
    return {"role": "user", "text": problem.question}, {"role": "assistant", "text": answer}


# ---------------------------------------------------------------- sampling and splits

PARAMS = {"text": _text_params, "image": _image_params, "shapes": _shapes_params, "video": _video_params}


def held_out(kind: str, params: tuple) -> bool:
    """Shapes are split by their row counts (so whole count patterns are unseen in training)."""
    key = params[0] if kind == "shapes" else params
    return is_heldout(kind, key)


def fresh_params(kind: str, rng: random.Random, heldout: bool, split: str = "train") -> tuple:
    """Parameters of the held-out or training split; `split` picks the renderer settings of a
    shapes scene (the other kinds draw theirs when rendering)."""
    while True:
        params = PARAMS[kind](rng, split) if kind == "shapes" else PARAMS[kind](rng)
        if held_out(kind, params) == heldout:
            return params


def make_example(
    kind: str,
    lang: str,
    rng: random.Random,
    heldout: bool = False,
    render: bool = True,
    p_image: float = 0.25,
    split: str = "train",
) -> Example:
    """One example of `kind`; a `double` example's first turn is an image problem with
    probability `p_image` (when rendering), else a text problem. `split` picks the renderer
    settings ("heldout": fonts, sizes and layouts that training never draws). Each earlier
    exchange of an `after` or `after_long` example is an image problem with probability
    `p_image`, else a text problem or a doubling exchange."""
    if kind in ("after", "after_long", "after_other"):
        kinds, weights = zip(*AFTER_FRESH, strict=True)
        fresh = make_example(rng.choices(kinds, weights)[0], lang, rng, heldout, render, split=split)
        if kind == "after_other":
            chat = [foreign_exchange(lang, rng, heldout) for _ in range(rng.choice(FOREIGN_EXCHANGES))]
            history = tuple(turn for ex_turns in chat for turn in ex_turns)
            return replace(fresh, id=f"afterother-{fresh.id}", kind="after", history=history)
        n = 1 if kind == "after" else rng.choice(AFTER_LONG_EXCHANGES)
        chat = []
        for _ in range(n):
            first_kind = "image" if render and rng.random() < p_image else rng.choice(AFTER_EARLIER)
            earlier = make_example(first_kind, lang, rng, heldout, render, p_image=0.0, split=split)
            chat.append(exchange(earlier))
        if kind == "after_long" and rng.random() < P_SMALL_TALK:
            user, assistant = rng.choice(SMALL_TALK[lang])
            talk = ({"role": "user", "text": user}, {"role": "assistant", "text": assistant})
            chat.insert(rng.randint(0, n), talk)
        history = tuple(turn for ex_turns in chat for turn in ex_turns)
        prefix = "after" if kind == "after" else "afterlong"
        return replace(fresh, id=f"{prefix}-{fresh.id}", kind="after", history=history)
    if kind == "double":
        while True:
            first_kind = "image" if render and rng.random() < p_image else "text"
            first = make_example(first_kind, lang, rng, heldout, render, split=split)
            if int(first.answer) <= 999:
                return double_example(first, lang, rng)
    params = fresh_params(kind, rng, heldout, split)
    if kind == "text":
        return text_example(params, lang, rng)
    if kind == "image":
        return image_example(params, lang, rng, render=render, split=split)
    build = {"shapes": shapes_example, "video": video_example}[kind]
    return build(params, lang, rng, render=render)


def stream(seed: int, weights: dict[str, float], render: bool = True) -> Iterator[Example]:
    """Training examples forever: kinds drawn by `weights`, languages evenly, held-out excluded."""
    rng = random.Random(seed)
    kinds, w = list(weights), list(weights.values())
    while True:
        kind = rng.choices(kinds, w)[0]
        yield make_example(kind, rng.choice(LANGS), rng, heldout=False, render=render)


def corpus_lines(seed: int, n: int) -> list[str]:
    """Text of `n` examples of every kind (questions, traces, answers), for the tokenizer."""
    rng = random.Random(seed)
    lines = [
        " ".join(n for n, _ in PEOPLE[lang]) + " " + " ".join(w for i in ITEMS[lang] for w in i[:2])
        for lang in LANGS
    ]
    lines += [q for pair in QUESTIONS.values() for q in pair]
    lines += [q for pairs in PARAPHRASES.values() for pair in pairs for q in pair]
    for kind in KINDS:
        for i in range(n):
            ex = make_example(kind, LANGS[i % 2], rng, heldout=False, render=False)
            lines += [ex.question, ex.thinking, ex.answer_text]
    return lines


# ---------------------------------------------------------------- evaluation task files


def heldout_examples(kind: str, n: int, seed: int, split: str = "train") -> list[Example]:
    """`n` distinct held-out examples of `kind`, alternating languages; `split="heldout"` draws
    them with the held-out renderer settings too."""
    rng, seen, out = random.Random(seed), set(), []
    while len(out) < n:
        ex = make_example(kind, LANGS[len(out) % 2], rng, heldout=True, p_image=0.0, split=split)
        if ex.id not in seen:
            seen.add(ex.id)
            out.append(ex)
    return out


def task_record(ex: Example, media_dir: Path, root: Path) -> dict:
    """The eval record; media files are written under `media_dir` (paths relative to `root`)."""
    rec = {"id": ex.id, "question": ex.question, "answer": ex.answer, "lang": ex.lang, "kind": ex.kind,
           "match": "boxed"}  # fmt: skip
    if ex.images:
        path = media_dir / f"{ex.id}.jpg"
        ex.images[0].save(path, quality=90)  # noisy pictures: a PNG would be 5x larger
        rec["images"] = [str(path.relative_to(root))]
    if ex.numbers:  # a clip (also as an `after` example's fresh question)
        path = media_dir / f"{ex.id}.mp4"
        rng = random.Random(ex.id)
        media.write_mp4(path, media.number_frames(ex.numbers, rng, range(media.FRAMES_PER_NUMBER)))
        rec["videos"] = [str(path.relative_to(root))]
    if ex.history:
        rec["history"] = [{"role": h["role"], "text": h["text"]} for h in ex.history]
    return rec


TASK_COUNTS = {"text": 100, "image": 100, "shapes": 100, "video": 60, "double": 60}
UNSEEN_COUNTS = {"image": 120, "shapes": 120}  # files `<kind>_unseen.jsonl`
AFTER_COUNTS = {"after": 80, "after_long": 80}  # files `after.jsonl`, `after_long.jsonl`
AFTER_OTHER_COUNT = 80  # file `after_other.jsonl`


def write_task_file(root: Path, name: str, exs: Sequence[Example]) -> None:
    """`root/<name>.jsonl` for the evaluation harness, its pictures and clips in `root/media/`."""
    media_dir = root / "media"
    media_dir.mkdir(parents=True, exist_ok=True)
    recs = [task_record(ex, media_dir, root) for ex in exs]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    (root / f"{name}.jsonl").write_text(text, encoding="utf-8")


def write_tasks(root: Path, seed: int = 1, counts: dict[str, int] = TASK_COUNTS) -> None:
    """`root/<kind>.jsonl` and `root/media/`: the held-out evaluation sets."""
    for i, (kind, n) in enumerate(counts.items()):
        # `double`: text history (what task files hold)
        write_task_file(root, kind, heldout_examples(kind, n, seed * 1000 + i))


def write_unseen_tasks(root: Path, seed: int = 2, counts: dict[str, int] = UNSEEN_COUNTS) -> None:
    """`root/<kind>_unseen.jsonl` and `root/media/`: held-out numbers drawn with the held-out
    renderer settings (font families, Pillow-font sizes and layouts training never draws)."""
    for i, (kind, n) in enumerate(counts.items()):
        exs = heldout_examples(kind, n, seed * 1000 + i, split="heldout")
        write_task_file(root, f"{kind}_unseen", [replace(ex, id=f"{ex.id}-u") for ex in exs])


def write_after_tasks(root: Path, seed: int = 3, counts: dict[str, int] = AFTER_COUNTS) -> None:
    """`root/after.jsonl` and `root/after_long.jsonl`: held-out fresh questions asked after one
    earlier exchange, and after one to three (with small talk at times); the task files hold
    text history only."""
    for i, (kind, n) in enumerate(counts.items()):
        write_task_file(root, kind, heldout_examples(kind, n, (seed + i) * 1000))


def write_after_other_tasks(root: Path, seed: int = 5, n: int = AFTER_OTHER_COUNT) -> None:
    """`root/after_other.jsonl`: held-out fresh questions asked after one or two exchanges with
    another model (held-out word problems and chat prompts)."""
    write_task_file(root, "after_other", heldout_examples("after_other", n, seed * 1000))


def write_wording_tasks(root: Path, seed: int = 4, n: int = 30) -> None:
    """`root/wording.jsonl`: the first `n` pictures of `image.jsonl` and of `shapes.jsonl`, each
    asked in a wording of `HELDOUT_QUESTIONS` (seeded), their media shared with those files."""
    rng = random.Random(seed)
    recs = []
    for kind in ("image", "shapes"):
        lines = (root / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()[:n]
        for line in lines:
            rec = json.loads(line)
            rec["question"] = rng.choice(HELDOUT_QUESTIONS[kind][0 if rec["lang"] == "en" else 1])
            rec["id"] += "-w"
            recs.append(rec)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs)
    (root / "wording.jsonl").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.tiny_moe_data", description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=Path, help="write the held-out task files into this folder")
    ap.add_argument(
        "--unseen-tasks",
        type=Path,
        help="write the unseen-renderer task files (image_unseen, shapes_unseen) here",
    )
    ap.add_argument(
        "--fonts-dir", type=Path, help=f"font folder (default: ${media.FONTS_ENV} or the system's)"
    )
    ap.add_argument("--corpus", type=Path, help="write the tokenizer corpus (one text per line) here")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.fonts_dir:
        media.set_fonts_dir(args.fonts_dir)
    if args.unseen_tasks:
        write_unseen_tasks(args.unseen_tasks)
    if args.tasks:
        write_tasks(args.tasks, args.seed)
        write_after_tasks(args.tasks)
        write_after_other_tasks(args.tasks)
        write_wording_tasks(args.tasks)
    if args.corpus:
        lines = corpus_lines(args.seed, 150)
        args.corpus.write_text(
            "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in lines), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
