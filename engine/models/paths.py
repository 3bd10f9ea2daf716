"""Where model files live: the weights shipped in the repository, the checkpoint facts, the build cache.

Owns the places that the presets and the recipes both read: `cache_root()`
(models this app builds or converts), the shipped fine-tune's adapter folder,
the trained tiny model's folder, its completeness marker and the reading fact it
holds (`reads_trimmed`), and `DATA_DIR`
(the real Qwen3.5 checkpoint facts and the tiny model's data, in `data/`).
A leaf: it imports nothing of the engine, so `presets.py` can tell whether a
built-in model is on disk without importing the recipe that builds it.
Leaves building to the recipes (`smollm2_think.py`, `tiny_moe.py`) and
loading to `engine/runtimes/`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parent / "data"  # qwen3_5/ (checkpoint facts), tiny_moe/
SMOLLM2_THINK_ADAPTER = REPO / "models" / "smollm2-think"  # the LoRA adapter trained here
TINY_MOE_SHIPPED = REPO / "models" / "tiny-moe"  # the tiny qwen3_5_moe trained here
TINY_MOE_MARKER = "tiny_moe.json"  # written last: a folder holding it is a complete tiny model


def cache_root() -> Path:
    """`$RIO_CACHE`, default ~/.cache/rio-chat: models this app builds or converts."""
    return Path(os.environ.get("RIO_CACHE") or Path.home() / ".cache" / "rio-chat").expanduser()


def tiny_moe_complete(path: Path) -> bool:
    """Whether `path` holds a complete tiny model (its marker is written last)."""
    return (Path(path) / TINY_MOE_MARKER).is_file()


def reads_trimmed(path: str | os.PathLike) -> bool:
    """Whether the model in folder `path` reads pictures cropped to their content
    (`media.trim_margins`): its marker says `"reading": {"trim_margins": true}`."""
    marker = Path(path) / TINY_MOE_MARKER
    if not marker.is_file():
        return False
    try:
        reading = json.loads(marker.read_text(encoding="utf-8")).get("reading") or {}
    except (OSError, ValueError, AttributeError):
        return False
    return bool(isinstance(reading, dict) and reading.get("trim_margins"))
