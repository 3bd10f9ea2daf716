"""The records the decode loop yields, as frozen plain-value dataclasses.

Owns: `Started`, `Step`, `Done` and the run `Summary`. A consumer (CLI, UI,
trace writer, tests) sees only these; nothing here touches a model.
A run yields one `Started`, then one `Step` per generated token, then one
`Done` (also after a cancel). User errors are raised as `RioError`.

Per-run facts travel here, not on the backend: `Started` carries the prompt's
token ids, whether the entropy is exact or a remote estimate, and whether the
switch marks were applied by the loop, replayed over a remote stream (where
SwiReasoning *would* switch), or run by a server (real marks where it streams
its trace, as the vllm-swir extension does).

Words used throughout: a *latent step* is one after which the model read a
soft embedding (`Step.latent`); an *explicit step* is one after which it read
a token. The policy's own mode (`engine.swir.SwirState.mode`) can be latent
while the step is explicit: that step is *forced explicit* (a math token, or
thinking is locked). *Switches* are counted by direction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["latent", "explicit"]
SwitchDir = Literal["to_explicit", "to_latent"]
Phase = Literal["thinking", "answer"]
# "unloaded": the model's scheduler closed under the run (a model switch, the app shutting down)
StopReason = Literal["eos", "max_new_tokens", "answer_budget", "cancelled", "unloaded", "error"]
EntropyKind = Literal["exact", "estimate"]
# "applied": the loop switched for real; "replay": where SwiR would switch over a
# remote stream (not applied); "server": the server ran SwiR (with the vllm-swir extension
# its per-step trace gives the real modes and exact entropy; an older fork sends none).
SwitchMarks = Literal["applied", "replay", "server"]
# How the thinking block ended: the model's own `</think>`, injected words of the
# switch-count control, or not at all (no thinking, or the run ended inside it).
ThinkingEnd = Literal["model", "convergence", "termination"]
MixEntry = tuple[int, str, float]  # (token id, text, probability)

# An answer this short after injected convergence/termination words reads as a
# thinking block closed before the model was done (see `Summary.early_close`).
SHORT_ANSWER_TOKENS = 48
# A SwiReasoning run starts latent with its first step's entropy as the reference, and leaves
# latent mode only at a step more certain than that. After a near-certain first word the rule
# can hold a run latent for dozens of steps, and the words shown for those steps (each step's
# own guess, not what the model read) may read as noise: this many latent steps from the start
# earn the run a note (see `Summary.long_latent_opening`).
LONG_LATENT_OPENING = 24


@dataclass(frozen=True, slots=True)
class Started:
    method: str
    prompt_tokens: int
    max_new_tokens: int
    max_switch_count: int | None  # None: control off, or not a SwiR run
    thinking: bool  # the run starts inside a thinking block
    prompt_ids: tuple[int, ...] = ()  # empty where a server does not report them
    entropy: EntropyKind = "exact"
    switch_marks: SwitchMarks = "applied"


@dataclass(frozen=True, slots=True)
class Step:
    """One generated token.

    `latent` is True when the model read a soft embedding after this step;
    `mix` then holds the most likely tokens of the distribution that was mixed
    (id, text, probability), best first. `forced_explicit` marks a step the
    policy held latent but that went explicit because its token is a math token
    or thinking is locked. `entropy` is None only for remote backends that
    report no log-probabilities.
    """

    t: int
    token_id: int
    text: str  # text this token adds to the output (may be "")
    entropy: float | None
    ref_entropy: float | None  # None for CoT runs
    latent: bool
    switch: SwitchDir | None
    forced_explicit: bool
    injected: bool
    phase: Phase
    mix: tuple[MixEntry, ...] = ()
    computed: bool = False  # written by the engine's calculator, not chosen by the model

    def record(self) -> dict:
        """The step as written to a trace file (schema 1; `mix` on latent steps only)."""
        d = {
            "t": self.t,
            "token_id": self.token_id,
            "text": self.text,
            "entropy": self.entropy,
            "ref_entropy": self.ref_entropy,
            "mode": "latent" if self.latent else "explicit",
            "switch": self.switch,
            "forced": self.forced_explicit,
            "injected": self.injected,
            "phase": self.phase,
            "computed": self.computed,
        }
        if self.latent:
            d["mix"] = [[tid, text, round(p, 4)] for tid, text, p in self.mix]
        return d


@dataclass(frozen=True, slots=True)
class Summary:
    tokens: int
    latent_steps: int
    explicit_steps: int
    to_explicit_switches: int  # latent -> explicit: the count the switch cap applies to
    stop_reason: StopReason
    ttft_s: float | None
    tokens_per_s: float | None
    prompt_tokens: int = 0
    elapsed_s: float = 0.0
    to_latent_switches: int = 0
    injected_tokens: int = 0
    after_injection_tokens: int = 0  # tokens the model chose after the first injected word
    thinking_end: ThinkingEnd | None = None
    # the switch-count control's `</think>` went in at a step where the model had chosen
    # `</think>` itself: the cap closed nothing the model meant to go on with
    model_chose_end: bool = False
    answer_tokens: int = 0  # tokens after the thinking block (all of them without one)
    computed_tokens: int = 0  # tokens the calculator wrote (results after the model's `=`)
    opening_latent_steps: int = 0  # latent steps from the start, before the first switch

    @property
    def long_latent_opening(self) -> bool:
        """The run stayed latent from its start for long enough that its thinking may read as
        noise (`LONG_LATENT_OPENING`)."""
        return self.opening_latent_steps >= LONG_LATENT_OPENING

    @property
    def early_close(self) -> bool:
        """The thinking may have been closed before the model was done: the answer
        budget ran out, or injected words closed it where the model had not chosen to close
        it too, and the model ended a short answer."""
        if self.stop_reason == "answer_budget":
            return True
        forced = self.thinking_end in ("convergence", "termination") and not self.model_chose_end
        return forced and self.stop_reason == "eos" and self.answer_tokens < SHORT_ANSWER_TOKENS

    def record(self) -> dict:
        """The summary as written to a trace file (schema 1 key names)."""
        return {
            "tokens": self.tokens,
            "latent_steps": self.latent_steps,
            "explicit_steps": self.explicit_steps,
            "switches": self.to_explicit_switches,
            "stop_reason": self.stop_reason,
            "ttft_s": self.ttft_s,
            "tokens_per_s": self.tokens_per_s,
            "prompt_tokens": self.prompt_tokens,
            "elapsed_s": self.elapsed_s,
            "to_latent_switches": self.to_latent_switches,
            "injected_tokens": self.injected_tokens,
            "after_forced_tokens": self.after_injection_tokens,
            "thinking_end": self.thinking_end,
            "model_chose_end": self.model_chose_end,
            "answer_tokens": self.answer_tokens,
            "early_close": self.early_close,
            "computed_tokens": self.computed_tokens,
            "opening_latent_steps": self.opening_latent_steps,
        }


@dataclass(frozen=True, slots=True)
class Done:
    summary: Summary


Event = Started | Step | Done
