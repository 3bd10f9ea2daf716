"""The SwiReasoning policy, rule by rule, without a model."""

from __future__ import annotations

import pytest

from engine.config import SwirParams
from engine.swir import Mix, SignalIds, SwirState, policy_step, replay, schedule

IDS = SignalIds(think=1, end_think=2, newline=3, convergence=(2,), termination=(2, 10, 11))
TOK = 50  # an ordinary token
MAX = 100
NO_CONTROL = SwirParams(window=2, max_switch_count=None)
REF = {"variant": "reference"}


def run(entropies, tokens=None, *, math=None, cfg=NO_CONTROL):
    tokens = tokens or [TOK] * len(entropies)
    math = math or [False] * len(entropies)
    state, out = SwirState(), []
    for t, (h, tok, m) in enumerate(zip(entropies, tokens, math, strict=True)):
        state, d = policy_step(state, t, h, tok, is_math=m, ids=IDS, cfg=cfg, max_new_tokens=MAX)
        out.append((state, d))
    return out


def test_first_step_is_latent_with_newline_mix_and_sets_reference():
    ((state, d),) = run([2.0])
    assert d.latent and d.switch is None
    assert state.ref_h == 2.0
    assert d.mix == Mix(0.9, IDS.newline)


def test_latent_to_explicit_when_entropy_falls_below_reference():
    (_, _), (s1, d1) = run([2.0, 1.5])
    assert d1.switch == "to_explicit" and not d1.latent
    assert s1.ref_h == 1.5 and s1.steps_in_mode == 0 and s1.to_explicit == 1
    # explicit input on that switch: beta * soft + (1 - beta) * E[</think>]
    assert d1.mix == Mix(pytest.approx(schedule(0.7, 1, MAX)), IDS.end_think)


def test_latent_stays_when_entropy_does_not_fall():
    out = run([2.0, 2.0, 3.0])
    assert [d.latent for _, d in out] == [True] * 3
    assert out[-1][1].mix == Mix(1.0, None)  # plain soft embedding


def test_explicit_to_latent_needs_higher_entropy_and_a_full_window():
    # t1: to explicit (ref 1.0); t2: higher but only 1 step in mode (< window 2)
    # t3: higher with 2 steps in mode -> to latent with the alpha mix on <think>.
    out = run([2.0, 1.0, 1.5, 1.5], cfg=SwirParams(window=2, alpha0=0.5, max_switch_count=None))
    assert [d.switch for _, d in out] == [None, "to_explicit", None, "to_latent"]
    assert out[2][1].mix == Mix(0.0, TOK)
    s3, d3 = out[3]
    assert d3.latent and s3.ref_h == 1.5 and s3.steps_in_mode == 0
    assert d3.mix == Mix(pytest.approx(0.5 + 0.5 * 3 / MAX), IDS.think)
    assert s3.to_explicit == 1  # only latent -> explicit counts


def test_window_counts_steps_since_the_last_switch():
    # switch at t1 resets the count; t2, t3, t4 make 3 steps in mode
    out = run([2.0, 1.0, 1.2, 1.2, 1.2], cfg=SwirParams(window=3, max_switch_count=None))
    assert [d.switch for _, d in out] == [None, "to_explicit", None, None, "to_latent"]
    out = run([2.0, 1.0, 1.2, 1.2, 1.2], cfg=SwirParams(window=4, max_switch_count=None))
    assert [d.switch for _, d in out] == [None, "to_explicit", None, None, None]


def test_locked_after_chosen_end_think_never_goes_latent():
    out = run([2.0, 1.0, 5.0, 5.0, 5.0], tokens=[TOK, TOK, IDS.end_think, TOK, TOK])
    assert all(s.locked for s, _ in out[2:])
    assert [d.latent for _, d in out[2:]] == [False] * 3


def test_locked_forces_explicit_while_policy_mode_is_latent():
    (_, d0), (s1, d1) = run([2.0, 3.0], tokens=[TOK, IDS.end_think])
    assert s1.mode == "latent" and not d1.latent and d1.forced_explicit


def test_injected_end_think_does_not_lock_quirk():
    state = SwirState(mode="explicit", ref_h=1.0, queue=(IDS.end_think,))
    cfg = SwirParams(**REF)
    s, d = policy_step(state, 5, 1.0, TOK, is_math=False, ids=IDS, cfg=cfg, max_new_tokens=MAX)
    assert d.token == IDS.end_think and d.injected and not s.locked


def test_strict_injected_end_think_locks():
    state = SwirState(mode="explicit", ref_h=1.0, queue=(IDS.end_think,))
    s, d = policy_step(state, 5, 1.0, TOK, is_math=False, ids=IDS, cfg=SwirParams(), max_new_tokens=MAX)
    assert d.token == IDS.end_think and d.injected and s.locked


@pytest.mark.parametrize("variant", ["reference", "strict"])
@pytest.mark.parametrize(("chosen", "agreed"), [(IDS.end_think, True), (TOK, False)])
def test_an_injected_token_the_model_chose_too_is_marked_agreed(variant, chosen, agreed):
    state = SwirState(mode="explicit", ref_h=1.0, queue=(IDS.end_think,))
    cfg = SwirParams(variant=variant)
    _, d = policy_step(state, 5, 1.0, chosen, is_math=False, ids=IDS, cfg=cfg, max_new_tokens=MAX)
    assert d.token == IDS.end_think and d.injected and d.agreed is agreed


def test_math_token_forces_explicit_step_and_keeps_policy_mode():
    (_, d0), (s1, d1) = run([2.0, 3.0], math=[False, True])
    assert s1.mode == "latent"
    assert not d1.latent and d1.forced_explicit and d1.mix == Mix(0.0, TOK)


def test_math_token_at_step_zero_is_explicit():
    ((_, d0),) = run([2.0], math=[True])
    assert not d0.latent and d0.forced_explicit and d0.mix == Mix(0.0, TOK)


def test_convergence_words_queued_from_max_switches_and_emitted_next_steps():
    cfg = SwirParams(window=1, max_switch_count=1)
    # switch to explicit at t1 (switches=1 == max) -> queue convergence
    out = run([2.0, 1.0, 1.0, 1.0], cfg=cfg)
    s1, d1 = out[1]
    assert s1.queue == IDS.convergence and not d1.injected
    s2, d2 = out[2]
    assert d2.token == IDS.convergence[0] and d2.injected and s2.queue == ()


def test_termination_after_twice_max_switches_sets_answer_budget():
    cfg = SwirParams(window=1, max_switch_count=1, answer_budget=3, **REF)
    # latent/explicit alternation: switches to explicit at t1, t3, t5 -> third > 2*max
    hs = [5.0, 4.0, 4.5, 3.0, 3.5, 2.0, 2.0, 2.0, 2.0]
    out = run(hs, cfg=cfg)
    assert [s.to_explicit for s, _ in out][:6] == [0, 1, 1, 2, 2, 3]
    s5, _ = out[5]
    assert s5.queue == IDS.termination and s5.budget == 2  # set to 3, counted down at once
    tokens = [d.token for _, d in out[6:8]]
    assert tokens == list(IDS.termination[:2])
    assert [d.budget_done for _, d in out[:8]] == [False] * 7 + [True]


def test_answer_budget_ends_after_budget_minus_one_more_steps():
    cfg = SwirParams(window=1, max_switch_count=1, answer_budget=3, **REF)
    state = SwirState(mode="latent", ref_h=5.0, to_explicit=2)
    state, d = policy_step(state, 10, 1.0, TOK, is_math=False, ids=IDS, cfg=cfg, max_new_tokens=MAX)
    assert d.switch == "to_explicit" and state.budget == 2
    ends = []
    for t in range(11, 15):
        state, d = policy_step(state, t, 1.0, TOK, is_math=False, ids=IDS, cfg=cfg, max_new_tokens=MAX)
        ends.append(d.budget_done)
    assert ends == [False, True, False, False]


def test_switch_control_off_never_injects():
    out = run([5.0, 4.0, 4.5, 3.0, 3.5, 2.0, 2.5], cfg=SwirParams(window=1, max_switch_count=None))
    assert not any(d.injected for _, d in out)
    assert all(s.queue == () and s.budget == -1 for s, _ in out)


def test_schedules_reach_one_at_the_token_budget():
    assert schedule(0.7, 0, 100) == 0.7
    assert schedule(0.7, 100, 100) == 1.0
    assert schedule(1.0, 37, 100) == 1.0


def test_replay_over_a_recorded_trace_matches_step_by_step_policy():
    hs = [2.0, 1.0, 1.5, 1.5, 0.5]
    cfg = SwirParams(window=2, max_switch_count=None)
    decisions = replay(hs, [TOK] * 5, is_math=[False] * 5, ids=IDS, cfg=cfg, max_new_tokens=MAX)
    assert [d.switch for d in decisions] == [d.switch for _, d in run(hs, cfg=cfg)]


# ---- the strict variant against the reference, on a model that keeps switching

PLAIN = SignalIds(think=None, end_think=None, newline=3, convergence=(20, 21), termination=(30, 31, 32))


def zigzag(n: int) -> list[float]:
    """Entropy that falls then rises every step: a latent step switches at once, an explicit
    one switches back as soon as the window allows."""
    return [5.0 - 0.001 * t + (0.5 if t % 2 == 0 else 0.0) for t in range(n)]


def simulate(cfg: SwirParams, ids: SignalIds, n: int = 512) -> list:
    state, out = SwirState(), []
    for t, h in enumerate(zigzag(n)):
        state, d = policy_step(state, t, h, TOK, is_math=False, ids=ids, cfg=cfg, max_new_tokens=n)
        out.append((state, d))
        if d.budget_done:
            break
    return out


@pytest.mark.parametrize("ids", [IDS, PLAIN], ids=["thinking-tokens", "plain-words"])
def test_strict_cap_caps_and_the_run_ends_after_the_termination_words(ids):
    cap = 2
    out = simulate(SwirParams(window=1, max_switch_count=cap), ids)
    switches = out[-1][0].to_explicit
    assert switches <= 2 * cap + 1
    queued = [t for t, (_, d) in enumerate(out) if d.trigger == "termination"]
    assert len(queued) <= 1
    if queued:  # plain words: convergence does not lock, termination does, and the budget ends the run
        assert out[-1][1].budget_done and len(out) - 1 - queued[0] <= 32
        assert all(s.locked for s, _ in out[queued[0] :])
    else:  # the injected </think> locked explicit mode after the cap
        assert switches == cap and out[-1][0].locked
    assert sum(d.trigger == "termination" for _, d in out) <= 1


def test_reference_quirk_rearms_termination_and_never_ends():
    out = simulate(SwirParams(window=1, max_switch_count=2, **REF), IDS)
    assert len(out) == 512 and out[-1][0].to_explicit > 100  # "101 switches of a cap of 2"
    assert sum(d.trigger == "termination" for _, d in out) > 50


def test_strict_missing_anchors_mix_nothing_in():
    cfg = SwirParams(window=1, max_switch_count=None, alpha0=0.5)
    state, mixes = SwirState(), []
    for t, h in enumerate([2.0, 1.0, 1.5]):
        state, d = policy_step(state, t, h, TOK, is_math=False, ids=PLAIN, cfg=cfg, max_new_tokens=MAX)
        mixes.append(d.mix)
    # t0 latent with the newline anchor; t1 to explicit without </think>: the plain token;
    # t2 to latent without <think>: the plain soft embedding
    assert mixes == [Mix(0.9, PLAIN.newline), Mix(0.0, TOK), Mix(1.0, None)]


# ---- strict: the cap closes the thinking at the end of a line, never inside one

NL = 60  # a token whose text ends a line
LINE_ENDS = frozenset({NL})


def run_lines(entropies, tokens, cfg, line_ends=LINE_ENDS):
    state, out = SwirState(), []
    for t, (h, tok) in enumerate(zip(entropies, tokens, strict=True)):
        state, d = policy_step(
            state, t, h, tok, is_math=False, ids=IDS, cfg=cfg, max_new_tokens=MAX, line_ends=line_ends
        )
        out.append((state, d))
    return out


def test_strict_convergence_waits_for_the_end_of_the_line():
    # "100 - 54 =" is being written when the cap is reached at t1: `</think>` waits for the
    # line break at t3 and goes in at t4, not at t2 in the middle of the step.
    cfg = SwirParams(window=1, max_switch_count=1)
    out = run_lines([2.0, 1.0, 1.0, 1.0, 1.0, 1.0], [TOK, TOK, TOK, NL, TOK, TOK], cfg)
    assert out[1][1].trigger == "convergence" and out[1][0].wait == 0
    assert [d.injected for _, d in out] == [False, False, False, False, True, False]
    assert out[4][1].token == IDS.end_think and out[4][0].locked


def test_strict_trigger_on_a_line_end_injects_at_once():
    cfg = SwirParams(window=1, max_switch_count=1)
    out = run_lines([2.0, 1.0, 1.0], [TOK, NL, TOK], cfg)
    assert out[1][0].wait == -1 and out[2][1].injected


def test_strict_wait_is_bounded_so_the_cap_always_closes():
    cfg = SwirParams(window=1, max_switch_count=1, line_end_wait=3)
    out = run_lines([2.0] + [1.0] * 7, [TOK] * 8, cfg)  # the model never ends a line
    assert [d.injected for _, d in out].index(True) == 1 + 3 + 1


def test_strict_own_end_think_while_waiting_drops_the_queued_one():
    cfg = SwirParams(window=1, max_switch_count=1)
    out = run_lines([2.0, 1.0, 1.0, 1.0, 1.0], [TOK, TOK, IDS.end_think, TOK, TOK], cfg)
    assert not any(d.injected for _, d in out)  # no second `</think>`
    assert out[2][0].queue == () and out[2][0].locked


def test_strict_termination_budget_counts_from_the_words_not_the_wait():
    cfg = SwirParams(window=1, max_switch_count=1, answer_budget=3)
    state = SwirState(mode="latent", ref_h=5.0, to_explicit=2)
    kw = {"is_math": False, "ids": IDS, "cfg": cfg, "max_new_tokens": MAX, "line_ends": LINE_ENDS}
    state, d = policy_step(state, 10, 1.0, TOK, **kw)
    assert d.trigger == "termination" and state.wait == 0 and state.budget == 2
    emitted = []
    for t, tok in enumerate([TOK, TOK, NL, TOK, TOK, TOK, TOK], start=11):
        state, d = policy_step(state, t, 1.0, tok, **kw)
        emitted.append((d.token, d.injected, d.budget_done))
        if d.budget_done:
            break
    assert state.budget == 0 and emitted[:3] == [(TOK, False, False), (TOK, False, False), (NL, False, False)]
    assert [tok for tok, injected, _ in emitted if injected] == list(IDS.termination[:2])


@pytest.mark.parametrize("cfg", [SwirParams(window=1, max_switch_count=1, **REF),
                                 SwirParams(window=1, max_switch_count=1, line_end_wait=0)])  # fmt: skip
def test_reference_and_wait_zero_inject_at_once(cfg):
    out = run_lines([2.0, 1.0, 1.0, 1.0], [TOK] * 4, cfg)
    assert out[2][1].injected and out[2][1].token == IDS.end_think
