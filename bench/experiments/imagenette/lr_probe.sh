#!/usr/bin/env bash
# A learning-rate probe for one Imagenette family: the baseline recipe of
# imagenette_compare.sh at other peak learning rates, each stopped after its first STOP_AFTER
# evaluations. The schedule is the 20-epoch one (warm-up, then cosine over EPOCHS), so the
# first epochs are exactly those a full run at that rate would train, and the full baseline of
# record (its log) gives the row for the recipe's own rate. A probe of the early epochs, not a
# verdict on the final accuracy: a higher rate can trail early and win late.
#
# Paired like the runs of record: two rates at a time, one core each (OMP_NUM_THREADS=1);
# nothing else on the machine meanwhile. A rate whose log already holds its last evaluation
# is not rerun.
#
# Usage: bench/experiments/imagenette/lr_probe.sh <family> <lr> [lr ...]
#   env: DATA, OUT (bench/results/imagenette/lr_probe), EPOCHS (20), SIZE (128),
#        STOP_AFTER (5), EVAL_BATCH (100)
set -euo pipefail
cd "$(dirname "$0")/../../.."
family=${1:?usage: lr_probe.sh <family> <lr> [lr ...]}
shift
[ $# -gt 0 ] || { echo "lr_probe.sh: give at least one learning rate" >&2; exit 2; }
DATA=${DATA:-imagenette:../shared/data/imagenette2-224.tar.gz}
OUT=${OUT:-bench/results/imagenette/lr_probe}/$family
EPOCHS=${EPOCHS:-20}
SIZE=${SIZE:-128}
STOP_AFTER=${STOP_AFTER:-5}
EVAL_BATCH=${EVAL_BATCH:-100}
export OMP_NUM_THREADS=1
# shellcheck source=recipe.sh
source bench/experiments/imagenette/recipe.sh
model=$(recipe_model "$family") || exit 2
record_lr=$(recipe_lr "$family")
# the recipe's own --lr comes first; the probe's, later on the line, wins
family_flags=$(recipe_flags "$family")
mkdir -p "$OUT"

# evaluations in a log so far; 0 before the log exists (a probe's log appears a moment after it starts)
last_eval() {
  local n
  n=$(grep -c "^epoch [0-9.]*: top-1" "$1" 2>/dev/null) || true
  echo "${n:-0}"
}

# probe <lr>: train until the STOP_AFTER-th evaluation line, then stop the run
probe() {
  local lr=$1 log="$OUT/$model-lr$1.log"
  if [ "$(last_eval "$log")" -ge "$STOP_AFTER" ]; then return 0; fi
  rm -rf "$OUT/$model-lr$lr" "$log"
  # shellcheck disable=SC2086 # the family's own flags, split on spaces
  deno run -A cli/train.ts --model "$model" --curriculum baseline --seed 0 \
    --data "$DATA" \
    --image-size "$SIZE" --epochs "$EPOCHS" "${RECIPE_FLAGS[@]}" $family_flags --lr "$lr" \
    --eval-batch-size "$EVAL_BATCH" \
    --out "$OUT/$model-lr$lr" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(last_eval "$log")" -ge "$STOP_AFTER" ]; then
      kill "$pid"
      break
    fi
    sleep 10
  done
  wait "$pid" || true
  # the checkpoints of a stopped probe are of no further use
  rm -rf "$OUT/$model-lr$lr"
  echo "$(date -u +%FT%TZ) probed $family lr $lr"
}

while [ $# -gt 0 ]; do
  probe "$1" &
  first=$!
  second=
  if [ $# -gt 1 ]; then
    probe "$2" &
    second=$!
    shift
  fi
  shift
  wait "$first"
  [ -z "$second" ] || wait "$second"
done

# The table: top-1 after each epoch per rate, the baseline of record's included when present.
{
  echo "# $model: top-1 over the first $STOP_AFTER epochs by peak learning rate"
  echo
  echo "\`bench/experiments/imagenette/lr_probe.sh $family …\` (the recipe of"
  echo "\`imagenette_compare.sh\`, $EPOCHS-epoch schedule, $SIZE px, seed 0, stopped after"
  echo "$STOP_AFTER evaluations)."
  echo
  header="| lr |"
  rule="|---|"
  for e in $(seq 1 "$STOP_AFTER"); do header="$header epoch $e |"; rule="$rule---|"; done
  echo "$header"
  echo "$rule"
  for log in "$OUT"/*-lr*.log bench/results/imagenette/"$family"/"$model"-baseline-s0.log; do
    [ -f "$log" ] || continue
    case $log in
      *-baseline-s0.log) lr="$record_lr (run of record)" ;;
      *) lr=${log##*-lr}; lr=${lr%.log} ;;
    esac
    row="| $lr |"
    while read -r top1; do row="$row $top1 |"; done < <(
      grep "^epoch [0-9.]*: top-1" "$log" | head -n "$STOP_AFTER" | sed 's/.*top-1 \([0-9.]*%\).*/\1/'
    )
    echo "$row"
  done
} >"$OUT/README.md.tmp"
mv "$OUT/README.md.tmp" "$OUT/README.md"
cat "$OUT/README.md"
