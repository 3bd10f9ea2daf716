"""THE model loop: one generator for SwiReasoning, CoT (sampled) and CoT greedy.

Owns: running a prepared prefill (token ids, and pixel inputs for images and
video) through `Runtime`, choosing each token, asking `swir.policy_step`
what the next input is (for CoT: always the token), building the soft
embedding `p @ E` when needed, detokenizing incrementally, and yielding
`Started`, one `Step` per token, then `Done`. Leaves policy to `swir.py`,
sampling to `sampling.py`, prompts to `prompt.py`.

Cancel: set `cancel` (a threading.Event) or close the generator; the loop
checks the event after every yield, so it stops within one step, and the
cache is released when the generator ends.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

from engine import tokens
from engine.config import DecodeSettings
from engine.events import Done, Started, Step, StopReason, Summary
from engine.runtime import Runtime
from engine.sampling import choose_token, probs_and_entropy
from engine.swir import Decision, Mix, SignalIds, SwirState, policy_step


def signal_ids(rt: Runtime, settings: DecodeSettings) -> SignalIds:
    """The policy's signal tokens (`tokens.signal_ids`), with a warning where the
    tokenizer has no thinking tokens."""
    if not rt.has_think_tokens:
        warnings.warn(
            f"{rt.name}: the tokenizer has no <think>/</think> tokens; as in the reference, the "
            "unknown-token embedding stands in for them in the soft-embedding mixes.",
            stacklevel=3,
        )
    return tokens.signal_ids(rt.tokenizer, settings.swir)


TRUNCATED_MIX_START = 128  # first rung of the truncated-mix ladder


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
    latent: int = 0
    explicit: int = 0
    switches: int = 0
    to_latent: int = 0
    injected: int = 0
    after_forced: int = 0
    forced_answer: bool = False  # a convergence/termination was injected

    def add(self, step: Step) -> None:
        if step.mode == "latent":
            self.latent += 1
        else:
            self.explicit += 1
        self.switches += step.switch == "to_explicit"
        self.to_latent += step.switch == "to_latent"
        self.injected += step.injected
        self.forced_answer = self.forced_answer or step.injected
        self.after_forced += self.forced_answer and not step.injected


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


def next_input(rt: Runtime, mix: Mix, p: torch.Tensor, settings: DecodeSettings) -> torch.Tensor | int:
    """Apply a policy `Mix`: a token id, or an embedding `[H]`."""
    if mix.soft_weight == 0.0:
        assert mix.anchor is not None
        return mix.anchor
    soft = soft_embedding(p, rt.embed, settings.swir.mix_mass, settings.swir.mix_top_k)
    if mix.anchor is None:
        return soft
    return mix.soft_weight * soft + (1.0 - mix.soft_weight) * rt.embed[mix.anchor]


class _Run:
    """The per-run state of the loop: policy state, tallies, detokenizer, RNG."""

    def __init__(self, rt: Runtime, settings: DecodeSettings, thinking: bool) -> None:
        self.rt, self.settings, self.thinking = rt, settings, thinking
        self.swir = settings.method == "swir"
        self.ids = signal_ids(rt, settings) if self.swir else None
        self.gen = None
        if settings.seed is not None and not settings.greedy:
            self.gen = torch.Generator(device=rt.device).manual_seed(settings.seed)
        self.state, self.tally = SwirState(), _Tally()
        self.detok, self.end_think = Detokenizer(rt.tokenizer), rt.token_id("</think>")
        self.t_first: float | None = None

    def step(self, t: int, logits: torch.Tensor) -> tuple[Step, Decision, torch.Tensor]:
        """Steps 1-8 of the rule for one token: choose it, apply the policy, emit."""
        s = self.settings
        # 1. Distribution, entropy, token.
        p, h = probs_and_entropy(logits)  # [V], nats
        chosen = choose_token(logits, s.sampling, s.greedy, self.gen)
        # 2-7. Policy (SwiR) or plain decoding (CoT).
        if self.swir:
            self.state, d = policy_step(
                self.state, t, h, chosen, is_math=bool(self.rt.math_mask[chosen]), ids=self.ids,
                cfg=s.swir, max_new_tokens=s.max_new_tokens,
            )  # fmt: skip
        else:
            d = Decision(chosen, False, "explicit", None, False, Mix(0.0, chosen), False)
        # 8. Emit.
        eos = d.token in self.rt.eos_ids
        phase = "thinking" if self.thinking else "answer"
        self.thinking = self.thinking and d.token != self.end_think
        step = Step(
            t, d.token, "" if eos else self.detok.add(d.token), h,
            self.state.ref_h if self.swir else None, d.mode, d.switch, d.forced, d.injected, phase,
        )  # fmt: skip
        self.tally.add(step)
        self.t_first = self.t_first or time.perf_counter()
        return step, d, p

    def stop_reason(self, t: int, d: Decision, cancel: threading.Event) -> StopReason | None:
        if d.token in self.rt.eos_ids:
            return "eos"
        if d.budget_done:
            return "answer_budget"
        if cancel.is_set():
            return "cancelled"
        return "max_new_tokens" if t + 1 == self.settings.max_new_tokens else None

    def forward(self, d: Decision, p: torch.Tensor, cache: Any, position: int) -> torch.Tensor:
        """Feed the next input (a token id, or a mixed soft embedding) and return logits `[V]`."""
        nxt = next_input(self.rt, d.mix, p, self.settings)
        if isinstance(nxt, int):
            return self.rt.step_ids(nxt, cache, position)
        return self.rt.step_embeds(nxt, cache, position)


def decode(
    rt: Runtime,
    inputs: dict[str, torch.Tensor],
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
    settings.validate()
    t_start, cancel = time.perf_counter(), cancel or threading.Event()
    n_prompt = int(inputs["input_ids"].shape[-1])
    run = _Run(rt, settings, opens_thinking)
    cap = settings.swir.max_switch_count if run.swir else None
    yield Started(settings.method, n_prompt, settings.max_new_tokens, cap, opens_thinking)
    with torch.inference_mode():
        logits, cache = rt.prefill(inputs)  # [V]
    stop: StopReason = "max_new_tokens"
    for t in range(settings.max_new_tokens):
        with torch.inference_mode():
            step, d, p = run.step(t, logits)
        yield step
        if reason := run.stop_reason(t, d, cancel):
            stop = reason
            break
        with torch.inference_mode():
            logits = run.forward(d, p, cache, n_prompt + t)
    del cache
    yield Done(_summary(run.tally, stop, t_start, run.t_first, n_prompt))


def _summary(tally: _Tally, stop: StopReason, t0: float, t_first: float | None, n_prompt: int) -> Summary:
    end = time.perf_counter()
    n = tally.latent + tally.explicit
    ttft = (t_first - t0) if t_first else None
    rate = (n - 1) / (end - t_first) if t_first and n > 1 and end > t_first else None
    return Summary(
        tokens=n, latent_steps=tally.latent, explicit_steps=tally.explicit, switches=tally.switches,
        stop_reason=stop, ttft_s=ttft, tokens_per_s=rate, prompt_tokens=n_prompt, elapsed_s=end - t0,
        to_latent_switches=tally.to_latent, injected_tokens=tally.injected,
        after_forced_tokens=tally.after_forced,
    )  # fmt: skip
