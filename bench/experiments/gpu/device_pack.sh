#!/usr/bin/env bash
# Pack what a GPU device machine needs to run issue 13's measurements in one call, into the
# git-ignored .device/ (about 55 MB, under the device tool's 64 MiB carry limit):
#   deno.xz          this machine's Deno binary, compressed
#   *.js             bench:webgpu and the GPU checks bundled with their npm dependencies
#                    (`deno bundle`: no npm cache or network needed there)
#   debs/            the Vulkan loader and libglvnd (the NVIDIA Vulkan driver needs both) and
#                    oneDNN/OpenBLAS for the native backend beside it, as Debian packages
#   torch_cuda_reference.py, run.sh
# Then, with the device tool: run `bash .device/run.sh` with carry [".device"]; results come
# back under $OUT (bench/results/<gpu>/ is where they are committed).
#
# Usage: bench/experiments/gpu/device_pack.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=.device
rm -rf "$out.tmp" && mkdir -p "$out.tmp/debs"
xz -T2 -6 -c "$(command -v deno)" >"$out.tmp/deno.xz"
deno bundle --platform deno -o "$out.tmp/webgpu_profile.js" bench/experiments/gpu/webgpu_profile.ts
deno bundle --platform deno -o "$out.tmp/gpu_check.js" bench/experiments/gpu/gpu_check.ts
(cd "$out.tmp/debs" && apt-get download libvulkan1 libglvnd0 libglx0 libdnnl2 \
  libopenblas0-pthread libgomp1 libgfortran5 2>/dev/null)
cp bench/experiments/gpu/torch_cuda_reference.py bench/experiments/gpu/device_run.sh "$out.tmp/"
mv "$out.tmp/device_run.sh" "$out.tmp/run.sh"
rm -rf "$out" && mv "$out.tmp" "$out"
du -shc "$out"/*
