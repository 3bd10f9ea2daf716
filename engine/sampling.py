"""Next-token distributions: entropy, filtering and the token choice.

Owns: the unfiltered distribution of a step (`softmax` at temperature 1, its
entropy in nats), the filtered one that picks the token (temperature, then
top-k, then top-p, then min-p), and the choice itself (argmax or a seeded
draw). Leaves the SwiReasoning policy to `swir.py` and the loop to `decode.py`.

Speed: with top-k on, top-p runs inside the k survivors (`torch.topk` then a
sort of k values), so no step sorts the whole vocabulary; that is the same
result as filtering the full distribution, since top-k runs first.

Host syncs: on a GPU every `int()`/`float()`/`.item()` of a device tensor
waits for the device. The filters are therefore masks over the fixed-size
candidate vector (the top-k survivors, or the sorted vocabulary when top-k is
off) whose kept length stays a device tensor, and the draw is computed there
too: `sample_step` brings the token, the entropy and the kept length back in
one transfer, `choose_token` the token and the kept length in one.

Seeded draws: a draw is `argmax(p / q)` with `q ~ Exp(1)`, which is exactly what
`torch.multinomial` does for one sample (without its two validity syncs). `q`
is drawn for every candidate; masked candidates have `p = 0` and never win,
and the first k' draws of a generator are the k' draws a draw over the k'
survivors alone would make, so the token is the one the sliced implementation
picked. The generator is then put back and moved on by exactly k' draws, so a
seeded run leaves it where the sliced implementation left it (same tokens for
the whole run on the CPU; on a GPU the per-element draws of a longer vector
may differ, the distribution does not).
"""

from __future__ import annotations

import torch

from engine.config import SamplingParams


def probs_and_entropy(logits: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Unfiltered `p = softmax(logits)` at temperature 1 and `H = -sum p log p`.

    `logits` is `[V]`; the result is float32. p is clamped at 1e-12 inside the
    log, as in the reference.
    """
    p, h = _probs_and_entropy(logits)
    return p, float(h)


def _probs_and_entropy(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    p = torch.softmax(logits.float(), dim=-1)  # [V]
    h = -(p * p.clamp(min=1e-12).log()).sum()  # [] nats, on the device
    return p, h


def masked_candidates(
    logits: torch.Tensor, params: SamplingParams
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The filters as masks: `(ids [k], logits [k], kept [])`, best first, with no host sync.

    Temperature is applied; candidates past `kept` (a 0-d device tensor, at
    least 1) have logit `-inf`. Order: temperature, top-k, top-p (smallest
    prefix whose mass reaches top_p; the token that crosses it is kept), min-p
    (relative to the most likely token, as transformers does).
    """
    scaled = logits.float() / params.temperature  # [V]
    if params.top_k and params.top_k < scaled.shape[-1]:
        vals, ids = torch.topk(scaled, params.top_k)  # [k], sorted descending
    else:
        vals, ids = torch.sort(scaled, descending=True)  # [V]
    rank = torch.arange(vals.shape[-1], device=vals.device)  # [k]
    kept = torch.full((), vals.shape[-1], dtype=torch.long, device=vals.device)  # [], no host copy
    if params.top_p < 1.0:
        p = torch.softmax(vals, dim=-1)
        mass_before = torch.cumsum(p, dim=-1) - p  # [k]
        kept = (mass_before <= params.top_p).sum().clamp(min=1)
        vals = vals.masked_fill(rank >= kept, float("-inf"))
    if params.min_p > 0:
        p = torch.softmax(vals, dim=-1)  # zeros past `kept`: they never pass the test
        kept = (p >= params.min_p * p[0]).sum().clamp(min=1)
        vals = vals.masked_fill(rank >= kept, float("-inf"))
    return ids, vals, kept


def filtered_candidates(logits: torch.Tensor, params: SamplingParams) -> tuple[torch.Tensor, torch.Tensor]:
    """The tokens that survive the filters and their logits, best first: `(ids [k'], logits [k'])`.
    (One host sync, for the length; the loop itself uses the masks.)"""
    ids, vals, kept = masked_candidates(logits, params)
    k = int(kept)
    return ids[:k], vals[:k]


def _draw(
    logits: torch.Tensor, params: SamplingParams, greedy: bool, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor | None, tuple[torch.Generator, torch.Tensor] | None]:
    """The chosen token `[]` and kept length `[]` on the device, and the generator's state before the
    draw (for `_settle`); greedy draws nothing."""
    if greedy:
        return torch.argmax(logits), None, None
    ids, vals, kept = masked_candidates(logits, params)
    gen = generator if generator is not None else _default_generator(vals.device)
    before = (gen, gen.get_state())
    p = torch.softmax(vals, dim=-1)  # [k], zeros past `kept`
    q = torch.empty_like(p).exponential_(1, generator=gen)  # [k] ~ Exp(1)
    return ids[torch.argmax(p / q)], kept, before


def _settle(before: tuple[torch.Generator, torch.Tensor] | None, kept: int, device: torch.device) -> None:
    """Put the generator where a draw over the `kept` survivors alone would have left it."""
    if before is None:
        return
    gen, state = before
    gen.set_state(state)
    torch.empty(kept, device=device).exponential_(1, generator=gen)


def _default_generator(device: torch.device) -> torch.Generator:
    if device.type == "cuda":
        return torch.cuda.default_generators[device.index if device.index is not None else 0]
    return torch.default_generator


def choose_token(
    logits: torch.Tensor,
    params: SamplingParams,
    greedy: bool,
    generator: torch.Generator | None,
) -> int:
    """Pick the next token from `[V]` logits: argmax, or a draw from the filtered set (one transfer)."""
    token, kept, before = _draw(logits, params, greedy, generator)
    if kept is None:
        return int(token)
    tok, k = torch.stack([token, kept]).tolist()  # the one device -> host transfer
    _settle(before, k, logits.device)
    return tok


def sample_step(
    logits: torch.Tensor,
    params: SamplingParams,
    greedy: bool,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, float, int]:
    """One step's `(p [V], H, token)`: `probs_and_entropy` and `choose_token` together, with a
    single device -> host transfer (the token, the entropy and the kept length in one tensor)."""
    p, h = _probs_and_entropy(logits)
    token, kept, before = _draw(logits, params, greedy, generator)
    kept = kept if kept is not None else torch.ones((), dtype=torch.long, device=logits.device)
    tok, ent, k = torch.stack([token.double(), h.double(), kept.double()]).tolist()  # one transfer
    _settle(before, int(k), logits.device)
    return p, ent, int(tok)
