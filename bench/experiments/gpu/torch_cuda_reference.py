#!/usr/bin/env python3
"""PyTorch CUDA training throughput of the models `deno task bench:webgpu` measures, for the
"≥ 0.5× PyTorch CUDA" comparison of issue 13. Runs on the device machine (PyTorch with CUDA and
timm installed there); never in tests.

One step = forward, cross-entropy, backward, AdamW (weight decay 0.05), in float32 with
channels_last, as the project trains; PyTorch's defaults otherwise (cuDNN may use TF32 for
convolutions, matmuls stay float32: both settings are recorded). Prints one JSON object and,
with --out, writes it there.

    python3 torch_cuda_reference.py [--models resnet50@224,...] [--batch 64] [--steps 10] [--out f.json]
"""
import argparse
import json
import os
import time

import torch
import torch.nn.functional as F

DEFAULT = "resnet18@224,resnet50@224,convnext_tiny@224,deit_tiny_patch16_224@224,swin_tiny_patch4_window7_224@224"


def step_time(name, side, batch, steps, warmup, device):
    import timm

    model = timm.create_model(name, num_classes=10, img_size=side) if name.startswith(("deit", "swin", "vit")) \
        else timm.create_model(name, num_classes=10)
    model = model.to(device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)
    x = torch.randn(batch, 3, side, side, device=device).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), device=device)

    def one():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        one()
    torch.cuda.synchronize()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        loss = one()
        loss.item()  # one read of the loss per step, as the project's trainer does
        times.append(time.perf_counter() - t)
    times.sort()
    median = times[len(times) // 2]
    return {"model": name, "side": side, "batch": batch, "step_ms": median * 1e3,
            "images_per_s": batch / median}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default=DEFAULT)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("torch_cuda_reference: no CUDA device")
    rows = []
    for spec in a.models.split(","):
        name, _, side = spec.partition("@")
        try:
            rows.append(step_time(name, int(side or 224), a.batch, a.steps, a.warmup, "cuda"))
        except Exception as e:  # one model failing (memory, timm version) must not lose the rest
            rows.append({"model": name, "side": int(side or 224), "error": repr(e)})
        print(json.dumps(rows[-1]), flush=True)
    report = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "results": rows,
    }
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            json.dump(report, f, indent=2)
        os.replace(a.out + ".tmp", a.out)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
