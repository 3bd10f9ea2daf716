"""GPU benchmark: our decode loop against HF `generate` on random Qwen3.5 models of the real shapes.

Builds each model (dense 0.8B and 9B, MoE 35B-A3B; text model only, from
`text_config` of engine/models/data/qwen3_5/configs/) with random bf16 weights made
directly on the GPU, and measures in one run, same prompt and length:
`model.generate` greedy; our `cot-greedy` (engine.decode through a Runtime
around that model); our SwiReasoning with the exact soft mix and with the
truncated mix (`mix_mass=0.999`); each of ours with the fast step
(engine/runtimes/fast_step.py) off and on; with transformers' fast linear-attention
kernels (flash-linear-attention / causal-conv1d, where installed) and with its
reference PyTorch ones. Per run: decode tokens/s, time to first token, peak
memory (`torch.cuda.max_memory_allocated`), and greedy-token agreement. Random
weights put EOS anywhere, so EOS is an id no model can emit: every run has the
full length. Prints a Markdown table and writes JSON (`--out`). Each model has
a time budget (runs that would pass it are skipped and say so); the whole
run is sized for < 8 minutes on one H200.

`--tiny` runs the same code on the CPU in seconds, with tiny configs of the same
structure (same layer types, tiny sizes); tests/test_gpu_bench.py runs it.
Random weights give flat distributions: the truncated mix then falls back to
the exact one (see docs/BENCHMARKS.md), and token agreement is a weak check
(near-ties everywhere); speed is what this measures.
"""

# ---- running it on the GPU machine (the device tool; H200, no network, older transformers) ----
# Its image has torch 2.11, triton 3.6, einops, tokenizers 0.23.2, huggingface_hub 1.33, safetensors 0.8,
# but transformers 5.17 (this project needs 5.24: the `cache=` API, qwen3_5 static caches) and neither
# flash-linear-attention nor causal-conv1d. Carry these wheels (pure Python except regex; 16 MB):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl transformers==5.24.0 regex==2026.5.9 flash-linear-attention==0.6.0 fla-core==0.6.0
# causal-conv1d has no wheel on PyPI (source only: a CUDA build of minutes there), so it is not carried;
# transformers then runs its PyTorch conv1d, and the JSON says so. One call, carry [".whl"], timeout_s 560:
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
#     .whl/*.whl && export PYTHONPATH=/tmp/site || exit; set -o pipefail; PYTHONUNBUFFERED=1 python3 \
#     bench/gpu_bench.py --out $OUT/gpu_bench.json --md $OUT/gpu_bench.md 2>&1 | tee $OUT/gpu_bench.log
# A rerun of part of it: --models 9B --kernels torch (see --help). The app path (gpu_bench_app.py: the
# scheduler's slot batch with graphs per bucket, 1/8/32 visitors, and the teacher-forced parity) runs on
# --app-models (0.8B) inside the same budget; --models 0.8B alone measures it in about two minutes.
# The slot batch calls the cache methods of 5.25's Qwen3.5 layers (get_conv_state, increase_count,
# update_recurrent_state); on 5.24 its section may report an error while the rest stands. To run 5.25
# there, carry transformers==5.25.0 with huggingface_hub==2.4.0 (5.25 needs >= 2.4) and hub 2.4's new
# dependencies (httpx2, hf-xet, click; kernels for transformers) in .whl, the same install line.

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.config import DecodeSettings, SamplingParams, SwirParams  # noqa: E402
from engine.decode import decode  # noqa: E402
from engine.events import Step  # noqa: E402
from engine.runtimes import fast_step  # noqa: E402
from engine.runtimes.kernels import torch_linear_kernels  # noqa: E402
from engine.runtimes.torch_runtime import Runtime  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "engine" / "models" / "data" / "qwen3_5" / "configs"
MODELS = {"0.8B": "Qwen3.5-0.8B.json", "9B": "Qwen3.5-9B.json", "35B-A3B": "Qwen3.5-35B-A3B.json"}
BUDGET_S = {"0.8B": 100.0, "9B": 140.0, "35B-A3B": 130.0}  # per model, builds and warm-ups included
TOTAL_BUDGET_S = 380.0  # the whole run stops starting measurements after this
GREEDY = SamplingParams(greedy=True)
SWIR_WINDOW = 16  # so that latent and explicit steps both occur (bench_engine.py does the same)
TRUNC_MASS = 0.999


@dataclass(frozen=True)
class Variant:
    """One timed run: who decodes, which method, fast step on or off."""

    name: str
    method: str  # hf-generate, cot-greedy, swir-exact, swir-trunc
    fast: bool = False


VARIANTS = (  # in order of importance: later ones are skipped first when a budget runs out
    Variant("hf-generate", "hf-generate"),
    Variant("cot-greedy", "cot-greedy"),
    Variant("cot-greedy+fast", "cot-greedy", True),
    Variant("swir-exact+fast", "swir-exact", True),
    Variant("swir-exact", "swir-exact"),
    Variant("swir-trunc+fast", "swir-trunc", True),
    Variant("swir-trunc", "swir-trunc"),
)
REFERENCE_VARIANTS = VARIANTS[:5]  # what is repeated on the reference kernels when fast ones exist


@dataclass
class Result:
    name: str
    status: str = "ok"
    tokens: int = 0
    tokens_per_s: float | None = None  # decode rate: (tokens - 1) / (end - first token)
    e2e_tokens_per_s: float | None = None  # tokens / (end - start)
    ttft_s: float | None = None
    peak_mem_gib: float | None = None
    fast_step: str = "off"
    latent_steps: int | None = None
    mean_entropy: float | None = None
    ids: list[int] = field(default_factory=list, repr=False)

    def public(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "ids"}


@dataclass
class Clock:
    """The per-model and whole-run deadlines; a run is skipped when the last one's length would pass them."""

    model_end: float
    total_end: float
    last_run_s: float = 0.0

    def allows(self) -> bool:
        now = time.perf_counter()
        return now + 1.2 * self.last_run_s < min(self.model_end, self.total_end)


# ---------------------------------------------------------------- models


def text_config(name: str, tiny: bool) -> Any:
    """The real text config of `name` (or a tiny one of the same structure), as a transformers config."""
    from transformers import AutoConfig

    full = json.loads((CONFIGS / MODELS[name]).read_text())
    text = dict(full["text_config"])
    text.setdefault("tie_word_embeddings", bool(full.get("tie_word_embeddings", False)))
    if tiny:
        text.update(_tiny_sizes(text))
    return AutoConfig.for_model(text.pop("model_type"), **text)


def _tiny_sizes(text: dict) -> dict:
    """Tiny sizes, same layer types (3 linear-attention layers, then full attention), MoE stays MoE."""
    rope = dict(text["rope_parameters"], mrope_section=[2, 1, 1])  # head_dim 32 x 0.25 / 2 = 4
    sizes = {
        "hidden_size": 64, "num_hidden_layers": 4, "layer_types": text["layer_types"][:4],
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "linear_num_key_heads": 2,
        "linear_num_value_heads": 4, "linear_key_head_dim": 16, "linear_value_head_dim": 16,
        "vocab_size": 2048, "max_position_embeddings": 4096, "rope_parameters": rope, "eos_token_id": None,
    }  # fmt: skip
    if text.get("num_experts"):
        sizes.update(
            num_experts=8, num_experts_per_tok=2, moe_intermediate_size=32, shared_expert_intermediate_size=32
        )
    else:
        sizes["intermediate_size"] = 128
    return sizes


def build_model(config: Any, device: torch.device, dtype: torch.dtype, seed: int) -> Any:
    """Random weights made where they run (`torch.device` context: no CPU copy); EOS made unreachable."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype).eval()
    unused = unused_id(model)
    model.generation_config = GenerationConfig(eos_token_id=unused, pad_token_id=0, do_sample=False)
    return model


def unused_id(model: Any) -> int:
    """An id past the vocabulary: never produced, so every run decodes its full length."""
    return int(model.get_output_embeddings().weight.shape[0]) + 1


def make_runtime(model: Any, tokenizer: Any, name: str) -> Runtime:
    device = model.get_input_embeddings().weight.device
    rt = Runtime(name, f"random:{name}", model, tokenizer, None, None, frozenset({"text"}), device, 32768)
    rt.eos_ids = frozenset({unused_id(model)})
    rt.fast = None
    return rt


def free(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# ---------------------------------------------------------------- kernels


def kernels_present() -> dict[str, bool]:
    from transformers.utils.import_utils import (
        is_causal_conv1d_available,
        is_flash_linear_attention_available,
    )

    return {"flash-linear-attention": bool(is_flash_linear_attention_available()),
            "causal-conv1d": bool(is_causal_conv1d_available())}  # fmt: skip


reference_kernels = torch_linear_kernels  # transformers' PyTorch gated-delta-net/conv functions, not fla's


# ---------------------------------------------------------------- timed runs


class FirstTokenTimer:
    """A `generate` streamer that notes when the first new token exists (prompt first, then tokens)."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.calls, self.first = device, 0, None

    def put(self, value: Any) -> None:
        self.calls += 1
        if self.calls == 2:  # the first call carries the prompt
            _sync(self.device)
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def settings_for(method: str, n: int) -> DecodeSettings:
    if method == "cot-greedy":
        return DecodeSettings(method="cot-greedy", max_new_tokens=n)
    mass = TRUNC_MASS if method == "swir-trunc" else None
    swir = SwirParams(window=SWIR_WINDOW, max_switch_count=None, mix_mass=mass)
    return DecodeSettings(method="swir", max_new_tokens=n, sampling=GREEDY, swir=swir)


def time_generate(rt: Runtime, ids: torch.Tensor, n: int) -> Result:
    timer = FirstTokenTimer(rt.device)
    _sync(rt.device)
    t0 = time.perf_counter()
    with torch.inference_mode():
        out = rt.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=n,
            do_sample=False, streamer=timer,
        )  # fmt: skip
    _sync(rt.device)
    return _result("hf-generate", out[0, ids.shape[-1] :].tolist(), t0, timer.first, time.perf_counter())


def time_ours(rt: Runtime, ids: torch.Tensor, method: str, n: int) -> Result:
    _sync(rt.device)
    t0, first, steps = time.perf_counter(), None, []
    for event in decode(rt, {"input_ids": ids}, settings_for(method, n)):
        if isinstance(event, Step):
            first = first or time.perf_counter()
            steps.append(event)
    _sync(rt.device)
    res = _result(method, [s.token_id for s in steps], t0, first, time.perf_counter())
    res.latent_steps = sum(s.latent for s in steps)
    res.mean_entropy = sum(s.entropy for s in steps) / max(len(steps), 1)
    return res


def _result(name: str, ids: list[int], t0: float, first: float | None, end: float) -> Result:
    n = len(ids)
    rate = (n - 1) / (end - first) if first and n > 1 and end > first else None
    return Result(name, tokens=n, tokens_per_s=rate, e2e_tokens_per_s=n / (end - t0),
                  ttft_s=(first - t0) if first else None, ids=ids)  # fmt: skip


def measure(rt: Runtime, fast: Any, variant: Variant, ids: torch.Tensor, n: int) -> Result:
    """One timed run with its peak memory; errors are recorded, not raised."""
    rt.fast = fast if variant.fast else None
    if rt.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(rt.device)
    try:
        if variant.method == "hf-generate":
            res = time_generate(rt, ids, n)
        else:
            res = time_ours(rt, ids, variant.method, n)
    except Exception as err:  # an OOM or a kernel failure ends this run only
        res = Result(variant.name, status=f"error: {type(err).__name__}: {str(err)[:200]}")
        free(rt.device)
    res.name = variant.name
    res.fast_step = fast.mode if (variant.fast and fast is not None) else "off"
    if rt.device.type == "cuda":
        res.peak_mem_gib = torch.cuda.max_memory_allocated(rt.device) / 2**30
    if res.status == "ok" and res.tokens != n:
        res.status = f"short: {res.tokens} of {n} tokens"
    rt.fast = None
    return res


def warm_up(rt: Runtime, fast: Any, ids: torch.Tensor, variants: tuple[Variant, ...]) -> None:
    """A few tokens of every variant: lazy inits, kernel autotuning, the fast step's capture."""
    for v in variants:
        measure(rt, fast, v, ids, 4)


# ---------------------------------------------------------------- one model


def bench_model(name: str, args: argparse.Namespace, tokenizer: Any, total_end: float) -> list[dict]:
    """Build `name`, run every variant under each kernel set, free it; one dict per kernel set."""
    device, dtype = torch.device(args.device), (torch.float32 if args.tiny else torch.bfloat16)
    clock = Clock(time.perf_counter() + (1e9 if args.tiny else BUDGET_S[name]), total_end)
    t = time.perf_counter()
    model = build_model(text_config(name, args.tiny), device, dtype, args.seed)
    build_s = time.perf_counter() - t
    rt = make_runtime(model, tokenizer, name)
    vocab = min(len(tokenizer), rt.vocab_size)
    ids = torch.randint(0, vocab, (1, args.prompt), generator=torch.Generator().manual_seed(args.seed)).to(
        device
    )
    out = []
    for kernels in kernel_sets(args.kernels):
        with reference_kernels() if kernels == "torch" else contextlib.nullcontext():
            variants = (
                VARIANTS if kernels == "fast" or len(kernel_sets(args.kernels)) == 1 else REFERENCE_VARIANTS
            )
            fast = fast_step.select(rt, "on")
            out.append(run_variants(rt, fast, ids, variants, args.tokens, clock))
            if name in args.app_models and len(out) == 1:  # the app's path, on the first kernel set
                out[-1]["app"] = run_app(rt, args, ids, out[-1]["runs"])
            out[-1].update(model=name, kernels=kernels, build_s=build_s, params_b=_params_b(model))
            del fast
            free(device)
    del rt, model
    free(device)
    return out


def run_app(rt: Runtime, args: argparse.Namespace, ids: torch.Tensor, runs: list[dict]) -> dict:
    """bench/gpu_bench_app.py on this model: the scheduler at 1, 8, 32 visitors, and the parity check.
    On the CPU (--tiny) the slot path runs without graphs (RIO_FAST_STEP=static)."""
    from bench.gpu_bench_app import app_section
    from engine.models.tiny_moe import chat_template

    single = next((r["tokens_per_s"] for r in runs if r["name"] == "cot-greedy+fast"), None)
    rt.tokenizer.chat_template = rt.tokenizer.chat_template or chat_template()  # Qwen3.5's, as the app uses
    saved = os.environ.get(fast_step.ENV)
    if args.tiny:
        os.environ[fast_step.ENV] = "static"
    try:
        return app_section(rt, args.tokens, SWIR_WINDOW, single, ids, tuple(args.visitors))
    except Exception as err:  # reported, not raised: the single-run numbers stand
        return {"status": f"error: {type(err).__name__}: {str(err)[:300]}"}
    finally:
        if saved is None:
            os.environ.pop(fast_step.ENV, None)
        else:
            os.environ[fast_step.ENV] = saved


def kernel_sets(choice: str) -> list[str]:
    """`fast` (fla / causal-conv1d, where installed) and/or `torch` (transformers' reference kernels)."""
    present = any(kernels_present().values())
    if choice == "both":
        return ["fast", "torch"] if present else ["torch"]
    if choice == "fast" and not present:
        return ["torch"]
    return [choice]


def run_variants(rt: Runtime, fast: Any, ids: torch.Tensor, variants: tuple, n: int, clock: Clock) -> dict:
    warm_up(rt, fast, ids, variants)
    results = []
    for v in variants:
        if not clock.allows():
            results.append(Result(v.name, status="skipped: time budget"))
            continue
        t = time.perf_counter()
        results.append(measure(rt, fast, v, ids, n))
        clock.last_run_s = max(clock.last_run_s, time.perf_counter() - t)
        print(
            f"  {rt.name:8} {v.name:16} {_fmt(results[-1].tokens_per_s):>8} tok/s  {results[-1].status}",
            flush=True,
        )
    return {"runs": [r.public() for r in results], "ratios": ratios(results), "agreement": agreement(results)}


def _params_b(model: Any) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e9


def ratios(results: list[Result]) -> dict[str, float | None]:
    rate = {r.name: r.tokens_per_s for r in results if r.status == "ok"}

    def div(a: str, b: str) -> float | None:
        return rate[a] / rate[b] if rate.get(a) and rate.get(b) else None

    return {
        "cot_vs_hf": div("cot-greedy", "hf-generate"),
        "cot_fast_vs_hf": div("cot-greedy+fast", "hf-generate"),
        "cot_fast_vs_cot": div("cot-greedy+fast", "cot-greedy"),
        "swir_exact_vs_cot": div("swir-exact", "cot-greedy"),
        "swir_exact_fast_vs_cot_fast": div("swir-exact+fast", "cot-greedy+fast"),
        "swir_trunc_vs_cot": div("swir-trunc", "cot-greedy"),
        "swir_trunc_fast_vs_cot_fast": div("swir-trunc+fast", "cot-greedy+fast"),
    }


def agreement(results: list[Result]) -> dict[str, dict | None]:
    """Greedy tokens shared (share, first differing step) between pairs that should decode alike."""
    ids = {r.name: r.ids for r in results if r.status == "ok"}
    pairs = {"cot_vs_hf": ("cot-greedy", "hf-generate"), "cot_fast_vs_cot": ("cot-greedy+fast", "cot-greedy"),
             "swir_exact_fast_vs_plain": ("swir-exact+fast", "swir-exact")}  # fmt: skip
    return {k: _agree(ids.get(a), ids.get(b)) for k, (a, b) in pairs.items()}


def _agree(a: list[int] | None, b: list[int] | None) -> dict | None:
    if not a or not b:
        return None
    same = [x == y for x, y in zip(a, b, strict=False)]
    first = next((i for i, s in enumerate(same) if not s), None)
    return {"share": sum(same) / len(same), "first_difference": first}


# ---------------------------------------------------------------- the sampler's syncs


def sampler_syncs(device: torch.device) -> dict | None:
    """Synchronising CUDA calls per step: the loop's two calls today vs `sample_step` (CUDA only)."""
    if device.type != "cuda":
        return None
    from engine.sampling import choose_token, probs_and_entropy, sample_step

    logits = torch.randn(248320, device=device)
    params, gen = SamplingParams(), torch.Generator(device=device).manual_seed(0)
    counts = {}
    for name, fn in (("probs_and_entropy+choose_token",
                      lambda: (probs_and_entropy(logits), choose_token(logits, params, False, gen))),
                     ("sample_step", lambda: sample_step(logits, params, False, gen))):  # fmt: skip
        fn()
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fn()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        counts[name] = sum("synchroniz" in str(w.message) for w in seen)
    return counts


# ---------------------------------------------------------------- report


def targets(models: list[dict]) -> list[dict]:
    """The issue's targets, per model, on the first (fastest available) kernel set."""
    rows, seen = [], set()
    for m in models:
        if m["model"] in seen:
            continue
        seen.add(m["model"])
        r = m["ratios"]
        rows.append(_target(m, "our cot-greedy ÷ HF generate", r["cot_vs_hf"], 1.0))
        if m["model"] != "35B-A3B":
            rows.append(_target(m, "cot-greedy with the fast step ÷ HF generate", r["cot_fast_vs_hf"], 2.0))
        rows.append(
            _target(m, "SwiR exact mix ÷ our CoT (fast step on)", r["swir_exact_fast_vs_cot_fast"], 0.9)
        )
        app = (m.get("app") or {}).get("ratios") or {}
        for key, what, goal in APP_TARGETS:
            if key in app:
                rows.append(_target(m, what, app[key], goal))
    return rows


APP_TARGETS = (  # the app's path (bench/gpu_bench_app.py): aggregate tok/s ratios
    ("one_visitor_vs_single_fast_step", "app: one visitor through the scheduler ÷ single-run fast step", 0.9),
    ("most_vs_1_visitors", "app: most visitors ÷ one visitor (aggregate)", 20.0),
    ("swir_vs_cot_at_1", "app: SwiR ÷ CoT, 1 visitor", 0.95),
    ("swir_vs_cot_at_8", "app: SwiR ÷ CoT, 8 visitors", 0.95),
    ("swir_vs_cot_at_32", "app: SwiR ÷ CoT, 32 visitors", 0.95),
)


def _target(m: dict, what: str, value: float | None, goal: float) -> dict:
    met = None if value is None else value >= goal
    return {
        "model": m["model"],
        "kernels": m["kernels"],
        "what": what,
        "value": value,
        "target": goal,
        "met": met,
    }


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "–" if x is None else format(x, spec)


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# GPU benchmark (random weights, real Qwen3.5 shapes)", "",
        f"{report['machine']['device_name']}, torch {report['machine']['torch']}, transformers "
        f"{report['machine']['transformers']}, kernels present: {report['machine']['kernels_present']}. "
        f"Prompt {s['prompt_tokens']} tokens, {s['new_tokens']} new tokens, {s['dtype']}, one run each after a warm-up.",
        "", "| model | kernels | run | tok/s | × HF | TTFT ms | peak GiB | fast step | latent | status |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for m in report["models"]:
        hf = next((r["tokens_per_s"] for r in m["runs"] if r["name"] == "hf-generate"), None)
        for r in m["runs"]:
            x = r["tokens_per_s"] / hf if r["tokens_per_s"] and hf else None
            ttft = r["ttft_s"] * 1000 if r["ttft_s"] else None
            lines.append(
                f"| {m['model']} | {m['kernels']} | {r['name']} | {_fmt(r['tokens_per_s'])} | {_fmt(x, '.2f')} | "
                f"{_fmt(ttft, '.0f')} | {_fmt(r['peak_mem_gib'], '.2f')} | {r['fast_step']} | "
                f"{r['latent_steps'] if r['latent_steps'] is not None else '–'} | {r['status']} |"
            )
    lines += ["", "| model | target | value | goal | met |", "|---|---|---|---|---|"]
    for t in report["targets"]:
        met = "–" if t["met"] is None else ("yes" if t["met"] else "no")
        lines.append(
            f"| {t['model']} ({t['kernels']}) | {t['what']} | {_fmt(t['value'], '.2f')}× | ≥ {t['target']}× | {met} |"
        )
    lines += app_markdown(report["models"])
    lines += ["", f"Sampler synchronising calls per step: {report['sampler_syncs']}", ""]
    for m in report["models"]:
        lines.append(f"Agreement {m['model']} ({m['kernels']}): {json.dumps(m['agreement'])}")
    return "\n".join(lines) + "\n"


def app_markdown(models: list[dict]) -> list[str]:
    """The app path's table (aggregate tok/s per visitors and method) and its parity line."""
    lines = []
    for m in (m for m in models if "app" in m):
        app = m["app"]
        if "runs" not in app:
            lines += ["", f"App path {m['model']}: {app.get('status')}"]
            continue
        lines += ["", f"App path {m['model']}: {app['decode_path']} ({app['slot_mode']})", "",
                  "| method | visitors | aggregate tok/s | per-run tok/s | tokens | latent |", "|---|---|---|---|---|---|"]  # fmt: skip
        for r in app["runs"]:
            lines.append(f"| {r['method']} | {r['concurrency']} | {_fmt(r['aggregate_tok_s'])} | "
                         f"{_fmt(r['per_run_tok_s'])} | {r['tokens']} | {r['latent_steps']} |")  # fmt: skip
        lines += ["", f"Teacher-forced parity {m['model']}: {json.dumps(app['parity'])}"]
    return lines


def machine(device: torch.device) -> dict:
    import transformers

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.machine()})"
    return {"device_name": name, "torch": torch.__version__, "transformers": transformers.__version__,
            "python": platform.python_version(), "kernels_present": kernels_present()}  # fmt: skip


# ---------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tiny", action="store_true", help="tiny configs of the same structure on the CPU (seconds)"
    )
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--prompt", type=int, default=None, help="prompt tokens (512; --tiny: 24)")
    ap.add_argument("--tokens", type=int, default=None, help="new tokens per run (256; --tiny: 8)")
    ap.add_argument("--kernels", choices=["both", "fast", "torch"], default="both")
    ap.add_argument("--device", default=None, help="cuda (default) or cpu (--tiny)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--app-models",
        nargs="*",
        choices=list(MODELS),
        default=["0.8B"],
        help="models whose app path (LocalBackend.chat through the scheduler) is measured",
    )
    ap.add_argument(
        "--visitors", nargs="+", type=int, default=[1, 8, 32], help="concurrent runs of the app path"
    )
    ap.add_argument("--out", default="gpu_bench.json")
    ap.add_argument("--md", default=None, help="also write the Markdown table here")
    args = ap.parse_args(argv)
    args.prompt = args.prompt or (24 if args.tiny else 512)
    args.tokens = args.tokens or (8 if args.tiny else 256)
    args.device = args.device or ("cpu" if args.tiny else "cuda")
    return args


def main(argv: list[str] | None = None) -> dict:
    from engine.models.tiny_moe import make_tokenizer

    args = parse_args(argv)
    start = time.perf_counter()
    _check_transformers()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run with --tiny (CPU) or on the GPU machine")
    # The tiny model's BPE with Qwen3.5's added tokens: ids past its vocabulary decode to "".
    tokenizer = make_tokenizer()
    models = []
    for name in args.models:
        print(f"{name}: building", flush=True)
        models += bench_model(name, args, tokenizer, start + TOTAL_BUDGET_S)
    report = {
        "machine": machine(device),
        "settings": {"prompt_tokens": args.prompt, "new_tokens": args.tokens, "tiny": args.tiny,
                     "dtype": "float32" if args.tiny else "bfloat16", "swir_window": SWIR_WINDOW,
                     "trunc_mass": TRUNC_MASS, "device": str(device)},  # fmt: skip
        "models": models, "targets": targets(models), "sampler_syncs": sampler_syncs(device),
        "elapsed_s": time.perf_counter() - start,
    }  # fmt: skip
    Path(args.out).write_text(json.dumps(report, indent=2, default=_json_default), encoding="utf-8")
    text = markdown(report)
    if args.md:
        Path(args.md).write_text(text, encoding="utf-8")
    print(text)
    return report


def _check_transformers() -> None:
    import transformers
    from packaging.version import Version

    if Version(transformers.__version__) < Version("5.24"):
        print(f"warning: transformers {transformers.__version__}; the engine targets 5.24 (carry the wheel, see the "
              "top of this file)", flush=True)  # fmt: skip


def _json_default(x: Any) -> Any:
    return None if isinstance(x, float) and math.isnan(x) else str(x)


if __name__ == "__main__":
    main()
