"""llama.cpp runtime benchmarks, as ratios measured in one run.

Owns: the measurements of the llama.cpp runtime on this machine.
1. Our `cot-greedy` through the decode loop on llama.cpp against
   llama-cpp-python's own greedy generation (`Llama.generate`, temp 0), same
   prompt tokens and length: identical tokens, and tokens/s ratio.
2. Our llama.cpp runtime against our torch runtime on the same SmolLM2 model
   (`cot-greedy`, same prompt and length): tokens/s ratio.
3. A SwiReasoning latent step (soft mix `p @ E` fed as an embedding) against a
   token step on llama.cpp, with the runtime's default mix (int8 tail, float32
   head), the float32 product and the truncated mix (mass 0.999), and the
   cosines of the default and truncated mixes to float32; then SwiR greedy on
   the default model (smollm2-think) with each mix and, as a control, with
   float32 against float64: runs with the same tokens and modes, and grades.
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

from engine.backends.local import LocalBackend  # noqa: E402
from engine.config import DecodeSettings, SamplingParams  # noqa: E402
from engine.decode import soft_embedding  # noqa: E402
from engine.events import Step  # noqa: E402
from engine.prompt import Turn  # noqa: E402
from engine.runtimes.llamacpp import LlamaOptions, gguf_for, load_llama, reference_llama  # noqa: E402
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
    """Median ms of a token step and of a latent step with each mix (the mix included): the
    runtime's default (int8 tail, float32 head), the float32 product on a transposed copy, and
    the truncated mix; and the smallest cosine of the default and truncated mixes to float32."""
    inputs = {"input_ids": torch.tensor([[1, 9690, 198, 2683, 359, 253, 5356, 5646]])}
    embed_t = rt.embed.t().contiguous()  # [H, V], as the float32 mix reads it
    mixes = {
        "soft_default": lambda p: rt.mix(p[None])[0],
        "soft_exact": lambda p: embed_t @ p,
        "soft_truncated": lambda p: soft_embedding(p, rt.embed, 0.999, None),
    }
    out: dict[str, list[float]] = {"token": [], **{k: [] for k in mixes}}
    cos: dict[str, list[float]] = {"soft_default": [], "soft_truncated": []}
    for _ in range(n):
        logits, cache = rt.prefill(inputs)
        with torch.inference_mode():
            for kind in out:
                t0 = time.perf_counter()
                p, _ = probs_and_entropy(logits)
                if kind == "token":
                    nxt = rt.step_ids(int(torch.argmax(logits)), cache, cache.length)
                else:
                    soft = mixes[kind](p)
                    nxt = rt.step_embeds(soft, cache, cache.length)
                out[kind].append((time.perf_counter() - t0) * 1000)
                if kind in cos:
                    exact = embed_t @ p
                    cos[kind].append(float(torch.nn.functional.cosine_similarity(soft, exact, dim=0)))
                logits = nxt
    res = {k: statistics.median(v) for k, v in out.items()}
    res.update({f"cos_{k}": min(v) for k, v in cos.items()})
    return res


def swir_agreement(threads: int, n_tasks: int, tokens: int) -> dict[str, tuple[int, int]]:
    """SwiR greedy with the preset's settings on held-out problems of the default model
    (smollm2-think on llama.cpp), mixing with the int8 default, with float32 and with float64:
    for each pair, (runs with identical tokens and modes, runs with the same graded answer).
    float32 against float64 is the control: how far summation order alone moves a run."""
    from engine.eval import grade, graded_text, load_tasks, run_step, split_output
    from engine.models.presets import PRESETS

    root = Path(__file__).resolve().parents[1]
    tasks = load_tasks(root / "tasks/arith_heldout.jsonl", limit=n_tasks)
    preset = PRESETS["smollm2-think"]
    settings = DecodeSettings(
        method="swir", max_new_tokens=tokens, sampling=SamplingParams(greedy=True), swir=preset.swir
    )

    def backend(exact: bool) -> LocalBackend:
        return LocalBackend(
            load_llama("smollm2-think", LlamaOptions(n_ctx=2048, threads=threads, exact_mix=exact))
        )

    int8, f32 = backend(False), backend(True)
    f64 = backend(True)
    rt64 = f64.runtime
    rt64.mix = lambda probs: (probs.double() @ rt64.embed.double()).float()  # [k, H]
    runs: dict[str, list[tuple[list[tuple[int, bool]], bool]]] = {"int8": [], "f32": [], "f64": []}
    for task in tasks:
        for name, b in (("int8", int8), ("f32", f32), ("f64", f64)):
            steps = [e for e in b.chat([Turn("user", task.question)], settings) if isinstance(e, Step)]
            thinking, answer, closed = split_output([run_step(e) for e in steps])
            right = grade(graded_text(thinking, answer, closed), task.answer, task.match).correct
            runs[name].append(([(e.token_id, e.latent) for e in steps], right))

    def pair(a: str, b: str) -> tuple[int, int]:
        pairs = list(zip(runs[a], runs[b], strict=True))
        return sum(x[0] == y[0] for x, y in pairs), sum(x[1] == y[1] for x, y in pairs)

    out = {"int8 vs float32": pair("int8", "f32"), "float32 vs float64": pair("f32", "f64")}
    out["correct"] = (sum(r for _, r in runs["int8"]), sum(r for _, r in runs["f32"]))
    return out


def qwen_shaped(tokens: int) -> list[str]:
    """Random Qwen3.5-0.8B-shaped text model: GGUF Q8_0 and F16 against torch float32."""
    import json

    from transformers import AutoConfig, AutoModelForCausalLM

    from engine.models.gguf_export import export_gguf
    from engine.models.tiny_moe import ensure_random_tiny_moe
    from engine.runtimes.torch_runtime import Runtime

    root = Path(__file__).resolve().parents[1]
    config = json.loads((root / "engine/models/data/qwen3_5/configs/Qwen3.5-0.8B.json").read_text())
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
    ap.add_argument("--tasks", type=int, default=40, help="held-out problems for the mix agreement")
    ap.add_argument("--qwen", action="store_true", help="also the Qwen3.5-0.8B-shaped GGUF comparison (slow)")
    ap.add_argument("--out", type=Path, default=Path("docs/benchmarks/llamacpp.md"))
    args = ap.parse_args(argv)
    import llama_cpp

    from engine.runtimes.torch_runtime import load_runtime

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
    agree = swir_agreement(threads, args.tasks, 256)
    load = os.getloadavg()[0]
    lines = [
        "# llama.cpp runtime (SmolLM2-135M-Instruct Q4_1, the bundled GGUF)", "",
        f"`python bench/bench_llamacpp.py --tokens {args.tokens} --repeats {args.repeats} --tasks {args.tasks}`; "
        f"{platform.machine()}, {os.cpu_count()} cores, {threads} threads, load {load:.1f} at the end; "
        f"llama-cpp-python {llama_cpp.__version__}.", "",
        "| measure | result | target |", "|---|---|---|",
        f"| our cot-greedy on llama.cpp: same tokens as llama-cpp-python's own greedy generation | "
        f"{'yes' if same else 'NO'} | yes |",
        f"| our loop ÷ llama-cpp-python, tokens/s | **{med['ours'] / med['theirs']:.2f}×** "
        f"({med['ours']:.1f} vs {med['theirs']:.1f}) | ≥ 0.95× |",
        f"| our llama.cpp runtime ÷ our torch runtime, tokens/s | **{med['ours'] / med['torch']:.2f}×** "
        f"({med['ours']:.1f} vs {med['torch']:.1f}) | ≥ 2.5× |",
        f"| latent step (default mix: int8 tail, float32 head) ÷ token step | "
        f"**{steps['soft_default'] / steps['token']:.2f}×** ({steps['soft_default']:.1f} vs "
        f"{steps['token']:.1f} ms; cosine to float32 ≥ {steps['cos_soft_default']:.6f}) | ≤ 1.15× |",
        f"| latent step (float32 mix, `--exact-mix`) ÷ token step | {steps['soft_exact'] / steps['token']:.2f}× "
        f"({steps['soft_exact']:.1f} ms) | – |",
        f"| latent step (truncated mix, mass 0.999) ÷ token step | {steps['soft_truncated'] / steps['token']:.2f}× "
        f"(cosine to float32 ≥ {steps['cos_soft_truncated']:.5f}) | – |",
        "", f"## SwiR greedy on the default model (smollm2-think, llama.cpp Q8_0), {args.tasks} held-out "
        "problems, preset settings, 256 tokens", "",
        "| mixes compared | runs with identical tokens and modes | runs with the same grade |", "|---|---|---|",
        *(f"| {k} | {v[0]} of {args.tasks} | {v[1]} of {args.tasks} |" for k, v in agree.items() if k != "correct"),
        "", f"Correct: {agree['correct'][0]} with the int8 mix, {agree['correct'][1]} with float32.",
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
