"""llama.cpp runtime benchmarks, as ratios measured in one run.

Owns: the four measurements of the llama.cpp runtime on this machine.
1. Our `cot-greedy` through the decode loop on llama.cpp against
   llama-cpp-python's own greedy generation (`Llama.generate`, temp 0), same
   prompt tokens and length: identical tokens, and tokens/s ratio.
2. Our llama.cpp runtime against our torch runtime on the same SmolLM2 model
   (`cot-greedy`, same prompt and length): tokens/s ratio.
3. A SwiReasoning latent step (soft mix `p @ E` fed as an embedding) against a
   token step on llama.cpp: exact mix and the truncated mix (mass 0.999), and
   the cosine of the truncated mix to the exact one.
4. A Qwen3.5-0.8B-shaped model (random weights, the real config) converted to
   GGUF Q8_0 and F16 with llama.cpp's converter: tokens/s against the torch
   runtime in float32 (`--qwen`, slow: builds and converts a 3.4 GB model).
Interleaved repeats, medians. Writes docs/benchmarks/llamacpp.md.

    python bench/bench_llamacpp.py [--tokens 64] [--repeats 3] [--qwen]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import DecodeSettings  # noqa: E402
from engine.decode import soft_embedding  # noqa: E402
from engine.events import Step  # noqa: E402
from engine.llamacpp import LlamaOptions, gguf_for, load_llama, reference_llama  # noqa: E402
from engine.local import LocalBackend  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from engine.sampling import probs_and_entropy  # noqa: E402

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def tok_per_s(backend: LocalBackend, n: int) -> tuple[float, list[int]]:
    settings = DecodeSettings(method="cot-greedy", max_new_tokens=n)
    t0, ids = time.perf_counter(), []
    for ev in backend.chat([Turn("user", PROMPT)], settings):
        if isinstance(ev, Step):
            ids.append(ev.token_id)
            if len(ids) == 1:
                t0 = time.perf_counter()  # decode speed: from the first token on
    return (len(ids) - 1) / (time.perf_counter() - t0), ids


def theirs_tok_per_s(llm, prompt_ids: list[int], n: int) -> tuple[float, list[int]]:
    gen = llm.generate(prompt_ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True)
    first = next(gen)
    t0 = time.perf_counter()
    rest = list(itertools.islice(gen, n - 1))
    return len(rest) / (time.perf_counter() - t0), [first, *rest]


def step_costs(rt, n: int) -> dict[str, float]:
    """Median ms of a token step, an exact soft step and a truncated soft step (mix included)."""
    inputs = {"input_ids": torch.tensor([[1, 9690, 198, 2683, 359, 253, 5356, 5646]])}
    out: dict[str, list[float]] = {"token": [], "soft_exact": [], "soft_truncated": []}
    cos: list[float] = []
    for _ in range(n):
        logits, cache = rt.prefill(inputs)
        with torch.inference_mode():
            for kind in out:
                t0 = time.perf_counter()
                p, _ = probs_and_entropy(logits)
                if kind == "token":
                    nxt = rt.step_ids(int(torch.argmax(logits)), cache, cache.length)
                else:
                    mass = 0.999 if kind == "soft_truncated" else None
                    soft = soft_embedding(p, rt.embed, mass, None)
                    nxt = rt.step_embeds(soft, cache, cache.length)
                out[kind].append((time.perf_counter() - t0) * 1000)
                if kind == "soft_truncated":
                    exact = soft_embedding(p, rt.embed, None, None)
                    cos.append(float(torch.nn.functional.cosine_similarity(soft, exact, dim=0)))
                logits = nxt
    res = {k: statistics.median(v) for k, v in out.items()}
    res["cos_min"] = min(cos)
    return res


def qwen_shaped(tokens: int) -> list[str]:
    """Random Qwen3.5-0.8B-shaped text model: GGUF Q8_0 and F16 against torch float32."""
    import json

    from transformers import AutoConfig, AutoModelForCausalLM

    from engine.gguf_export import export_gguf
    from engine.runtime import Runtime
    from engine.tiny_moe import ensure_random_tiny_moe

    root = Path(__file__).resolve().parents[1]
    config = json.loads((root / "engine/data/qwen3_5/configs/Qwen3.5-0.8B.json").read_text())
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "qwen3.5-0.8b-random"
        cfg = AutoConfig.for_model(**{**config["text_config"], "model_type": "qwen3_5_text"})
        cfg.architectures = ["Qwen3_5ForCausalLM"]
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.float32).eval()
        model.save_pretrained(folder)
        tok_src = ensure_random_tiny_moe()  # a Qwen3.5-style tokenizer; ids past its vocabulary are padding
        from transformers import AutoTokenizer

        AutoTokenizer.from_pretrained(tok_src).save_pretrained(folder)
        rt = Runtime("qwen3.5-0.8b (random)", str(folder), model, AutoTokenizer.from_pretrained(folder), None,
                     None, frozenset({"text"}), torch.device("cpu"), 32768)  # fmt: skip
        torch_rate, _ = tok_per_s(LocalBackend(rt), tokens)
        lines.append(f"| torch float32 | {torch_rate:.2f} | 1.00× |")
        for outtype in ("q8_0", "f16"):
            path = export_gguf(
                folder, Path(tmp) / f"q.{outtype}.gguf", outtype=outtype, pre_tokenizer="qwen35"
            )
            b = LocalBackend(load_llama(str(path), LlamaOptions(tokenizer=str(folder), n_ctx=2048)))
            rate, _ = tok_per_s(b, tokens)
            lines.append(f"| llama.cpp {outtype.upper()} | {rate:.2f} | {rate / torch_rate:.2f}× |")
            b.runtime.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--qwen", action="store_true", help="also the Qwen3.5-0.8B-shaped GGUF comparison (slow)")
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks/llamacpp.md"))
    args = ap.parse_args(argv)
    import llama_cpp

    from engine.runtime import load_runtime

    threads = len(os.sched_getaffinity(0))
    ours = LocalBackend(load_llama("smollm2-offline", LlamaOptions(n_ctx=2048, threads=threads)))
    torch_backend = LocalBackend(load_runtime("smollm2-offline"))
    llm = reference_llama(gguf_for("smollm2-offline"), n_ctx=2048, n_threads=threads, verbose=False)
    prompt_ids = ours.prepare([Turn("user", PROMPT)], DecodeSettings()).inputs["input_ids"][0].tolist()
    rows: dict[str, list[float]] = {"ours": [], "theirs": [], "torch": []}
    same = True
    for _ in range(args.repeats):  # interleaved
        r, ids_ours = tok_per_s(ours, args.tokens)
        rows["ours"].append(r)
        r, ids_theirs = theirs_tok_per_s(llm, prompt_ids, len(ids_ours))
        rows["theirs"].append(r)
        same = same and ids_ours == ids_theirs[: len(ids_ours)]
        rows["torch"].append(tok_per_s(torch_backend, args.tokens)[0])
    med = {k: statistics.median(v) for k, v in rows.items()}
    steps = step_costs(ours.runtime, 20)
    load = os.getloadavg()[0]
    lines = [
        "# llama.cpp runtime (SmolLM2-135M-Instruct Q4_1, the bundled GGUF)", "",
        f"`python bench/bench_llamacpp.py --tokens {args.tokens} --repeats {args.repeats}`; "
        f"{platform.machine()}, {os.cpu_count()} cores, {threads} threads, load {load:.1f} at the end; "
        f"llama-cpp-python {llama_cpp.__version__}.", "",
        "| measure | result | target |", "|---|---|---|",
        f"| our cot-greedy on llama.cpp: same tokens as llama-cpp-python's own greedy generation | "
        f"{'yes' if same else 'NO'} | yes |",
        f"| our loop ÷ llama-cpp-python, tokens/s | **{med['ours'] / med['theirs']:.2f}×** "
        f"({med['ours']:.1f} vs {med['theirs']:.1f}) | ≥ 0.95× |",
        f"| our llama.cpp runtime ÷ our torch runtime, tokens/s | **{med['ours'] / med['torch']:.2f}×** "
        f"({med['ours']:.1f} vs {med['torch']:.1f}) | ≥ 2.5× |",
        f"| latent step (exact mix) ÷ token step | **{steps['soft_exact'] / steps['token']:.2f}×** "
        f"({steps['soft_exact']:.1f} vs {steps['token']:.1f} ms) | ≤ 1.15× |",
        f"| latent step (truncated mix, mass 0.999) ÷ token step | **{steps['soft_truncated'] / steps['token']:.2f}×** "
        f"(cosine to exact ≥ {steps['cos_min']:.5f}) | ≤ 1.15× |",
        "",
    ]  # fmt: skip
    if args.qwen:
        lines += ["## Qwen3.5-0.8B-shaped model (random weights, real config)", "",
                  "| runtime | tokens/s | ÷ torch |", "|---|---|---|", *qwen_shaped(args.tokens), ""]  # fmt: skip
    text = "\n".join(lines)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
