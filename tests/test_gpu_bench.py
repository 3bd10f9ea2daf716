"""bench/gpu_bench.py end to end on the CPU (`--tiny`): every variant runs, the JSON has its fields.

The real run needs an H200 (see the comment block at the top of the script); this
checks the same code path with tiny configs of the same structure, so the GPU
run's first try does not fail on a typo.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import gpu_bench  # noqa: E402

RUN_FIELDS = {"name", "status", "tokens", "tokens_per_s", "e2e_tokens_per_s", "ttft_s", "peak_mem_gib",
              "fast_step", "latent_steps", "mean_entropy"}  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_bench") / "bench.json"
    md = out.with_suffix(".md")
    gpu_bench.main(["--tiny", "--models", "0.8B", "35B-A3B", "--tokens", "5", "--prompt", "12",
                    "--visitors", "1", "2", "--out", str(out), "--md", str(md)])  # fmt: skip
    return json.loads(out.read_text()), md.read_text()


def test_every_variant_runs_the_full_length(report):
    data, _ = report
    assert [m["model"] for m in data["models"]] == ["0.8B", "35B-A3B"]
    for m in data["models"]:
        assert m["kernels"] == "torch" and m["params_b"] > 0 and m["build_s"] >= 0
        assert [r["name"] for r in m["runs"]] == [v.name for v in gpu_bench.VARIANTS]
        for r in m["runs"]:
            assert set(r) == RUN_FIELDS
            assert r["status"] == "ok" and r["tokens"] == 5 and r["tokens_per_s"] > 0 and r["ttft_s"] > 0
            assert r["fast_step"] == ("static" if r["name"].endswith("+fast") else "off")  # CPU: no graphs


def test_ratios_agreement_and_targets_are_reported(report):
    data, md = report
    for m in data["models"]:
        assert all(v is not None and v > 0 for v in m["ratios"].values())
        # float32 on the CPU: the static cache gives the plain path's greedy tokens, and ours generate's
        assert all(a["share"] == 1.0 for a in m["agreement"].values())
        swir = {r["name"]: r for r in m["runs"]}["swir-exact"]
        assert swir["latent_steps"] >= 1  # the mix really runs
    whats = {(t["model"], t["what"]) for t in data["targets"]}
    assert ("0.8B", "cot-greedy with the fast step ÷ HF generate") in whats
    assert ("35B-A3B", "our cot-greedy ÷ HF generate") in whats
    assert data["settings"]["tiny"] and data["machine"]["kernels_present"] == {
        "flash-linear-attention": False, "causal-conv1d": False}  # fmt: skip
    assert data["sampler_syncs"] is None  # CUDA only
    assert "| 35B-A3B | torch | swir-trunc+fast |" in md


def test_tiny_configs_keep_the_real_structure():
    for name in gpu_bench.MODELS:
        real, tiny = gpu_bench.text_config(name, False), gpu_bench.text_config(name, True)
        assert type(real) is type(tiny)
        assert tiny.layer_types == real.layer_types[:4] == ["linear_attention"] * 3 + ["full_attention"]
        assert bool(getattr(tiny, "num_experts", None)) == bool(getattr(real, "num_experts", None))
        assert tiny.tie_word_embeddings == real.tie_word_embeddings
    assert gpu_bench.text_config("9B", False).hidden_size == 4096


def test_reference_kernels_swaps_and_restores_the_module_functions():
    import transformers.models.qwen3_5.modeling_qwen3_5 as dense

    before = dense.causal_conv1d_update
    with gpu_bench.reference_kernels():
        assert dense.causal_conv1d_update is not before
    assert dense.causal_conv1d_update is before


def test_the_app_path_is_measured_and_its_parity_reported(report):
    """LocalBackend.chat through the scheduler (the slot path without graphs on the CPU), CoT and
    SwiR at each visitor count, and the teacher-forced check of the three paths (float32: 1e-5)."""
    data, md = report
    app = data["models"][0]["app"]
    assert "app" not in data["models"][1]  # --app-models defaults to 0.8B
    assert app["decode_path"] == "batched, static slots (no graphs)" and app["slot_mode"] == "static"
    assert [(r["method"], r["concurrency"]) for r in app["runs"]] == [
        ("cot-greedy", 1), ("cot-greedy", 2), ("swir", 1), ("swir", 2)]  # fmt: skip
    assert all(r["tokens"] == 5 * r["concurrency"] and r["aggregate_tok_s"] > 0 for r in app["runs"])
    assert sum(r["latent_steps"] for r in app["runs"] if r["method"] == "swir") >= 1
    assert app["ratios"]["one_visitor_vs_single_fast_step"] > 0 and app["ratios"]["most_vs_1_visitors"] > 0
    for path in ("single-static", "batched-static"):
        assert app["parity"][path]["max_abs"] < 1e-5 and app["parity"][path]["met"]
    whats = {t["what"] for t in data["targets"]}
    assert "app: one visitor through the scheduler ÷ single-run fast step" in whats
    assert "App path 0.8B: batched, static slots (no graphs)" in md
