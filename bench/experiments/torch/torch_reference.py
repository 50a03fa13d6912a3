#!/usr/bin/env python3
"""PyTorch reference throughput for the small variants that bench/experiments/torch/torch_vs_ours.ts runs in Deno.

Trains each model for a few SGD steps (forward + backward + update, batch 128 by default) on
random NHWC-equivalent (channels_last) inputs with torch.set_num_threads(threads) and prints one
JSON object: {"torch": version, "threads": n, "results": [{model, size, batch, images_per_s,
step_ms}]}. The shapes mirror the TypeScript bench nets exactly (same widths, depths, strides),
so the images/s are comparable.

Run with Debian's interpreter (apt-get install python3-torch): /usr/bin/python3 bench/experiments/torch/torch_reference.py
"""
import argparse
import json
import os
import sys
import time

# torch.set_num_threads sizes torch's OpenMP pool, but Debian's torch runs its GEMMs in OpenBLAS,
# whose own pool is sized from the environment when the library loads: set both before import,
# so "--threads 1" means one core for every kernel, as it does for ours.
if "--threads" in sys.argv:
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = _n

import torch  # noqa: E402
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


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an NCHW (channels_last in memory) tensor, as timm's."""

    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                            self.eps).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim, ls=1e-6):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(ls * torch.ones(dim))

    def forward(self, x):
        y = self.conv_dw(x).permute(0, 2, 3, 1)
        y = self.fc2(F.gelu(self.fc1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2)


class ConvNeXt(nn.Module):
    """timm's ConvNeXt: patchify stem + LN, (LN + 2x2 s2 conv) downsampling, 7x7 dw blocks."""

    def __init__(self, depths, dims, patch, num_classes=10):
        super().__init__()
        layers = [nn.Conv2d(3, dims[0], patch, patch), LayerNorm2d(dims[0], eps=1e-6)]
        for i, (d, w) in enumerate(zip(depths, dims)):
            if i > 0:
                layers += [LayerNorm2d(dims[i - 1], eps=1e-6), nn.Conv2d(dims[i - 1], w, 2, 2)]
            layers += [ConvNeXtBlock(w) for _ in range(d)]
        self.features = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dims[-1], eps=1e-6)
        self.fc = nn.Linear(dims[-1], num_classes)

    def forward(self, x):
        return self.fc(self.norm(self.features(x).mean((2, 3))))


class ViTBlock(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, mlp_ratio * dim)
        self.fc2 = nn.Linear(mlp_ratio * dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
        att = ((q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(b, n, c))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """timm's ViT/DeiT (class token, learned position embedding, pre-norm blocks)."""

    def __init__(self, patch, dim, depth, heads, img=32, num_classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[ViTBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


def window_partition(x, w):
    b, h, wd, c = x.shape
    x = x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, c)


def window_reverse(x, w, h, wd):
    b = x.shape[0] // ((h // w) * (wd // w))
    x = x.view(b, h // w, wd // w, w, w, -1).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, wd, -1)


class SwinBlock(nn.Module):
    """timm's Swin block: (shifted) window attention with relative position bias, MLP."""

    def __init__(self, dim, heads, res, window, shift):
        super().__init__()
        self.heads, self.res = heads, res
        self.window = min(window, res)
        self.shift = 0 if res <= window else shift
        w = self.window
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)
        self.table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
        self.register_buffer("index", rel[..., 0] * (2 * w - 1) + rel[..., 1], persistent=False)
        mask = None
        if self.shift:
            img = torch.zeros(1, res, res, 1)
            cnt = 0
            for hs in (slice(0, -w), slice(-w, -self.shift), slice(-self.shift, None)):
                for ws in (slice(0, -w), slice(-w, -self.shift), slice(-self.shift, None)):
                    img[:, hs, ws, :] = cnt
                    cnt += 1
            mw = window_partition(img, w).squeeze(-1)
            mask = (mw[:, None, :] - mw[:, :, None]).ne(0).float() * -100.0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        b, h, wd, c = x.shape
        w, n = self.window, self.window ** 2
        y = self.norm1(x)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        t = window_partition(y, w)
        qkv = self.qkv(t).reshape(t.shape[0], n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        att = (q * (c // self.heads) ** -0.5) @ k.transpose(-2, -1)
        att = att + self.table[self.index.view(-1)].view(n, n, -1).permute(2, 0, 1)[None]
        if self.mask is not None:
            nw = self.mask.shape[0]
            att = att.view(-1, nw, self.heads, n, n) + self.mask[None, :, None]
            att = att.view(-1, self.heads, n, n)
        o = (att.softmax(-1) @ v).transpose(1, 2).reshape(t.shape[0], n, c)
        y = window_reverse(self.proj(o), w, h, wd)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class Swin(nn.Module):
    """timm's Swin Transformer on NHWC token maps (patch embed, 4 stages, merging, GAP)."""

    def __init__(self, patch, dim, depths, heads, window, img=32, num_classes=10):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.embed_norm = nn.LayerNorm(dim)
        layers = []
        res = img // patch
        for i, (d, hd) in enumerate(zip(depths, heads)):
            c = dim * 2 ** i
            if i > 0:
                layers.append(PatchMerging(c // 2))
                res //= 2
            for j in range(d):
                layers.append(SwinBlock(c, hd, res, window, window // 2 if j % 2 else 0))
        self.layers = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dim * 2 ** (len(depths) - 1))
        self.head = nn.Linear(dim * 2 ** (len(depths) - 1), num_classes)

    def forward(self, x):
        x = self.embed_norm(self.patch_embed(x).permute(0, 2, 3, 1))
        return self.head(self.norm(self.layers(x)).mean((1, 2)))


MODELS = {
    "resnet8_cifar": lambda size: CifarResNet(8),
    "resnet20_cifar": lambda size: CifarResNet(20),
    "convnext_atto_patch2_32": lambda size: ConvNeXt((2, 2, 6, 2), (40, 80, 160, 320), 2),
    "deit_tiny_patch4_32": lambda size: ViT(4, 192, 12, 3, img=size),
    "swin_tiny_patch2_window4_32": lambda size: Swin(2, 96, (2, 2, 6, 2), (3, 6, 12, 24), 4, img=size),
}


def bench(name, size, batch, steps, warmup):
    torch.manual_seed(0)
    model = MODELS[name](size).to(memory_format=torch.channels_last)
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
