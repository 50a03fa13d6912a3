#!/usr/bin/env bash
# The low-resolution probe (bench/experiments/low_res_probe/low_res_probe.ts) over four families × sides × backends,
# one run at a time on one core; resumable: a (model, side, backend) already in $OUT is skipped.
# Usage: bench/experiments/low_res_probe/low_res_probe.sh   (env: OUT, BACKENDS, CASES="model:side ...")
set -euo pipefail
cd "$(dirname "$0")/../../.."
OUT=${OUT:-bench/results/low_res_probe/probe.jsonl}
BACKENDS=${BACKENDS:-native wasm}
CASES=${CASES:-"resnet8_cifar:16 resnet8_cifar:22 resnet8_cifar:24 resnet8_cifar:32
convnext_micro_patch2_32:16 convnext_micro_patch2_32:22 convnext_micro_patch2_32:24 convnext_micro_patch2_32:32
deit_micro_patch4_32:16 deit_micro_patch4_32:24 deit_micro_patch4_32:32
swin_micro_patch2_window4_32:16 swin_micro_patch2_window4_32:32"}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$(dirname "$OUT")"
touch "$OUT"
for backend in $BACKENDS; do
  for c in $CASES; do
    model=${c%%:*} side=${c##*:}
    if grep -q "\"model\":\"$model\",\"side\":$side,\"backend\":\"$backend\"" "$OUT"; then continue; fi
    echo "== $model @ $side on $backend"
    deno run -A bench/experiments/low_res_probe/low_res_probe.ts "$model" "$side" --backend "$backend" --out "$OUT"
  done
done
deno run -A bench/experiments/low_res_probe/low_res_probe_table.ts "$OUT"
