"""Token ids the decoder needs, read from a tokenizer (local runtime and remote server alike).

Owns: the math-symbol list and its token ids, the lookups of signal tokens
(`<think>`, `</think>`, a line break; the reference's backslash-n and
unknown-token fallback for the reference variant), and `signal_ids`, which
resolves them with the convergence/termination words for the SwiReasoning
policy. Leaves the policy
to `swir.py`; needs no model and no torch.
"""

from __future__ import annotations

from typing import Any

from engine.config import PLAIN_CONVERGENCE_WORDS, QWEN_CONVERGENCE_WORDS, SwirParams
from engine.swir import SignalIds

# Symbols whose tokens SwiReasoning always decodes explicitly (the reference's
# list), plus digits and single ASCII letters.
MATH_SYMBOLS = [
    "+",
    "-",
    "*",
    "/",
    "^",
    "=",
    "<",
    ">",
    "\\leq",
    "\\geq",
    "\\neq",
    "\\approx",
    "\\sim",
    "\\equiv",
    "\\to",
    "\\implies",
    "\\iff",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\\left(",
    "\\right)",
    "\\left[",
    "\\right]",
    "\\left\\{",
    "\\right\\}",
    "\\begin{pmatrix}",
    "\\end{pmatrix}",
    "\\frac",
    "\\dfrac",
    "\\sqrt",
    "\\sqrt[]",
    "\\in",
    "\\notin",
    "\\subset",
    "\\supset",
    "\\subseteq",
    "\\supseteq",
    "\\cup",
    "\\cap",
    "\\emptyset",
    "\\varnothing",
    "\\pi",
    "\\theta",
    "\\alpha",
    "\\beta",
    "\\gamma",
    "\\delta",
    "\\epsilon",
    "\\zeta",
    "\\lambda",
    "\\mu",
    "\\nu",
    "\\sin",
    "\\cos",
    "\\tan",
    "\\arcsin",
    "\\arccos",
    "\\arctan",
    "\\log",
    "\\ln",
    "\\exp",
    "_",
    "\\binom",
    "\\choose",
    "\\cdot",
    "\\dots",
    "\\ldots",
    "\\cdots",
    "\\vdots",
    "\\ddots",
    "\\mathbb",
    "\\mathbf",
    "\\mathrm",
    "\\text",
    "\\mbox",
    "\\infty",
    "\\circ",
    "\\prime",
    "\\ast",
    "\\star",
    "\\triangle",
    "\\triangleleft",
    "\\triangleright",
    "\\perp",
    "\\parallel",
    "\\angle",
    "\\boxed",
    "\\overline",
    "\\underline",
    "\\lceil",
    "\\rceil",
    "\\lfloor",
    "\\rfloor",
    "\\left",
    "\\right",
    "\\mid",
    "|",
    "\\vert",
    "\\Vert",
    "\\because",
    "\\therefore",
    "\\forall",
    "\\exists",
    "\\wedge",
    "\\vee",
    "\\neg",
    "\\sum",
    "\\prod",
    "\\int",
    "\\lim",
    "\\min",
    "\\max",
    "\\arg",
    "\\deg",
    "\\gcd",
    "\\operatorname",
    "\\cot",
    "\\cotg",
    "\\sec",
    "\\csc",
] + [chr(c) for c in (*range(48, 58), *range(97, 123), *range(65, 91))]


def token_id(tokenizer: Any, token: str) -> int:
    """`convert_tokens_to_ids`, falling back to the unknown-token id (or 0)
    where the vocabulary lacks the token, as the reference does."""
    tid = tokenizer.convert_tokens_to_ids(token)
    if tid is None:
        tid = tokenizer.unk_token_id
    return int(tid) if tid is not None else 0


def has_token(tokenizer: Any, token: str) -> bool:
    tid = tokenizer.convert_tokens_to_ids(token)
    return tid is not None and tid != tokenizer.unk_token_id


def has_think_tokens(tokenizer: Any) -> bool:
    return has_token(tokenizer, "<think>") and has_token(tokenizer, "</think>")


def encode(tokenizer: Any, text: str) -> tuple[int, ...]:
    return tuple(int(i) for i in tokenizer.encode(text, add_special_tokens=False))


def math_token_ids(tokenizer: Any) -> frozenset[int]:
    """Every id the math symbols encode to (the reference's set)."""
    return frozenset(i for symbol in MATH_SYMBOLS for i in encode(tokenizer, symbol))


def math_ids_below(tokenizer: Any, vocab_size: int) -> frozenset[int]:
    """`math_token_ids` inside a model's vocabulary: made once at load, read by every SwiR row."""
    return frozenset(i for i in math_token_ids(tokenizer) if 0 <= i < vocab_size)


# How a line break looks inside a token's vocabulary string: byte-level BPE (GPT-2,
# Qwen, SmolLM2) maps the byte 0x0A to "Ċ"; SentencePiece writes a byte token "<0x0A>".
_LINE_BREAK_FORMS = ("\n", "\u010a", "<0x0A>")


def line_end_ids_below(tokenizer: Any, vocab_size: int) -> frozenset[int]:
    """Ids whose text holds a line break: where a step of the reasoning ends. Made once
    at load (the strict policy closes the thinking only after one). The vocabulary
    strings pick the candidates cheaply; each candidate is confirmed by decoding it."""
    n = min(vocab_size, len(tokenizer))
    pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
    candidates = [i for i, p in enumerate(pieces) if p and any(f in p for f in _LINE_BREAK_FORMS)]
    return frozenset(i for i in candidates if "\n" in tokenizer.decode([i]))


def signal_ids(tokenizer: Any, swir: SwirParams) -> SignalIds:
    """The policy's signal tokens.

    Reference variant: looked up as the reference does, `convert_tokens_to_ids`
    of `<think>`, `</think>` and the two-character string backslash-n, each
    falling back to the unknown-token id. Strict variant: the real tokens where
    the tokenizer has them (the newline is the id of a real line break), None
    where it does not, so no unknown-token row is mixed in.
    """
    words = swir.convergence_words
    if words is None:
        words = QWEN_CONVERGENCE_WORDS if has_think_tokens(tokenizer) else PLAIN_CONVERGENCE_WORDS
    if swir.variant == "reference":
        think, end_think = token_id(tokenizer, "<think>"), token_id(tokenizer, "</think>")
        newline: int | None = token_id(tokenizer, "\\n")
    else:
        think = token_id(tokenizer, "<think>") if has_token(tokenizer, "<think>") else None
        end_think = token_id(tokenizer, "</think>") if has_token(tokenizer, "</think>") else None
        newline = linebreak_id(tokenizer)
    return SignalIds(
        think=think,
        end_think=end_think,
        newline=newline,
        convergence=encode(tokenizer, words),
        termination=encode(tokenizer, swir.termination_words),
    )


def linebreak_id(tokenizer: Any) -> int | None:
    """The id of a real line break on its own (None if "\\n" does not encode to one token)."""
    ids = encode(tokenizer, "\n")
    return ids[-1] if len(ids) == 1 else None
