"""The tiny `qwen3_5_moe` vision-language checkpoints: the trained one this repo ships, and a random one.

Owns: `ensure_tiny_moe()` (the trained folder `models/tiny-moe/`, made by
`python -m train.tiny_moe_train --seed 0 --out models/tiny-moe`), `ensure_random_tiny_moe()`
(a seeded random model of the same architecture, built offline into the cache at first use:
its output head is scaled so that the next-token entropy swings from step to step and a
SwiReasoning run keeps switching, a stress test of the switch cap), and what both folders hold:
`config.json` for `Qwen3_5MoeForConditionalGeneration` (`TinyMoeSpec`: gated-delta-net and
full-attention layers at Qwen3.5's interval of 4, routed experts plus the shared expert,
interleaved mrope, a small vision tower with the real patch, merge and temporal-patch
settings), float32 safetensors, a byte-level BPE tokenizer trained on
`engine/models/data/tiny_moe/corpus_*.jsonl` with Qwen3.5's 33 added tokens after it in the real
order and offsets (`engine/models/data/tiny_moe/added_tokens.json`), Qwen3.5's chat template
(`engine/models/data/qwen3_5/chat_template.jinja`, read as is), the processor (small pixel budgets) and
`generation_config.json` (eos `<|im_end|>`, `<|endoftext|>`).

Leaves to others: loading (`engine/runtimes/torch_runtime.py`), prompts (`engine/prompt.py`), decoding (`engine/decode.py`), and
training (`train/tiny_moe_train.py`, which calls `new_model` and `save_checkpoint`). Nothing
here runs at import time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.errors import ModelUnavailable
from engine.models import paths
from engine.models.paths import cache_root

TINY_MOE_NAME = "tiny-moe"
RANDOM_NAME = "tiny-moe-random-v2"
MARKER = paths.TINY_MOE_MARKER  # written last: a folder holding it is complete
DATA_DIR = paths.DATA_DIR / "tiny_moe"
QWEN_DIR = paths.DATA_DIR / "qwen3_5"
SHIPPED_DIR = paths.TINY_MOE_SHIPPED
CORPUS_FILES = ("corpus_general.jsonl", "corpus_tasks.jsonl")
CORPUS_REPEATS = 8  # so that every pair of the general lines clears min_frequency
BPE_VOCAB_SIZE = 2000  # upper bound; the corpus runs out of merges before it
TRAIN_COMMAND = "python -m train.tiny_moe_train --seed 0 --out models/tiny-moe"


@dataclass(frozen=True)
class TinyMoeSpec:
    """Sizes of the tiny model (Qwen3.5's values where they cost nothing)."""

    seed: int = 1234
    hidden_size: int = 128
    num_layers: int = 4  # linear, linear, linear, full (Qwen3.5's interval of 4)
    full_attention_interval: int = 4
    num_heads: int = 4
    num_kv_heads: int = 2
    head_dim: int = 64  # rotary dim 16 with Qwen3.5's partial_rotary_factor 0.25
    mrope_section: tuple[int, int, int] = (3, 3, 2)  # t, h, w; sums to rotary dim / 2 (real: 11, 11, 10)
    linear_key_heads: int = 2
    linear_value_heads: int = 4
    linear_head_dim: int = 32
    num_experts: int = 8
    experts_per_token: int = 2
    moe_intermediate: int = 128
    shared_intermediate: int = 128
    router_aux_loss_coef: float = 0.01
    vision_depth: int = 3
    vision_hidden: int = 128
    vision_heads: int = 4
    vision_intermediate: int = 256
    vision_positions: int = 576  # a 24 x 24 table, interpolated to each grid
    head_scale: float = 4.5  # random model only: output-head std times sqrt(hidden), the entropy range


# ---------------------------------------------------------------- the two folders


def shipped_path() -> Path:
    return SHIPPED_DIR


def random_path() -> Path:
    """`$RIO_CACHE/tiny-moe-random-v2`; RIO_CACHE defaults to ~/.cache/rio-chat."""
    return cache_root() / RANDOM_NAME


def is_complete(path: Path) -> bool:
    return paths.tiny_moe_complete(path)


def ensure_tiny_moe(path: Path | None = None) -> Path:
    """The trained checkpoint's folder (`models/tiny-moe/` unless `path`); `ModelUnavailable`
    naming the command that rebuilds it when the folder is missing or incomplete."""
    path = Path(path) if path is not None else shipped_path()
    if is_complete(path):
        return path
    raise ModelUnavailable(
        f"The trained tiny model is missing from {path} (no {MARKER}). Restore it from the repository "
        f"(git checkout models/tiny-moe) or rebuild it: {TRAIN_COMMAND} (about an hour on 2 CPU cores). "
        "The random test model needs no training: engine.models.tiny_moe.ensure_random_tiny_moe()."
    )


def ensure_random_tiny_moe(path: Path | None = None, spec: TinyMoeSpec | None = None) -> Path:
    """A folder holding the complete random checkpoint; build it if missing.

    The build goes into a temporary folder beside `path` that is renamed into
    place at the end, so no reader sees a half-written model; when two
    processes build at once, the first rename wins and the other build is
    dropped.
    """
    path = Path(path) if path is not None else random_path()
    if is_complete(path):
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ModelUnavailable(
            f"{path} exists but is not a complete tiny model (it has no {MARKER}); "
            "delete it or choose another folder, and it will be rebuilt."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        build_tiny_moe(tmp, spec)
        os.chmod(tmp, 0o755)
        if path.is_dir():
            path.rmdir()  # empty; fails if another process has just filled it
        os.rename(tmp, path)
    except OSError:
        if not is_complete(path):
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def build_tiny_moe(folder: Path, spec: TinyMoeSpec | None = None, trained: bool = False) -> None:
    """Write the random checkpoint into the existing folder `folder` (`trained=True` copies the
    shipped trained checkpoint there instead)."""
    folder = Path(folder)
    if trained:
        for f in ensure_tiny_moe().iterdir():
            shutil.copy2(f, folder / f.name)
        return
    spec = spec or TinyMoeSpec()
    processor = make_processor(make_tokenizer())
    model = new_model(spec, processor.tokenizer)
    _swing_head(model, spec)
    save_checkpoint(folder, model, processor, {"name": RANDOM_NAME, "trained": False, "spec": asdict(spec)})


def save_checkpoint(folder: Path, model: Any, processor: Any, info: dict) -> None:
    """Weights (safetensors), config, processor, tokenizer, template, then the marker."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    processor.save_pretrained(folder)
    for f in folder.iterdir():
        os.chmod(f, 0o644)
    info = {**info, "vocab_size": len(processor.tokenizer)}
    (folder / MARKER).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- data files


def added_tokens() -> dict:
    """`engine/models/data/tiny_moe/added_tokens.json`: the 33 added tokens in order, with flags and names."""
    return json.loads((DATA_DIR / "added_tokens.json").read_text(encoding="utf-8"))


def chat_template() -> str:
    return (QWEN_DIR / "chat_template.jinja").read_text(encoding="utf-8")


def corpus() -> list[str]:
    """The tokenizer's training text: hand-written general lines (repeated) and task text."""
    general, tasks = (DATA_DIR / f for f in CORPUS_FILES)
    read = [json.loads(line) for line in general.read_text(encoding="utf-8").splitlines() if line.strip()]
    task_lines = [json.loads(line) for line in tasks.read_text(encoding="utf-8").splitlines() if line.strip()]
    return read * CORPUS_REPEATS + task_lines


# ---------------------------------------------------------------- tokenizer and processor


def make_tokenizer():
    """A byte-level BPE trained on `corpus()`, wrapped as Qwen3.5's tokenizer class, with the
    added tokens right after the BPE ids (offsets as in the real tokenizer)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer
    from transformers import AddedToken
    from transformers.models.qwen3_5.tokenization_qwen3_5 import PRETOKENIZE_REGEX, Qwen3_5Tokenizer

    # The same normalizer and pre-tokenizer as Qwen3_5Tokenizer builds (digits split one by one).
    raw = Tokenizer(BPE())
    raw.normalizer = normalizers.NFC()
    raw.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    raw.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(
        vocab_size=BPE_VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    raw.train_from_iterator(corpus(), trainer=trainer)
    bpe = json.loads(raw.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in bpe["merges"]]
    facts = added_tokens()
    tok = Qwen3_5Tokenizer(vocab=bpe["vocab"], merges=merges, unk_token=None)  # adds <|endoftext|> first
    tok.add_tokens(
        [AddedToken(t["content"], special=t["special"], normalized=False) for t in facts["tokens"]]
    )
    with tempfile.TemporaryDirectory() as tmp:  # the named media tokens and eos are set on loading
        tok.save_pretrained(tmp)
        tok = Qwen3_5Tokenizer.from_pretrained(tmp, eos_token=facts["eos_token"], **facts["named"])
    base = len(bpe["vocab"])
    for t in facts["tokens"]:  # the real layout: <|endoftext|> + offset
        if tok.convert_tokens_to_ids(t["content"]) != base + t["offset"]:
            raise RuntimeError(f"{t['content']} is not at <|endoftext|> + {t['offset']}")
    tok.model_max_length = 262144
    return tok


def make_processor(tokenizer, image_tokens: tuple[int, int] = (4, 32)):
    """Qwen3VLProcessor with Qwen3.5's patch 16, temporal patch 2, merge 2 and mean/std 0.5,
    and pixel budgets for the tasks: `image_tokens` (min, max) vision tokens an image (4-32 for
    the random model and the first trained one; 16-64 is the training default since; a trained
    folder is saved with `TrainConfig.read_tokens`, 36-64, which enlarges a small picture),
    64x64 video frames kept. The budgets are
    saved with the processor, so a folder loads its own."""
    from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

    common = {
        "patch_size": 16,
        "temporal_patch_size": 2,
        "merge_size": 2,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    token_px = 32 * 32  # one vision token: a 2x2 merge of 16-pixel patches
    image = Qwen2VLImageProcessor(
        size={"shortest_edge": image_tokens[0] * token_px, "longest_edge": image_tokens[1] * token_px},
        **common,
    )
    video = Qwen3VLVideoProcessor(
        size={"shortest_edge": 2 * 4 * token_px, "longest_edge": 2 * 32 * token_px},  # counts frames too
        fps=2,
        min_frames=4,
        max_frames=8,
        cap_pixels_per_frame=True,
        **common,
    )
    return Qwen3VLProcessor(
        image_processor=image, tokenizer=tokenizer, video_processor=video, chat_template=chat_template()
    )


# ---------------------------------------------------------------- model


def _text_config(spec: TinyMoeSpec, vocab_size: int, eos_id: int) -> dict:
    layer_types = [
        "full_attention" if (i + 1) % spec.full_attention_interval == 0 else "linear_attention"
        for i in range(spec.num_layers)
    ]
    rope = {
        "rope_type": "default",
        "rope_theta": 10000000,
        "partial_rotary_factor": 0.25,
        "mrope_section": list(spec.mrope_section),
        "mrope_interleaved": True,
    }
    return {
        "vocab_size": vocab_size,
        "hidden_size": spec.hidden_size,
        "num_hidden_layers": spec.num_layers,
        "layer_types": layer_types,
        "full_attention_interval": spec.full_attention_interval,
        "num_attention_heads": spec.num_heads,
        "num_key_value_heads": spec.num_kv_heads,
        "head_dim": spec.head_dim,
        "linear_num_key_heads": spec.linear_key_heads,
        "linear_num_value_heads": spec.linear_value_heads,
        "linear_key_head_dim": spec.linear_head_dim,
        "linear_value_head_dim": spec.linear_head_dim,
        "linear_conv_kernel_dim": 4,
        "num_experts": spec.num_experts,
        "num_experts_per_tok": spec.experts_per_token,
        "moe_intermediate_size": spec.moe_intermediate,
        "shared_expert_intermediate_size": spec.shared_intermediate,
        "router_aux_loss_coef": spec.router_aux_loss_coef,
        "max_position_embeddings": 32768,
        "rope_parameters": rope,
        "tie_word_embeddings": False,
        "eos_token_id": eos_id,
    }


def _vision_config(spec: TinyMoeSpec) -> dict:
    return {
        "depth": spec.vision_depth,
        "hidden_size": spec.vision_hidden,
        "num_heads": spec.vision_heads,
        "intermediate_size": spec.vision_intermediate,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "out_hidden_size": spec.hidden_size,
        "num_position_embeddings": spec.vision_positions,
    }


def make_config(spec: TinyMoeSpec, tokenizer):
    from transformers import Qwen3_5MoeConfig

    ids = {t["content"]: tokenizer.convert_tokens_to_ids(t["content"]) for t in added_tokens()["tokens"]}
    return Qwen3_5MoeConfig(
        text_config=_text_config(spec, len(tokenizer), ids["<|endoftext|>"]),
        vision_config=_vision_config(spec),
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )


def new_model(spec: TinyMoeSpec, tokenizer):
    """Seeded, freshly initialised float32 weights (transformers' own init), eos ids set."""
    import torch
    from transformers import GenerationConfig, Qwen3_5MoeForConditionalGeneration

    eos = [tokenizer.convert_tokens_to_ids(t) for t in added_tokens()["generation_eos_tokens"]]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seed)
        model = Qwen3_5MoeForConditionalGeneration(make_config(spec, tokenizer)).to(torch.float32).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=eos[1], eos_token_id=eos, pad_token_id=eos[1], do_sample=False
    )
    return model


def _swing_head(model: Any, spec: TinyMoeSpec) -> None:
    """Large random output rows: the softmax is peaky or flat depending on how the final
    hidden state lines up with them, step by step (the random model's entropy swings)."""
    import torch

    head = model.lm_head.weight  # [V, hidden]
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(spec.seed + 1)
        head.copy_(torch.randn(head.shape) * (spec.head_scale / spec.hidden_size**0.5))
