#!/usr/bin/env bash
# Training data for a run on a lent GPU (tools/train/gpu.sh), built HERE (the GPU machine has no Node.js
# for the TypeScript question generator): fresh seeds, so it does not repeat the CPU stages' samples.
# Writes .train/gpu/data.npy.gz (uint16 rows of 1024 tokens, gzipped to fit the device tool's 64 MiB carry).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
G=.train/gpu
mkdir -p $G
js() { [ -s $G/$1.jsonl ] || nice -n 10 node --import tsx tools/train/gen-questions.ts --mode train --split train --out $G/$1.jsonl "${@:2}"; }
py() { [ -s $G/$1.jsonl ] || nice -n 10 $PY tools/train/gen_questions_py.py --mode train --split train --out $G/$1.jsonl "${@:2}"; }
js js-720 --budget 720 --repos 16000 --seed 21
js js-200 --budget 200 --repos 14000 --max-questions 10 --seed 22
js rare-720 --budget 720 --repos 30000 --seed 23 --types const,multihop-def,multihop-params
py py-720 --budget 720 --repos 5000 --seed 21
nice -n 10 $PY tools/train/prepare_data.py --qa $G/js-720.jsonl $G/js-200.jsonl $G/rare-720.jsonl $G/py-720.jsonl \
    --seq 1024 --py-frac 0.05 --seed 21 --out $G/data
gzip -f -k $G/data.npy
ls -la $G/data.npy.gz
