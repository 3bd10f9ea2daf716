"""One request's SwiReasoning inside the model runner: policy state, step count, trace records.

Owns: `SwirRow`, which turns a step's entropy and sampled token into what the runner must do
(the token to emit, the soft-mix recipe of the next input) by calling `engine.swir.policy_step`,
the one policy implementation, and the trace record of the step. Pure Python: the runner
computes entropies and mixes; this file touches no tensor.

The answer budget. The rule ends a run in the step its budget reaches 0, after emitting that
step's token. A worker cannot end a vLLM request by itself, so the row then *closes*: the next
step emits the request's EOS id in place of the sampled token (vLLM's own stop check ends the
request there). That step's record says `"closing": true`; a client drops it from the trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.swir import Decision, SwirState, policy_step
from vllm_swir.knobs import SwirRequest


@dataclass
class Action:
    token: int  # emitted this step (after injection or closing)
    soft_weight: float  # > 0: the next input is `w * soft + (1 - w) * E[anchor]`
    anchor: int | None
    record: dict


@dataclass
class SwirRow:
    req: SwirRequest
    max_new_tokens: int
    eos_id: int | None
    state: SwirState = field(default_factory=SwirState)
    t: int = 0
    closing: bool = False  # the answer budget ran out last step: emit EOS now

    def step(self, entropy: float, sampled: int) -> Action:
        if self.closing:
            assert self.eos_id is not None
            self.t += 1
            return Action(self.eos_id, 0.0, None, {"t": self.t - 1, "token_id": self.eos_id, "closing": True})
        self.state, d = policy_step(
            self.state, self.t, entropy, sampled, is_math=sampled in self.req.math_ids, ids=self.req.ids,
            cfg=self.req.params, max_new_tokens=self.max_new_tokens, line_ends=self.req.line_ends,
        )  # fmt: skip
        record = self._record(d, entropy)
        self.t += 1
        if d.budget_done:
            record["end"] = "answer_budget"
            self.closing = self.eos_id is not None and d.token != self.eos_id
        return Action(d.token, d.mix.soft_weight, d.mix.anchor, record)

    def _record(self, d: Decision, entropy: float) -> dict:
        rec = {
            "t": self.t,
            "token_id": d.token,
            "entropy": entropy,
            "ref_entropy": self.state.ref_h,
            "mode": "latent" if d.latent else "explicit",
            "switch": d.switch,
            "forced": d.forced_explicit,
            "injected": d.injected,
        }
        if d.trigger:
            rec["trigger"] = d.trigger
        return rec
