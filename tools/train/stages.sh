#!/usr/bin/env bash
# Curriculum stages for repopot-tiny-code: build each stage's data if missing, then train it
# (resuming from .train/ckpt/<stage>/latest.pt) until .train/ckpt/<stage>/final.pt exists.
# Idempotent: re-running continues where it stopped.  Usage:
#   bash tools/train/stages.sh [stage1 stage2 stage3]     (env THREADS=1|2, default 1)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
THREADS=${THREADS:-1}
T=.train
mkdir -p $T/qa $T/data $T/logs

# name  repo-budget  js-repos  py-repos  seq   batch  steps  lr     warmup  init-from
STAGES=(
  "stage1 340  11000 3500 512  8 2000 2e-3 100 -"
  "stage2 720  8000  3000 1024 4 2000 1e-3 50  stage1"
  "stage3 1500 5000  2000 2048 2 2000 7e-4 50  stage2"
)

data() {  # name budget js py seq seed
  local n=$1 b=$2 js=$3 py=$4 seq=$5 seed=$6
  [ -f $T/data/$n.npy ] && return 0
  [ -s $T/qa/$n-js.jsonl ] || nice -n 10 node --import tsx tools/train/gen-questions.ts --mode train --split train \
      --budget $b --repos $js --seed $seed --out $T/qa/$n-js.jsonl
  [ -s $T/qa/$n-py.jsonl ] || nice -n 10 $PY tools/train/gen_questions_py.py --mode train --split train \
      --budget $b --repos $py --seed $seed --out $T/qa/$n-py.jsonl
  nice -n 10 $PY tools/train/prepare_data.py --qa $T/qa/$n-js.jsonl $T/qa/$n-py.jsonl --seq $seq \
      --py-frac 0.1 --seed $seed --out $T/data/$n
}

want=("$@")
i=0
for s in "${STAGES[@]}"; do
  i=$((i + 1))
  read -r n b js py seq batch steps lr warm init <<<"$s"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $n " ]]; then continue; fi
  [ -f $T/ckpt/$n/final.pt ] && { echo "$n already done"; continue; }
  data $n $b $js $py $seq $i
  initarg=()
  if [ "$init" != "-" ]; then initarg=(--init-from $T/ckpt/$init/final.pt); fi
  until [ -f $T/ckpt/$n/final.pt ]; do
    nice -n 10 $PY tools/train/train.py --stage $n --data $T/data/$n.npy --seq $seq --batch $batch --steps $steps \
        --lr $lr --warmup $warm --threads $THREADS --max-minutes 120 "${initarg[@]}" >> $T/logs/$n.log 2>&1
  done
  echo "$n done: $T/ckpt/$n/final.pt"
done
