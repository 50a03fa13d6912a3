#!/usr/bin/env python3
"""PyTorch reference throughput for the small variants that bench/torch_vs_ours.ts runs in Deno.

Trains each model for a few SGD steps (forward + backward + update, batch 128 by default) on
random NHWC-equivalent (channels_last) inputs with torch.set_num_threads(threads) and prints one
JSON object: {"torch": version, "threads": n, "results": [{model, size, batch, images_per_s,
step_ms}]}. The shapes mirror the TypeScript bench nets exactly (same widths, depths, strides),
so the images/s are comparable.

Run with Debian's interpreter (apt-get install python3-torch): /usr/bin/python3 bench/torch_reference.py
"""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            # Option B shortcut (1x1 conv + BN), as in the TypeScript bench net.
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.down is None else self.down(x)
        return F.relu(out + sc)


class CifarResNet(nn.Module):
    """He et al. CIFAR ResNet-(6n+2): 3x3 stem 16, stages 16/32/64, GAP, linear."""

    def __init__(self, depth, num_classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers = []
        cin = 16
        for i, w in enumerate((16, 32, 64)):
            for j in range(n):
                layers.append(BasicBlock(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {
    "resnet8_cifar": lambda: CifarResNet(8),
    "resnet20_cifar": lambda: CifarResNet(20),
}


def bench(name, size, batch, steps, warmup):
    torch.manual_seed(0)
    model = MODELS[name]().to(memory_format=torch.channels_last)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, size, size).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2]
    return {"model": name, "size": size, "batch": batch, "step_ms": med * 1e3,
            "images_per_s": batch / med}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="resnet8_cifar,resnet20_cifar")
    p.add_argument("--sizes", default="32")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    results = []
    for name in a.models.split(","):
        if name not in MODELS:
            print(f"unknown model {name!r}; known: {', '.join(MODELS)}", file=sys.stderr)
            sys.exit(2)
        for size in (int(s) for s in a.sizes.split(",")):
            results.append(bench(name, size, a.batch, a.steps, a.warmup))
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "results": results}))


if __name__ == "__main__":
    main()
