#!/usr/bin/env bash
# Reproduce models/repopot-tiny-code from scratch (CPU; uses a GPU automatically if torch sees one).
#   bash tools/train/reproduce.sh            (env THREADS=1|2)
# Needs: Debian python3-torch python3-regex python3-matplotlib libopenblas0-pthread (/usr/bin/python3),
# node >= 20 with this repo's node_modules (typescript, tsx, @huggingface/tokenizers).
# Working files go to .train/ (not in git); outputs: data/train-manifest.json, data/eval/*.jsonl,
# models/repopot-tiny-code/.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
export PYTHONDONTWRITEBYTECODE=1
$PY -c "import torch, numpy, regex, matplotlib" 2>/dev/null || {
  echo "missing deps: apt-get install -y python3-torch libopenblas0-pthread python3-regex python3-matplotlib" >&2; exit 1; }

# 1. corpus (licence-filtered, deduplicated, split by package) + manifest
$PY tools/train/build_corpus.py
# 2. byte-level BPE tokenizer (4096) + config, verified against @huggingface/tokenizers
$PY tools/train/bpe.py --corpus .train/corpus/files.jsonl --out .train/tok --vocab-size 4096
$PY tools/train/write_tokenizer_config.py .train/tok
$PY tools/train/bpe.py --corpus .train/corpus/files.jsonl --out .train/tok --expected-only
node tools/train/verify-tokenizer.mjs .train/tok .train/tok/expected.json
# 3. held-out evaluation sets (held-out packages only)
bash tools/train/make-eval.sh
# 4. curriculum training, resumable: stage1 (seq 512) -> stage2 (1024) -> stage2b (1024, dense questions).
#    These are the stages of the committed model; `bash tools/train/stages.sh stage3` (2048) is the next one.
bash tools/train/stages.sh stage1 stage2 stage2b
# 5. export the last stage as a Hugging Face Llama folder, evaluate (PyTorch-side)
$PY tools/train/export.py --ckpt .train/ckpt/stage2b/final.pt --out models/repopot-tiny-code
$PY tools/train/eval_em.py --model models/repopot-tiny-code --eval data/eval/lookup-1k.jsonl data/eval/lookup-py-1k.jsonl \
    --out models/repopot-tiny-code/eval_pytorch.json
