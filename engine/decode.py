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

import torch

from engine.config import PLAIN_CONVERGENCE_WORDS, QWEN_CONVERGENCE_WORDS, DecodeSettings
from engine.events import Done, Started, Step, StopReason, Summary
from engine.runtime import Runtime
from engine.sampling import choose_token, probs_and_entropy
from engine.swir import Decision, Mix, SignalIds, SwirState, policy_step


def signal_ids(rt: Runtime, settings: DecodeSettings) -> SignalIds:
    """Resolve the policy's signal tokens the way the reference does."""
    s = settings.swir
    if not rt.has_think_tokens:
        warnings.warn(
            f"{rt.name}: the tokenizer has no <think>/</think> tokens; as in the reference, the "
            "unknown-token embedding stands in for them in the soft-embedding mixes.",
            stacklevel=3,
        )
    newline = rt.token_id("\\n") if s.newline == "reference" else rt.encode("\n")[-1]
    words = s.convergence_words
    if words is None:
        words = QWEN_CONVERGENCE_WORDS if rt.has_think_tokens else PLAIN_CONVERGENCE_WORDS
    return SignalIds(
        think=rt.token_id("<think>"),
        end_think=rt.token_id("</think>"),
        newline=newline,
        convergence=rt.encode(words),
        termination=rt.encode(s.termination_words),
    )


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

    Truncated: the smallest set of tokens holding at least `mass` of the
    probability (all tokens if `mass` is None), capped at `top_k`, renormalised.
    """
    p = p.to(embed.device)
    if mass is None and top_k is None:
        return p.to(embed.dtype) @ embed  # [H]
    k = min(top_k or 1024, p.shape[0])
    vals, ids = torch.topk(p, k)  # [k]
    if mass is not None:
        keep = int((torch.cumsum(vals, 0) - vals < mass).sum())
        vals, ids = vals[:keep], ids[:keep]
    vals = vals / vals.sum()
    return vals.to(embed.dtype) @ embed[ids]  # [H]


def next_input(rt: Runtime, mix: Mix, p: torch.Tensor, settings: DecodeSettings) -> torch.Tensor | int:
    """Apply a policy `Mix`: a token id, or an embedding `[H]`."""
    if mix.soft_weight == 0.0:
        assert mix.anchor is not None
        return mix.anchor
    soft = soft_embedding(p, rt.embed, settings.swir.mix_mass, settings.swir.mix_top_k)
    if mix.anchor is None:
        return soft
    return mix.soft_weight * soft + (1.0 - mix.soft_weight) * rt.embed[mix.anchor]


def decode(
    rt: Runtime,
    inputs: dict[str, torch.Tensor],
    settings: DecodeSettings,
    cancel: threading.Event | None = None,
    *,
    opens_thinking: bool = False,
) -> Iterator[Started | Step | Done]:
    """Generate from a prepared prefill. The caller holds `rt.lock`."""
    settings.validate()
    t_start = time.perf_counter()
    cancel = cancel or threading.Event()
    swir = settings.method == "swir"
    ids = signal_ids(rt, settings) if swir else None
    n_prompt = int(inputs["input_ids"].shape[-1])
    # Only a prompt that opens <think> starts in thinking; a model without the
    # tokens answers directly (its injected "</think>" words are plain text).
    thinking = opens_thinking
    yield Started(
        settings.method, n_prompt, settings.max_new_tokens,
        settings.swir.max_switch_count if swir else None, thinking,
    )  # fmt: skip
    gen = None
    if settings.seed is not None and not settings.greedy:
        gen = torch.Generator(device=rt.device).manual_seed(settings.seed)
    tally, detok, end_think = _Tally(), Detokenizer(rt.tokenizer), rt.token_id("</think>")
    state, stop, t_first = SwirState(), "max_new_tokens", None
    # Inference mode is entered per block, never held across a `yield`: grad mode is
    # per thread, and a server may resume this generator on another worker thread.
    with torch.inference_mode():
        logits, cache = rt.prefill(inputs)  # [V]
    for t in range(settings.max_new_tokens):
        with torch.inference_mode():
            # 1. Distribution, entropy, token.
            p, h = probs_and_entropy(logits)
            chosen = choose_token(logits, settings.sampling, settings.greedy, gen)
            # 2-7. Policy (SwiR) or plain decoding (CoT).
            if swir:
                is_math = bool(rt.math_mask[chosen])
                state, d = policy_step(
                    state, t, h, chosen, is_math=is_math, ids=ids, cfg=settings.swir,
                    max_new_tokens=settings.max_new_tokens,
                )  # fmt: skip
            else:
                d = Decision(chosen, False, "explicit", None, False, Mix(0.0, chosen), False)
        # 8. Emit.
        eos = d.token in rt.eos_ids
        delta = "" if eos else detok.add(d.token)
        phase = "thinking" if thinking else "answer"
        if thinking and d.token == end_think:
            thinking = False
        step = Step(
            t, d.token, delta, h, state.ref_h if swir else None, d.mode, d.switch,
            d.forced, d.injected, phase,
        )  # fmt: skip
        tally.add(step)
        t_first = t_first or time.perf_counter()
        yield step
        if eos or d.budget_done or cancel.is_set() or t + 1 == settings.max_new_tokens:
            stop = (
                "eos"
                if eos
                else "answer_budget"
                if d.budget_done
                else "cancelled"
                if cancel.is_set()
                else stop
            )
            break
        # Next input: token id, or a (mixed) soft embedding.
        with torch.inference_mode():
            nxt = next_input(rt, d.mix, p, settings)
            pos = n_prompt + t
            logits = rt.step_ids(nxt, cache, pos) if isinstance(nxt, int) else rt.step_embeds(nxt, cache, pos)
    del cache
    yield Done(_summary(tally, stop, t_start, t_first, n_prompt))


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
