"""smollm2-think: the shipped adapter, its merge, its tokens and template, and what it answers.

The answering tests run the shipped weights offline through the same backend the app uses;
the held-out problems they ask are listed by id in HELD_OUT (see docs/MODEL-smollm2-think.md
for the model's accuracy on the whole held-out set, which is well below 100%).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from engine.config import DecodeSettings
from engine.eval import grade, load_tasks, method_settings, run_once, split_output
from engine.models.presets import DEFAULT_PRESET, PRESETS
from engine.models.smollm2_think import (
    ADAPTER_DIR,
    NEW_TOKENS,
    ensure_smollm2_think,
    lora_scale,
    merge_lora,
)

TASKS = Path(__file__).resolve().parent.parent / "tasks" / "arith_heldout.jsonl"
# Held-out problems (never trained on) that the shipped weights answer under both methods, with
# the preset's settings (its calculator on); a regression test of loading, merging, template,
# calculator and decoding, not an accuracy claim.
HELD_OUT = (  # the first is the README's screenshot (tests/test_app_browser.py)
    "units-219408227c38",
    "compare-d361237bf1f0",
    "count-081843171b98",
    "money-3b4441e71f00",
    "percent-d6675196c490",
    "time-ee8066c5ca20",
)


@pytest.fixture(scope="module")
def tasks():
    by_id = {t.id: t for t in load_tasks(TASKS)}
    return [by_id[i] for i in HELD_OUT]


def test_it_is_the_default_and_ships_small():
    assert DEFAULT_PRESET == "smollm2-think"
    files = {p.name: p.stat().st_size for p in ADAPTER_DIR.iterdir()}
    assert "adapter.safetensors" in files and not any(n.endswith((".bin", ".pt", ".pth")) for n in files)
    assert sum(files.values()) <= 30 * 2**20


def test_think_tags_are_single_special_tokens(think_runtime):
    tok = think_runtime.tokenizer
    want = json.loads((ADAPTER_DIR / "added_tokens.json").read_text(encoding="utf-8"))
    for text in NEW_TOKENS:
        ids = tok.encode(text, add_special_tokens=False)
        assert ids == [want[text]] and tok.get_added_vocab()[text] == want[text]
    assert tok.decode([want["<think>"], want["</think>"]]) == "<think></think>"


def test_generation_prompt_opens_thinking_like_qwen35(think_runtime):
    tok = think_runtime.tokenizer
    msgs = [
        {"role": "user", "content": "2 + 2?"},
        {"role": "assistant", "content": "<think>\n2 + 2 = 4.\n</think>\n\n\\boxed{4}"},
        {"role": "user", "content": "And 3 + 3?"},
    ]
    on = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    off = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert on.endswith("<|im_start|>assistant\n<think>\n")
    assert off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")
    assert "2 + 2 = 4" not in on  # earlier thinking is dropped, the answer kept
    assert "<|im_start|>assistant\n\\boxed{4}<|im_end|>" in on


def test_merge_is_the_lora_update():
    g = torch.Generator().manual_seed(0)
    w, a, b = (torch.randn(s, generator=g) for s in ((6, 5), (2, 5), (6, 2)))
    weights = {"model.layers.0.q_proj.weight": w.clone()}
    adapter = {
        "model.layers.0.q_proj.lora_A": a,
        "model.layers.0.q_proj.lora_B": b,
    }
    merged = merge_lora(weights, adapter, 2.0)
    assert merged == ["model.layers.0.q_proj.weight"]
    x = torch.randn(3, 5, generator=g)
    torch.testing.assert_close(x @ weights["model.layers.0.q_proj.weight"].T, x @ w.T + 2.0 * (x @ a.T) @ b.T)
    assert lora_scale({"lora_alpha": 32, "r": 16}) == 2.0


def test_the_tied_embeddings_two_names_are_one_fingerprint():
    from engine.models.smollm2_think import fingerprint_mismatch

    shapes = {"model.norm.weight": [576], "lm_head.weight": [49152, 576]}
    renamed = {"model.norm.weight": [576], "model.embed_tokens.weight": [49152, 576]}
    assert fingerprint_mismatch({"tensors": shapes}, {"tensors": renamed, "sha256": {}}) is None
    assert fingerprint_mismatch({"tensors": renamed}, {"tensors": shapes, "sha256": {}}) is None
    other = {"model.norm.weight": [576], "model.embed_tokens.weight": [49152, 512]}
    assert fingerprint_mismatch({"tensors": shapes}, {"tensors": other, "sha256": {}}) is not None


def test_an_adapter_trained_on_other_weights_is_refused(think_runtime, tmp_path):
    from engine.errors import ModelUnavailable
    from engine.runtimes.torch_runtime import smollm2_base_folder

    other = tmp_path / "adapter"
    shutil.copytree(ADAPTER_DIR, other)
    config = json.loads((other / "adapter_config.json").read_text())
    config["base"]["sha256"] = {name: "0" * 64 for name in config["base"]["sha256"]}
    (other / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailable, match="trained on other SmolLM2 weights"):
        ensure_smollm2_think(smollm2_base_folder(), tmp_path / "built", adapter_dir=other)


@pytest.mark.parametrize("method", ["cot-greedy", "swir-greedy"])
def test_shipped_weights_answer_held_out_problems(think_backend, tasks, method):
    preset = PRESETS["smollm2-think"]
    base = DecodeSettings(
        sampling=preset.sampling, swir=preset.swir, max_new_tokens=256, calculator=preset.calculator
    )
    settings = replace(method_settings(method, base), seed=None)
    latent = 0
    for task in tasks:
        steps, stop, error = run_once(think_backend, task, settings)
        thinking, answer, closed = split_output(steps)
        assert not error and closed and thinking.strip(), (task.id, thinking, answer)
        assert grade(answer, task.answer, task.match).correct, (task.id, thinking, answer)
        latent += sum(s.latent for s in steps)
    assert (latent > 0) == (method == "swir-greedy")
