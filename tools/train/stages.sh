#!/usr/bin/env bash
# Curriculum stages for repopot-tiny-code: build each stage's data if missing, then train it
# (resuming from .train/ckpt/<stage>/latest.pt) until .train/ckpt/<stage>/final.pt exists.
# Idempotent: re-running continues where it stopped.  Usage:
#   bash tools/train/stages.sh [stage1 stage2 stage2b stage3]     (env THREADS=1|2, default 2)
# This is the exact recipe of the committed model (stages 1, 2 and 2b; stage 3 has not run yet).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
THREADS=${THREADS:-2}
T=.train
mkdir -p $T/qa $T/data $T/logs

js()   { [ -s $T/qa/$1.jsonl ] || nice -n 10 node --import tsx tools/train/gen-questions.ts --mode train --split train --out $T/qa/$1.jsonl "${@:2}"; }
py()   { [ -s $T/qa/$1.jsonl ] || nice -n 10 $PY tools/train/gen_questions_py.py --mode train --split train --out $T/qa/$1.jsonl "${@:2}"; }
pack() { local n=$1 seq=$2 pyfrac=$3 seed=$4; shift 4
         local files=(); for q in "$@"; do files+=($T/qa/$q.jsonl); done
         nice -n 10 $PY tools/train/prepare_data.py --qa "${files[@]}" --seq $seq --py-frac $pyfrac --seed $seed --out $T/data/$n; }
RARE=(--types const,multihop-def,multihop-params)   # supplements that carry only the rare question types

data() {
  [ -f $T/data/$1.npy ] && return 0
  case $1 in
    stage1)  js stage1-js --budget 340 --repos 11000 --seed 1; py stage1-py --budget 340 --repos 3500 --seed 1
             pack stage1 512 0.1 1 stage1-js stage1-py ;;
    stage2)  js stage2-js --budget 720 --repos 8000 --seed 2; py stage2-py --budget 720 --repos 3000 --seed 2
             js stage2-rare-js --budget 720 --repos 20000 --seed 12 "${RARE[@]}"
             pack stage2 1024 0.1 2 stage2-js stage2-py stage2-rare-js ;;
    # dense: short repositories with up to 10 questions each, so answers (retrieval) are a larger share of the tokens
    stage2b) js stage2b-js --budget 200 --repos 14000 --max-questions 10 --seed 4
             py stage2b-py --budget 200 --repos 4000 --max-questions 10 --seed 4
             js stage2b-rare-js --budget 200 --repos 40000 --max-questions 10 --seed 14 "${RARE[@]}"
             data stage2; pack stage2b 1024 0.05 3 stage2b-js stage2b-py stage2b-rare-js stage2-rare-js ;;
    stage3)  js stage3-js --budget 1500 --repos 5000 --seed 3; py stage3-py --budget 1500 --repos 2000 --seed 3
             js stage3-rare-js --budget 1500 --repos 10000 --seed 13 "${RARE[@]}"
             pack stage3 2048 0.1 3 stage3-js stage3-py stage3-rare-js ;;
  esac
}

# steps = the LR schedule's length; stop = where the stage ends. Stage 1 was cut at 1500 of its 2000-step
# schedule and stage 2 at 400 of 1200: its retrieval was not improving, so the remaining CPU time went to the
# denser stage 2b. aw: loss weight of answer tokens (stage 1 trained without weighting).
# name    seq  batch steps stop lr   warmup init-from aw
STAGES=(
  "stage1  512  8 2000 1500 2e-3 100 -       1"
  "stage2  1024 4 1200 400  1e-3 50  stage1  3"
  "stage2b 1024 4 800  800  1e-3 20  stage2  4"
  "stage3  2048 2 2000 2000 7e-4 50  stage2b 3"
)

want=("$@")
for s in "${STAGES[@]}"; do
  read -r n seq batch steps stop lr warm init aw <<<"$s"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $n " ]]; then continue; fi
  [ -f $T/ckpt/$n/final.pt ] && { echo "$n already done"; continue; }
  data $n
  initarg=()
  if [ "$init" != "-" ]; then
    # the previous stage's checkpoint, or (on a fresh clone) the committed model when it is that stage's export
    if [ -f $T/ckpt/$init/final.pt ]; then initarg=(--init-from $T/ckpt/$init/final.pt)
    elif grep -q "\"stage\": \"$init\"" models/repopot-tiny-code/training_log.json 2>/dev/null; then initarg=(--init-from models/repopot-tiny-code)
    else echo "$n needs $T/ckpt/$init/final.pt: run stage $init first" >&2; exit 1; fi
  fi
  until [ -f $T/ckpt/$n/final.pt ]; do
    nice -n 10 $PY tools/train/train.py --stage $n --data $T/data/$n.npy --seq $seq --batch $batch --steps $steps --stop-at $stop \
        --answer-weight $aw --lr $lr --warmup $warm --threads $THREADS --max-minutes 120 "${initarg[@]}" >> $T/logs/$n.log 2>&1
  done
  echo "$n done: $T/ckpt/$n/final.pt"
done
