"""The per-request SwiReasoning body, checked field by field.

Owns: `SwirRequest` (the policy's knobs as `engine.config.SwirParams`, the signal ids as
`engine.swir.SignalIds`, the math-token ids, the step count the schedules divide by) and
`parse`, which reads the `vllm_xargs.swireasoning` object (a dict, or the JSON string the
middleware flattens it to, since vLLM's `vllm_xargs` takes flat values only) and raises
`KnobError` naming the field a person got wrong. Pure: no torch, no vLLM.

Field names are those of the vLLM fork's body that `engine/backends/remote.py` already speaks
(`alpha_0`, `window_size`, `termination_max_tokens`, ...), plus `variant` ("strict" or
"reference"; default "reference", the rule the fork ran) and `trace` (stream the per-step
trace; default true). Signal ids may be null where the strict variant has no such token.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from engine.config import SwirParams
from engine.errors import RioError
from engine.swir import SignalIds

XARGS_KEY = "swireasoning"
MAX_IDS = 1 << 16  # longest id list accepted (math ids of a 248k vocabulary are a few hundred)


class KnobError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"vllm_xargs.{XARGS_KEY}.{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class SwirRequest:
    params: SwirParams
    ids: SignalIds
    math_ids: frozenset[int]
    line_ends: frozenset[int] | None  # strict: the cap's words wait for one; None: they go in at once
    max_new_tokens: int | None  # None: the request's max_tokens
    eos_id: int | None
    trace: bool
    trace_key: str | None  # set by the middleware: where the worker writes this request's trace

    def max_id(self) -> int:
        """The largest token id the request names (checked against the vocabulary by the worker)."""
        ids = [self.ids.think, self.ids.end_think, self.ids.newline, self.eos_id]
        ids += [*self.ids.convergence, *self.ids.termination, *self.math_ids, *(self.line_ends or ())]
        return max((i for i in ids if i is not None), default=-1)


def from_extra_args(extra_args: dict[str, Any] | None) -> SwirRequest | None:
    """The request's SwiR knobs from `SamplingParams.extra_args`, None when it does not ask for SwiR."""
    if not extra_args or XARGS_KEY not in extra_args:
        return None
    return parse(extra_args[XARGS_KEY])


def parse(raw: Any) -> SwirRequest:
    body = _as_dict(raw)
    known = {
        "think_id", "end_think_id", "line_break_id", "eos_token_id", "convergence_ids",
        "termination_ids", "alpha_0", "beta_0", "window_size", "max_switch_count",
        "termination_max_tokens", "max_new_tokens", "math_ids", "variant", "trace", "trace_key",
        "mix_mass", "mix_top_k", "line_end_ids", "line_end_wait",
    }  # fmt: skip
    for key in body:
        if key not in known:
            raise KnobError(key, f"unknown field; known: {', '.join(sorted(known))}")
    for key in ("mix_mass", "mix_top_k"):
        if body.get(key) is not None:
            raise KnobError(key, "the truncated soft mix is not offered by the server (exact mix only)")
    variant = body.get("variant", "reference")
    if variant not in ("strict", "reference"):
        raise KnobError("variant", "must be 'strict' or 'reference'")
    params = SwirParams(
        alpha0=_number(body, "alpha_0", 1.0, 0.0, 1.0),
        beta0=_number(body, "beta_0", 0.7, 0.0, 1.0),
        window=_int(body, "window_size", 512, 1),
        max_switch_count=_int(body, "max_switch_count", 2, 1, optional=True),
        answer_budget=_int(body, "termination_max_tokens", 32, 1),
        line_end_wait=_int(body, "line_end_wait", SwirParams.line_end_wait, 0),
        variant=variant,
    )
    try:
        params.validate()
    except RioError as err:  # a guard: the checks above name the field first
        raise KnobError("knobs", str(err)) from err
    ids = SignalIds(
        think=_int(body, "think_id", None, 0, optional=True),
        end_think=_int(body, "end_think_id", None, 0, optional=True),
        newline=_int(body, "line_break_id", None, 0, optional=True),
        convergence=_ids(body, "convergence_ids"),
        termination=_ids(body, "termination_ids"),
    )
    trace = body.get("trace", True)
    if not isinstance(trace, bool):
        raise KnobError("trace", "must be true or false")
    key = body.get("trace_key")
    if key is not None and (not isinstance(key, str) or not key.isalnum() or len(key) > 64):
        raise KnobError("trace_key", "is set by the server's middleware, never by a client")
    return SwirRequest(
        params=params,
        ids=ids,
        math_ids=frozenset(_ids(body, "math_ids")),
        line_ends=frozenset(_ids(body, "line_end_ids")) if body.get("line_end_ids") is not None else None,
        max_new_tokens=_int(body, "max_new_tokens", None, 1, optional=True),
        eos_id=_int(body, "eos_token_id", None, 0, optional=True),
        trace=trace,
        trace_key=key,
    )


def _as_dict(raw: Any) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as err:
            raise KnobError("(body)", f"is not a JSON object: {err}") from err
    if not isinstance(raw, dict):
        raise KnobError("(body)", "must be a JSON object")
    return raw


def _int(body: dict, key: str, default: int | None, low: int, *, optional: bool = False) -> Any:
    value = body.get(key, default)
    if value is None and (optional or default is None):
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise KnobError(key, f"must be a whole number{' or null' if optional else ''}, not {value!r}")
    if value < low:
        raise KnobError(key, f"must be at least {low}, not {value}")
    return value


def _number(body: dict, key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise KnobError(key, f"must be a number, not {value!r}")
    if not low <= value <= high:
        raise KnobError(key, f"must be between {low} and {high}, not {value}")
    return float(value)


def _ids(body: dict, key: str) -> tuple[int, ...]:
    value = body.get(key, [])
    if not isinstance(value, list) or len(value) > MAX_IDS:
        raise KnobError(key, "must be a list of token ids")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise KnobError(key, f"must hold token ids (whole numbers >= 0), not {v!r}")
    return tuple(value)
