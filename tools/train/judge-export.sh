#!/usr/bin/env bash
# Judge an exported model the way a stage's export is judged before it is committed (issue 11, issue 15):
#   1. full context: `repopot eval lookup --limit 15` (data/eval, 363 distinct questions; 395 before session 20, which
#      counted each multi-hop question twice per mode) and the held-out ask trial
#      (48 random names of 12 held-out packages through `repopot ask`), side by side;
#   2. the product's ask (pot, then the query-aware re-read, then path and value snapping), InfiniPot and StreamingLLM on the
#      same questions, one cell after another:
#        1k   each 1k-token repository alone (--bare), budget 256 (1/4), 40 questions
#        4k   each repository inside 4k tokens of other held-out packages, budget 512 (1/8), 40 questions
#        8k   the 3.6k-8.1k-token held-out packages of data/eval-long alone (--bare), budget 1024 (1/8), 16 questions
#        32k  each repository inside 32k tokens of other held-out packages, budget 1024 (1/32), 16 questions
# Writes OUT/eval.jsonl, OUT/trial.txt and OUT/bench-<cell>.jsonl (JSON lines, one per answer with --answers).
#   bash tools/train/judge-export.sh MODEL_DIR OUT_DIR [CELLS...]     (CELLS default: eval 1k 4k 8k 32k)
# Accuracy does not depend on the machine's load, so it may run beside a training job; its timings do.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 2 ] || { echo "usage: judge-export.sh MODEL_DIR OUT_DIR [eval] [1k] [4k] [8k] [32k]" >&2; exit 2; }
MODEL=$1; OUT=$2; shift 2
CELLS=${*:-eval 1k 4k 8k 32k}
[ -f "$MODEL/config.json" ] || { echo "judge-export.sh: $MODEL/config.json is missing (not an exported model folder)" >&2; exit 2; }
for cell in $CELLS; do
  case $cell in eval|1k|4k|8k|32k) ;; *) echo "judge-export.sh: unknown cell '$cell' (eval, 1k, 4k, 8k, 32k)" >&2; exit 2 ;; esac
done
mkdir -p "$OUT"
# The cells run the bundled CLI (dist/): build it from this checkout first, so what is judged is the code as it is now
# (session 23 found cf24's cells had been run on a bundle built before the pot's shares were set back to their defaults).
node tools/build.mjs > /dev/null
POLICIES="infinipot+reread=256+snap+values,streaming+reread=256+snap+values"
for cell in $CELLS; do
  case $cell in
    eval)
      node bin/repopot.js eval lookup --limit 15 --json --model "$MODEL" > "$OUT/eval.jsonl" & lookup=$!
      node --import tsx tools/train/ask-trial.ts --packages tools/train/ask-trial-packages.txt --names 5 --model "$MODEL" > "$OUT/trial.txt" 2>&1 & trial=$!
      wait $lookup && wait $trial
      continue ;;
    1k) args=(--bare --streams 1024 --budgets 256 --limit 40) ;;
    4k) args=(--streams 4096 --budgets 512 --limit 40) ;;
    8k) args=(--eval-dir data/eval-long --bare --streams 8300 --budgets 1024 --limit 16) ;;
    32k) args=(--streams 32768 --budgets 1024 --limit 16) ;;
  esac
  node bin/repopot.js bench distill --suite lookup --model "$MODEL" "${args[@]}" --policies "$POLICIES" --answers --json > "$OUT/bench-$cell.jsonl"
done
