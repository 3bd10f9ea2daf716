"""Entropy and the token filters, checked against a plain full-vocabulary version."""

from __future__ import annotations

import math

import pytest
import torch

from engine.config import SamplingParams
from engine.sampling import choose_token, filtered_candidates, probs_and_entropy


def reference_filter(logits: torch.Tensor, p: SamplingParams) -> set[int]:
    """Full-vocabulary filtering in the spec's order: temperature, top-k, top-p, min-p."""
    x = logits / p.temperature
    if p.top_k:
        kth = torch.topk(x, p.top_k).values[-1]
        x = torch.where(x < kth, float("-inf"), x)
    if p.top_p < 1:
        vals, idx = torch.sort(x, descending=True)
        cum = torch.cumsum(torch.softmax(vals, -1), -1)
        remove = cum > p.top_p
        remove[1:] = remove[:-1].clone()
        remove[0] = False
        x = x.clone()
        x[idx[remove]] = float("-inf")
    if p.min_p:
        probs = torch.softmax(x, -1)
        x = torch.where(probs < p.min_p * probs.max(), float("-inf"), x)
    return set(torch.nonzero(torch.isfinite(x)).flatten().tolist())


def test_entropy_of_uniform_and_of_a_point_mass():
    _, h = probs_and_entropy(torch.zeros(1000))
    assert h == pytest.approx(math.log(1000), rel=1e-5)
    peaked = torch.full((1000,), -1e4)
    peaked[3] = 0
    p, h = probs_and_entropy(peaked)
    assert h == pytest.approx(0.0, abs=1e-6) and int(p.argmax()) == 3


@pytest.mark.parametrize(
    "params",
    [
        SamplingParams(temperature=0.6, top_p=0.95, top_k=20),
        SamplingParams(temperature=1.0, top_p=0.5, top_k=0),
        SamplingParams(temperature=0.8, top_p=1.0, top_k=7),
        SamplingParams(temperature=1.3, top_p=0.9, top_k=50, min_p=0.05),
    ],
)
def test_topk_first_then_topp_matches_full_vocabulary_filtering(params):
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        logits = torch.randn(500, generator=gen) * 3
        ids, _ = filtered_candidates(logits, params)
        assert set(ids.tolist()) == reference_filter(logits, params)


def test_candidates_are_sorted_best_first_and_never_empty():
    logits = torch.tensor([0.0, 5.0, 1.0, 4.0])
    ids, vals = filtered_candidates(logits, SamplingParams(temperature=1.0, top_p=0.01, top_k=0))
    assert ids.tolist() == [1]
    ids, vals = filtered_candidates(logits, SamplingParams(temperature=1.0, top_p=1.0, top_k=3))
    assert ids.tolist() == [1, 3, 2] and torch.all(vals[:-1] >= vals[1:])


def test_greedy_is_argmax_and_sampling_is_seeded():
    logits = torch.randn(300, generator=torch.Generator().manual_seed(1))
    params = SamplingParams(temperature=1.0, top_p=1.0, top_k=0)
    assert choose_token(logits, params, True, None) == int(logits.argmax())
    draws = [choose_token(logits, params, False, torch.Generator().manual_seed(7)) for _ in range(3)]
    assert len(set(draws)) == 1
    many = {
        choose_token(logits, params, False, g) for g in [torch.Generator().manual_seed(s) for s in range(40)]
    }
    assert len(many) > 5  # it really samples


def test_sampled_tokens_stay_inside_the_filtered_set():
    logits = torch.randn(400, generator=torch.Generator().manual_seed(2)) * 4
    params = SamplingParams(temperature=0.7, top_p=0.8, top_k=10)
    allowed = reference_filter(logits, params)
    gen = torch.Generator().manual_seed(3)
    assert all(choose_token(logits, params, False, gen) in allowed for _ in range(200))
