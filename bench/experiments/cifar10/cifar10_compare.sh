#!/usr/bin/env bash
# The benchmark of record (issue 8): curricula side by side on CIFAR-10, one command.
# Usage: bench/experiments/cifar10/cifar10_compare.sh [extra train flags]   (resumable: rerun to continue)
set -euo pipefail
cd "$(dirname "$0")/../../.."
DATA=${DATA:-cifar10:../shared/data/cifar10-jpg.tar.gz}
OUT=${OUT:-bench/results/cifar10/runs}
MODELS=${MODELS:-resnet8_cifar}
CURRICULA=${CURRICULA:-baseline,efficienttrain,efficienttrain++,efficienttrain-resize,ffcv-progressive}
EPOCHS=${EPOCHS:-8}
# The runs of record used one OpenMP thread (the native backend picks the idle cores at start;
# pinning keeps every curriculum on the same footing and leaves a core for the loader worker).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
SEEDS=${SEEDS:-0}
# EfficientTrain++ gets 2/3 of the baseline's budget in 224²-equivalent epochs, as in the paper
# (200 equivalent epochs against a 300-epoch baseline).
# ETPP_FRACTION overrides that share (e.g. 0.5 when 2/3 already beats the baseline).
ETPP_FRACTION=${ETPP_FRACTION:-2/3}
ETPP=$(python3 -c "print(round($EPOCHS * $ETPP_FRACTION, 3))")
# BOUNDARIES=exact puts stage ends at fractional epochs (short schedules; the presets floor them
# like the authors' int(E/5·(k+1)), which drops a stage when E < 5).
BOUNDARIES=${BOUNDARIES:-curriculum}
deno run -A cli/compare.ts --models "$MODELS" --curricula "$CURRICULA" --seeds "$SEEDS" \
  --data "$DATA" --epochs "$EPOCHS" --epochs-by-curriculum "efficienttrain++=$ETPP" \
  --boundaries "$BOUNDARIES" --batch-size 128 --lr 4e-3 --warmup-epochs 1 --workers 1 --compare-out "$OUT" "$@"
# One table over every finished run in $OUT (all seeds and curricula run so far).
deno run -A cli/compare.ts --table-only --compare-out "$OUT"
