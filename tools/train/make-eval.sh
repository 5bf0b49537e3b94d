#!/usr/bin/env bash
# Held-out evaluation sets (data/eval/*.jsonl) from held-out packages, ~1k and ~2k token repositories.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p data/eval
for b in 1024 2048; do
  k=$((b / 1024))k
  nice -n ${NICE:-10} node --import tsx tools/train/gen-questions.ts --mode eval --split heldout --budget $b \
      --per-type 150 --attempts 8000 --seed $b --out data/eval/lookup-$k.jsonl
  nice -n ${NICE:-10} /usr/bin/python3 tools/train/gen_questions_py.py --mode eval --split heldout --budget $b \
      --per-type 150 --attempts 6000 --seed $b --out data/eval/lookup-py-$k.jsonl
done
# Paraphrase sets: the same question kinds in wordings never used in training (question_templates.json "heldout").
nice -n ${NICE:-10} node --import tsx tools/train/gen-questions.ts --mode eval --split heldout --budget 1024 --phrasing heldout \
    --types where,const,params,imports --per-type 60 --attempts 4000 --seed 7 --out data/eval/lookup-paraphrase-1k.jsonl
nice -n ${NICE:-10} /usr/bin/python3 tools/train/gen_questions_py.py --mode eval --split heldout --budget 1024 --phrasing heldout \
    --types where,const,params,imports --per-type 60 --attempts 3000 --seed 7 --out data/eval/lookup-py-paraphrase-1k.jsonl
# The copy probe: 48 spans of 80 tokens of held-out code (repopot eval lookup --json prints the copy score).
nice -n ${NICE:-10} /usr/bin/python3 tools/train/copy_data.py probe --out data/eval/copy-spans.jsonl --spans 48 --tokens 80
