#!/usr/bin/python3
"""The Imagenette ResNet baseline again, in PyTorch: a second opinion on the number.

The guide's rule is that a surprising result is a bug until a second backend or PyTorch says
otherwise. The ResNet baseline of record (resnet18_half, 128 px, 20 epochs) ends at 77.7 %
where the issue expects >= 85 %, so this script trains the same model with the same recipe in
PyTorch on the same data: if it lands near 77.7 %, the miss is the recipe and the model, not
efficienttrain; if it lands near 85 %, something in efficienttrain is wrong.

The recipe mirrors bench/experiments/imagenette/recipe.sh and efficienttrain's defaults:
ResNet-18 at half width (stem 32, widths 32-256, ImageNet stem, zero-init last BN gamma, He
fan-out init); AdamW lr 2e-3, weight decay 0.05 except on norms and biases, batch 64 (last
partial batch dropped), one epoch of linear warm-up from 0 then cosine to 1e-5, stepped per
batch; label smoothing 0.1; RandomResizedCrop(scale 0.08-1, bilinear) from the 224-px image,
horizontal flip, RandAugment as timm's rand-m9-n2-mstd0.5-inc1 (written here for PIL),
normalised by the training set's channel statistics; evaluation resizes the shorter side to
floor(128 / 0.875) (bicubic) and centre-crops 128.

Needs Debian's python3-torch, python3-torchvision and python3-pil (apt), nothing downloaded.
One core: `OMP_NUM_THREADS=1 /usr/bin/python3 imagenette_reference.py --data imagenette2-224.tar.gz --out DIR`.
"""

import argparse
import io
import json
import math
import os
import random
import tarfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageEnhance, ImageOps
from torchvision import transforms

# The ImageNet-stem ResNet below reuses the CIFAR bench's BasicBlock (same block: 3x3-BN-ReLU,
# 3x3-BN, projection shortcut when the shape changes, ReLU after the sum).
from torch_reference import BasicBlock

# ---------------------------------------------------------------- data


def load_split(tar_path, split):
    """Decodes every JPEG of one split once: uint8 N x 224 x 224 x 3 and int64 labels."""
    images, wnids = [], []
    with tarfile.open(tar_path, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) < 4 or parts[-3] != split:
                continue
            data = tar.extractfile(member).read()
            img = Image.open(io.BytesIO(data)).convert("RGB")
            images.append(np.asarray(img, dtype=np.uint8))
            wnids.append(parts[-2])
    classes = sorted(set(wnids))
    labels = np.array([classes.index(w) for w in wnids], dtype=np.int64)
    return np.stack(images), labels, classes


def channel_stats(images, chunk=512):
    """Per-channel mean and std in [0, 1], summed in float64 a chunk at a time: numpy's std of
    the whole uint8 array builds a float64 copy of it (11 GB for Imagenette's training split),
    which is how two of these runs started together got one of them OOM-killed."""
    total = np.zeros(3)
    squares = np.zeros(3)
    for i in range(0, len(images), chunk):
        block = images[i:i + chunk].reshape(-1, 3).astype(np.float64)
        total += block.sum(0)
        squares += (block * block).sum(0)
    n = images.shape[0] * images.shape[1] * images.shape[2]
    mean = total / n
    std = np.sqrt(squares / n - mean * mean)
    return (mean / 255).tolist(), (std / 255).tolist()


def _level(magnitude):
    return magnitude / 10.0


def _signed(value):
    return -value if random.random() < 0.5 else value


def _resample():
    return random.choice([Image.BILINEAR, Image.BICUBIC])


def _affine(img, coeffs, fill):
    return img.transform(img.size, Image.AFFINE, coeffs, resample=_resample(), fillcolor=fill)


def _solarize_add(img, magnitude):
    add = int(_level(magnitude) * 110)
    lut = [min(255, i + add) if i < 128 else i for i in range(256)] * 3
    return img.point(lut)


RAND_OPS = {
    "AutoContrast": lambda img, m, fill: ImageOps.autocontrast(img),
    "Equalize": lambda img, m, fill: ImageOps.equalize(img),
    "Invert": lambda img, m, fill: ImageOps.invert(img),
    "Rotate": lambda img, m, fill: img.rotate(
        _signed(_level(m) * 30.0), resample=_resample(), fillcolor=fill
    ),
    "PosterizeIncreasing": lambda img, m, fill: ImageOps.posterize(img, 4 - int(_level(m) * 4)),
    "SolarizeIncreasing": lambda img, m, fill: ImageOps.solarize(img, 256 - int(_level(m) * 256)),
    "SolarizeAdd": lambda img, m, fill: _solarize_add(img, m),
    "ColorIncreasing": lambda img, m, fill: ImageEnhance.Color(img).enhance(
        1.0 + _signed(_level(m) * 0.9)
    ),
    "ContrastIncreasing": lambda img, m, fill: ImageEnhance.Contrast(img).enhance(
        1.0 + _signed(_level(m) * 0.9)
    ),
    "BrightnessIncreasing": lambda img, m, fill: ImageEnhance.Brightness(img).enhance(
        1.0 + _signed(_level(m) * 0.9)
    ),
    "SharpnessIncreasing": lambda img, m, fill: ImageEnhance.Sharpness(img).enhance(
        1.0 + _signed(_level(m) * 0.9)
    ),
    "ShearX": lambda img, m, fill: _affine(img, (1, _signed(_level(m) * 0.3), 0, 0, 1, 0), fill),
    "ShearY": lambda img, m, fill: _affine(img, (1, 0, 0, _signed(_level(m) * 0.3), 1, 0), fill),
    "TranslateXRel": lambda img, m, fill: _affine(
        img, (1, 0, _signed(_level(m) * 0.45) * img.size[0], 0, 1, 0), fill
    ),
    "TranslateYRel": lambda img, m, fill: _affine(
        img, (1, 0, 0, 0, 1, _signed(_level(m) * 0.45) * img.size[1]), fill
    ),
}


class RandAugment:
    """timm's rand-m{m}-n2-mstd0.5-inc1: two ops with replacement, each applied with
    probability 0.5 at a magnitude drawn from N(m, 0.5) clipped to [0, 10]."""

    def __init__(self, magnitude, fill, num_ops=2, std=0.5, prob=0.5):
        self.magnitude, self.fill, self.num_ops, self.std, self.prob = (
            magnitude, fill, num_ops, std, prob)

    def __call__(self, img):
        for name in random.choices(list(RAND_OPS), k=self.num_ops):
            if random.random() > self.prob:
                continue
            m = min(10.0, max(0.0, random.gauss(self.magnitude, self.std)))
            img = RAND_OPS[name](img, m, self.fill)
        return img


class Split(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def seed_worker(worker_id):
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


# ---------------------------------------------------------------- model


class ResNet(nn.Module):
    def __init__(self, widths, layers=(2, 2, 2, 2), num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        blocks, in_c = [], widths[0]
        for stage, (n, width) in enumerate(zip(layers, widths)):
            for j in range(n):
                blocks.append(BasicBlock(in_c, width, 2 if j == 0 and stage > 0 else 1))
                in_c = width
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(in_c, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        for b in blocks:
            nn.init.zeros_(b.bn2.weight)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# ---------------------------------------------------------------- training


def learning_rate(progress, base, warmup_fraction, floor=1e-5):
    if progress < warmup_fraction:
        return base * progress / warmup_fraction
    rest = (progress - warmup_fraction) / (1 - warmup_fraction)
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * rest))


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    loss_sum = 0.0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            total += len(y)
    model.train()
    return correct / total, loss_sum / total


def write_json(path, value):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="imagenette2-224.tar.gz")
    p.add_argument("--out", required=True, help="folder for log.jsonl and summary.json")
    p.add_argument("--width", type=int, default=32, help="stem and first-stage width (64: ResNet-18)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--optimizer", choices=["adamw", "sgd"], default="adamw",
                   help="sgd: Nesterov momentum 0.9")
    p.add_argument("--weight-decay", type=float, default=None,
                   help="on conv/linear weights only (default 0.05 for adamw, 5e-4 for sgd)")
    p.add_argument("--magnitude", type=float, default=9.0)
    p.add_argument("--rrc-scale", type=float, default=0.08, help="RandomResizedCrop's smallest area")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if not os.path.isfile(args.data):
        p.error(f"--data {args.data}: no such file")
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(args.seed)
    random.seed(args.seed)

    t0 = time.time()
    train_x, train_y, classes = load_split(args.data, "train")
    val_x, val_y, _ = load_split(args.data, "val")
    mean, std = channel_stats(train_x)
    print(f"decoded {len(train_y)} train / {len(val_y)} val in {time.time() - t0:.1f} s; "
          f"mean {mean} std {std}", flush=True)

    normalize = [transforms.ToTensor(), transforms.Normalize(mean, std)]
    train_tf = transforms.Compose([
        transforms.RandomResizedCrop(args.size, scale=(args.rrc_scale, 1.0),
                                     interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.RandomHorizontalFlip(),
        RandAugment(args.magnitude, tuple(round(m * 255) for m in mean)),
        *normalize,
    ])
    eval_tf = transforms.Compose([
        transforms.Resize(math.floor(args.size / 0.875),
                          interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(args.size),
        *normalize,
    ])
    train_loader = torch.utils.data.DataLoader(
        Split(train_x, train_y, train_tf), batch_size=args.batch_size, shuffle=True,
        drop_last=True, num_workers=1, worker_init_fn=seed_worker, persistent_workers=True)
    val_loader = torch.utils.data.DataLoader(
        Split(val_x, val_y, eval_tf), batch_size=100, num_workers=1)

    widths = [args.width * 2**i for i in range(4)]
    model = ResNet(widths, num_classes=len(classes))
    params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    weight_decay = args.weight_decay
    if weight_decay is None:
        weight_decay = 0.05 if args.optimizer == "adamw" else 5e-4
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    if args.optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=args.lr)
    else:
        opt = torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    steps_per_epoch = len(train_loader)
    total_steps = steps_per_epoch * args.epochs
    print(f"resnet widths {widths}: {params} parameters; {steps_per_epoch} steps/epoch, "
          f"threads {torch.get_num_threads()}", flush=True)

    log_path = os.path.join(args.out, "log.jsonl")
    open(log_path, "w").close()  # a rerun into the same folder starts a fresh log, not a mixed one
    step, train_seconds, best = 0, 0.0, 0.0
    for epoch in range(args.epochs):
        loss_sum, seen, epoch_start = 0.0, 0, time.time()
        for x, y in train_loader:
            for group in opt.param_groups:
                group["lr"] = learning_rate(step / total_steps, args.lr, 1 / args.epochs)
            loss = F.cross_entropy(model(x), y, label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(y)
            seen += len(y)
            step += 1
        epoch_seconds = time.time() - epoch_start
        train_seconds += epoch_seconds
        top1, test_loss = evaluate(model, val_loader)
        best = max(best, top1)
        row = {"epoch": epoch + 1, "trainLoss": loss_sum / seen, "top1": top1,
               "testLoss": test_loss, "epochSeconds": epoch_seconds,
               "imagesPerSecond": seen / epoch_seconds, "trainSeconds": train_seconds}
        with open(log_path, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)
    write_json(os.path.join(args.out, "summary.json"), {
        "framework": f"pytorch {torch.__version__}", "widths": widths, "parameters": params,
        "epochs": args.epochs, "imageSize": args.size, "lr": args.lr,
        "optimizer": args.optimizer, "weightDecay": weight_decay,
        "magnitude": args.magnitude, "rrcScale": args.rrc_scale, "seed": args.seed, "top1": top1, "bestTop1": best,
        "trainSeconds": train_seconds, "threads": torch.get_num_threads()})


if __name__ == "__main__":
    main()
