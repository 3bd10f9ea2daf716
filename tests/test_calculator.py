"""The calculator inside the thinking: what it reads as arithmetic, what it writes, and that the
decode loop feeds its digits to the model and marks them (engine, trace, chat, eval)."""

from __future__ import annotations

import re
import threading
from fractions import Fraction

import pytest
import torch

from engine.calculator import Calculator, evaluate, parse_number
from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.decode import decode
from engine.eval import Task, run_once
from engine.events import Done, Step
from engine.prompt import Turn


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("First, 56 + 10 =", "66"),
        ("100 - 54 =", "46"),
        ("2 h = 2 × 60 =", "120"),  # the expression right before the last "="
        ("8 + 8 + 8 =", "24"),
        ("56 + 10 = 66, 66 + 2 =", "68"),
        ("2 + 3 × 4 =", "14"),  # products before sums
        ("(2 + 3) × 4 =", "20"),
        ("half of 48 is 48 ÷ 2 =", "24"),
        ("25% é um quarto: 240 ÷ 4 =", "60"),
        ("12 x 11 =", "132"),
        ("12 * 11 =", "132"),
        ("5 × 8,50 =", "42,50"),  # a decimal comma stays a comma, with its places
        ("4 × 0,50 =", "2"),  # a whole result is written whole
        ("3 × 2.25 =", "6.75"),
        ("7 ÷ 2 =", "3.5"),
        ("10 ÷ 3 =", "3.33"),  # not exact in four places: rounded to two
        ("$24 + $10 =", "$34"),
        ("R$ 8,50 + R$ 1,50 =", "R$ 10"),
        ("1,500 + 250 =", "1750"),  # thousands separators
        ("1.000 - 350 =", "650"),
        ("0.125 × 25 =", "3.125"),  # a leading 0: decimals, not a thousands group
        ("0,250 × 4 =", "1"),
        ("5 - 8 =", "-3"),
        ("Check: 68 + 13 =", "81"),
    ],
)
def test_the_result_of_the_arithmetic_before_the_equals_sign(text, result):
    assert evaluate(text) == result


@pytest.mark.parametrize(
    "text",
    [
        "350 g + 300 g =",  # numbers with units: the model writes what it means
        "14:30 + 15 =",  # a clock time is not a number
        "10% + 5 =",
        "10 ÷ 0 =",
        "x = 5",
        "so the answer is 12 =",  # no operator
        "81 > 68 =",
        "56 + 10 = 66",  # the result is already written
        "a == b =",
        "5 +",
        "",
    ],
)
def test_what_is_not_arithmetic_is_left_to_the_model(text):
    assert evaluate(text) is None


def test_numbers_read_as_people_write_them():
    assert parse_number("8,50") == (Fraction(17, 2), 2, True)
    assert parse_number("2.5") == (Fraction(5, 2), 1, False)
    assert parse_number("1,234,567") == (Fraction(1234567), 0, False)
    assert parse_number("1.234,5") == (Fraction(12345, 10), 1, True)
    assert parse_number("0.125") == (Fraction(1, 8), 3, False)
    assert parse_number("0,500") == (Fraction(1, 2), 3, True)
    with pytest.raises(ValueError):
        parse_number("1,23,4")


class _Tok:
    """Characters as token ids: enough to see what `Calculator.read` hands the loop."""

    unk_token_id = 0

    def encode(self, text, add_special_tokens=False):
        return [ord(c) for c in text]

    def convert_tokens_to_ids(self, tokens):
        return [ord(c) for c in tokens]


def test_the_calculator_answers_once_right_after_the_equals_sign():
    calc = Calculator(_Tok())
    assert calc.read("12 × ") == () and calc.read("11") == ()
    ids = calc.read(" =")
    assert "".join(map(chr, ids)) == " 132"
    # its own digits extend what it reads but never trigger it
    assert calc.read(" 132", computed=True) == ()
    assert calc.read(".\n") == ()
    assert "".join(map(chr, calc.read("132 - 32 = "))) == "100"  # after a space: no second space
    # what may not follow a result: the digits; and after a lone decimal mark, the digits again
    assert ord("7") in calc.digits and ord(".") not in calc.digits and ord(" ") not in calc.digits
    assert calc.marks == {ord("."), ord(",")}


# ---------------------------------------------------------------- the decode loop


class _ScriptedRuntime:
    """A runtime whose "model" writes a fixed script, one token per step whatever it reads,
    and records what it was fed: the calculator's digits must reach it as token ids."""

    def __init__(self, tokenizer, script: str) -> None:
        self.name = self.source = "scripted"
        self.tokenizer, self.processor = tokenizer, None
        self.modalities, self.context_length = frozenset({"text"}), 4096
        self.device, self.lock = torch.device("cpu"), threading.Lock()
        self.vocab = len(tokenizer)
        self.embed = torch.zeros(self.vocab, 4)
        self.eos_ids = frozenset({tokenizer.eos_token_id})
        self.math_ids = frozenset(tokenizer.convert_tokens_to_ids(list("0123456789")))
        self.line_end_ids = frozenset(tokenizer.encode("\n", add_special_tokens=False))
        self.script = tokenizer.encode(script, add_special_tokens=False) + [tokenizer.eos_token_id]
        self.fed: list[int | str] = []

    @property
    def has_think_tokens(self) -> bool:
        return True

    def _logits(self) -> torch.Tensor:
        out = torch.full((self.vocab,), -30.0)
        out[self.script[min(len(self.fed), len(self.script) - 1)]] = 30.0
        return out

    def prefill(self, inputs):
        return self._logits(), None

    def step_ids(self, token, cache, position):
        self.fed.append(token)
        return self._logits()

    def step_embeds(self, embedding, cache, position):
        self.fed.append("soft")
        return self._logits()

    def mix(self, probs):
        return probs @ self.embed


def _scripted_steps(runtime, script: str, calculator: bool = True, max_new_tokens: int = 24) -> list[Step]:
    """The steps of a greedy CoT run whose "model" writes `script` (the real tokenizer's ids)."""
    tok = runtime.tokenizer
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=max_new_tokens, calculator=calculator)
    prompt = {"input_ids": torch.tensor([tok.encode("hi", add_special_tokens=False)])}
    events = decode(_ScriptedRuntime(tok, script), prompt, settings, opens_thinking=True)
    return [e for e in events if isinstance(e, Step)]


@pytest.mark.model
@pytest.mark.parametrize("method", ["cot-greedy", "swir"])
def test_the_loop_feeds_the_result_to_the_model_and_marks_it(think_runtime, method):
    tok = think_runtime.tokenizer
    rt = _ScriptedRuntime(tok, "12 × 11 = 999.\nSo 150 - 99 = 11.\n</think>\n\\boxed{11}")
    settings = DecodeSettings(method=method, max_new_tokens=64, calculator=True,
                              sampling=SamplingParams(greedy=True))  # fmt: skip
    prompt = {"input_ids": torch.tensor([tok.encode("hi", add_special_tokens=False)])}
    events = list(decode(rt, prompt, settings, opens_thinking=True))
    steps = [e for e in events if isinstance(e, Step)]
    text = "".join(s.text for s in steps)
    # the script's own digits after each "=" are replaced, then its next token follows
    assert text.startswith("12 × 11 = 132.\nSo 150 - 99 = 51.\n")
    computed = "".join(s.text for s in steps if s.computed)
    assert computed == " 132 51"
    assert all(not s.injected and not s.latent for s in steps if s.computed)
    digits = [s.token_id for s in steps if s.computed]
    fed = [rt.fed[s.t] for s in steps if s.computed]  # step t's token is the model's input t
    assert fed == digits  # the digits went in as tokens, not soft mixes
    done = events[-1]
    assert isinstance(done, Done) and done.summary.computed_tokens == sum(s.computed for s in steps)
    assert steps[0].record()["computed"] is False and any(s.record()["computed"] for s in steps)


class _UnsureRuntime(_ScriptedRuntime):
    """The scripted model with a set entropy: at step i the script's token keeps the weight
    `unsure[i]` and the rest spreads evenly over eight letters. Elsewhere the model grows surer
    step by step (the entropy falls by more than rounding), so SwiReasoning's mode moves where a
    real model's does when the calculator writes a result it did not expect, and nowhere else."""

    def __init__(self, tokenizer, script: str, unsure: dict[int, float]) -> None:
        super().__init__(tokenizer, script)
        self.unsure = unsure
        self.others = tokenizer.convert_tokens_to_ids(list("qwxzjkvy"))  # never the script's

    def _logits(self) -> torch.Tensor:
        i = min(len(self.fed), len(self.script) - 1)
        sure = self.unsure.get(i, 0.95 + 0.001 * i)
        probs = torch.full((self.vocab,), 1e-9)
        probs[self.others] = (1.0 - sure) / len(self.others)
        probs[self.script[i]] = sure
        return probs.log()


@pytest.mark.model
def test_a_result_is_read_as_written_when_swireasoning_switches_on_it(think_runtime):
    """The calculator's digits surprise the model: its entropy jumps on the first digit (the
    rule goes latent, the digit is still written) and falls on the second, a switch back to
    explicit. The rule's input at that switch mixes `p @ E` with `</think>`; `p` is the model's
    guess, not the digit written, so the result must be fed as its token there too, or the
    model goes on from a number that is not in the text ("62 - 47 = 15 ... the answer is 13")."""
    tok = think_runtime.tokenizer
    script = "So 12 × 11 = 999.\nThus 132.\n</think>\nok"
    ids = tok.encode(script, add_special_tokens=False)
    nines = [i for i, t in enumerate(ids) if tok.decode([t]) == "9"]
    unsure = {0: 0.4, nines[0]: 0.2, nines[1]: 0.6}  # latent start, then the jump and the fall
    rt = _UnsureRuntime(tok, script, unsure)
    settings = DecodeSettings(method="swir", max_new_tokens=40, calculator=True,
                              sampling=SamplingParams(greedy=True), swir=SwirParams(window=2))  # fmt: skip
    prompt = {"input_ids": torch.tensor([tok.encode("hi", add_special_tokens=False)])}
    steps = [e for e in decode(rt, prompt, settings, opens_thinking=True) if isinstance(e, Step)]
    assert "".join(s.text for s in steps).startswith("So 12 × 11 = 132.")
    computed = [s for s in steps if s.computed]
    assert [s.switch for s in computed if s.switch] == ["to_latent", "to_explicit"]  # the case at hand
    assert [rt.fed[s.t] for s in computed] == [s.token_id for s in computed]


@pytest.mark.model
def test_the_model_cannot_glue_a_digit_onto_a_result(think_runtime):
    """The script means " 100" after "9 - 10 ="; the calculator writes " -1" in its place, and
    the script's next digit "0" would make that "-10": the loop takes another token instead."""
    text = "".join(s.text for s in _scripted_steps(think_runtime, "9 - 10 = 100, ok.\n</think>\nok"))
    assert re.match(r"9 - 10 = -1\D", text), text


@pytest.mark.model
def test_the_model_cannot_give_a_result_a_decimal_part(think_runtime):
    """The script means " 26.50" after "4 × 6.50 ="; the calculator writes " 26" (the product is
    whole), and the script's ".50" would make it "26.50": the mark may end the sentence, but no
    digit may follow it."""
    text = "".join(s.text for s in _scripted_steps(think_runtime, "4 × 6.50 = 26.50.\n</think>\nok"))
    assert re.match(r"4 × 6\.50 = 26\.\D", text), text


@pytest.mark.model
def test_without_the_calculator_the_model_writes_every_digit(think_runtime):
    steps = _scripted_steps(
        think_runtime, "12 × 11 = 999.\n</think>\nok", calculator=False, max_new_tokens=32
    )
    assert "".join(s.text for s in steps).startswith("12 × 11 = 999") and not any(s.computed for s in steps)


@pytest.mark.model
def test_the_trained_model_with_the_calculator_writes_only_right_arithmetic(think_backend):
    """Whatever the model sets up, every `a op b = c` in its thinking is right, and each c
    came from the calculator (weights decide the expressions, not whether they hold)."""
    questions = [
        "Lucas has 47 stickers. He buys 3 packs of 18 stickers. How many stickers does he have now?",
        "Uma loja tinha 250 camisetas. Vendeu 87 de manhã e 64 à tarde. Quantas sobraram?",
    ]
    expr = re.compile(r"(\d+) ([-+×]) (\d+) = (\d+)")
    for question in questions:
        settings = DecodeSettings(method="swir", max_new_tokens=160, calculator=True,
                                  sampling=SamplingParams(greedy=True))  # fmt: skip
        steps = [e for e in think_backend.chat([Turn("user", question)], settings) if isinstance(e, Step)]
        thinking = "".join(s.text for s in steps if s.phase == "thinking")
        found = expr.findall(thinking)
        assert found and any(s.computed for s in steps), thinking
        for a, op, b, c in found:
            a, b, c = int(a), int(b), int(c)
            assert {"+": a + b, "-": a - b, "×": a * b}[op] == c, thinking


@pytest.mark.model
def test_the_eval_counts_what_the_calculator_wrote(think_backend):
    task = Task("t", "Ana has 38 apples and buys 27 more. How many apples now?", "65", "test")
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=120, calculator=True)
    steps, stop, _ = run_once(think_backend, task, settings)
    assert stop in ("eos", "max_new_tokens") and any(s.computed for s in steps)
