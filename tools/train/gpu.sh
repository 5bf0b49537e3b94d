#!/usr/bin/env bash
# A larger RepoPot model on a lent GPU, in ONE device call (the device tool allows 10 minutes a command and
# returns files of at most 16 MiB each from $OUT). Trains from scratch for MINUTES with a time-based LR
# schedule, exports fp16 (the engine loads fp16 safetensors) and splits the weights into 15 MiB parts.
#
# Here:   bash tools/train/gpu-data.sh                       # .train/gpu/data.npy.gz, fresh generator seeds
# Device: run(command="bash tools/train/gpu.sh 8", carry=[".train/gpu/data.npy.gz"], timeout_s=600)
# Here:   cat <files_at>/model/model.safetensors.part-* > models/repopot-tiny-code/model.safetensors  (+ the other files)
#
# Usage: bash tools/train/gpu.sh [MINUTES=8] [CONFIG=tools/train/configs/gpu-14m.json] [BATCH=32]
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-8}
CONFIG=${2:-tools/train/configs/gpu-14m.json}
BATCH=${3:-32}
OUTDIR=${OUT:-.train/gpu-out}
CKPT=${CKPT_DIR:-/tmp/repopot-gpu-ckpt}
PY=$(command -v python3)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import torch" 2>/dev/null && PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
mkdir -p "$OUTDIR/model" "$CKPT"
[ -f .train/gpu/data.npy ] || gunzip -k .train/gpu/data.npy.gz
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no GPU: running on the CPU"
$PY tools/train/train.py --stage gpu --data .train/gpu/data.npy --seq 1024 --batch "$BATCH" --steps 1000000000 \
    --time-schedule --max-minutes "$MINUTES" --lr 1e-3 --warmup 200 --threads "$(nproc)" --answer-weight 3 \
    --config "$CONFIG" --ckpt-dir "$CKPT" --save-every 1000000000 --log-every 50 2>&1 | tee "$OUTDIR/train.log"
$PY tools/train/export.py --ckpt "$CKPT/gpu/latest.pt" --out "$OUTDIR/model" --dtype float16 \
    --tokenizer-dir models/repopot-tiny-code 2>&1 | tail -n 5 | tee -a "$OUTDIR/train.log"
# The device returns at most 8 files: keep what is new (config, weight parts, log, curve); the tokenizer
# files are the committed model's own.
(cd "$OUTDIR/model" && split -b 15M -d model.safetensors model.safetensors.part- && rm model.safetensors \
   tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json)
ls -la "$OUTDIR/model"
