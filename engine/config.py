"""Decoding settings: frozen dataclasses holding the reference defaults.

Owns: every knob of a run (sampling, SwiReasoning, budget, seed) in one
place, with validation that raises `RioError` for values a user typed.
Leaves to others: what the knobs do (`sampling.py`, `swir.py`, `decode.py`).
Defaults follow the SwiReasoning reference chat: temperature 0.6, top-p 0.95,
top-k 20, min-p 0, window 512, alpha0 1.0, beta0 0.7, max switch count 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from engine.errors import RioError

Method = Literal["swir", "cot", "cot-greedy"]
METHODS: tuple[str, ...] = ("swir", "cot", "cot-greedy")

DEFAULT_TERMINATION_WORDS = "</think>\n\nThe final answer is"
# Convergence words: `</think>` for chat templates that have the token, this
# plain-text form for the others (the reference's two cases).
QWEN_CONVERGENCE_WORDS = "</think>"
PLAIN_CONVERGENCE_WORDS = "\n\n</think>\n\n"
STEP_BY_STEP_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."


@dataclass(frozen=True)
class SamplingParams:
    """How a token is chosen from the filtered distribution."""

    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20  # 0 = off
    min_p: float = 0.0
    greedy: bool = False  # argmax instead of sampling

    def validate(self) -> None:
        if not self.greedy and self.temperature <= 0:
            raise RioError("Temperature must be above 0 (or choose greedy decoding).")
        if not 0 < self.top_p <= 1:
            raise RioError("top-p must be in (0, 1].")
        if self.top_k < 0:
            raise RioError("top-k must be 0 (off) or a positive whole number.")
        if not 0 <= self.min_p < 1:
            raise RioError("min-p must be in [0, 1).")


@dataclass(frozen=True)
class SwirParams:
    """The SwiReasoning policy's knobs (the paper's and the reference chat's defaults)."""

    alpha0: float = 1.0
    beta0: float = 0.7
    window: int = 512
    max_switch_count: int | None = 2  # None = switch-count control off
    convergence_words: str | None = None  # None = chosen from the tokenizer
    termination_words: str = DEFAULT_TERMINATION_WORDS
    answer_budget: int = 32
    # Strict variant: queued convergence/termination words wait up to this many steps
    # for the model to end its line, so the cap never closes the thinking mid-step
    # (0 = at once, as the reference does).
    line_end_wait: int = 48
    # "strict" (default): a cap that caps and real anchor tokens; "reference":
    # the reference implementation's quirks, for parity (see engine/swir.py).
    variant: Literal["strict", "reference"] = "strict"
    # Truncated soft mix (off by default): keep the smallest token set that
    # holds `mix_mass` of the probability, capped at `mix_top_k` tokens.
    mix_mass: float | None = None
    mix_top_k: int | None = None

    def validate(self) -> None:
        if not 0 <= self.alpha0 <= 1 or not 0 <= self.beta0 <= 1:
            raise RioError("alpha0 and beta0 must be between 0 and 1.")
        if self.window < 1:
            raise RioError("The switch window must be at least 1 step.")
        if self.max_switch_count is not None and self.max_switch_count < 1:
            raise RioError("Max switch count must be at least 1, or off.")
        if self.answer_budget < 1:
            raise RioError("The answer budget must be at least 1 token.")
        if self.line_end_wait < 0:
            raise RioError("The line-end wait must be 0 (off) or a positive number of steps.")
        if self.mix_mass is not None and not 0 < self.mix_mass <= 1:
            raise RioError("The soft-mix mass must be in (0, 1].")
        if self.variant not in ("strict", "reference"):
            raise RioError("The policy variant must be strict or reference.")
        if self.mix_top_k is not None and self.mix_top_k < 1:
            raise RioError("The soft-mix top-k must be at least 1.")


@dataclass(frozen=True)
class DecodeSettings:
    """Everything one run needs besides the model and the prompt."""

    method: str = "swir"
    max_new_tokens: int = 1024
    sampling: SamplingParams = field(default_factory=SamplingParams)
    swir: SwirParams = field(default_factory=SwirParams)
    seed: int | None = None
    thinking: bool = True  # the chat template's enable_thinking
    step_by_step_suffix: bool = False
    system_prompt: str = ""  # a system message before the conversation ("" = none)
    # The engine writes the result of arithmetic the model sets up in its thinking
    # (`56 + 10 =` -> ` 66`), fed back as the model's next tokens (engine/calculator.py).
    calculator: bool = False

    def validate(self) -> DecodeSettings:
        if self.method not in METHODS:
            raise RioError(f"Unknown method {self.method!r}; choose one of {', '.join(METHODS)}.")
        if self.max_new_tokens < 1:
            raise RioError("max new tokens must be at least 1.")
        self.sampling.validate()
        self.swir.validate()
        return self

    @property
    def greedy(self) -> bool:
        return self.method == "cot-greedy" or self.sampling.greedy

    def with_method(self, method: str) -> DecodeSettings:
        return replace(self, method=method)
