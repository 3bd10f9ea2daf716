"""The trace side channel: one append-only JSON-lines file per SwiR request.

Owns: where the files live (`$VLLM_SWIR_TRACE_DIR`, default `/dev/shm/vllm-swir`, else the
temp folder), the writer the tensor-parallel rank 0 worker appends a record to per step,
and the reader the HTTP middleware tails while it streams the answer. The worker writes a
step's record before that step's token leaves the worker, so by the time a token reaches
the middleware its record is on disk. Keys are random, chosen by the middleware.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO


def trace_dir() -> Path:
    env = os.environ.get("VLLM_SWIR_TRACE_DIR")
    if env:
        return Path(env)
    shm = Path("/dev/shm")
    return (shm if shm.is_dir() else Path(tempfile.gettempdir())) / "vllm-swir"


def trace_path(key: str) -> Path:
    return trace_dir() / f"{key}.jsonl"


class Writer:
    """The worker side: open files by key, one line per step, closed when the request ends."""

    def __init__(self) -> None:
        self.files: dict[str, IO[str]] = {}

    def write(self, key: str, records: list[dict]) -> None:
        f = self.files.get(key)
        if f is None:
            path = trace_path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            f = self.files[key] = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open per request)
        f.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
        f.flush()

    def close(self, key: str) -> None:
        f = self.files.pop(key, None)
        if f is not None:
            f.close()


class Reader:
    """The middleware side: the complete lines appended since the last read. The file is opened
    once it exists and kept open until `remove` (one read per streamed chunk, no reopening)."""

    def __init__(self, key: str) -> None:
        self.path, self.sent = trace_path(key), 0
        self.file: IO[bytes] | None = None
        self.partial = b""

    def read(self) -> list[dict]:
        if self.file is None:
            try:
                self.file = open(self.path, "rb")  # noqa: SIM115 (closed in remove)
            except FileNotFoundError:
                return []
        data = self.partial + self.file.read()
        end = data.rfind(b"\n") + 1  # only whole lines
        self.partial = data[end:]
        out = [json.loads(line) for line in data[:end].splitlines() if line]
        self.sent += len(out)
        return out

    def remove(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.path.unlink(missing_ok=True)
