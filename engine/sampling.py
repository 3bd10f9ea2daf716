"""Next-token distributions: entropy, filtering and the token choice.

Owns: the unfiltered distribution of a step (`softmax` at temperature 1, its
entropy in nats), the filtered one that picks the token (temperature, then
top-k, then top-p, then min-p), and the choice itself (argmax or a seeded
draw). Leaves the SwiReasoning policy to `swir.py` and the loop to `decode.py`.

Speed: with top-k on, top-p runs inside the k survivors (`torch.topk` then a
sort of k values), so no step sorts the whole vocabulary; that is the same
result as filtering the full distribution, since top-k runs first.
"""

from __future__ import annotations

import torch

from engine.config import SamplingParams


def probs_and_entropy(logits: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Unfiltered `p = softmax(logits)` at temperature 1 and `H = -sum p log p`.

    `logits` is `[V]`; the result is float32. p is clamped at 1e-12 inside the
    log, as in the reference.
    """
    p = torch.softmax(logits.float(), dim=-1)  # [V]
    h = -(p * p.clamp(min=1e-12).log()).sum()
    return p, float(h)


def filtered_candidates(logits: torch.Tensor, params: SamplingParams) -> tuple[torch.Tensor, torch.Tensor]:
    """The tokens that survive the filters and their logits, best first.

    Returns `(ids [k], logits [k])` with temperature applied. Order of the
    filters: temperature, top-k, top-p (smallest prefix whose mass reaches
    top_p; the token that crosses it is kept), min-p (relative to the most
    likely token, as transformers does).
    """
    scaled = logits.float() / params.temperature  # [V]
    if params.top_k and params.top_k < scaled.shape[-1]:
        vals, ids = torch.topk(scaled, params.top_k)  # [k], sorted descending
    else:
        vals, ids = torch.sort(scaled, descending=True)  # [V]
    if params.top_p < 1.0:
        p = torch.softmax(vals, dim=-1)
        mass_before = torch.cumsum(p, dim=-1) - p  # [k]
        keep = int((mass_before <= params.top_p).sum())
        vals, ids = vals[: max(keep, 1)], ids[: max(keep, 1)]
    if params.min_p > 0:
        p = torch.softmax(vals, dim=-1)
        keep = int((p >= params.min_p * p[0]).sum())
        vals, ids = vals[: max(keep, 1)], ids[: max(keep, 1)]
    return ids, vals


def choose_token(
    logits: torch.Tensor,
    params: SamplingParams,
    greedy: bool,
    generator: torch.Generator | None,
) -> int:
    """Pick the next token from `[V]` logits: argmax, or a draw from the filtered set."""
    if greedy:
        return int(torch.argmax(logits))
    ids, vals = filtered_candidates(logits, params)
    p = torch.softmax(vals, dim=-1)
    pick = torch.multinomial(p, num_samples=1, generator=generator)
    return int(ids[pick])
