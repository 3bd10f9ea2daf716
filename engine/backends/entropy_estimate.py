"""Entropy of a next-token distribution known only through its top-k log-probabilities.

Owns: `EntropyEstimate` and `estimate_entropy`, the bounds and the point
estimate that a remote backend puts in `Step.entropy` (the trace then says
`"entropy": "estimate"`). Pure arithmetic on floats: no model, no HTTP.
Leaves the exact entropy (full distribution in hand) to `engine/sampling.py`.

The derivation. A server reports the k largest probabilities
p_1 >= ... >= p_k of a vocabulary of V tokens (OpenAI `top_logprobs`,
k <= 20). The reported part contributes H_top = -sum p_i log p_i exactly.
The missing mass m = 1 - sum p_i is spread over the other V - k tokens, each
no more likely than the k-th: 0 <= q_j <= p_k, sum q_j = m. The tail term
H_tail = -sum q_j log q_j is concave in q, so over that polytope

* its maximum is the uniform spread, q_j = m / (V - k):
  H_tail <= m log((V - k) / m)   (feasible because m / (V - k) <= p_k);
* its minimum is at a vertex, where every q_j is 0 or p_k except one:
  n = floor(m / p_k) tokens at p_k and one at r = m - n p_k:
  H_tail >= -n p_k log p_k - r log r.

So lower = H_top + that minimum and upper = H_top + m log((V - k) / m);
the true entropy lies between them whenever the reported values are the true
top-k probabilities of an unfiltered distribution over at most V tokens.

Point estimate (`Step.entropy`): the tail continued geometrically. The
ratio rho = (p_k / p_1)^(1/(k-1)) is the mean decay per rank inside the top-k;
the tail takes the mass m as q_j = m (1 - rho) rho^(j-1), j = 1, 2, ...
(rho raised where needed so that q_1 <= p_k), whose entropy is
m * Hgeo(rho) - m log m with Hgeo(rho) = (-(1-rho) log(1-rho) - rho log rho) / (1-rho);
the result is clamped into [lower, upper]. Measured against exact entropies
in docs/benchmarks/remote.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_VOCAB = 262_144  # >= every preset's vocabulary (Qwen3.5: about 248k), so `upper` stays an upper bound


@dataclass(frozen=True)
class EntropyEstimate:
    point: float  # nats; the value a Step carries
    lower: float
    upper: float
    top_only: float  # -sum p log p over the reported tokens alone
    top_mass: float  # sum of the reported probabilities
    k: int  # how many probabilities were reported


def estimate_entropy(logprobs: Sequence[float], vocab_size: int | None = None) -> EntropyEstimate:
    """Bounds and point estimate of H (nats) from the top-k log-probabilities (any order)."""
    probs = sorted((p for p in (math.exp(lp) for lp in logprobs if lp is not None) if p > 0), reverse=True)
    if not probs:
        raise ValueError("no log-probabilities to estimate an entropy from")
    k = len(probs)
    vocab = max(vocab_size or DEFAULT_VOCAB, k + 1)
    top_mass = sum(probs)
    h_top = -sum(p * math.log(p) for p in probs if p > 0)
    missing = 1.0 - top_mass
    p_k = probs[-1]
    if missing <= 1e-9 or p_k <= 0:  # the top-k hold (almost) all the mass
        return EntropyEstimate(h_top, h_top, h_top, h_top, top_mass, k)
    lower = h_top + _tail_min(missing, p_k)
    upper = h_top + missing * math.log((vocab - k) / missing)
    point = h_top + _tail_geometric(missing, probs)
    return EntropyEstimate(min(max(point, lower), upper), lower, upper, h_top, top_mass, k)


def _tail_min(missing: float, p_k: float) -> float:
    """-sum q log q at the vertex: floor(m/p_k) tokens at p_k, the rest on one token."""
    n = math.floor(missing / p_k)
    rest = missing - n * p_k
    return -n * p_k * math.log(p_k) - (rest * math.log(rest) if rest > 0 else 0.0)


def _tail_geometric(missing: float, probs: list[float]) -> float:
    """Entropy of the mass `missing` spread as a geometric continuation of the top-k decay."""
    k, p_k = len(probs), probs[-1]
    rho = (p_k / probs[0]) ** (1.0 / (k - 1)) if k > 1 and probs[0] > 0 else 0.5
    rho = min(max(rho, 1.0 - p_k / missing), 1.0 - 1e-12)  # q_1 = m (1 - rho) <= p_k
    if rho <= 0:
        return -missing * math.log(missing)
    h_geo = (-(1.0 - rho) * math.log(1.0 - rho) - rho * math.log(rho)) / (1.0 - rho)
    return missing * h_geo - missing * math.log(missing)
