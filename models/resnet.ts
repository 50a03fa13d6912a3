/**
 * ResNet (He et al. 2016) as in torchvision/timm: BasicBlock and Bottleneck (stride on the
 * 3×3 conv, "v1.5"), projection shortcuts (1×1 conv + BN), He fan-out init, optional
 * zero-init of each block's last BN gamma (default on for the ImageNet variants, off for the
 * small-stem ones). Small-image variants use a 3×3 stride-1 stem and
 * no max-pool; the classic CIFAR ResNets (`resnet8/20_cifar`, He et al. §4.2) have three
 * stages of widths 16/32/64 with n BasicBlocks each and projection ("option B") shortcuts.
 *
 * @module
 */
import type * as tfTypes from "@tensorflow/tfjs-core";
import * as tf from "@tensorflow/tfjs-core";
import type { Model, Rng } from "@efficienttrain/core";
import {
  type CreateModelOptions,
  type InputRule,
  type ModelFamily,
  resolveCreateOptions,
  type ResolvedOptions,
  SpecModel,
} from "./base.ts";
import { batchNorm, conv2d, convOut, dropPath, dropPathRates, linear, SpecList } from "./layers.ts";

/** Architecture of one ResNet variant. */
export interface ResNetConfig {
  readonly block: "basic" | "bottleneck";
  /** Blocks per stage. */
  readonly layers: readonly number[];
  /** Bottleneck widths per stage (outputs are ×4 for bottleneck blocks). */
  readonly widths: readonly number[];
  /** `imagenet`: 7×7/2 conv + 3×3/2 max-pool; `small`: 3×3/1 conv, no pool. */
  readonly stem: "imagenet" | "small";
  readonly stemWidth: number;
  /** The side the variant is built for by default (any side ≥ the input rule's minimum works). */
  readonly defaultSize: number;
}

const K = { kind: "kaiming_fan_out" } as const;

function expansion(cfg: ResNetConfig): number {
  return cfg.block === "basic" ? 1 : 4;
}

interface BlockGeom {
  readonly prefix: string;
  readonly inC: number;
  readonly width: number;
  readonly outC: number;
  readonly stride: number;
  readonly downsample: boolean;
}

function blocks(cfg: ResNetConfig): BlockGeom[] {
  const out: BlockGeom[] = [];
  let inC = cfg.stemWidth;
  cfg.layers.forEach((n, s) => {
    const width = cfg.widths[s];
    const outC = width * expansion(cfg);
    for (let j = 0; j < n; j++) {
      const stride = j === 0 && s > 0 ? 2 : 1;
      out.push({
        prefix: `layer${s + 1}.${j}`,
        inC,
        width,
        outC,
        stride,
        downsample: stride !== 1 || inC !== outC,
      });
      inC = outC;
    }
  });
  return out;
}

/**
 * Parameter specs of a ResNet (state-dict names and order as torchvision).
 *
 * @example
 * ```ts
 * import { RESNET_CONFIGS, resnetSpecs } from "@efficienttrain/models";
 * console.assert(resnetSpecs(RESNET_CONFIGS.resnet50, { numClasses: 1000, inChans: 3 })
 *   .countParams() === 25557032);
 * ```
 */
export function resnetSpecs(
  cfg: ResNetConfig,
  options: { numClasses: number; inChans: number; zeroInitLast?: boolean },
): SpecList {
  const s = new SpecList();
  const k = cfg.stem === "imagenet" ? 7 : 3;
  s.conv("conv1", options.inChans, cfg.stemWidth, { k, init: K });
  s.batchNorm("bn1", cfg.stemWidth);
  const zero = options.zeroInitLast ?? zeroInitLastDefault(cfg);
  for (const b of blocks(cfg)) {
    if (cfg.block === "basic") {
      s.conv(`${b.prefix}.conv1`, b.inC, b.width, { k: 3, init: K });
      s.batchNorm(`${b.prefix}.bn1`, b.width);
      s.conv(`${b.prefix}.conv2`, b.width, b.outC, { k: 3, init: K });
      s.batchNorm(`${b.prefix}.bn2`, b.outC, { zeroGamma: zero });
    } else {
      s.conv(`${b.prefix}.conv1`, b.inC, b.width, { k: 1, init: K });
      s.batchNorm(`${b.prefix}.bn1`, b.width);
      s.conv(`${b.prefix}.conv2`, b.width, b.width, { k: 3, init: K });
      s.batchNorm(`${b.prefix}.bn2`, b.width);
      s.conv(`${b.prefix}.conv3`, b.width, b.outC, { k: 1, init: K });
      s.batchNorm(`${b.prefix}.bn3`, b.outC, { zeroGamma: zero });
    }
    if (b.downsample) {
      s.conv(`${b.prefix}.downsample.0`, b.inC, b.outC, { k: 1, init: K });
      s.batchNorm(`${b.prefix}.downsample.1`, b.outC);
    }
  }
  if (options.numClasses > 0) s.linear("fc", featureDim(cfg), options.numClasses);
  return s;
}

/**
 * Whether the last BN gamma of each block starts at zero unless the caller says otherwise:
 * yes for the ImageNet ResNets (timm's default), no for the small-stem ones (He et al.'s
 * CIFAR recipe). On tiny nets the zero start costs much of a short schedule: resnet8_cifar,
 * 3 epochs on 4,000 MNIST images, reached 74% test accuracy with it and 95% without.
 */
function zeroInitLastDefault(cfg: ResNetConfig): boolean {
  return cfg.stem === "imagenet";
}

function featureDim(cfg: ResNetConfig): number {
  return cfg.widths[cfg.widths.length - 1] * expansion(cfg);
}

/**
 * Legal input sides of a resnet configuration.
 *
 * @example
 * ```ts
 * import { RESNET_CONFIGS, resnetInputRule } from "@efficienttrain/models";
 * console.assert(resnetInputRule(Object.values(RESNET_CONFIGS)[0]).min > 0);
 * ```
 */
export function resnetInputRule(cfg: ResNetConfig): InputRule {
  const stemStride = cfg.stem === "imagenet" ? 4 : 1;
  return { min: stemStride * 2 ** (cfg.layers.length - 1), step: 1 };
}

/**
 * Forward FLOPs (2 × multiply-adds of convs and the classifier) for one image.
 *
 * @example
 * ```ts
 * import { RESNET_CONFIGS, resnetFlops } from "@efficienttrain/models";
 * const g = resnetFlops(RESNET_CONFIGS.resnet50, 224, { numClasses: 1000, inChans: 3 }) / 1e9;
 * console.assert(g > 8.1 && g < 8.3);
 * ```
 */
export function resnetFlops(
  cfg: ResNetConfig,
  size: number,
  options: { numClasses: number; inChans: number },
): number {
  let f = 0;
  let h: number;
  if (cfg.stem === "imagenet") {
    h = convOut(size, 7, 2, 3);
    f += 2 * 49 * options.inChans * cfg.stemWidth * h * h;
    h = convOut(h, 3, 2, 1);
  } else {
    h = size;
    f += 2 * 9 * options.inChans * cfg.stemWidth * h * h;
  }
  for (const b of blocks(cfg)) {
    const ho = convOut(h, 3, b.stride, 1);
    if (cfg.block === "basic") {
      f += 2 * 9 * b.inC * b.width * ho * ho + 2 * 9 * b.width * b.outC * ho * ho;
    } else {
      f += 2 * b.inC * b.width * h * h + 2 * 9 * b.width * b.width * ho * ho +
        2 * b.width * b.outC * ho * ho;
    }
    if (b.downsample) f += 2 * b.inC * b.outC * ho * ho;
    h = ho;
  }
  return f + 2 * featureDim(cfg) * options.numClasses;
}

/**
 * Side of each stage's feature map (after the stem, then after every stage) at input `size`.
 *
 * @example
 * ```ts
 * import { RESNET_CONFIGS, resnetMapSides } from "@efficienttrain/models";
 * console.assert(resnetMapSides(RESNET_CONFIGS.resnet50, 224).join() === "56,56,28,14,7");
 * ```
 */
export function resnetMapSides(cfg: ResNetConfig, size: number): number[] {
  let h = cfg.stem === "imagenet" ? convOut(convOut(size, 7, 2, 3), 3, 2, 1) : size;
  const sides = [Math.max(0, h)];
  cfg.layers.forEach((_, s) => {
    // Only a stage's first block strides (by 2, from the second stage on).
    h = convOut(h, 3, s > 0 ? 2 : 1, 1);
    sides.push(Math.max(0, h));
  });
  return sides;
}

class ResNet extends SpecModel {
  readonly #cfg: ResNetConfig;
  readonly #blocks: BlockGeom[];
  readonly #dpr: number[];

  constructor(
    name: string,
    cfg: ResNetConfig,
    options: ResolvedOptions & { zeroInitLast: boolean },
  ) {
    super(name, resnetSpecs(cfg, options).specs, options);
    this.#cfg = cfg;
    this.#blocks = blocks(cfg);
    this.#dpr = dropPathRates(options.dropPathRate, this.#blocks.length);
  }

  get rule(): InputRule {
    return resnetInputRule(this.#cfg);
  }

  protected flopsAt(size: number): number {
    return resnetFlops(this.#cfg, size, this);
  }

  protected mapSidesAt(size: number): number[] {
    return resnetMapSides(this.#cfg, size);
  }

  protected features(x: tfTypes.Tensor4D, training: boolean, rng?: Rng): tfTypes.Tensor2D {
    const cfg = this.#cfg;
    const bn = (y: tfTypes.Tensor4D, n: string) => batchNorm(y, this.bn(n), { training });
    const conv = (y: tfTypes.Tensor4D, n: string, stride: number, pad: number) =>
      conv2d(y, this.p(`${n}.weight`), { stride, pad });
    let h: tfTypes.Tensor4D;
    if (cfg.stem === "imagenet") {
      h = tf.relu(bn(conv(x, "conv1", 2, 3), "bn1"));
      h = tf.maxPool(h, 3, 2, 1);
    } else {
      h = tf.relu(bn(conv(x, "conv1", 1, 1), "bn1"));
    }
    this.#blocks.forEach((b, i) => {
      const p = b.prefix;
      const input = h;
      h = this.block(training, () => {
        let y: tfTypes.Tensor4D;
        if (cfg.block === "basic") {
          y = tf.relu(bn(conv(input, `${p}.conv1`, b.stride, 1), `${p}.bn1`));
          y = bn(conv(y, `${p}.conv2`, 1, 1), `${p}.bn2`);
        } else {
          y = tf.relu(bn(conv(input, `${p}.conv1`, 1, 0), `${p}.bn1`));
          y = tf.relu(bn(conv(y, `${p}.conv2`, b.stride, 1), `${p}.bn2`));
          y = bn(conv(y, `${p}.conv3`, 1, 0), `${p}.bn3`);
        }
        const shortcut = b.downsample
          ? bn(conv(input, `${p}.downsample.0`, b.stride, 0), `${p}.downsample.1`)
          : input;
        return tf.relu(tf.add(dropPath(y, this.#dpr[i], rng), shortcut));
      });
    });
    return tf.mean(h, [1, 2]);
  }

  protected head(features: tfTypes.Tensor2D): tfTypes.Tensor2D {
    if (this.numClasses === 0) return features;
    return linear(features, this.p("fc.weight"), this.p("fc.bias"));
  }
}

/** The ResNet variants of the registry. */
export const RESNET_CONFIGS: {
  readonly resnet18: ResNetConfig;
  readonly resnet34: ResNetConfig;
  readonly resnet50: ResNetConfig;
  readonly resnet18_half: ResNetConfig;
  readonly resnet18_cifar: ResNetConfig;
  readonly resnet8_cifar: ResNetConfig;
  readonly resnet20_cifar: ResNetConfig;
  readonly test_resnet: ResNetConfig;
} = {
  resnet18: {
    block: "basic",
    layers: [2, 2, 2, 2],
    widths: [64, 128, 256, 512],
    stem: "imagenet",
    stemWidth: 64,
    defaultSize: 224,
  },
  resnet34: {
    block: "basic",
    layers: [3, 4, 6, 3],
    widths: [64, 128, 256, 512],
    stem: "imagenet",
    stemWidth: 64,
    defaultSize: 224,
  },
  resnet50: {
    block: "bottleneck",
    layers: [3, 4, 6, 3],
    widths: [64, 128, 256, 512],
    stem: "imagenet",
    stemWidth: 64,
    defaultSize: 224,
  },
  resnet18_half: {
    block: "basic",
    layers: [2, 2, 2, 2],
    widths: [32, 64, 128, 256],
    stem: "imagenet",
    stemWidth: 32,
    defaultSize: 128,
  },
  resnet18_cifar: {
    block: "basic",
    layers: [2, 2, 2, 2],
    widths: [64, 128, 256, 512],
    stem: "small",
    stemWidth: 64,
    defaultSize: 32,
  },
  resnet8_cifar: {
    block: "basic",
    layers: [1, 1, 1],
    widths: [16, 32, 64],
    stem: "small",
    stemWidth: 16,
    defaultSize: 32,
  },
  resnet20_cifar: {
    block: "basic",
    layers: [3, 3, 3],
    widths: [16, 32, 64],
    stem: "small",
    stemWidth: 16,
    defaultSize: 32,
  },
  test_resnet: {
    block: "bottleneck",
    layers: [1, 1],
    widths: [4, 8],
    stem: "small",
    stemWidth: 8,
    defaultSize: 8,
  },
};

/**
 * Build a ResNet with allocated, initialised parameters.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createResNet, RESNET_CONFIGS } from "@efficienttrain/models";
 * const m = createResNet("resnet8_cifar", RESNET_CONFIGS.resnet8_cifar, { numClasses: 10 });
 * const y = m.forward(tf.zeros([2, 28, 28, 3]), { training: false });
 * console.assert(y.shape.join() === "2,10");
 * m.dispose();
 * ```
 */
export function createResNet(
  name: string,
  cfg: ResNetConfig,
  options: CreateModelOptions = {},
): Model {
  return new ResNet(name, cfg, {
    ...resolveCreateOptions(cfg, options),
    zeroInitLast: options.zeroInitLast ?? zeroInitLastDefault(cfg),
  });
}

/**
 * The ResNet (He et al.; timm `resnet.py`) family for the registry: its variants and the functions behind
 * `modelInfo` and `createModel`.
 *
 * @example
 * ```ts
 * import { resnetFamily } from "@efficienttrain/models";
 * console.assert(Object.keys(resnetFamily.configs).length > 0 && resnetFamily.name === "resnet");
 * ```
 */
export const resnetFamily: ModelFamily<ResNetConfig> = {
  name: "resnet",
  configs: RESNET_CONFIGS,
  inputRule: resnetInputRule,
  specs: resnetSpecs,
  flops: resnetFlops,
  create: createResNet,
};
