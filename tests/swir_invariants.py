"""The SwiReasoning rule's invariants, checked on a recorded run (any backend, no model).

`check_trace(steps, window)` walks the `Step`s of one SwiR run and asserts what
the rule guarantees at every step, without re-running the policy code: the
first step starts latent and sets the reference; a latent->explicit switch
happens exactly when the entropy falls below the reference; an
explicit->latent switch needs a higher entropy, a full window and no lock;
every switch resets the reference to that step's entropy; a step the policy
holds latent is explicit only when forced; nothing is latent once thinking
is locked. Returns the number of switches in each direction.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.events import Step


def _policy_latent(s: Step) -> bool:
    """The policy's own mode after this step (a forced-explicit step is still latent to it)."""
    return s.latent or s.forced_explicit


def check_trace(
    steps: Sequence[Step], window: int, end_think: int | None = None, strict: bool = True
) -> tuple[int, int]:
    """Assert the rule on every step; return (latent->explicit, explicit->latent) switch counts.
    An injected step's own chosen token is not recorded, so a lock it may set is not assumed."""
    assert steps, "no steps"
    first = steps[0]
    assert first.switch is None and _policy_latent(first) and first.ref_entropy == first.entropy
    ref, latent, since, locked = first.entropy, True, 0, _locks(first, end_think, strict)
    counts = {"to_explicit": 0, "to_latent": 0}
    for s in steps[1:]:
        since += 1
        locked = locked or _locks(s, end_think, strict)
        h = s.entropy
        if latent and h < ref:
            assert s.switch == "to_explicit", f"t={s.t}: H {h:.4f} < ref {ref:.4f} must switch to explicit"
        elif not latent and h > ref and since >= window and not locked:
            allowed = {"to_latent", None} if s.injected else {"to_latent"}
            assert s.switch in allowed, f"t={s.t}: H {h:.4f} > ref {ref:.4f} after {since} steps must switch"
        else:
            assert s.switch is None, f"t={s.t}: no switch condition holds, yet {s.switch}"
        if s.switch:
            counts[s.switch] += 1
            ref, latent, since = h, s.switch == "to_latent", 0
        assert s.ref_entropy == ref, f"t={s.t}: reference {s.ref_entropy} != {ref}"
        assert _policy_latent(s) == latent, f"t={s.t}: policy mode drifted"
        if locked:
            assert not s.latent, f"t={s.t}: latent step after </think> locked thinking"
        if s.forced_explicit:
            assert latent and not s.latent
    return counts["to_explicit"], counts["to_latent"]


def _locks(s: Step, end_think: int | None, strict: bool) -> bool:
    return end_think is not None and s.token_id == end_think and (strict or not s.injected)
