"""The records the decode loop yields, as frozen plain-value dataclasses.

Owns: `Started`, `Step`, `Done` and the run `Summary`. A consumer (CLI, UI,
trace writer, tests) sees only these; nothing here touches a model.
A run yields one `Started`, then one `Step` per generated token, then one
`Done` (also after a cancel). User errors are raised as `RioError`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Mode = Literal["latent", "explicit"]
SwitchDir = Literal["to_explicit", "to_latent"]
Phase = Literal["thinking", "answer"]
StopReason = Literal["eos", "max_new_tokens", "answer_budget", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class Started:
    method: str
    prompt_tokens: int
    max_new_tokens: int
    max_switch_count: int | None  # None: control off, or not a SwiR run
    thinking: bool  # the run starts inside a thinking block


@dataclass(frozen=True, slots=True)
class Step:
    """One generated token.

    `mode` is what the model read next: "latent" when that input was a soft
    embedding, "explicit" when it was the token (or a mix anchored on it).
    `forced` marks a step the policy held latent but that went explicit
    because its token is a math token or thinking is locked. `entropy` is
    None only for remote backends that report no log-probabilities.
    """

    t: int
    token_id: int
    text: str  # text this token adds to the output (may be "")
    entropy: float | None
    ref_entropy: float | None  # None for CoT runs
    mode: Mode
    switch: SwitchDir | None
    forced: bool
    injected: bool
    phase: Phase

    def record(self) -> dict:
        """The step as written to a trace file (the CLI's JSON schema)."""
        d = asdict(self)
        d.pop("phase")
        return d


@dataclass(frozen=True, slots=True)
class Summary:
    tokens: int
    latent_steps: int
    explicit_steps: int
    switches: int  # latent -> explicit switches, the count the control uses
    stop_reason: StopReason
    ttft_s: float | None
    tokens_per_s: float | None
    prompt_tokens: int = 0
    elapsed_s: float = 0.0
    to_latent_switches: int = 0
    injected_tokens: int = 0
    after_forced_tokens: int = 0  # tokens after a forced convergence/termination

    def record(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Done:
    summary: Summary


Event = Started | Step | Done
