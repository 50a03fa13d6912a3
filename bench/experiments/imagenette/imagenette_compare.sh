#!/usr/bin/env bash
# The benchmark of record in the paper's regime: Imagenette (224-px JPEGs, trained at 128 px),
# one small model per family, baseline against EfficientTrain, EfficientTrain++ (at half the
# baseline's compute) and EfficientTrain with a resize instead of the crop, identical recipe
# and seeds per family.
#
# Paired: two queues start together, one core each (OMP_NUM_THREADS=1), and the baseline
# starts with its EfficientTrain run:
#   core 1: baseline, then efficienttrain++
#   core 2: efficienttrain, then efficienttrain-resize
# so every run has exactly one training run beside it, and the two queues end close together
# (the baseline is the longest run and EfficientTrain++ the shortest; the ResNet and ConvNeXt
# runs of record used the older order, resize after the baseline).
# When one queue ends first, a ballast (the family's forward and backward at the final side)
# takes its core until the other ends (the runs of record before it had none, and some ran their
# last epochs alone). Nothing else may run on the machine
# meanwhile (no tests, no builds).
#
# Resumable: a finished run (its summary.json) is never redone; an unfinished one whose
# checkpoint is still on disk continues with --resume; one whose checkpoint is gone (a new
# clone: checkpoints are not committed) starts again. Commit each finished run as it lands.
#
# Usage: bench/experiments/imagenette/imagenette_compare.sh [family ...]
#   families: resnet convnext deit swin resnet-seed1 (default: all, in that order); <family>-seed<N>
#     (resnet-seed1, convnext-seed1, ...) pairs that family's baseline and EfficientTrain at seed N
#   env: DATA, OUT, EPOCHS (the family's: recipe_epochs, 25 for ResNet, 20 for the others; another
#     needs a TAG), SIZE (128), ETPP_FRACTION (1/2), MAX_HOURS (4), EVAL_BATCH (100)
#   LR: a peak learning rate other than the recipe's. Its runs go to $OUT/rates/<family>-lr<LR>/,
#     outside the headline (which reads $OUT/<family>/ only), so a rate under study never mixes
#     with the runs of record.
#   FLAGS, TAG: train flags added to every run (a recipe variant under study, e.g.
#     FLAGS="--rrc-scale 0.35"), which must be named by TAG: the runs go to
#     $OUT/variants/<family>-<TAG>/, outside the headline like LR's.
#   MODEL: another model for the family's recipe (e.g. MODEL=resnet18, the full-width ResNet-18);
#     like FLAGS it needs a TAG, and so does an ETPP_FRACTION other than 1/2.
#   QUEUE1, QUEUE2: the curricula of the two queues, to run part of a family or another preset
#     (efficienttrain++-replay gets EfficientTrain++'s budget; one queue may be
#     empty when its core already has a partner run; the pairing is then the caller's job).
#   BALLAST: empty to leave a queue's core idle once its runs are done (default: the family's
#     forward and backward run there until the other queue is done, so no run is timed alone).
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${DATA:-imagenette:../shared/data/imagenette2-224.tar.gz}
OUT=${OUT:-bench/results/imagenette}
EPOCHS=${EPOCHS:-}
SIZE=${SIZE:-128}
MAX_HOURS=${MAX_HOURS:-4}
# Evaluation at 500 images of 128 px took a ConvNeXt-atto run from 6.5 to 12.5 GB (the models
# then held every block's activations through a forward pass), and two runs side by side ran out
# of the machine's 24 GB: the first ConvNeXt baseline was killed for it. At 100 the same run
# peaked at 7.3 GB. The batch changes evaluation time only, not a number in the table (the
# ResNet runs used 500).
EVAL_BATCH=${EVAL_BATCH:-100}
export OMP_NUM_THREADS=1
# EfficientTrain++'s budget is in 224²-equivalent epochs: half the baseline's compute, the
# paper's "lower budget" setting (it matches the baselines at 2.0–2.9× less compute there).
ETPP_FRACTION=${ETPP_FRACTION:-1/2}
LR=${LR:-}
FLAGS=${FLAGS:-}
TAG=${TAG:-}
MODEL=${MODEL:-}
# A budget other than the record's would otherwise land in the family's folder, where the run of
# record's summary.json makes the script skip it as done.
if { [ -n "$FLAGS" ] || [ -n "$MODEL" ] || [ "$ETPP_FRACTION" != 1/2 ]; } && [ -z "$TAG" ]; then
  echo "imagenette_compare.sh: FLAGS=\"$FLAGS\" MODEL=\"$MODEL\" ETPP_FRACTION=$ETPP_FRACTION need a TAG naming the variant's folder" >&2
  exit 2
fi

# shellcheck source=recipe.sh
source bench/experiments/imagenette/recipe.sh

# results <family>: the folder a family's runs and table go to
results() {
  if [ -n "$TAG" ]; then
    echo "$OUT/variants/$1-$TAG"
  elif [ -n "$LR" ]; then
    echo "$OUT/rates/$1-lr$LR"
  else
    echo "$OUT/$1"
  fi
}

# family_model <family>: the model a family's runs train (MODEL overrides the recipe's)
family_model() {
  [ -n "$MODEL" ] && echo "$MODEL" || recipe_model "$1"
}

# run <family> <seed> <curriculum>
run() {
  local family=$1 seed=$2 curriculum=$3 dir model epochs etpp
  dir=$(results "$family")
  model=$(family_model "$family")
  epochs=${EPOCHS:-$(recipe_epochs "$family")}
  etpp=$(python3 -c "print(round($epochs * $ETPP_FRACTION, 3))")
  # shellcheck disable=SC2046 # the recipe's flags, split on spaces
  set -- $(recipe_flags "$family")
  # a later --lr wins over the recipe's (the flags parser keeps the last)
  [ -z "$LR" ] || set -- "$@" --lr "$LR"
  # shellcheck disable=SC2086 # FLAGS is a list of flags, split on spaces
  set -- "$@" $FLAGS
  mkdir -p "$dir"
  deno run -A cli/compare.ts --models "$model" --curricula "$curriculum" --seeds "$seed" \
    --data "$DATA" --image-size "$SIZE" --epochs "$epochs" \
    --epochs-by-curriculum "efficienttrain++=$etpp,efficienttrain++-replay=$etpp" \
    "${RECIPE_FLAGS[@]}" --max-hours "$MAX_HOURS" --eval-batch-size "$EVAL_BATCH" \
    --compare-out "$dir" "$@" \
    >>"$dir/$model-$curriculum-s$seed.log" 2>&1 || {
    local rc=$?
    echo "$(date -u +%FT%TZ) FAILED $family $curriculum seed $seed (exit $rc; see its log)"
    return $rc
  }
  echo "$(date -u +%FT%TZ) finished $family $curriculum seed $seed"
}

# ballast <family> <done file>: keep this core busy with the family's forward and backward at the
# final side until the other queue writes its done file, so a run whose partner queue ended first
# is not timed alone (it was: a baseline's last four epochs, a resize control's last two). Lighter
# than a training run (no loader worker); its log says when it ran.
ballast() {
  local family=$1 other=$2 dir model
  dir=$(results "$family")
  model=$(family_model "$family")
  [ -e "$other" ] && return 0
  echo "$(date -u +%FT%TZ) ballast $model at $SIZE px until $(basename "$other")" >>"$dir/ballast.log"
  deno run -A bench/experiments/checkpoint_step.ts --model "$model" --side "$SIZE" \
    --steps 1000000 >>"$dir/ballast.log" 2>&1 &
  local pid=$!
  while [ ! -e "$other" ] && kill -0 "$pid" 2>/dev/null; do sleep 2; done
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  else
    echo "$(date -u +%FT%TZ) ballast ended by itself (see above)" >>"$dir/ballast.log"
  fi
  wait "$pid" 2>/dev/null || true
  echo "$(date -u +%FT%TZ) ballast stopped" >>"$dir/ballast.log"
}

# queue <family> <seed> <curricula> <own done file> <partner's done file>: the curricula one after
# another, then the done file, then ballast while the partner queue still runs (only when both
# queues have runs: with one empty, the pairing is the caller's). A failed run ends the queue.
queue() {
  local family=$1 seed=$2 curricula=$3 own=$4 partner=$5 status=0 c
  for c in $curricula; do run "$family" "$seed" "$c" || { status=1; break; }; done
  touch "$own"
  [ -z "$BALLAST" ] || ballast "$family" "$partner"
  return $status
}

# pair <family> <seed> <queue 1 curricula> <queue 2 curricula>
pair() {
  local family=$1 seed=$2 dir
  dir=$(results "$family")
  mkdir -p "$dir"
  local done1="$dir/.queue1.done" done2="$dir/.queue2.done"
  rm -f "$done1" "$done2"
  local BALLAST=${BALLAST-1}
  { [ -n "$3" ] && [ -n "$4" ]; } || BALLAST=
  queue "$family" "$seed" "$3" "$done1" "$done2" &
  local first=$!
  queue "$family" "$seed" "$4" "$done2" "$done1" &
  local second=$!
  local status=0
  wait "$first" || status=1
  wait "$second" || status=1
  rm -f "$done1" "$done2"
  deno run -A cli/compare.ts --table-only --compare-out "$dir" >/dev/null
  return $status
}

families=("$@")
[ ${#families[@]} -gt 0 ] || families=(resnet convnext deit swin resnet-seed1)
# Another length would land in the family's folder, where the runs of record make it skip as done.
for f in "${families[@]}"; do
  own=$(recipe_epochs "${f%-seed*}") || exit 2
  if [ -n "$EPOCHS" ] && [ "$EPOCHS" != "$own" ] && [ -z "$TAG" ]; then
    echo "imagenette_compare.sh: EPOCHS=$EPOCHS for ${f%-seed*} (its runs of record: $own) needs a TAG naming the variant's folder" >&2
    exit 2
  fi
done
for f in "${families[@]}"; do
  echo "$(date -u +%FT%TZ) == $f"
  case $f in
    *-seed[0-9]*) pair "${f%-seed*}" "${f##*-seed}" "${QUEUE1-baseline}" "${QUEUE2-efficienttrain}" ;;
    *) pair "$f" 0 "${QUEUE1-baseline efficienttrain++}" "${QUEUE2-efficienttrain efficienttrain-resize}" ;;
  esac
done
deno run -A bench/experiments/headline.ts "$OUT" >/dev/null
echo "headline: $OUT/headline.md and $OUT/headline.json"
