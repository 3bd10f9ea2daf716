"""SwiReasoning through vLLM (serving/vllm-swir) against the engine's own loop, and what it costs.

Starts vLLM on the CPU twice (with the extension, and stock), both on SmolLM2-135M in float32
(or, with `--model tiny-llama`, the small random Llama of the TP 2 test: 8 heads, 4 key/value
heads, so `--tp 2` divides them) from the venv `serving/vllm-swir/make_venv.sh` builds. Then,
in one run:
- parity: N prompts, greedy SwiR, through vLLM and through `engine.decode.decode` (what
  `python -m engine` runs) on the same prompt ids: "N/N same tokens and modes";
- step time (median interval between streamed tokens, interleaved repeats):
  SwiR / CoT on the extension server (a SwiR run that stays mostly explicit, and one that is
  mostly latent: each latent step pays the full soft mix), and plain requests with the
  extension / stock vLLM.

Run: `python bench/vllm_parity.py [--n 8] [--tokens 64] [--tp 1] [--repeats 3] [--model tiny-llama]`
(`--n 0`: the step times alone). At TP > 1 rank r is bound to CPU r (`VLLM_CPU_OMP_THREADS_BIND`).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.backends.remote import swir_xargs  # noqa: E402
from engine.config import DecodeSettings, SamplingParams, SwirParams  # noqa: E402
from engine.decode import decode  # noqa: E402
from engine.events import Step  # noqa: E402
from engine.runtimes.torch_runtime import load_runtime  # noqa: E402
from tests.vllm_swir_server import SERVED, VllmServer, smollm2_vllm_folder, tiny_llama_folder  # noqa: E402

PROMPTS = [
    "What is 17 times 23? Think it through.",
    "Explain why the sky is blue in two sentences.",
    "List three prime numbers greater than 50.",
    "Write a haiku about the ocean.",
    "If a train travels 60 km in 45 minutes, what is its speed in km/h?",
    "Describe a cat to someone who has never seen one.",
    "What is the derivative of x^3 + 2x?",
    "How many legs do three spiders have?",
]


def prompt_ids(tokenizer, question: str) -> list[int]:
    ids = tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True)
    return list(ids["input_ids"] if hasattr(ids, "keys") else ids)


def stream(url: str, ids: list[int], n: int, xargs: dict | None, ignore_eos: bool = False):
    """(tokens, records, intervals between streamed chunks in seconds)."""
    body = {"model": SERVED, "prompt": ids, "max_tokens": n, "temperature": 0, "stream": True,
            "logprobs": 1, "return_tokens_as_token_ids": True, "ignore_eos": ignore_eos}  # fmt: skip
    if xargs is not None:
        body["vllm_xargs"] = {"swireasoning": xargs}
    toks, recs, stamps = [], [], []
    with httpx.stream("POST", f"{url}/completions", json=body, timeout=900) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            recs += chunk.get("swir", [])
            for choice in chunk.get("choices", []):
                new = (choice.get("logprobs") or {}).get("tokens") or []
                toks += [int(t[9:]) for t in new]
                stamps += [time.perf_counter()] * len(new)
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False) if b > a]
    return toks, [r for r in recs if not r.get("closing")], gaps


def parity(rt, url: str, questions: list[str], n: int, swir: SwirParams) -> int:
    same = 0
    for q in questions:
        ids = prompt_ids(rt.tokenizer, q)
        settings = DecodeSettings(
            method="swir", max_new_tokens=n, sampling=SamplingParams(greedy=True), swir=swir
        )
        steps = [e for e in decode(rt, {"input_ids": torch.tensor([ids])}, settings) if isinstance(e, Step)]
        _, recs, _ = stream(url, ids, n, swir_xargs(rt.tokenizer, settings))
        ours = [(s.token_id, s.latent, s.switch) for s in steps]
        theirs = [(r["token_id"], r["mode"] == "latent", r["switch"]) for r in recs]
        same += ours == theirs
        latent = sum(s.latent for s in steps)
        print(
            f"  {'same' if ours == theirs else 'DIFFERENT'}: {q[:40]!r} ({len(steps)} steps, {latent} latent)"
        )
    return same


def step_times(rt, swir_url: str, stock_url: str, n: int, repeats: int) -> dict[str, float]:
    ids = prompt_ids(rt.tokenizer, PROMPTS[1])
    settings = DecodeSettings(method="swir", max_new_tokens=n, sampling=SamplingParams(greedy=True))
    xargs = swir_xargs(rt.tokenizer, settings)
    # the reference rule on this prompt goes latent at once and stays there (on SmolLM2; the latent
    # shares printed say what each run was)
    latent_ids = prompt_ids(rt.tokenizer, PROMPTS[6])
    latent_xargs = swir_xargs(rt.tokenizer, replace(settings, swir=SwirParams(variant="reference")))
    gaps: dict[str, list[float]] = {"swir": [], "latent": [], "cot": [], "stock": []}
    counts = {"swir": [0, 0], "latent": [0, 0]}  # latent steps, steps
    for _ in range(repeats):  # interleaved, so load from elsewhere hits all alike
        for key, run_ids, run_xargs in (("swir", ids, xargs), ("latent", latent_ids, latent_xargs)):
            _, recs, g = stream(swir_url, run_ids, n, run_xargs, ignore_eos=True)
            gaps[key] += g
            counts[key][0] += sum(r["mode"] == "latent" for r in recs)
            counts[key][1] += len(recs)
        gaps["cot"] += stream(swir_url, ids, n, None, ignore_eos=True)[2]
        gaps["stock"] += stream(stock_url, ids, n, None, ignore_eos=True)[2]
    out = {k: statistics.median(v) for k, v in gaps.items()}
    for key, (latent, steps) in counts.items():
        out[f"{key}_share"] = latent / max(steps, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=8, help="prompts for the parity check")
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--tp", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model", choices=("smollm2", "tiny-llama"), default="smollm2")
    args = ap.parse_args()
    folder = smollm2_vllm_folder() if args.model == "smollm2" else tiny_llama_folder()
    rt = load_runtime("smollm2-offline" if args.model == "smollm2" else str(folder))
    bind = "nobind" if args.tp == 1 else "|".join(str(r) for r in range(args.tp))
    t0 = time.perf_counter()
    servers = [VllmServer(folder, swir=s, tp=args.tp, bind=bind) for s in (True, False)]
    try:
        swir_srv, stock_srv = (s.wait() for s in servers)
        print(
            f"two vLLM servers up in {time.perf_counter() - t0:.0f} s ({platform.processor() or platform.machine()})"
        )
        questions = (PROMPTS * 4)[: args.n]
        for name, swir in (
            ("reference", SwirParams(variant="reference")),
            ("strict, window 4", SwirParams(window=4)),
        ):
            print(f"parity, SwiR {name}, TP {args.tp}, {args.tokens} tokens:")
            same = parity(rt, swir_srv.url, questions, args.tokens, swir)
            print(f"{same}/{len(questions)} same tokens and modes")
        t = step_times(rt, swir_srv.url, stock_srv.url, args.tokens, args.repeats)
        print(
            f"median step: SwiR {t['swir'] * 1e3:.2f} ms, SwiR mostly latent {t['latent'] * 1e3:.2f} ms, "
            f"CoT {t['cot'] * 1e3:.2f} ms, stock {t['stock'] * 1e3:.2f} ms"
        )
        print(
            f"SwiR / CoT (extension server): {t['swir'] / t['cot']:.3f} ({t['swir_share']:.0%} of steps latent)"
        )
        print(
            f"SwiR mostly latent / CoT: {t['latent'] / t['cot']:.3f} ({t['latent_share']:.0%} of steps latent)"
        )
        print(f"plain with extension / plain without: {t['cot'] / t['stock']:.3f}")
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    main()
