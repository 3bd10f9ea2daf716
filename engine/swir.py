"""The SwiReasoning policy as pure functions over a small state.

Owns: the per-sequence state (`SwirState`), the token ids the rule needs
(`SignalIds`), and `policy_step`, which turns one step's entropy and chosen
token into a `Decision`: the token to emit (after injection), whether the step
is latent, the switch, and the recipe of the next input embedding. It touches
no tensors and no model: `decode.py` computes entropy and the soft embedding
and applies the recipe. The numbered comments follow the rule's steps.

Two variants (`SwirParams.variant`):
- "reference" reproduces the reference implementation exactly, quirks
  included: `locked` looks at the chosen token before injection (an injected
  `</think>` does not lock); every latent->explicit switch past twice the cap
  queues the termination words again and re-arms the answer budget, so a
  model that keeps switching runs to `max_new_tokens`; a new trigger replaces
  the queue; the budget is set to N and counted down in the same step (N-1
  more tokens follow the trigger step).
- "strict" (the product's default): an injected `</think>` locks explicit
  mode like a chosen one, and so does queueing the termination words, so they
  are queued at most once, the answer budget is armed at most once and no
  switch is counted after it; anchors the tokenizer lacks are `None` in
  `SignalIds` and mix nothing in (the reference mixes the unknown-token row
  in their place). Queued words also wait for the end of the line the model
  is writing (up to `SwirParams.line_end_wait` steps) before they are
  injected, so the cap closes the thinking between two steps of the
  reasoning, never inside one ("100 - 54 =</think>"); the answer budget
  starts counting when the words go in. The caller says which tokens end a
  line (`line_ends`); without it the words go in at once, as in the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import SwirParams
from engine.events import Mode, SwitchDir


@dataclass(frozen=True)
class SignalIds:
    """Token ids of the signal words, resolved once per tokenizer (`tokens.signal_ids`).

    An anchor is None when the tokenizer lacks it and the strict variant is on."""

    think: int | None
    end_think: int | None
    newline: int | None
    convergence: tuple[int, ...]
    termination: tuple[int, ...]


@dataclass(frozen=True)
class SwirState:
    mode: Mode = "latent"  # the policy's mode; a step can be forced explicit while it is latent
    ref_h: float = 0.0
    steps_in_mode: int = 0
    locked: bool = False
    to_explicit: int = 0  # latent -> explicit switches: the count the cap applies to
    queue: tuple[int, ...] = ()
    budget: int = -1  # answer budget; -1 = not running
    wait: int = -1  # strict: steps the queued words have waited for a line end; -1 = not waiting


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
    latent: bool  # the model reads a soft embedding next
    switch: SwitchDir | None
    forced_explicit: bool  # the policy was latent but the step went explicit
    mix: Mix
    budget_done: bool  # the answer budget ran out: the sequence ends here
    trigger: str | None = None  # "convergence"/"termination" when this step queued those words
    agreed: bool = False  # an injected token that the model had chosen itself this step


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
    line_ends: frozenset[int] | None = None,
) -> tuple[SwirState, Decision]:
    """One step of the rule. `chosen` is the sampled/argmax token of step t.
    `line_ends`: the ids whose text ends a line (strict: queued words wait for one)."""
    strict = cfg.variant == "strict"
    # 2. Lock on the chosen end-of-thinking token (reference: before injection).
    locked = state.locked or (ids.end_think is not None and chosen == ids.end_think)
    # 3. Injection (strict: an injected `</think>` locks like a chosen one).
    token, queue, injected = chosen, state.queue, False
    if queue and state.wait < 0:
        token, queue, injected = queue[0], queue[1:], True
        locked = locked or (strict and token == ids.end_think)
    # 4. Mode update.
    mode, ref_h, steps, count, switch = _update_mode(state, t, entropy, locked, cfg.window)
    # 5. Forced explicit.
    explicit = mode == "explicit" or locked or is_math
    # 6. Next input.
    mix = _next_input(explicit, switch, t, token, ids, cfg, max_new_tokens)
    # 7. Switch-count control (strict: queued words wait for the end of the line).
    waits = strict and line_ends is not None and cfg.line_end_wait > 0
    queue, wait = _keep_waiting(state.wait, token, queue, ids, cfg, line_ends) if waits else (queue, -1)
    budget, trigger = state.budget, None
    if cfg.max_switch_count is not None and t > 0:
        hold = state.wait >= 0  # the words have not gone in yet: the budget waits with them
        queue, budget, trigger = _switch_control(switch, count, queue, budget, ids, cfg, hold=hold)
        if waits and trigger is not None and state.wait < 0 and token not in line_ends:
            wait = 0  # the words wait: the model is inside a line
    # Strict: the termination words end the thinking for good (explicit from here on,
    # so no switch is counted and the budget is never re-armed).
    locked = locked or (strict and trigger == "termination")
    new_state = SwirState(mode, ref_h, steps, locked, count, queue, budget, wait)
    decision = Decision(
        token=token,
        injected=injected,
        latent=not explicit,
        switch=switch,
        forced_explicit=explicit and mode == "latent",
        mix=mix,
        budget_done=budget == 0,
        trigger=trigger,
        agreed=injected and chosen == token,
    )
    return new_state, decision


def _update_mode(
    s: SwirState, t: int, h: float, locked: bool, window: int
) -> tuple[Mode, float, int, int, SwitchDir | None]:
    if t == 0:
        return "latent", h, s.steps_in_mode, s.to_explicit, None
    steps = s.steps_in_mode + 1
    if s.mode == "latent" and h < s.ref_h:
        return "explicit", h, 0, s.to_explicit + 1, "to_explicit"
    if s.mode == "explicit" and h > s.ref_h and steps >= window and not locked:
        return "latent", h, 0, s.to_explicit, "to_latent"
    return s.mode, s.ref_h, steps, s.to_explicit, None


def _anchored(weight: float, anchor: int | None, fallback: Mix) -> Mix:
    """`weight * soft + (1 - weight) * E[anchor]`, or `fallback` when the anchor is missing."""
    return Mix(weight, anchor) if anchor is not None else fallback


def _next_input(
    explicit: bool,
    switch: SwitchDir | None,
    t: int,
    token: int,
    ids: SignalIds,
    cfg: SwirParams,
    max_new_tokens: int,
) -> Mix:
    soft, plain = Mix(1.0, None), Mix(0.0, token)
    if explicit:
        if switch == "to_explicit":  # t > 0 always holds for a switch
            return _anchored(schedule(cfg.beta0, t, max_new_tokens), ids.end_think, plain)
        return plain
    if t == 0:
        return _anchored(0.9, ids.newline, soft)
    if switch == "to_latent":
        return _anchored(schedule(cfg.alpha0, t, max_new_tokens), ids.think, soft)
    return soft


def _keep_waiting(
    waited: int,
    token: int,
    queue: tuple[int, ...],
    ids: SignalIds,
    cfg: SwirParams,
    line_ends: frozenset[int],
) -> tuple[tuple[int, ...], int]:
    """Strict: the queue and wait count after this step of a running wait (-1 = the
    words go in next step). It ends on a token that ends a line, after `line_end_wait`
    steps (so a cap always closes), or on a `</think>` the model chose itself, which
    drops the queued words up to and including their own `</think>`."""
    if waited < 0:
        return queue, -1
    if ids.end_think is not None and token == ids.end_think:
        return queue[queue.index(token) + 1 :] if token in queue else queue, -1
    if token in line_ends or waited + 1 >= cfg.line_end_wait:
        return queue, -1
    return queue, waited + 1


def _switch_control(
    switch: SwitchDir | None,
    count: int,
    queue: tuple[int, ...],
    budget: int,
    ids: SignalIds,
    cfg: SwirParams,
    *,
    hold: bool = False,
) -> tuple[tuple[int, ...], int, str | None]:
    """Queue the convergence or termination words on a switch past the cap; count the
    answer budget down (not while `hold`: queued words still waiting for a line end)."""
    cap = cfg.max_switch_count
    assert cap is not None
    trigger = None
    if switch == "to_explicit" and cap <= count <= 2 * cap:
        queue, trigger = ids.convergence, "convergence"
    if switch == "to_explicit" and count > 2 * cap:
        queue, budget, trigger = ids.termination, cfg.answer_budget, "termination"
    if budget >= 0 and not hold:
        budget -= 1
    return queue, budget, trigger


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
