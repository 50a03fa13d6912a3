#!/usr/bin/env bash
# Runs on the GPU device machine from the repository root (packed by device_pack.sh):
# bench:webgpu with the project's WGSL kernels and with tfjs's formulas (before/after), the
# native backend beside it, and PyTorch CUDA on the same models. Everything lands in $OUT
# (default ./device-out), each file as soon as it is written, so a run cut short keeps what
# it measured.
#
# Usage: bash .device/run.sh [budget seconds for the WebGPU part, default 240]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$PWD/device-out}
budget=${1:-240}
mkdir -p "$OUT" /tmp/et/bin /tmp/et/root
xz -dc "$here/deno.xz" >/tmp/et/bin/deno && chmod +x /tmp/et/bin/deno
for d in "$here"/debs/*.deb; do dpkg -x "$d" /tmp/et/root; done
export PATH=/tmp/et/bin:$PATH
export LD_LIBRARY_PATH=/tmp/et/root/usr/lib/x86_64-linux-gnu:/tmp/et/root/usr/lib/x86_64-linux-gnu/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# the NVIDIA Vulkan ICD, wherever the machine's driver put it
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd && break
done
export DENO_NO_UPDATE_CHECK=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-16}
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
  deno --version
} >"$OUT/machine.txt"
models=${MODELS:-resnet18@224,resnet50@224,convnext_tiny@224,deit_tiny_patch16_224@224,swin_tiny_patch4_window7_224@224,resnet8_cifar@32,convnext_micro_patch2_32@32,deit_micro_patch4_32@32,swin_micro_patch2_window4_32@32}
timeout $((budget + 60)) deno run -A "$here/webgpu_profile.js" --out "$OUT" --budget-s "$budget" \
  --models "$models" >"$OUT/webgpu.log" 2>&1
timeout $((budget / 2 + 60)) deno run -A "$here/webgpu_profile.js" --out "$OUT" --budget-s $((budget / 2)) \
  --tfjs-formulas --models "${FORMULA_MODELS:-resnet50@224,resnet8_cifar@32,deit_micro_patch4_32@32}" \
  >"$OUT/webgpu-tfjs-formulas.log" 2>&1
if python3 -c "import torch, timm; assert torch.cuda.is_available()" 2>/dev/null; then
  timeout 150 python3 "$here/torch_cuda_reference.py" --batch 64 --out "$OUT/torch_cuda.json" \
    >"$OUT/torch_cuda.log" 2>&1
else
  echo "no PyTorch with CUDA and timm here" >"$OUT/torch_cuda.log"
fi
ls -la "$OUT"
