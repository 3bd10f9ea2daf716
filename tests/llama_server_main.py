"""`python tests/llama_server_main.py ARGS`: llama-cpp-python's OpenAI-compatible server
(`python -m llama_cpp.server ARGS`), its models loaded on the CPU path the engine uses
(`engine.runtimes.llamacpp.cpu_model_params`: no AMX buffers, which crashed decoding on this CPU)."""

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.runtimes.llamacpp import use_cpu_model_params  # noqa: E402

use_cpu_model_params()
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
