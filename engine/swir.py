"""The SwiReasoning policy as pure functions over a small state.

Owns: the per-sequence state (`SwirState`), the token ids the rule needs
(`SignalIds`), and `policy_step`, which turns one step's entropy and chosen
token into a `Decision`: the token to emit (after injection), the mode, the
switch, and the recipe of the next input embedding. It touches no tensors and
no model: `decode.py` computes entropy and the soft embedding and applies the
recipe. See ../shared/SWIREASONING.md; the numbered comments follow it.

The reference's quirks are kept: `locked` looks at the chosen token before
injection (an injected `</think>` does not lock); a new convergence or
termination trigger replaces the queue; the answer budget is set to N and
counted down in the same step, so N-1 more tokens follow the trigger step.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import SwirParams
from engine.events import Mode, SwitchDir


@dataclass(frozen=True)
class SignalIds:
    """Token ids of the signal words, resolved once per tokenizer."""

    think: int
    end_think: int
    newline: int
    convergence: tuple[int, ...]
    termination: tuple[int, ...]


@dataclass(frozen=True)
class SwirState:
    mode: Mode = "latent"
    ref_h: float = 0.0
    steps_in_mode: int = 0
    locked: bool = False
    switches: int = 0  # latent -> explicit switches
    queue: tuple[int, ...] = ()
    budget: int = -1  # answer budget; -1 = not running


@dataclass(frozen=True)
class Mix:
    """Next input = `soft_weight * soft + (1 - soft_weight) * E[anchor]`.

    `soft_weight == 0` is a plain token step (feed `anchor` as an id);
    `anchor is None` only when `soft_weight == 1`.
    """

    soft_weight: float
    anchor: int | None


@dataclass(frozen=True)
class Decision:
    token: int  # the token emitted this step (after injection)
    injected: bool
    mode: Mode  # what the model reads next: "latent" (soft) or "explicit"
    switch: SwitchDir | None
    forced: bool  # the policy was latent but the step went explicit
    mix: Mix
    budget_done: bool  # the answer budget ran out: the sequence ends here


def schedule(w0: float, t: int, max_new_tokens: int) -> float:
    """alpha/beta schedule: `w0 + (1 - w0) * t / max_new_tokens`."""
    return w0 + (1.0 - w0) * t / max_new_tokens


def policy_step(
    state: SwirState,
    t: int,
    entropy: float,
    chosen: int,
    *,
    is_math: bool,
    ids: SignalIds,
    cfg: SwirParams,
    max_new_tokens: int,
) -> tuple[SwirState, Decision]:
    """One step of the rule. `chosen` is the sampled/argmax token of step t."""
    # 2. Lock on the chosen end-of-thinking token (before injection: quirk).
    locked = state.locked or chosen == ids.end_think
    # 3. Injection.
    token, queue, injected = chosen, state.queue, False
    if queue:
        token, queue, injected = queue[0], queue[1:], True
    # 4. Mode update.
    mode, ref_h, steps, switches, switch = _update_mode(state, t, entropy, locked, cfg.window)
    # 5. Forced explicit.
    explicit = mode == "explicit" or locked or is_math
    forced = explicit and mode == "latent"
    # 6. Next input.
    mix = _next_input(explicit, switch, t, token, ids, cfg, max_new_tokens)
    # 7. Switch-count control.
    budget = state.budget
    if cfg.max_switch_count is not None and t > 0:
        queue, budget = _switch_control(switch, switches, queue, budget, ids, cfg)
    new_state = SwirState(mode, ref_h, steps, locked, switches, queue, budget)
    decision = Decision(
        token=token,
        injected=injected,
        mode="explicit" if explicit else "latent",
        switch=switch,
        forced=forced,
        mix=mix,
        budget_done=budget == 0,
    )
    return new_state, decision


def _update_mode(
    s: SwirState, t: int, h: float, locked: bool, window: int
) -> tuple[Mode, float, int, int, SwitchDir | None]:
    if t == 0:
        return "latent", h, s.steps_in_mode, s.switches, None
    steps = s.steps_in_mode + 1
    if s.mode == "latent" and h < s.ref_h:
        return "explicit", h, 0, s.switches + 1, "to_explicit"
    if s.mode == "explicit" and h > s.ref_h and steps >= window and not locked:
        return "latent", h, 0, s.switches, "to_latent"
    return s.mode, s.ref_h, steps, s.switches, None


def _next_input(
    explicit: bool,
    switch: SwitchDir | None,
    t: int,
    token: int,
    ids: SignalIds,
    cfg: SwirParams,
    max_new_tokens: int,
) -> Mix:
    if explicit:
        if switch == "to_explicit":  # t > 0 always holds for a switch
            return Mix(schedule(cfg.beta0, t, max_new_tokens), ids.end_think)
        return Mix(0.0, token)
    if t == 0:
        return Mix(0.9, ids.newline)
    if switch == "to_latent":
        return Mix(schedule(cfg.alpha0, t, max_new_tokens), ids.think)
    return Mix(1.0, None)


def _switch_control(
    switch: SwitchDir | None,
    switches: int,
    queue: tuple[int, ...],
    budget: int,
    ids: SignalIds,
    cfg: SwirParams,
) -> tuple[tuple[int, ...], int]:
    cap = cfg.max_switch_count
    assert cap is not None
    if switch == "to_explicit" and cap <= switches <= 2 * cap:
        queue = ids.convergence
    if switch == "to_explicit" and switches > 2 * cap:
        queue, budget = ids.termination, cfg.answer_budget
    if budget >= 0:
        budget -= 1
    return queue, budget


def replay(
    entropies: list[float],
    tokens: list[int],
    *,
    is_math: list[bool],
    ids: SignalIds,
    cfg: SwirParams,
    max_new_tokens: int,
) -> list[Decision]:
    """Run the policy over a recorded trace (no model): where SwiR *would* switch.

    Injected tokens are reported but not fed back, since the trace is fixed.
    """
    state, out = SwirState(), []
    for t, (h, tok, math) in enumerate(zip(entropies, tokens, is_math, strict=True)):
        state, d = policy_step(
            state, t, h, tok, is_math=math, ids=ids, cfg=cfg, max_new_tokens=max_new_tokens
        )
        out.append(d)
        if d.budget_done:
            break
    return out
