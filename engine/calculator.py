"""The calculator inside the thinking: the engine writes the result of arithmetic the model sets up.

Owns: `evaluate` (the arithmetic before an `=` at the end of a text, as the
result text to write, or None) and `Calculator` (one run's view: it reads the
thinking as it streams and, right after the model writes `=` behind an
arithmetic expression, hands the decode loop the token ids of the result).
The loop feeds those ids to the model as its next tokens and marks each step
`computed`, so the trace, the chart and the chat show which digits the engine
wrote. The model still chooses every expression; only the digits after its
`=` come from here. Right after a result, the model may not glue a digit onto
it (a model that meant " 10" goes on with "0" after the calculator's " -1"),
nor a decimal part (a model that meant "26.50" goes on with ".50" after the
calculator's "26"): the loop takes its most likely token outside `digits`
there, and again after a lone decimal mark (`marks`). Nothing here touches a
model.

What counts as an expression: numbers joined by `+ - × x * ÷ /` with optional
parentheses, right before an `=` that ends the text (`56 + 10 =`,
`2 × 60 =`, `8 + 8 + 8 =`, `5 × 8,50 =`, `$24 + $10 =`). A number glued to
a letter, `%` or `:` (a unit, a percentage, a clock time) is not an operand,
so `350 g + 300 g =` and `14:30 + 15 =` are left to the model. Numbers read
`8,50` and `8.50` as decimals and `1,500` / `1.500` as thousands; the result
uses the decimal mark its operands used, and their number of decimal places
when it needs decimals at all (`5 × 8,50 = 42,50`, `4 × 0,50 = 2`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

# How far back the calculator reads: longer than any expression it would take.
TAIL_CHARS = 96
MAX_RESULT_DIGITS = 24  # a longer result is left to the model (and to the reader)

_NUMBER = r"\d+(?:[.,]\d+)*"
_TOKEN_RE = re.compile(rf"\s*(?:(?P<cur>R\$|\$)\s?)?(?P<num>{_NUMBER})|\s*(?P<op>[-+×x*÷/()])")
_OPS = {"+": "+", "-": "-", "×": "*", "x": "*", "*": "*", "÷": "/", "/": "/"}


@dataclass(frozen=True)
class _Number:
    value: Fraction
    places: int  # decimal places as written
    comma: bool  # written with a decimal comma
    currency: str


def parse_number(text: str) -> tuple[Fraction, int, bool]:
    """`8,50` -> (17/2, 2, True); `1,500` and `1.500` are thousands; `2.5` -> (5/2, 1, False);
    `0.125` -> (1/8, 3, False): no thousands-grouped number starts with a 0."""
    seps = [c for c in text if c in ".,"]
    if not seps:
        return Fraction(int(text)), 0, False
    groups = re.split(r"[.,]", text)
    grouped = len(seps) > 1 or (len(groups[-1]) == 3 and not groups[0].startswith("0"))
    if len(set(seps)) == 1 and grouped:
        if all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3:
            return Fraction(int("".join(groups))), 0, False  # thousands separators only
        raise ValueError(text)
    whole, frac = text[: text.rfind(seps[-1])], groups[-1]
    if any(len(g) != 3 for g in re.split(r"[.,]", whole)[1:]):
        raise ValueError(text)
    value = Fraction(int(re.sub(r"[.,]", "", whole) + frac), 10 ** len(frac))
    return value, len(frac), seps[-1] == ","


def _tokens(expr: str) -> list[Any] | None:
    """The expression as numbers and operator characters, or None where something else is in it."""
    out: list[Any] = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN_RE.match(expr, pos)
        if m is None:
            return None if expr[pos:].strip() else out
        if m.group("num") is not None:
            try:
                value, places, comma = parse_number(m.group("num"))
            except ValueError:
                return None
            out.append(_Number(value, places, comma, m.group("cur") or ""))
        else:
            out.append(m.group("op"))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent over `_tokens`: sums of products, parentheses, a leading minus."""

    def __init__(self, toks: list[Any]) -> None:
        self.toks, self.i = toks, 0

    def peek(self) -> Any:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> Any:
        tok = self.peek()
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op, rhs = self.take(), self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.factor()
        while isinstance(self.peek(), str) and _OPS.get(self.peek()) in ("*", "/"):
            op, rhs = _OPS[self.take()], self.factor()
            if op == "/" and rhs == 0:
                raise ZeroDivisionError
            value = value * rhs if op == "*" else value / rhs
        return value

    def factor(self) -> Fraction:
        tok = self.take()
        if isinstance(tok, _Number):
            return tok.value
        if tok == "-":
            return -self.factor()
        if tok == "(":
            value = self.expr()
            if self.take() != ")":
                raise ValueError("unclosed parenthesis")
            return value
        raise ValueError(f"unexpected {tok!r}")


def _expression_start(text: str) -> int:
    """Where the run of expression characters that ends `text` begins (a word boundary)."""
    i = len(text)
    while i > 0 and (text[i - 1].isdigit() or text[i - 1] in " .,+-×x*÷/()$R"):
        i -= 1
    return i


def _candidates(text: str) -> list[str]:
    """Suffixes of `text` that may be the expression, longest first, each starting at a
    number, a currency sign or an opening parenthesis that is not glued to a word."""
    start = _expression_start(text)
    out = []
    for m in re.finditer(rf"\(|R\$|\$|-?{_NUMBER}", text[start:]):
        i = start + m.start()
        if i > 0 and (text[i - 1].isalnum() or text[i - 1] in ".,:%"):
            continue  # glued to a word, a clock time or a number: not where an operand starts
        out.append(text[i:])
    return out


def _format(value: Fraction, numbers: list[_Number]) -> str | None:
    comma = any(n.comma for n in numbers)
    currencies = {n.currency for n in numbers}
    sign, value = ("-" if value < 0 else ""), abs(value)
    if value.denominator == 1:
        body = str(value.numerator)
    else:
        places = max(n.places for n in numbers)
        for p in range(max(places, 1), max(places, 4) + 1):
            if (value * 10**p).denominator == 1:
                places = p
                break
        else:
            places = max(places, 2)  # not exact in four places: a rounded result
        scaled = round(value * 10**places)
        body = f"{scaled // 10**places}.{scaled % 10**places:0{places}d}"
        if comma:
            body = body.replace(".", ",")
    if len(body) > MAX_RESULT_DIGITS:
        return None
    currency = currencies.pop() if len(currencies) == 1 else ""
    if currency == "R$":
        currency = "R$ "
    return f"{sign}{currency}{body}"


def evaluate(text: str) -> str | None:
    """The result to write after the `=` that ends `text`, or None when no arithmetic
    expression (with at least one operator) stands right before it.

    `"First, 56 + 10 ="` -> `"66"`; `"5 × 8,50 ="` -> `"42,50"`; `"350 g + 300 g ="` -> None."""
    body = text.rstrip()
    if not body.endswith("=") or body.endswith("=="):
        return None
    body = body[:-1].rstrip()
    for candidate in _candidates(body):
        toks = _tokens(candidate)
        if not toks or not any(isinstance(t, str) and t not in "()" for t in toks[1:]):
            continue
        try:
            parser = _Parser(toks)
            value = parser.expr()
            if parser.i != len(toks):
                continue
        except (ValueError, ZeroDivisionError):
            continue
        return _format(value, [t for t in toks if isinstance(t, _Number)])
    return None


def _token_ids(tokenizer: Any, chars: str) -> frozenset[int]:
    """The ids of these characters as single tokens (those the tokenizer has)."""
    return frozenset(tokenizer.convert_tokens_to_ids(list(chars))) - {tokenizer.unk_token_id}


class Calculator:
    """One run's calculator: `read` each emitted piece of thinking text; when it ends an
    expression with `=`, `read` returns the token ids of " <result>" for the loop to feed."""

    def __init__(self, tokenizer: Any) -> None:
        self.tok, self.tail = tokenizer, ""
        # what may not follow a result: a digit would make its number longer, and so
        # would a digit after a decimal mark
        self.digits = _token_ids(tokenizer, "0123456789")
        self.marks = _token_ids(tokenizer, ".,")

    def read(self, text: str, *, computed: bool = False) -> tuple[int, ...]:
        """Take the text a step added; computed steps (the results themselves) only extend the tail."""
        self.tail = (self.tail + text)[-TAIL_CHARS:]
        if computed or "=" not in text:
            return ()
        result = evaluate(self.tail)
        if result is None:
            return ()
        lead = "" if self.tail.endswith((" ", "\n")) else " "
        return tuple(self.tok.encode(lead + result, add_special_tokens=False))
