"""Engine benchmarks: our loop against `generate`, SwiR step cost, truncated soft mix, memory.

Prints ratios measured in one run (interleaved repeats, medians) and writes
docs/benchmarks/engine.md. Run: `python bench/bench_engine.py [--model smollm2-offline]`.
Numbers depend on the machine; the ratios are what the targets are about.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import psutil
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.backends.local import LocalBackend  # noqa: E402
from engine.config import DecodeSettings, SamplingParams, SwirParams  # noqa: E402
from engine.decode import soft_embedding  # noqa: E402
from engine.events import Step  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from engine.runtimes.torch_runtime import load_runtime  # noqa: E402

PROMPTS = [
    "What is 17 times 23? Think it through.",
    "Explain why the sky is blue in two sentences.",
    "List three prime numbers greater than 50.",
    "Write a haiku about the ocean.",
    "If a train travels 60 km in 45 minutes, what is its speed in km/h?",
    "Qual é a capital do Brasil?",
    "Describe a cat to someone who has never seen one.",
    "What is the derivative of x^3 + 2x?",
    "Give two tips for writing clean code.",
    "How many legs do three spiders have?",
]
GREEDY = SamplingParams(greedy=True)


def run_ours(backend, prompt, settings):
    events = list(backend.chat([Turn("user", prompt)], settings))
    steps = [e for e in events if isinstance(e, Step)]
    return steps, events[-1].summary


def time_generate(rt, inputs, n):
    t = time.perf_counter()
    out = rt.model.generate(**inputs, max_new_tokens=n, do_sample=False)
    dt = time.perf_counter() - t
    return out.shape[-1] - inputs["input_ids"].shape[-1], dt


def time_ours(backend, prompt, settings):
    t = time.perf_counter()
    steps, _ = run_ours(backend, prompt, settings)
    return len(steps), time.perf_counter() - t


def bench_vs_generate(backend, n, repeats):
    rt = backend.runtime
    ratios = []
    for prompt in PROMPTS[:4]:
        s = DecodeSettings(method="cot-greedy", max_new_tokens=n)
        inputs = backend.prepare([Turn("user", prompt)], s).inputs
        ours_r, gen_r = [], []
        for _ in range(repeats):
            k, dt = time_generate(rt, inputs, n)
            gen_r.append(k / dt)
            k2, dt2 = time_ours(backend, prompt, s)
            ours_r.append(k2 / dt2)
        ratios.append(statistics.median(ours_r) / statistics.median(gen_r))
        print(
            f"  {prompt[:40]!r}: ours {statistics.median(ours_r):.1f} tok/s, generate {statistics.median(gen_r):.1f}"
        )
    return statistics.median(ratios)


def step_costs(backend, steps_n=48):
    """Mean ms of a CoT step (token in) and of a latent SwiR step (soft embedding in)."""
    rt = backend.runtime
    inputs = backend.prepare([Turn("user", PROMPTS[0])], DecodeSettings()).inputs
    out = {}
    with torch.inference_mode():
        for kind in ("token", "soft", "trunc", "token", "soft", "trunc"):
            logits, cache = rt.prefill(inputs)
            pos = inputs["input_ids"].shape[-1]
            t = time.perf_counter()
            for i in range(steps_n):
                p = torch.softmax(logits.float(), -1)
                _ = -(p * p.clamp(min=1e-12).log()).sum()
                tok = int(logits.argmax())
                if kind == "token":
                    logits = rt.step_ids(tok, cache, pos + i)
                else:
                    mass = 0.999 if kind == "trunc" else None
                    logits = rt.step_embeds(soft_embedding(p, rt.embed, mass, None), cache, pos + i)
            out.setdefault(kind, []).append((time.perf_counter() - t) / steps_n * 1000)
    return min(out["token"]), min(out["soft"]), min(out["trunc"])


def bench_truncated(backend, n):
    """Fidelity and speed of the truncated soft mix against the exact mix."""
    exact = SwirParams(window=16, max_switch_count=None)
    trunc = SwirParams(window=16, max_switch_count=None, mix_mass=0.999)
    same, total, cos = 0, 0, []
    rates = {"exact": [], "trunc": [], "cot": []}
    for prompt in PROMPTS:
        s_exact = DecodeSettings(method="swir", max_new_tokens=n, sampling=GREEDY, swir=exact)
        s_trunc = DecodeSettings(method="swir", max_new_tokens=n, sampling=GREEDY, swir=trunc)
        a, sa = run_ours(backend, prompt, s_exact)
        b, sb = run_ours(backend, prompt, s_trunc)
        _, sc = run_ours(backend, prompt, DecodeSettings(method="cot-greedy", max_new_tokens=n))
        for x, y in zip(a, b, strict=False):
            total += 1
            same += x.token_id == y.token_id
        rates["exact"].append(sa.tokens_per_s or 0)
        rates["trunc"].append(sb.tokens_per_s or 0)
        rates["cot"].append(sc.tokens_per_s or 0)
        cos += mix_cosines(backend, prompt)
    return (
        same / max(total, 1),
        min(cos),
        statistics.mean(cos),
        {k: statistics.median(v) for k, v in rates.items()},
    )


def mix_cosines(backend, prompt, n=24):
    """Cosine of truncated vs exact soft embedding along a run's distributions."""
    rt = backend.runtime
    inputs = backend.prepare([Turn("user", prompt)], DecodeSettings()).inputs
    cos = []
    with torch.inference_mode():
        logits, cache = rt.prefill(inputs)
        pos = inputs["input_ids"].shape[-1]
        for i in range(n):
            p = torch.softmax(logits.float(), -1)
            e = soft_embedding(p, rt.embed, None, None)
            tr = soft_embedding(p, rt.embed, 0.999, None)
            cos.append(float(torch.nn.functional.cosine_similarity(e, tr, dim=0)))
            logits = rt.step_embeds(e, cache, pos + i)
    return cos


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-offline")
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs/benchmarks/engine.md"))
    args = ap.parse_args()
    torch.manual_seed(0)
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    t = time.perf_counter()
    backend = LocalBackend(load_runtime(args.model))
    load_s = time.perf_counter() - t
    rss_loaded = proc.memory_info().rss
    print(f"loaded {args.model} in {load_s:.1f}s")
    ratio_gen = bench_vs_generate(backend, args.tokens, args.repeats)
    print(f"cot-greedy vs generate: {ratio_gen:.3f}x")
    tok_ms, soft_ms, trunc_ms = step_costs(backend)
    print(f"step: token {tok_ms:.1f} ms, soft {soft_ms:.1f} ms -> {soft_ms / tok_ms:.3f}x")
    same, cos_min, cos_mean, rates = bench_truncated(backend, args.tokens)
    print(
        f"truncated mix: same greedy tokens {same:.3f}, cosine min {cos_min:.5f} mean {cos_mean:.6f}, rates {rates}"
    )
    peak = max(proc.memory_info().rss, rss_loaded)
    try:
        import resource

        peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    except ImportError:
        pass
    lines = [
        "# Engine benchmarks",
        "",
        f"Model `{args.model}` ({backend.runtime.source}), {backend.runtime.model.dtype}, "
        f"{platform.machine()} with {os.cpu_count()} cores, torch {torch.__version__}, no GPU. "
        f"Greedy decoding, {args.tokens} new tokens at most, medians over {args.repeats} interleaved repeats "
        "(other processes may share the cores: compare the ratios, not the absolute numbers).",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| our `cot-greedy` tokens/s ÷ `model.generate(do_sample=False)` | {ratio_gen:.3f}× | ≥ 0.95× |",
        f"| SwiR latent step ÷ CoT step (soft embedding `p @ E` in, vs token in) | {soft_ms / tok_ms:.3f}× "
        f"({soft_ms:.1f} ms vs {tok_ms:.1f} ms) | ≤ 1.15× |",
        f"| SwiR latent step with the truncated mix ÷ CoT step | {trunc_ms / tok_ms:.3f}× ({trunc_ms:.1f} ms) | – |",
        f"| truncated mix (0.999 mass): cosine to exact mix, min / mean over steps of 10 prompts | "
        f"{cos_min:.5f} / {cos_mean:.6f} | ≥ 0.999 |",
        f"| truncated mix: share of identical greedy tokens vs exact SwiR, 10 prompts | {same:.3f} | – |",
        f"| SwiR (exact) tokens/s ÷ our CoT tokens/s | {rates['exact'] / rates['cot']:.3f}× | – |",
        f"| SwiR (truncated) tokens/s ÷ our CoT tokens/s | {rates['trunc'] / rates['cot']:.3f}× | ≥ 0.97× |",
        f"| load time | {load_s:.1f} s | – |",
        f"| resident memory after load (delta) / peak | {(rss_loaded - rss0) / 2**20:.0f} MiB / {peak / 2**20:.0f} MiB | – |",
        "",
        "SwiR window 16 and switch control off in the mix runs, so that both latent and explicit steps occur.",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
