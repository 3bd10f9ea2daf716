"""THE model loop: one generator for SwiReasoning, CoT (sampled) and CoT greedy.

Owns: `Row`, the per-run state of the loop (policy state, tallies,
detokenizer, RNG) and its two moves: `Row.step` turns a step's logits into a
`Step` event (choose the token, ask `swir.policy_step` what comes next, record
the mixed distribution of a latent step), and `Row.next_input` builds what the
model reads next (a token id, or the soft embedding `p @ E` mixed with an
anchor). `decode` drives one row through any `StepRuntime` and yields
`Started`, one `Step` per token, then `Done`; the batching scheduler drives
many rows with the same two moves. Leaves policy to `swir.py`, sampling to
`sampling.py`, prompts to `prompt.py`, the forward passes to the runtime.

Cancel: set `cancel` (a threading.Event) or close the generator; the loop
checks the event after every yield, so it stops within one step, and the
cache is released when the generator ends.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import torch

from engine import tokens
from engine.calculator import Calculator
from engine.config import DecodeSettings
from engine.events import Done, MixEntry, Started, Step, StopReason, Summary, ThinkingEnd
from engine.sampling import sample_step
from engine.steps import StepRuntime
from engine.swir import Decision, Mix, SignalIds, SwirState, policy_step

TRUNCATED_MIX_START = 128  # first rung of the truncated-mix ladder
MIX_SHOWN = 5  # tokens of a latent step's distribution kept in its event


def signal_ids(rt: StepRuntime, settings: DecodeSettings) -> SignalIds:
    """The policy's signal tokens (`tokens.signal_ids`); the reference variant warns
    where the tokenizer has no thinking tokens and their unknown-token row is mixed in."""
    if settings.swir.variant == "reference" and not rt.has_think_tokens:
        warnings.warn(
            f"{rt.name}: the tokenizer has no <think>/</think> tokens; as in the reference, the "
            "unknown-token embedding stands in for them in the soft-embedding mixes.",
            stacklevel=3,
        )
    return tokens.signal_ids(rt.tokenizer, settings.swir)


class Detokenizer:
    """Incremental decode: the text each new token adds, never a broken character."""

    def __init__(self, tokenizer) -> None:
        self.tok, self.ids, self.prefix, self.read = tokenizer, [], 0, 0

    def add(self, token: int) -> str:
        self.ids.append(token)
        before = self.tok.decode(self.ids[self.prefix : self.read], skip_special_tokens=False)
        after = self.tok.decode(self.ids[self.prefix :], skip_special_tokens=False)
        if len(after) > len(before) and not after.endswith("\ufffd"):
            self.prefix, self.read = self.read, len(self.ids)
            return after[len(before) :]
        return ""


@dataclass
class _Tally:
    """Counts for the run's `Summary`, updated once per step."""

    latent: int = 0
    explicit: int = 0
    to_explicit: int = 0
    to_latent: int = 0
    injected: int = 0
    after_injection: int = 0
    trigger: str | None = None  # the last words the switch-count control queued
    thinking_end: ThinkingEnd | None = None
    end_agreed: bool = False  # the injected `</think>` was the model's own choice too
    after_end: int = 0  # tokens after the thinking ended
    answer_phase: int = 0
    computed: int = 0
    opening_latent: int = 0  # latent steps from the start, before the first switch

    def add(self, step: Step, d: Decision, end_think: int | None) -> None:
        if not (self.to_explicit or self.to_latent or step.switch):
            self.opening_latent += step.latent
        self.computed += step.computed
        self.latent += step.latent
        self.explicit += not step.latent
        self.to_explicit += step.switch == "to_explicit"
        self.to_latent += step.switch == "to_latent"
        self.after_injection += self.injected > 0 and not step.injected
        self.injected += step.injected
        self.answer_phase += step.phase == "answer"
        if self.thinking_end is not None:
            self.after_end += not step.injected
        elif step.injected and (end_think is None or step.token_id == end_think):
            self.thinking_end = self.trigger  # type: ignore[assignment]
            self.end_agreed = d.agreed and end_think is not None
        elif not step.injected and end_think is not None and step.token_id == end_think:
            self.thinking_end = "model"
        self.trigger = d.trigger or self.trigger

    @property
    def answer_tokens(self) -> int:
        return self.after_end if self.thinking_end is not None else self.answer_phase


def soft_embedding(
    p: torch.Tensor, embed: torch.Tensor, mass: float | None, top_k: int | None
) -> torch.Tensor:
    """`p @ E` (`[V] x [V, H] -> [H]`), or the truncated mix when asked.

    Truncated: the smallest set of most likely tokens holding at least `mass`
    of the probability, renormalised; `top_k` caps the set. The set is found
    by a top-k ladder (128, 512, 2048, ... tokens); a distribution so flat
    that the set would be an eighth of the vocabulary gets the exact mix,
    which is then the cheaper one.
    """
    p = p.to(embed.device)
    vocab = p.shape[0]
    if mass is None and top_k is None:
        return p.to(embed.dtype) @ embed  # [H]
    k = min(top_k or TRUNCATED_MIX_START, vocab)
    while True:
        vals, ids = torch.topk(p, k)  # [k], sorted
        if mass is None or k in (top_k, vocab) or float(vals.sum()) >= mass:
            break
        if 4 * k > vocab // 8:
            return p.to(embed.dtype) @ embed  # [H]
        k = min(4 * k, top_k or vocab)
    if mass is not None:
        keep = int((torch.cumsum(vals, 0) - vals < mass).sum())
        vals, ids = vals[:keep], ids[:keep]
    return (vals / vals.sum()).to(embed.dtype) @ embed[ids]  # [H]


class Row:
    """One run inside the loop: its settings, policy state, tallies, RNG and stop reason.

    Call `step(logits)` for each step's logits; unless `stop` is then set, feed
    `next_input()` to the model and call `step` with what comes back.
    """

    def __init__(
        self,
        rt: StepRuntime,
        settings: DecodeSettings,
        prompt_ids: tuple[int, ...],
        *,
        opens_thinking: bool = False,
        cancel: threading.Event | None = None,
    ) -> None:
        self.rt, self.settings, self.prompt_ids = rt, settings.validate(), prompt_ids
        self.opens_thinking, self.thinking = opens_thinking, opens_thinking
        self.cancel = cancel or threading.Event()
        self.swir = settings.method == "swir"
        self.ids = signal_ids(rt, settings) if self.swir else None
        self.gen = None
        if settings.seed is not None and not settings.greedy:
            self.gen = torch.Generator(device=rt.device).manual_seed(settings.seed)
        self.state, self.tally = SwirState(), _Tally()
        # no torch work here: a row is made on its consumer's thread (engine/runtimes/threads.py)
        self.math_ids = rt.math_ids if self.swir else frozenset()
        self.line_ends = getattr(rt, "line_end_ids", None)  # None: the policy does not wait
        self.detok = Detokenizer(rt.tokenizer)
        # the calculator reads the thinking; `computing` holds the result ids still to feed
        self.calc = Calculator(rt.tokenizer) if settings.calculator else None
        self.computing: tuple[int, ...] = ()
        self.result_end = False  # the last step ended a result: no digit may follow
        self.end_think = tokens.token_id(rt.tokenizer, "</think>") if rt.has_think_tokens else None
        self.t, self.stop, self.decision, self.p = 0, None, None, None
        self.t_start, self.t_first = time.perf_counter(), None

    @property
    def position(self) -> int:
        """Where the next input goes: after the prompt and every step so far."""
        return len(self.prompt_ids) + self.t - 1

    def started(self, entropy: str = "exact") -> Started:
        s = self.settings
        cap = s.swir.max_switch_count if self.swir else None
        return Started(
            s.method, len(self.prompt_ids), s.max_new_tokens, cap, self.opens_thinking,
            prompt_ids=self.prompt_ids, entropy=entropy,  # type: ignore[arg-type]
        )  # fmt: skip

    def step(self, logits: torch.Tensor) -> Step:
        """Steps 1-8 of the rule for one token: choose it, apply the policy, emit."""
        s, t = self.settings, self.t
        # 1. Distribution, entropy, token (one device -> host transfer).
        p, h, chosen = sample_step(logits, s.sampling, s.greedy, self.gen)  # [V], nats, id
        # A calculator result still being written replaces the model's choice; it is
        # fed as a token (explicit), like a math token.
        computed = bool(self.computing)
        if computed:
            chosen, self.computing = self.computing[0], self.computing[1:]
        elif self.result_end and chosen in self.calc.digits:  # type: ignore[union-attr]
            digits = torch.tensor(sorted(self.calc.digits), device=p.device)
            chosen = int(torch.argmax(p.index_fill(0, digits, 0.0)))  # the most likely non-digit
        # 2-7. Policy (SwiR) or plain decoding (CoT).
        if self.swir:
            self.state, d = policy_step(
                self.state, t, h, chosen, is_math=computed or chosen in self.math_ids, ids=self.ids,
                cfg=s.swir, max_new_tokens=s.max_new_tokens, line_ends=self.line_ends,
            )  # fmt: skip
            if d.injected:  # the switch-count control's words go in: a pending result is dropped
                computed, self.computing = False, ()
            elif computed and d.mix.soft_weight:
                # A switch back to explicit feeds `beta * (p @ E) + (1 - beta) * E[</think>]`,
                # not the token: right when p peaks on the token the model chose, wrong for a
                # result the model did not expect (p is its own guess, "13" for the "15"
                # written), so the model would read on from a number that is not in the text.
                d = replace(d, mix=Mix(0.0, chosen))
        else:
            d = Decision(chosen, False, False, None, False, Mix(0.0, chosen), False)
        # 8. Emit.
        step = self._emit(d, h, p, computed)
        self.tally.add(step, d, self.end_think)
        if self.calc is not None and step.phase == "thinking" and not d.injected:
            self.computing = self.calc.read(step.text, computed=computed) or self.computing
        # a result is a whole number: the model may not glue on a digit, nor a decimal part
        # ("26" then ".50"); a lone decimal mark keeps the block for one more step
        self.result_end = (computed and not self.computing) or (
            self.result_end and not computed and d.token in self.calc.marks  # type: ignore[union-attr]
        )
        self.t_first = self.t_first or time.perf_counter()
        self.decision, self.p, self.t = d, p, t + 1
        self.stop = self._stop_reason(d)
        return step

    def _emit(self, d: Decision, h: float, p: torch.Tensor, computed: bool = False) -> Step:
        eos = d.token in self.rt.eos_ids
        phase = "thinking" if self.thinking else "answer"
        self.thinking = self.thinking and d.token != self.end_think
        return Step(
            self.t, d.token, "" if eos else self.detok.add(d.token), h,
            self.state.ref_h if self.swir else None, d.latent, d.switch, d.forced_explicit, d.injected,
            phase, self._mix_entries(p) if d.latent else (), computed,  # type: ignore[arg-type]
        )  # fmt: skip

    def _mix_entries(self, p: torch.Tensor) -> tuple[MixEntry, ...]:
        vals, ids = torch.topk(p, min(MIX_SHOWN, p.shape[-1]))
        decode = self.rt.tokenizer.decode
        pairs = torch.stack([ids.double(), vals.double()], dim=1).tolist()  # one transfer
        return tuple((int(i), decode([int(i)]), v) for i, v in pairs)

    def _stop_reason(self, d: Decision) -> StopReason | None:
        if d.token in self.rt.eos_ids:
            return "eos"
        if d.budget_done:
            return "answer_budget"
        if self.cancel.is_set():
            return "cancelled"
        return "max_new_tokens" if self.t == self.settings.max_new_tokens else None

    def next_input(self, soft: torch.Tensor | None = None) -> int | torch.Tensor:
        """What the model reads next, from the last decision: a token id or an embedding `[H]`.
        `soft` is this row's `p @ E` when the caller computed it with other rows' (`next_inputs`)."""
        mix, sw = self.decision.mix, self.settings.swir
        if mix.soft_weight == 0.0:
            assert mix.anchor is not None
            return mix.anchor
        if soft is None and self.wants_exact_mix:
            soft = self.rt.mix(self.p[None])[0]  # [H]
        elif soft is None:
            soft = soft_embedding(self.p, self.rt.embed, sw.mix_mass, sw.mix_top_k)  # [H]
        if mix.anchor is None:
            return soft
        return mix.soft_weight * soft + (1.0 - mix.soft_weight) * self.rt.embed[mix.anchor]

    @property
    def wants_exact_mix(self) -> bool:
        """The next input mixes the whole distribution, by the runtime's `mix` (one product can
        serve several rows)."""
        sw = self.settings.swir
        return self.decision.mix.soft_weight > 0.0 and sw.mix_mass is None and sw.mix_top_k is None

    def done(self, stop: StopReason | None = None) -> Done:
        """The run's `Done`, with `stop` overriding the row's own reason (e.g. cancelled)."""
        return Done(self._summary(stop or self.stop or "max_new_tokens"))

    def _summary(self, stop: StopReason) -> Summary:
        tally, end, t_first = self.tally, time.perf_counter(), self.t_first
        n = tally.latent + tally.explicit
        rate = (n - 1) / (end - t_first) if t_first and n > 1 and end > t_first else None
        return Summary(
            tokens=n, latent_steps=tally.latent, explicit_steps=tally.explicit,
            to_explicit_switches=tally.to_explicit, stop_reason=stop,
            ttft_s=(t_first - self.t_start) if t_first else None, tokens_per_s=rate,
            prompt_tokens=len(self.prompt_ids), elapsed_s=end - self.t_start,
            to_latent_switches=tally.to_latent, injected_tokens=tally.injected,
            after_injection_tokens=tally.after_injection, thinking_end=tally.thinking_end,
            model_chose_end=tally.end_agreed,
            answer_tokens=tally.answer_tokens, computed_tokens=tally.computed,
            opening_latent_steps=tally.opening_latent,
        )  # fmt: skip


def next_inputs(rows: list[Row]) -> list[int | torch.Tensor]:
    """Every row's next input; the whole-distribution mixes of all rows in one product `P @ E`
    (`[k, V] x [V, H]`), which reads the embedding matrix once instead of k times."""
    exact = [i for i, row in enumerate(rows) if row.wants_exact_mix]
    softs: dict[int, torch.Tensor] = {}
    if exact:
        probs = torch.stack([rows[i].p for i in exact])  # [k, V]
        softs = dict(zip(exact, rows[0].rt.mix(probs), strict=True))  # k x [H]
    return [row.next_input(softs.get(i)) for i, row in enumerate(rows)]


def feed(rt: StepRuntime, row: Row, cache: Any) -> torch.Tensor:
    """Give the model the row's next input; return the logits of the following step `[V]`."""
    nxt = row.next_input()
    if isinstance(nxt, int):
        return rt.step_ids(nxt, cache, row.position)
    return rt.step_embeds(nxt, cache, row.position)


def decode(
    rt: StepRuntime,
    inputs: dict[str, Any],
    settings: DecodeSettings,
    cancel: threading.Event | None = None,
    *,
    opens_thinking: bool = False,
) -> Iterator[Started | Step | Done]:
    """Generate from a prepared prefill. The caller holds `rt.lock`.

    Only a prompt that opens `<think>` starts in thinking; a model without the
    tokens answers directly (its injected "</think>" words are plain text).
    Inference mode is entered per block, never held across a `yield`: grad
    mode is per thread, and a server may resume this generator on another thread.
    """
    prompt_ids = tuple(int(i) for i in inputs["input_ids"].reshape(-1).tolist())
    row = Row(rt, settings, prompt_ids, opens_thinking=opens_thinking, cancel=cancel)
    yield row.started()
    with torch.inference_mode():
        logits, cache = rt.prefill(inputs)  # [V]
    while True:
        with torch.inference_mode():
            step = row.step(logits)
        yield step
        if row.stop is None and row.cancel.is_set():
            row.stop = "cancelled"
        if row.stop is not None:
            break
        with torch.inference_mode():
            logits = feed(rt, row, cache)
    del cache
    yield row.done()
