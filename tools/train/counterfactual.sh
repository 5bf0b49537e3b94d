#!/usr/bin/env bash
# Stage "cf" (issue 11): counterfactual retrieval training, from the committed model.
#   - questions on renamed repositories (fresh identifiers, paths and constant values per sample, so answers can
#     only come from the context), asked in many wordings (question_templates.json);
#   - copy rows (repeated spans of real code) mixed into the same stream;
#   - a share of unrenamed real code (plain Python modules, unrenamed repositories) with the LM loss;
#   - attention supervision of two heads (COPY_HEADS, layer.head): a previous-token head and an induction head,
#     the copy circuit the model lacked (train.py --copy-heads);
#   - attention supervision of the lookup circuit (READ_HEADS): a file head (each token attends to its file's path)
#     and an answer head (the answer attends to the context span it copies, e.g. the defining file's header);
#   - judged by held-out EM and the copy score every EVAL_EVERY steps (judge.py); best.pt keeps the best.
# Idempotent and resumable like stages.sh: re-run to continue. Env: THREADS (default 2), STAGES_WANTED (default "cf1 cf2";
# "cf3" continues from the committed model, i.e. the cf2 export), MAX_MINUTES with TIME_SCHEDULE=1 (the LR decays over
# that wall-clock time and the stage ends there with its final.pt: a run that must end by a deadline on a shared machine).
#   nohup bash tools/train/counterfactual.sh > .train/logs/cf.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=/usr/bin/python3
THREADS=${THREADS:-2}
T=.train
mkdir -p $T/qa $T/data $T/logs
[ -f $T/tok/tokenizer_config.json ] || { mkdir -p $T/tok; cp models/repopot-tiny-code/tokenizer*.json models/repopot-tiny-code/special_tokens_map.json $T/tok/; }

js() { [ -s $T/qa/$1.jsonl ] || nice -n ${NICE:-5} node --import tsx tools/train/gen-questions.ts --mode train --split train --out $T/qa/$1.jsonl \
         --rename-share 0.85 --paraphrase-share 0.5 "${@:2}"; }
py() { [ -s $T/qa/$1.jsonl ] || nice -n ${NICE:-5} $PY tools/train/gen_questions_py.py --mode train --split train --out $T/qa/$1.jsonl \
         --rename-share 0.85 --paraphrase-share 0.5 "${@:2}"; }
pack() { local n=$1 seq=$2 pyfrac=$3 seed=$4; shift 4
         [ -f $T/data/$n.npy ] && return 0
         local files=(); for q in "$@"; do files+=($T/qa/$q.jsonl); done
         nice -n ${NICE:-5} $PY tools/train/prepare_data.py --qa "${files[@]}" --seq $seq --py-frac $pyfrac --seed $seed --out $T/data/$n ${PACK_EXTRA:-}; }
copy() { [ -f $T/data/$1.npy ] || nice -n ${NICE:-5} $PY tools/train/copy_data.py rows --out $T/data/$1 "${@:2}"; }
# rows read from the product's pot (pot-rows.ts): the kept slot tokens at their kept positions (<name>.pos.npy beside
# <name>.npy, which train.py reads), then the questions whose answers the pot kept
potrows() { [ -f $T/data/$1.npy ] || nice -n ${NICE:-5} node --import tsx tools/train/pot-rows.ts --qa $T/qa/$2.jsonl --out $T/data/$1 "${@:3}"; }

# a whole checkout's workspace rows (cf8 on), STAGE-pot and STAGE-rare-pot: fresh ~3k-token samples streamed among
# other samples' files and training packages' non-code files (README, LICENSE, package.json, CI), half with spread
# modification times, 5 questions a row; and short samples of constants and parameters, 10 a row. Two at a time: the
# machine has two cores.  checkout STAGE JS_SEED RARE_SEED POT_SEED RARE_POT_SEED RARE_SAMPLES
checkout() {
  js $1-js --budget 3000 --repos 700 --max-questions 10 --seed $2 &
  js $1-rare --budget 1200 --repos 3000 --max-questions 10 --seed $3 --types const,params &
  wait
  workspace_rows $1-pot $1-js --mix-tokens 0:8000 --questions-per-row 5 --rows-per-sample 2 --seed $4 --limit 200 --progress 20 &
  workspace_rows $1-rare-pot $1-rare --mix-tokens 0:3000 --questions-per-row 10 --rows-per-sample 1 --seed $5 --limit $6 --progress 50 &
  wait
}
# workspace_rows NAME QA [pot-rows.ts flags]: the checkout's pot rows (InfiniPot at 768 with the outline, re-read 256,
# other packages' docs and spread modification times), as checkout and the stages that add slices of its samples make them.
# POT_POLICY overrides the pot's policy spec (cf25's slices: the shares session 22 measured, headers 1/5, outline the rest).
workspace_rows() {
  potrows $1 $2 --budget 768 --seq 1280 --policy ${POT_POLICY:-infinipot:pin=outline} --reread 256 \
    --docs-share 0.6 --doc-chars 4000 --mtime-share 0.5 "${@:3}"
}

# cf12's mix (session 13): checkout rows, then full-context rows (~900-token renamed JS repositories with Python
# ones, and the same with constants, parameters and multi-hop over-sampled), then copy rows.
#   fresh STAGE JS_SEED RARE_SEED POT_SEED RARE_POT_SEED QA_SEED RARE_QA_SEED PY_PREFIX PY_SEED RARE_PY_SEED
fresh() {
  local rare=const,params,multihop-def,multihop-value
  checkout $1 $2 $3 $4 $5 300
  js $1-qa-js --budget 900 --repos 2500 --max-questions 10 --seed $6 &
  js $1-rare-qa-js --budget 900 --repos 6000 --max-questions 10 --seed $7 --types $rare &
  wait
  py $8-py --budget 900 --repos 1500 --max-questions 10 --seed $9 &
  py $8-rare-py --budget 900 --repos 4000 --max-questions 10 --seed ${10} --types $rare &
  wait
  pack $1-qa 1280 0.08 $6 $1-qa-js $8-py
  pack $1-rare-qa 1280 0 $7 $1-rare-qa-js $8-rare-py
  copy cf6-copy --rows 3000 --seq 1280 --max-span 240 --max-filler 400 --seed 24
}

# dense STAGE JS_SEED PY_SEED PACK_SEED: constants and parameters many to a sample (--dense), constants alone too
dense() {
  js $1-dense-js --budget 900 --repos 2500 --max-questions 12 --seed $2 --types const,params --rounds 8 --dense 1 &
  js $1-dense-const-js --budget 900 --repos 1500 --max-questions 12 --seed $(($2 + 100)) --types const --rounds 12 --dense 1 &
  wait
  py $1-dense-py --budget 900 --repos 1500 --max-questions 12 --seed $3 --types const,params --rounds 8 --dense
  pack $1-dense 1280 0 $4 $1-dense-js $1-dense-const-js $1-dense-py
}

# the rows session 19 added beside fresh's (cf21 on): short dense constants and parameters, Python parameter lists,
# recall rows drawn from them, multi-hop questions (half with the trace), and `where` questions whose answer has a
# look-alike in the window (index.js / index.d.ts, dist/esm/x.js / dist/commonjs/x.js: 6 of cf19's 9 JS misses at
# 1k were asked in such a window, src/NodeType.ts beside lib/src/NodeType.js)
#   session_rows STAGE DENSE_SEED SHORT_SEED RECALL_SEED JS_HOP_REPOS   (seeds DENSE..+2, SHORT..+3, RECALL..+3)
session_rows() {
  local s=$1 d=$2 h=$3 r=$4
  dense $s $d $((d + 1)) $((d + 2))
  js $s-short-js --budget 300 --repos 3000 --max-questions 12 --seed $h --types const,params --rounds 8 --dense 1 &
  js $s-short-all-js --budget 400 --repos 2000 --max-questions 10 --seed $((h + 1)) &
  wait
  py $s-short-py --budget 300 --repos 1500 --max-questions 12 --seed $((h + 2)) --types const,params --rounds 8 --dense &
  py $s-pyparams --budget 600 --repos 4000 --max-questions 12 --seed $((h + 3)) --types params --rounds 8 --dense &
  wait
  pack $s-short 1280 0 $h $s-short-js $s-short-all-js $s-short-py
  pack $s-pyparams 1280 0 $((h + 3)) $s-pyparams
  [ -s $T/qa/$s-recall.jsonl ] || nice -n ${NICE:-5} $PY tools/train/recall_data.py --samples 8000 --seed $r --dts-share 0.3 \
    --pool $T/qa/$s-short-js.jsonl $T/qa/$s-short-all-js.jsonl $T/qa/$s-short-py.jsonl $T/qa/$s-qa-js.jsonl \
    --out $T/qa/$s-recall.jsonl
  pack $s-recall 1280 0 $r $s-recall
  js $s-hop-js --budget 900 --repos $5 --max-questions 10 --seed $((r + 1)) --types multihop-def,multihop-params &
  py $s-hop-py --budget 900 --repos 30000 --max-questions 10 --seed $((r + 2)) --types multihop-def,multihop-params &
  wait
  pack $s-hop 1280 0 $((r + 1)) $s-hop-js $s-hop-py
  js $s-conf-js --budget 900 --repos 5000 --max-questions 10 --seed $((r + 3)) --types where --confusable 1
  pack $s-conf 1280 0 $((r + 3)) $s-conf-js
}

# two more slices of a checkout's samples (checkout streams the first 200) streamed as workspace rows, STAGE-pot-b
# and STAGE-pot-c, so a stage draws each pot row fewer times: workspace_slices STAGE QA SEED
workspace_slices() {
  [ -s $T/qa/$2-b.jsonl ] || { sed -n 201,420p $T/qa/$2.jsonl > $T/qa/$2-b.jsonl; sed -n 421,640p $T/qa/$2.jsonl > $T/qa/$2-c.jsonl; }
  for p in b c; do workspace_rows $1-pot-$p $2-$p --mix-tokens 0:8000 --questions-per-row 5 --rows-per-sample 2 --seed $3 --progress 50 & done
  wait
}

data() {
  case $1 in
    # short dense repositories (150-300 tokens, up to 10 questions): retrieval is most of the signal
    cf1) js cf1-js --budget 260 --repos 9000 --max-questions 10 --seed 21
         py cf1-py --budget 260 --repos 3000 --max-questions 10 --seed 21
         pack cf1-qa 512 0.08 21 cf1-js cf1-py
         # rare question kinds (constants, parameters, multi-hop) over-sampled: few repositories have them
         js cf1-rare-js --budget 260 --repos 20000 --max-questions 10 --seed 31 --types const,params,multihop-def,multihop-value
         py cf1-rare-py --budget 260 --repos 8000 --max-questions 10 --seed 31 --types const,params,multihop-def,multihop-value
         pack cf1-rare 512 0 31 cf1-rare-js cf1-rare-py
         copy cf1-copy --rows 8000 --seq 512 --seed 21 ;;
    # longer repositories (up to ~1k tokens) so retrieval holds at the lengths the judge asks at
    cf2) js cf2-js --budget 900 --repos 5000 --max-questions 10 --seed 22
         py cf2-py --budget 900 --repos 1500 --max-questions 10 --seed 22
         pack cf2-qa 1024 0.08 22 cf2-js cf2-py
         copy cf2-copy --rows 4000 --seq 1024 --max-span 240 --max-filler 400 --seed 22 ;;
    # more steps at ~1k tokens on fresh renamings (cf2's judge was still rising when it was cut), constants and
    # parameters over-sampled (the two kinds that stayed near zero after cf2), and pot-shaped samples: half lose
    # lines (as a pot drops tokens) and half of those without importer lists get another sample's files among
    # theirs (issue 15: the cf2 model misread both)
    cf3) js cf3-js --budget 900 --repos 5000 --max-questions 10 --seed 23
         py cf3-py --budget 900 --repos 1500 --max-questions 10 --seed 23
         PACK_EXTRA="--thin-share 0.5 --distract-share 0.5" pack cf3-qa-pot 1024 0.08 23 cf3-js cf3-py
         js cf3-rare-js --budget 900 --repos 12000 --max-questions 10 --seed 33 --types const,params,multihop-def,multihop-value
         py cf3-rare-py --budget 900 --repos 4000 --max-questions 10 --seed 33 --types const,params,multihop-def,multihop-value
         PACK_EXTRA="--thin-share 0.5 --distract-share 0.5" pack cf3-rare-pot 1024 0 33 cf3-rare-js cf3-rare-py
         copy cf3-copy --rows 4000 --seq 1024 --max-span 240 --max-filler 400 --seed 23 ;;
    # cf3's data, mostly unthinned (cf3's half-thinned mix cost where/imports EM), with half of the rows read at
    # gapped positions spanning up to 8192 (position_gaps.py): the pot keeps slots at their stream positions, and
    # the committed model read none of the held-out where questions at such positions (issue 15)
    cf4) data cf3 ;;
    # more cf2-style steps (cf2's judge was still rising when it was cut; cf3 and cf4 changed the mix and lost JS
    # where): plain ~1k renamed samples of two seeds, copy rows, no thinning, no gaps, no rare-kind supplement
    cf5) data cf2; data cf3 ;;
    # (not run yet) questions on larger renamed repositories (~6k tokens) streamed through the product's pot (InfiniPot,
    # budget 1024, the product's chunk and file order): rows of the pot's real output at its kept positions, gaps and
    # re-packs included, and only the questions whose answers the pot kept (~3 s a sample on the 2-core machine at ~3k
    # tokens, about twice that at ~6k, so ~2-3 h per 1500); mixed with cf3's ~1k samples and copy rows,
    # both re-packed to the pot rows' 1280 columns (train.py needs every dataset at least --seq wide)
    cf6) js cf6-js --budget 6000 --repos 700 --max-questions 10 --seed 24
         js cf6-js-b --budget 6000 --repos 700 --max-questions 10 --seed 34
         potrows cf6-pot cf6-js --budget 1024 --seq 1280 --progress 100 --policy infinipot:pin=outline
         potrows cf6-pot-b cf6-js-b --budget 1024 --seq 1280 --progress 100 --policy infinipot:pin=outline
         data cf3
         pack cf6-qa 1280 0.08 23 cf3-js cf3-py
         copy cf6-copy --rows 3000 --seq 1280 --max-span 240 --max-filler 400 --seed 24 ;;
    # the product's ask after a whole workspace (issue 15): fresh renamings streamed with other samples' files as the
    # rest of the workspace (--mix-tokens), then the query-aware re-read lines before the questions (--reread), as
    # askPot does with the re-read on by default; a smaller pot (768) leaves room in 1280 for the re-read
    cf7) js cf7-js --budget 3000 --repos 900 --max-questions 10 --seed 27
         js cf7-js-b --budget 2000 --repos 900 --max-questions 10 --seed 37
         potrows cf7-pot cf7-js --budget 768 --seq 1280 --policy infinipot:pin=outline --mix-tokens 0:8000 --reread 256 \
           --questions-per-row 5 --rows-per-sample 2 --seed 7 --limit 330 --progress 20
         potrows cf7-pot-b cf7-js-b --budget 768 --seq 1280 --policy infinipot:pin=outline --mix-tokens 1000:10000 --reread 256 \
           --questions-per-row 5 --rows-per-sample 2 --seed 8 --limit 330 --progress 20
         # short repositories (~300 tokens, as small as the README's example) alone or with a little filler: the
         # models trained on ~1k-token contexts since cf3 misread them (the quick-start answered 0 of 3 names)
         js cf7-short --budget 400 --repos 1600 --max-questions 10 --seed 57
         [ -s $T/qa/cf7-short-a.jsonl ] || { head -n 780 $T/qa/cf7-short.jsonl > $T/qa/cf7-short-a.jsonl; tail -n +781 $T/qa/cf7-short.jsonl > $T/qa/cf7-short-b.jsonl; }
         for p in a b; do potrows cf7-short-$p cf7-short-$p --budget 768 --seq 1280 --policy infinipot:pin=outline --mix-tokens 0:400 \
           --reread 256 --questions-per-row 10 --rows-per-sample 1 --seed 9 --progress 100; done
         data cf6 ;;
    # a checkout is not only code (issue 11: cf7 answered SECURITY.md, the file pump's checkout streams last, for every
    # name): cf7's workspace rows on fresh renamings plus other packages' READMEs, licences, package.json and CI files
    # (--docs-share), half with spread modification times so the product's order streams the newest files last
    # (--mtime-share); constants and parameters over-sampled (const was 89 of cf7-pot's 2,241 questions, and the
    # weakest kind at 0.16).
    cf8) checkout cf8 28 48 17 19 350
         data cf7 ;;
    # cf8's checkout rows on fresh samples where an implementation beats its .d.ts declaration (cf8 answered
    # index.d.ts in 6 of its 8 held-out misses: 634 of cf8-js's 2,015 where answers were .d.ts files), and a larger
    # full-context share with constants and parameters over-sampled (cf8's params fell from 0.23 to 0.03-0.07).
    # Session 11: 350 steps, 90 of 395 full-context (cf7 107), 18 of 32 held-out names; not committed (model card).
    cf9) checkout cf9 29 49 18 20 300
         js cf9-qa-js --budget 900 --repos 2500 --max-questions 10 --seed 39 &
         js cf9-rare-qa-js --budget 900 --repos 6000 --max-questions 10 --seed 59 --types const,params,multihop-def,multihop-value &
         wait
         pack cf9-qa 1280 0.08 39 cf9-qa-js cf3-py
         pack cf9-rare-qa 1280 0 59 cf9-rare-qa-js cf3-rare-py
         data cf8 ;;
    # cf9's rows only (session 11): cf9 kept the `.d.ts` habit of cf7's and cf8's old-rule rows (held-out base64-js:
    # index.d.ts for every name; with index.d.ts removed, 3 of 3 right), so no old-rule rows at all; windows already
    # hold .js/.d.ts pairs (149 pairs in 149 sampled windows), now answered with the .js
    cf10) data cf9 ;;
    # Session 12: cf10 at step 450 was committed (111 of 395, held-out ask-trial 42 of 48); its rows again, from its
    # last checkpoint, at a lower peak LR. The rows predate session 12's re-read order (defining file last, prose
    # mentions left out when code defines the name): regenerating them with it is the next data change.
    cf11) data cf9 ;;
    # Session 13 (a fresh machine: .train/ was gone, so every row is regenerated): fresh checkout rows streamed and
    # re-read by session 12's product (defining files last, prose mentions left out, a file 5 minutes newer counts as
    # edited) and asked by its generator (a name only a .d.ts declares is asked when the .js of its stem is in the
    # window); a larger full-context share, since the judge reads whole windows without a re-read (cf10 answered
    # the same-stem .js for types a .d.ts or .ts declares: 3 of 15 on JS where 1k).
    cf12) fresh cf12 30 50 21 22 40 60 cf3 23 33 ;;
    # cf12's recipe on fresh seeds, from the committed cf12 weights, with session 13's short multi-hop traces (`Y`
    # comes from 'S'.: trace and answer fit the judge's 48 tokens), plus dense rows: repositories started at files
    # that hold many constants or functions, up to 12 questions each (cf12's rows held ~0.2 constant questions per
    # repository, so a stage saw ~100 of them; held-out const stayed at 0.24 and params at 0.13).
    # Session 14: 104 (step 400) and 112 (step 300) of 395 against cf12's 114; const and params did not move, and
    # bare multi-hop answers began in the trace's backtick (Python 8 -> 2 of 14). Not committed.
    cf13) fresh cf13 31 51 23 24 41 61 cf13 24 34
          dense cf13 71 72 73 ;;
    # (session 14, started at its end, not measured yet) a copy phase at a low LR from the committed cf12: half the
    # rows copy spans with the code that follows them in between (--near-filler) and ambiguous one-token contexts
    # (--min-ambiguous), where copy_errors.py finds the copy probe's misses; cf12's own question rows keep the rest
    # (session 15) short dense samples (300-400 tokens, up to 12 questions) of constants and parameters, and of every
    # kind, many packed to a row: the committed cf12 misread even a 40-token file (`MAX_DEPTH = 12` -> 9), and its
    # answer head attended to every `= value` alike whatever the name asked about; trained with the name head
    # (READ_HEADS with a third head) on these and cf12's own rows
    cf15) js cf15-short-js --budget 300 --repos 4000 --max-questions 12 --seed 81 --types const,params --rounds 8 --dense 1 &
          js cf15-short-all-js --budget 400 --repos 3000 --max-questions 10 --seed 82 &
          wait
          py cf15-short-py --budget 300 --repos 2000 --max-questions 12 --seed 83 --types const,params --rounds 8 --dense &
          py cf15-short-all-py --budget 400 --repos 1500 --max-questions 10 --seed 84 &
          wait
          pack cf15-short 1280 0 81 cf15-short-js cf15-short-all-js cf15-short-py cf15-short-all-py
          # Python parameter lists are rare in --types const,params samples (250 of 1,753): a set of their own (added
          # at step 100, when held-out short JS params had risen from 0.12 to 0.65 and Python params had not)
          py cf15-pyparams --budget 600 --repos 6000 --max-questions 12 --seed 85 --types params --rounds 8 --dense
          pack cf15-pyparams 1280 0 85 cf15-pyparams ;;
    # synthetic recall (recall_data.py): many same-shaped definitions a file, near-duplicate names, so only the asked
    # name tells the answer (session 15: the answer head ignored the name); names, values and paths from cf15/cf12 rows
    cf16|cf16b|cf16c) data cf15
          [ -s $T/qa/cf16-recall.jsonl ] || nice -n ${NICE:-5} $PY tools/train/recall_data.py --samples 6000 --seed 91 \
            --pool $T/qa/cf15-short-js.jsonl $T/qa/cf15-short-all-js.jsonl $T/qa/cf15-short-py.jsonl $T/qa/cf15-short-all-py.jsonl $T/qa/cf12-qa-js.jsonl \
            --out $T/qa/cf16-recall.jsonl
          pack cf16-recall 1280 0 91 cf16-recall ;;
    # fresh recall rows, 3 in 10 JS samples with a .d.ts beside a .js (types only the .d.ts defines): the name, not
    # the extension, decides between them (held-out misses: `Options`, `isWsl` answered index.js for index.d.ts); more
    # of cf12's full-context questions (0.25), since cf16c lost JS importers (5 -> 1 of 15) on a mix with 0.15 of them
    cf16d|cf16e) data cf16
          [ -s $T/qa/cf16d-recall.jsonl ] || nice -n ${NICE:-5} $PY tools/train/recall_data.py --samples 10000 --seed 92 --dts-share 0.3 \
            --pool $T/qa/cf15-short-js.jsonl $T/qa/cf15-short-all-js.jsonl $T/qa/cf15-short-py.jsonl $T/qa/cf15-short-all-py.jsonl $T/qa/cf12-qa-js.jsonl \
            --out $T/qa/cf16d-recall.jsonl
          pack cf16d-recall 1280 0 92 cf16d-recall ;;
    # session 17: rows the cf16d line has not seen, from data already made: cf13's full-context, dense and pot rows
    # (only ever trained from cf12) replace cf12's, whose multi-hop traces are the long pre-session-13 form ("X imports
    # Y from S, which is P. P defines Y.", too long for the judge's 48 tokens: every held-out trace answer ran out
    # before <|final|>); cf16d drew ~450 of cf16d-recall's 4,494 rows and cf16e drew the same ones again (train.py's
    # row draw is a function of (seed, step)), so cf17 draws with a seed of its own; plus multi-hop questions alone,
    # half of them with the short trace
    cf17) data cf16d; data cf13; data cf14c
          js cf17-hop-js --budget 900 --repos 25000 --max-questions 10 --seed 93 --types multihop-def,multihop-params
          py cf17-hop-py --budget 900 --repos 40000 --max-questions 10 --seed 94 --types multihop-def,multihop-params
          pack cf17-hop 1280 0 93 cf17-hop-js cf17-hop-py ;;
    # session 17, a depth-growth A/B from cf17's final weights on cf17's mix (another row draw): cf18g has two new
    # layers after layer 2 (grow.py: copies of layer 2 with zeroed output projections, so it starts as cf17 exactly;
    # its answer head moves from layer 4 to 6: READ_HEADS=1.0,6.0,2.1), run for 25 minutes (MAX_MINUTES=25
    # TIME_SCHEDULE=1: 401 steps); cf18c is the 5-layer control for the same 401 steps on a step schedule
    cf18g) data cf17
           [ -f $T/ckpt/grow/cf18g.pt ] || $PY tools/train/grow.py --init $T/ckpt/cf17/final.pt --after 2 --count 2 --out $T/ckpt/grow/cf18g.pt ;;
    cf18c) data cf17 ;;
    # session 18: cf17's pot rows were cf13's, streamed by session 13's product, 309 + 297 rows that cf17 drew ~2.3
    # times each (session 17 also read a loss through the pot into mislabeled bench cells; re-run, cf17 equals cf16d
    # there). Fresh checkout rows streamed and re-read by today's product, with cf17's mix.
    cf19) data cf17
          checkout cf19 33 53 26 27 300
          # checkout streams the first 200 of cf19-js's 696 samples (306 rows); two more slices of it, so the stage
          # draws each pot row ~1.5 times instead of ~5
          workspace_slices cf19 cf19-js 28 ;;
    # session 18 (started at its end, resumable: a step schedule): cf19's recipe on fresh pot rows, plus Python
    # multi-hop questions (half with the trace): cf19's Python trace answers fell to 0 of 14, and cf17-hop held only
    # 857 Python questions against 6,069 JS
    cf20) data cf19
          checkout cf20 34 54 29 30 300 &
          py cf20-hop-py --budget 900 --repos 60000 --max-questions 10 --seed 95 --types multihop-def,multihop-params &
          wait
          pack cf20-hop 1280 0 95 cf20-hop-py ;;
    # session 19 (a fresh machine: .train/ was gone with cf20's step-450 checkpoint and every row): cf20's recipe on
    # rows made new, from the committed cf19 weights: fresh checkout rows through today's product, full-context, dense,
    # short and recall rows on new seeds, and multi-hop questions with Python over-sampled (cf19's Python trace answers:
    # 0 of 14); sized so that the rows are made in ~30 minutes of the 2-core machine; run with MAX_MINUTES=95 TIME_SCHEDULE=1
    cf21) fresh cf21 35 55 31 32 42 62 cf21 25 35
          session_rows cf21 77 86 96 12000
          data cf14c ;;
    # (session 19, defined at its end, not run) from the committed cf21, whose 4k product cell fell 35 -> 29 of 40 with
    # the workspace rows at 0.16 of the batch (cf19: 0.27): cf21's rows plus two more slices of cf21-js streamed as
    # workspace rows (checkout streams its first 200 samples), the workspace rows back at 0.28
    cf22) data cf21
          workspace_slices cf21 cf21-js 36 ;;
    # (session 20, defined at its end) from the committed cf22: cf21's recipe on new seeds (fresh rows, so the stage does
    # not draw cf21's rows a third time), cf22's two extra workspace slices (the workspace rows at 0.28 won back the 4k
    # cell: 29 -> 38 of 40), and more JS multi-hop rows (cf22's JS multi-hop fell 5/14 -> 1/14 bare)
    cf23) fresh cf23 101 102 103 104 105 106 cf23 107 108
          session_rows cf23 109 112 116 20000
          workspace_slices cf23 cf23-js 120
          data cf14c ;;
    # (session 21, defined at its end, not run) from the committed cf23 (226 of 363; where 1k 0.77, const 1k 0.72, the
    # const misses copying the neighbouring line's value): cf23's recipe on new seeds, with the dense rows (many
    # constants and parameters of one file per sample) and the look-alike rows up, the multi-hop rows back to 0.08
    cf24) fresh cf24 121 122 123 124 125 126 cf24 127 128
          session_rows cf24 129 132 136 20000
          workspace_slices cf24 cf24-js 140
          data cf14c ;;
    # (session 22, defined at its end, not run) from the committed model: cf24's recipe on new seeds, the two extra
    # workspace slices streamed through the shares session 22 measured (headers 1/5, outline lines the rest), so the
    # model reads pots of both shapes and the shares can be re-judged through the product
    cf25) fresh cf25 141 142 143 144 145 146 cf25 147 148
          session_rows cf25 149 152 156 20000
          POT_POLICY=infinipot:pin=outline:pinshare=0.2:outline=1 workspace_slices cf25 cf25-js 160
          data cf14c ;;
    # (session 23, defined; run and committed in session 24, 60 minutes) from the committed model: cf25's recipe on new
    # seeds; the question generators now also ask for constants whose value is arithmetic (`1 << 16`, `MAX_RADIUS * 4`),
    # which a new user's `long` question showed the model stops after one token of (about 3% of the constants asked)
    cf26) fresh cf26 161 162 163 164 165 166 cf26 167 168
          session_rows cf26 169 172 176 20000
          POT_POLICY=infinipot:pin=outline:pinshare=0.2:outline=1 workspace_slices cf26 cf26-js 180
          data cf14c ;;
    # (session 24, defined, not run) from the committed cf26: its recipe on new seeds
    cf27) fresh cf27 181 182 183 184 185 186 cf27 187 188
          session_rows cf27 189 192 196 20000
          POT_POLICY=infinipot:pin=outline:pinshare=0.2:outline=1 workspace_slices cf27 cf27-js 200
          data cf14c ;;
    cf14c) copy cf14c-copy --rows 3000 --seq 1280 --max-span 240 --max-filler 400 --near-filler 0.5 --min-ambiguous 0.4 --seed 25 ;;
  esac
}

# mixes shared by stages: cf16d and cf16e; cf17 and the cf18 depth-growth arms that continue it
MIX_CF16D="$T/data/cf16d-recall.npy:0.25,$T/data/cf16-recall.npy:0.05,$T/data/cf15-short.npy:0.1,$T/data/cf15-pyparams.npy:0.05,$T/data/cf12-qa.npy:0.25,$T/data/cf12-pot.npy:0.15,$T/data/cf6-copy.npy:0.15"
MIX_CF17="$T/data/cf16d-recall.npy:0.2,$T/data/cf13-qa.npy:0.22,$T/data/cf13-rare-qa.npy:0.06,$T/data/cf17-hop.npy:0.07,$T/data/cf13-dense.npy:0.1,$T/data/cf13-pot.npy:0.12,$T/data/cf13-rare-pot.npy:0.05,$T/data/cf15-short.npy:0.04,$T/data/cf15-pyparams.npy:0.04,$T/data/cf6-copy.npy:0.07,$T/data/cf14c-copy.npy:0.03"
MIX_CF19="$T/data/cf16d-recall.npy:0.16,$T/data/cf13-qa.npy:0.2,$T/data/cf13-rare-qa.npy:0.05,$T/data/cf17-hop.npy:0.06,$T/data/cf13-dense.npy:0.1,$T/data/cf19-pot.npy:0.05,$T/data/cf19-pot-b.npy:0.05,$T/data/cf19-pot-c.npy:0.05,$T/data/cf19-rare-pot.npy:0.06,$T/data/cf13-pot.npy:0.04,$T/data/cf13-rare-pot.npy:0.02,$T/data/cf15-short.npy:0.04,$T/data/cf15-pyparams.npy:0.04,$T/data/cf6-copy.npy:0.06,$T/data/cf14c-copy.npy:0.02"
MIX_CF20="$T/data/cf16d-recall.npy:0.17,$T/data/cf13-qa.npy:0.2,$T/data/cf13-rare-qa.npy:0.05,$T/data/cf17-hop.npy:0.05,$T/data/cf20-hop.npy:0.05,$T/data/cf13-dense.npy:0.1,$T/data/cf20-pot.npy:0.07,$T/data/cf20-rare-pot.npy:0.04,$T/data/cf19-pot.npy:0.03,$T/data/cf19-pot-b.npy:0.03,$T/data/cf19-pot-c.npy:0.03,$T/data/cf19-rare-pot.npy:0.03,$T/data/cf15-short.npy:0.04,$T/data/cf15-pyparams.npy:0.04,$T/data/cf6-copy.npy:0.05,$T/data/cf14c-copy.npy:0.02"
MIX_CF21="$T/data/cf21-recall.npy:0.15,$T/data/cf21-qa.npy:0.17,$T/data/cf21-rare-qa.npy:0.05,$T/data/cf21-conf.npy:0.08,$T/data/cf21-hop.npy:0.09,$T/data/cf21-dense.npy:0.1,$T/data/cf21-pot.npy:0.1,$T/data/cf21-rare-pot.npy:0.06,$T/data/cf21-short.npy:0.05,$T/data/cf21-pyparams.npy:0.04,$T/data/cf6-copy.npy:0.08,$T/data/cf14c-copy.npy:0.03"
MIX_CF22="$T/data/cf21-recall.npy:0.14,$T/data/cf21-qa.npy:0.17,$T/data/cf21-rare-qa.npy:0.04,$T/data/cf21-conf.npy:0.07,$T/data/cf21-hop.npy:0.08,$T/data/cf21-dense.npy:0.08,$T/data/cf21-pot.npy:0.08,$T/data/cf21-pot-b.npy:0.07,$T/data/cf21-pot-c.npy:0.07,$T/data/cf21-rare-pot.npy:0.06,$T/data/cf21-short.npy:0.04,$T/data/cf21-pyparams.npy:0.03,$T/data/cf6-copy.npy:0.05,$T/data/cf14c-copy.npy:0.02"
MIX_CF23="$T/data/cf23-recall.npy:0.12,$T/data/cf23-qa.npy:0.17,$T/data/cf23-rare-qa.npy:0.04,$T/data/cf23-conf.npy:0.07,$T/data/cf23-hop.npy:0.10,$T/data/cf23-dense.npy:0.08,$T/data/cf23-pot.npy:0.08,$T/data/cf23-pot-b.npy:0.07,$T/data/cf23-pot-c.npy:0.07,$T/data/cf23-rare-pot.npy:0.06,$T/data/cf23-short.npy:0.04,$T/data/cf23-pyparams.npy:0.03,$T/data/cf6-copy.npy:0.05,$T/data/cf14c-copy.npy:0.02"
MIX_CF24="$T/data/cf24-recall.npy:0.10,$T/data/cf24-qa.npy:0.16,$T/data/cf24-rare-qa.npy:0.04,$T/data/cf24-conf.npy:0.09,$T/data/cf24-hop.npy:0.08,$T/data/cf24-dense.npy:0.11,$T/data/cf24-pot.npy:0.08,$T/data/cf24-pot-b.npy:0.07,$T/data/cf24-pot-c.npy:0.07,$T/data/cf24-rare-pot.npy:0.06,$T/data/cf24-short.npy:0.04,$T/data/cf24-pyparams.npy:0.03,$T/data/cf6-copy.npy:0.05,$T/data/cf14c-copy.npy:0.02"
MIX_CF25="$T/data/cf25-recall.npy:0.10,$T/data/cf25-qa.npy:0.16,$T/data/cf25-rare-qa.npy:0.04,$T/data/cf25-conf.npy:0.09,$T/data/cf25-hop.npy:0.08,$T/data/cf25-dense.npy:0.11,$T/data/cf25-pot.npy:0.08,$T/data/cf25-pot-b.npy:0.07,$T/data/cf25-pot-c.npy:0.07,$T/data/cf25-rare-pot.npy:0.06,$T/data/cf25-short.npy:0.04,$T/data/cf25-pyparams.npy:0.03,$T/data/cf6-copy.npy:0.05,$T/data/cf14c-copy.npy:0.02"
MIX_CF26="${MIX_CF25//cf25/cf26}"
MIX_CF27="${MIX_CF25//cf25/cf27}"
# name seq batch steps lr    warmup init  sources                                      aw  copyw codew  extra (train.py flags, - for none)
STAGES=(
  "cf1  512  8    1200  1e-3  30     -     $T/data/cf1-qa.npy:0.4,$T/data/cf1-rare.npy:0.25,$T/data/cf1-copy.npy:0.35  4  3  0.3  -"
  "cf2  1024 4    450   6e-4  20     cf1   $T/data/cf2-qa.npy:0.6,$T/data/cf2-copy.npy:0.4  4  3  0.3  -"
  "cf3  1024 4    700   4e-4  20     -     $T/data/cf3-qa-pot.npy:0.4,$T/data/cf3-rare-pot.npy:0.25,$T/data/cf3-copy.npy:0.35  4  3  0.3  -"
  "cf4  1024 4    900   4e-4  20     -     $T/data/cf3-qa.npy:0.4,$T/data/cf3-rare.npy:0.2,$T/data/cf3-qa-pot.npy:0.1,$T/data/cf3-copy.npy:0.3  4  3  0.3  --gap-share=0.5,--max-positions=8192"
  "cf5  1024 4    1200  4e-4  20     -     $T/data/cf3-qa.npy:0.35,$T/data/cf2-qa.npy:0.25,$T/data/cf3-copy.npy:0.4  4  3  0.3  -"
  "cf6  1280 4    900   4e-4  20     -     $T/data/cf6-pot.npy:0.2,$T/data/cf6-pot-b.npy:0.2,$T/data/cf6-qa.npy:0.3,$T/data/cf6-copy.npy:0.3  4  3  0.3  --max-positions=2048"
  "cf8  1280 4    400   3e-4  20     cf7   $T/data/cf8-pot.npy:0.25,$T/data/cf8-rare-pot.npy:0.15,$T/data/cf7-pot.npy:0.05,$T/data/cf7-pot-b.npy:0.1,$T/data/cf7-short-a.npy:0.1,$T/data/cf7-short-b.npy:0.05,$T/data/cf6-qa.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf9  1280 4    450   3e-4  20     cf8/latest   $T/data/cf9-pot.npy:0.2,$T/data/cf9-rare-pot.npy:0.1,$T/data/cf8-pot.npy:0.05,$T/data/cf8-rare-pot.npy:0.05,$T/data/cf7-pot-b.npy:0.05,$T/data/cf7-short-a.npy:0.05,$T/data/cf9-qa.npy:0.2,$T/data/cf9-rare-qa.npy:0.1,$T/data/cf6-qa.npy:0.05,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf10 1280 4    450   3e-4  20     cf9/latest   $T/data/cf9-pot.npy:0.3,$T/data/cf9-rare-pot.npy:0.1,$T/data/cf9-qa.npy:0.3,$T/data/cf9-rare-qa.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf11 1280 4    450   2e-4  20     cf10/latest  $T/data/cf9-pot.npy:0.3,$T/data/cf9-rare-pot.npy:0.1,$T/data/cf9-qa.npy:0.3,$T/data/cf9-rare-qa.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf12 1280 4    400   3e-4  20     -            $T/data/cf12-pot.npy:0.25,$T/data/cf12-rare-pot.npy:0.1,$T/data/cf12-qa.npy:0.35,$T/data/cf12-rare-qa.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf13 1280 4    400   3e-4  20     -            $T/data/cf13-pot.npy:0.25,$T/data/cf13-rare-pot.npy:0.1,$T/data/cf13-qa.npy:0.3,$T/data/cf13-rare-qa.npy:0.08,$T/data/cf13-dense.npy:0.15,$T/data/cf6-copy.npy:0.12  4  3  0.3  --max-positions=2048"
  "cf14c 1280 4   300   1e-4  20     -            $T/data/cf14c-copy.npy:0.5,$T/data/cf12-qa.npy:0.3,$T/data/cf12-pot.npy:0.2  4  3  0.3  --max-positions=2048"
  "cf15 1280 4    400   3e-4  20     -            $T/data/cf15-short.npy:0.3,$T/data/cf15-pyparams.npy:0.1,$T/data/cf12-qa.npy:0.2,$T/data/cf12-rare-qa.npy:0.05,$T/data/cf12-pot.npy:0.2,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf16 1280 4    400   3e-4  20     -            $T/data/cf16-recall.npy:0.35,$T/data/cf15-short.npy:0.15,$T/data/cf15-pyparams.npy:0.05,$T/data/cf12-qa.npy:0.15,$T/data/cf12-pot.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  # cf16 was stopped after step 100 (its latest.pt, judge 0.25): cf16b restarts there with the name head's loss spread
  # over the whole name (train.py), cf16c continues cf16b at a lower LR, cf16d cf16c on fresh recall rows,
  # cf16e cf16d at a lower LR (session 16's last 25 minutes, judged in session 17)
  "cf16b 1280 4   330   3e-4  20     cf16/latest  $T/data/cf16-recall.npy:0.35,$T/data/cf15-short.npy:0.15,$T/data/cf15-pyparams.npy:0.05,$T/data/cf12-qa.npy:0.15,$T/data/cf12-pot.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf16c 1280 4   500   2e-4  20     cf16b        $T/data/cf16-recall.npy:0.35,$T/data/cf15-short.npy:0.15,$T/data/cf15-pyparams.npy:0.05,$T/data/cf12-qa.npy:0.15,$T/data/cf12-pot.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
  "cf16d 1280 4   450   1.5e-4 20    cf16c        $MIX_CF16D  4  3  0.3  --max-positions=2048"
  "cf16e 1280 4   300   1e-4  20     cf16d        $MIX_CF16D  4  3  0.3  --max-positions=2048"
  "cf17 1280 4    3000  2e-4  20     cf16d        $MIX_CF17  4  3  0.3  --max-positions=2048,--seed=17"
  "cf18g 1280 4   3000  2e-4  20     grow/cf18g   $MIX_CF17  4  3  0.3  --max-positions=2048,--seed=18"
  "cf18c 1280 4   401  2e-4  20     cf17         $MIX_CF17  4  3  0.3  --max-positions=2048,--seed=18"
  "cf19 1280 4    3000  1.5e-4 20    cf17         $MIX_CF19  4  3  0.3  --max-positions=2048,--seed=19"
  "cf20 1280 4    2400  1.5e-4 20    cf19         $MIX_CF20  4  3  0.3  --max-positions=2048,--seed=20"
  "cf21 1280 4    3000  1.5e-4 20    -            $MIX_CF21  4  3  0.3  --max-positions=2048,--seed=21"
  "cf22 1280 4    3000  1.5e-4 20    -            $MIX_CF22  4  3  0.3  --max-positions=2048,--seed=22"
  "cf23 1280 4    3000  1.5e-4 20    -            $MIX_CF23  4  3  0.3  --max-positions=2048,--seed=23"
  "cf24 1280 4    3000  1.5e-4 20    -            $MIX_CF24  4  3  0.3  --max-positions=2048,--seed=24"
  "cf25 1280 4    3000  1.5e-4 20    -            $MIX_CF25  4  3  0.3  --max-positions=2048,--seed=25"
  "cf26 1280 4    3000  1.5e-4 20    -            $MIX_CF26  4  3  0.3  --max-positions=2048,--seed=26"
  "cf27 1280 4    3000  1.5e-4 20    -            $MIX_CF27  4  3  0.3  --max-positions=2048,--seed=27"
  "cf7  1280 4    330   3e-4  20     -     $T/data/cf7-pot.npy:0.2,$T/data/cf7-pot-b.npy:0.2,$T/data/cf7-short-a.npy:0.1,$T/data/cf7-short-b.npy:0.1,$T/data/cf6-pot.npy:0.1,$T/data/cf6-qa.npy:0.15,$T/data/cf6-copy.npy:0.15  4  3  0.3  --max-positions=2048"
)
want=(${STAGES_WANTED:-cf1 cf2})
for s in "${STAGES[@]}"; do
  read -r n seq batch steps lr warm init srcs aw cw codew extra <<<"$s"
  extraargs=(); [ "$extra" != "-" ] && extraargs=(${extra//,/ })
  [[ " ${want[*]} " =~ " $n " ]] || continue
  [ -f $T/ckpt/$n/final.pt ] && { echo "$n already done"; continue; }
  data $n
  initarg=(--init-from models/repopot-tiny-code)
  # init: a stage (its final.pt) or stage/checkpoint (e.g. cf8/latest: a stage stopped by its time limit)
  if [[ $init == */* ]]; then initarg=(--init-from $T/ckpt/$init.pt); elif [ "$init" != "-" ]; then initarg=(--init-from $T/ckpt/$init/final.pt); fi
  until [ -f $T/ckpt/$n/final.pt ]; do
    nice -n ${NICE:-5} $PY tools/train/train.py --stage $n --data ${srcs//,/ } --seq $seq --batch $batch --steps $steps \
        --answer-weight $aw --copy-weight $cw --code-weight $codew --lr $lr --warmup $warm --threads $THREADS \
        --copy-heads ${COPY_HEADS:-0.0,1.2} --copy-head-weight ${COPY_HEAD_WEIGHT:-1.0} \
        --read-heads ${READ_HEADS:-1.0,4.0} --read-head-weight ${READ_HEAD_WEIGHT:-1.0} \
        --eval-every ${EVAL_EVERY:-100} --eval-per-type ${EVAL_PER_TYPE:-6} --max-minutes ${MAX_MINUTES:-600} ${TIME_SCHEDULE:+--time-schedule} "${initarg[@]}" "${extraargs[@]}" >> $T/logs/$n.log 2>&1 &
    echo $! > $T/train.pid
    wait $! || sleep 10
  done
  echo "$n done: $T/ckpt/$n/final.pt"
done
