"""Shared fixtures: one model load per session, a private model cache, Chromium.

The models load once per session from a private cache (so the GGUF conversion of
SmolLM2 and the merge of the smollm2-think adapter run in every suite): the default
fine-tune, the bundled SmolLM2 and the trained tiny `qwen3_5_moe` shipped in models/.
Browser tests get Debian's Chromium; if it is missing the fixture installs it
with apt-get (Playwright cannot download browsers here).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import pytest

# Before any engine import: a private cache for built models, removed when the run ends
# (a suite's converted models take 0.5-2 GB; left behind, repeated runs filled the disk).
if "RIO_CACHE" not in os.environ:
    os.environ["RIO_CACHE"] = tempfile.mkdtemp(prefix="rio-test-cache-")
    atexit.register(shutil.rmtree, os.environ["RIO_CACHE"], ignore_errors=True)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
warnings.filterwarnings("ignore", message=".*no <think>/</think> tokens.*")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def smollm2_runtime():
    from engine.runtimes.torch_runtime import load_runtime

    return load_runtime("smollm2-offline")


@pytest.fixture(scope="session")
def think_runtime():
    from engine.runtimes.torch_runtime import load_runtime

    return load_runtime("smollm2-think")


@pytest.fixture(scope="session")
def think_backend(think_runtime):
    from engine.backends.local import LocalBackend

    return LocalBackend(think_runtime)


@pytest.fixture(scope="session")
def tiny_moe_runtime():
    from engine.runtimes.torch_runtime import load_runtime

    return load_runtime("tiny-moe")


@pytest.fixture(scope="session")
def random_moe_runtime():
    """The random tiny qwen3_5_moe (same architecture, untrained, built into the private cache):
    its entropy swings step to step, so SwiReasoning switches within a few tokens. For tests of
    the machinery that must see latent steps, whatever a trained model would do."""
    from engine.models.tiny_moe import ensure_random_tiny_moe
    from engine.runtimes.torch_runtime import load_runtime

    return load_runtime(str(ensure_random_tiny_moe()))


@pytest.fixture(scope="session")
def smollm2_backend(smollm2_runtime):
    from engine.backends.local import LocalBackend

    return LocalBackend(smollm2_runtime)


@pytest.fixture(scope="session")
def tiny_moe_backend(tiny_moe_runtime):
    from engine.backends.local import LocalBackend

    return LocalBackend(tiny_moe_runtime)


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _find_chromium()
    if path is None:
        cmd = "apt-get update -qq && apt-get install -y -qq chromium chromium-driver"
        if os.geteuid() != 0:
            cmd = f"sudo sh -c '{cmd}'"
        proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=900)
        path = _find_chromium()
        if path is None:
            pytest.fail(f"Chromium is missing and could not be installed: {proc.stderr[-500:]}")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def media_dir(tmp_path) -> Path:
    return tmp_path
