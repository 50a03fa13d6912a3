#!/usr/bin/env bash
# ConvNeXt-micro and Swin-micro on CIFAR-10 (baseline + four curricula each), as two queues
# started together, one per core (OMP_NUM_THREADS=1 each): every run has exactly one other
# training run beside it, and the ConvNeXt baseline starts together with its EfficientTrain
# run. Resumable: finished runs are skipped, an unfinished one continues.
# Usage: bench/experiments/cifar10/cifar10_rerun_paired.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
cnx() {
  OUT=bench/results/cifar10/convnext MODELS=convnext_micro_patch2_32 EPOCHS=8 BOUNDARIES=exact \
    CURRICULA=$1 bench/experiments/cifar10/cifar10_compare.sh --lr 2e-3
}
swin() {
  OUT=bench/results/cifar10/swin MODELS=swin_micro_patch2_window4_32 EPOCHS=3 BOUNDARIES=exact \
    CURRICULA=$1 bench/experiments/cifar10/cifar10_compare.sh --lr 1e-3 --warmup-epochs 0.5
}
# Balanced by the previous round's run times (~48 min of one core per queue).
(cnx baseline; swin efficienttrain; cnx efficienttrain++; swin efficienttrain-resize
  swin ffcv-progressive) &
(cnx efficienttrain; swin baseline; cnx efficienttrain-resize; swin efficienttrain++
  cnx ffcv-progressive) &
wait
deno run -A bench/experiments/headline.ts bench/results/cifar10
