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

# steps = the LR schedule's length; stop = where the stage ends (stage 1 was cut at 1500 of its 2000-step schedule
# to leave CPU time for stage 2, which is what the 1k-token evaluation needs).
# rare-repos: extra TS/JS repositories that carry only the rare question types (const, multi-hop).
# aw: loss weight of answer tokens (stage 1 trained without weighting).
# name  repo-budget  js-repos  py-repos  rare-repos  seq  batch  steps  stop  lr    warmup  init-from  aw
STAGES=(
  "stage1 340  11000 3500 0     512  8 2000 1500 2e-3 100 -      1"
  "stage2 720  8000  3000 20000 1024 4 1200 1200 1e-3 50  stage1 3"
  "stage3 1500 5000  2000 10000 2048 2 2000 2000 7e-4 50  stage2 3"
)

data() {  # name budget js py rare seq seed
  local n=$1 b=$2 js=$3 py=$4 rare=$5 seq=$6 seed=$7
  [ -f $T/data/$n.npy ] && return 0
  local qa=($T/qa/$n-js.jsonl $T/qa/$n-py.jsonl)
  [ -s $T/qa/$n-js.jsonl ] || nice -n 10 node --import tsx tools/train/gen-questions.ts --mode train --split train \
      --budget $b --repos $js --seed $seed --out $T/qa/$n-js.jsonl
  [ -s $T/qa/$n-py.jsonl ] || nice -n 10 $PY tools/train/gen_questions_py.py --mode train --split train \
      --budget $b --repos $py --seed $seed --out $T/qa/$n-py.jsonl
  if [ "$rare" -gt 0 ]; then
    qa+=($T/qa/$n-rare-js.jsonl)
    [ -s $T/qa/$n-rare-js.jsonl ] || nice -n 10 node --import tsx tools/train/gen-questions.ts --mode train --split train \
        --budget $b --repos $rare --seed $((seed + 10)) --types const,multihop-def,multihop-params --out $T/qa/$n-rare-js.jsonl
  fi
  nice -n 10 $PY tools/train/prepare_data.py --qa "${qa[@]}" --seq $seq --py-frac 0.1 --seed $seed --out $T/data/$n
}

want=("$@")
i=0
for s in "${STAGES[@]}"; do
  i=$((i + 1))
  read -r n b js py rare seq batch steps stop lr warm init aw <<<"$s"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $n " ]]; then continue; fi
  [ -f $T/ckpt/$n/final.pt ] && { echo "$n already done"; continue; }
  data $n $b $js $py $rare $seq $i
  initarg=()
  if [ "$init" != "-" ]; then initarg=(--init-from $T/ckpt/$init/final.pt); fi
  until [ -f $T/ckpt/$n/final.pt ]; do
    nice -n 10 $PY tools/train/train.py --stage $n --data $T/data/$n.npy --seq $seq --batch $batch --steps $steps --stop-at $stop \
        --answer-weight $aw --lr $lr --warmup $warm --threads $THREADS --max-minutes 120 "${initarg[@]}" >> $T/logs/$n.log 2>&1
  done
  echo "$n done: $T/ckpt/$n/final.pt"
done
