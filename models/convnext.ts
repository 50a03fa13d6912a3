/**
 * ConvNeXt (Liu et al. 2022) as in timm: patchify stem + LayerNorm, stages of
 * depthwise 7×7 → LayerNorm → Linear 4C → GELU → Linear C → layer scale (1e-6) → drop path,
 * LN + 2×2/2 conv downsampling, global average pool → LN → classifier. Conv and linear
 * weights are truncated-normal(0.02), biases zero. Small-image variants shrink the stem
 * patch to 2 or 1 so a 32 px input keeps a 16×16 or 32×32 first stage.
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
import {
  conv2d,
  convOut,
  depthwiseConv2d,
  dropPath,
  dropPathRates,
  gelu,
  layerNorm,
  linear,
  SpecList,
} from "./layers.ts";

/** Architecture of one ConvNeXt variant. */
export interface ConvNeXtConfig {
  readonly depths: readonly number[];
  readonly dims: readonly number[];
  /** Stem patch size (4 for ImageNet, 2 or 1 for 32 px inputs). */
  readonly patch: number;
  readonly defaultSize: number;
}

const TN = { kind: "trunc_normal", std: 0.02 } as const;
const ZERO = { kind: "zeros" } as const;
const EPS = 1e-6;

/**
 * Parameter specs of a ConvNeXt (timm state-dict names).
 *
 * @example
 * ```ts
 * import { CONVNEXT_CONFIGS, convnextSpecs } from "@efficienttrain/models";
 * const s = convnextSpecs(CONVNEXT_CONFIGS.convnext_tiny, { numClasses: 1000, inChans: 3 });
 * console.assert(s.countParams() === 28589128);
 * ```
 */
export function convnextSpecs(
  cfg: ConvNeXtConfig,
  options: { numClasses: number; inChans: number; layerScaleInit?: number },
): SpecList {
  const s = new SpecList();
  const ls = options.layerScaleInit ?? 1e-6;
  s.conv("stem.0", options.inChans, cfg.dims[0], {
    k: cfg.patch,
    bias: true,
    init: TN,
    biasInit: ZERO,
  });
  s.norm("stem.1", cfg.dims[0]);
  cfg.depths.forEach((depth, i) => {
    const dim = cfg.dims[i];
    if (i > 0) {
      s.norm(`stages.${i}.downsample.0`, cfg.dims[i - 1]);
      s.conv(`stages.${i}.downsample.1`, cfg.dims[i - 1], dim, {
        k: 2,
        bias: true,
        init: TN,
        biasInit: ZERO,
      });
    }
    for (let j = 0; j < depth; j++) {
      const p = `stages.${i}.blocks.${j}`;
      s.dwconv(`${p}.conv_dw`, dim, { k: 7, init: TN });
      s.norm(`${p}.norm`, dim);
      s.linear(`${p}.mlp.fc1`, dim, 4 * dim, { init: TN, biasInit: ZERO });
      s.linear(`${p}.mlp.fc2`, 4 * dim, dim, { init: TN, biasInit: ZERO });
      s.vector(`${p}.gamma`, dim, { kind: "const", value: ls });
    }
  });
  const last = cfg.dims[cfg.dims.length - 1];
  s.norm("head.norm", last);
  if (options.numClasses > 0) {
    s.linear("head.fc", last, options.numClasses, { init: TN, biasInit: ZERO });
  }
  return s;
}

/**
 * Legal input sides of a convnext configuration.
 *
 * @example
 * ```ts
 * import { CONVNEXT_CONFIGS, convnextInputRule } from "@efficienttrain/models";
 * console.assert(convnextInputRule(Object.values(CONVNEXT_CONFIGS)[0]).min > 0);
 * ```
 */
export function convnextInputRule(cfg: ConvNeXtConfig): InputRule {
  return { min: cfg.patch * 2 ** (cfg.depths.length - 1), step: 1 };
}

/**
 * Forward FLOPs (2 × multiply-adds of convs and linears) for one image.
 *
 * @example
 * ```ts
 * import { CONVNEXT_CONFIGS, convnextFlops } from "@efficienttrain/models";
 * const cfg = CONVNEXT_CONFIGS.convnext_tiny;
 * const g = convnextFlops(cfg, 224, { numClasses: 1000, inChans: 3 }) / 1e9;
 * console.assert(g > 8.8 && g < 9.0);
 * ```
 */
export function convnextFlops(
  cfg: ConvNeXtConfig,
  size: number,
  options: { numClasses: number; inChans: number },
): number {
  let h = convOut(size, cfg.patch, cfg.patch, 0);
  let f = 2 * cfg.patch * cfg.patch * options.inChans * cfg.dims[0] * h * h;
  cfg.depths.forEach((depth, i) => {
    const dim = cfg.dims[i];
    if (i > 0) {
      h = convOut(h, 2, 2, 0);
      f += 2 * 4 * cfg.dims[i - 1] * dim * h * h;
    }
    const l = h * h;
    f += depth * (2 * 49 * dim * l + 2 * 2 * l * dim * 4 * dim);
  });
  return f + 2 * cfg.dims[cfg.dims.length - 1] * options.numClasses;
}

/**
 * Side of each stage's feature map at input `size` (patchify stem, then 2×2 stride-2
 * downsampling, both unpadded, so a side that does not divide is floored).
 *
 * @example
 * ```ts
 * import { CONVNEXT_CONFIGS, convnextMapSides } from "@efficienttrain/models";
 * console.assert(convnextMapSides(CONVNEXT_CONFIGS.convnext_tiny, 224).join() === "56,28,14,7");
 * ```
 */
export function convnextMapSides(cfg: ConvNeXtConfig, size: number): number[] {
  let h = convOut(size, cfg.patch, cfg.patch, 0);
  return cfg.depths.map((_, i) => {
    if (i > 0) h = convOut(h, 2, 2, 0);
    return Math.max(0, h);
  });
}

class ConvNeXt extends SpecModel {
  readonly #cfg: ConvNeXtConfig;
  readonly #dpr: number[];

  constructor(
    name: string,
    cfg: ConvNeXtConfig,
    options: ResolvedOptions & { layerScaleInit: number },
  ) {
    super(name, convnextSpecs(cfg, options).specs, options);
    this.#cfg = cfg;
    this.#dpr = dropPathRates(options.dropPathRate, cfg.depths.reduce((a, b) => a + b, 0));
  }

  get rule(): InputRule {
    return convnextInputRule(this.#cfg);
  }

  protected flopsAt(size: number): number {
    return convnextFlops(this.#cfg, size, this);
  }

  protected mapSidesAt(size: number): number[] {
    return convnextMapSides(this.#cfg, size);
  }

  protected features(x: tfTypes.Tensor4D, training: boolean, rng?: Rng): tfTypes.Tensor2D {
    const cfg = this.#cfg;
    const ln = <T extends tfTypes.Tensor>(y: T, n: string): T =>
      layerNorm(y, this.p(`${n}.weight`), this.p(`${n}.bias`), EPS);
    let h = conv2d(x, this.p("stem.0.weight"), { stride: cfg.patch, bias: this.p("stem.0.bias") });
    h = ln(h, "stem.1");
    let k = 0;
    cfg.depths.forEach((depth, i) => {
      if (i > 0) {
        const d = `stages.${i}.downsample`;
        h = conv2d(ln(h, `${d}.0`), this.p(`${d}.1.weight`), {
          stride: 2,
          bias: this.p(`${d}.1.bias`),
        });
      }
      for (let j = 0; j < depth; j++, k++) {
        const p = `stages.${i}.blocks.${j}`;
        const [input, dpr] = [h, this.#dpr[k]];
        h = this.block(training, () => {
          let y = depthwiseConv2d(input, this.p(`${p}.conv_dw.weight`), {
            pad: 3,
            bias: this.p(`${p}.conv_dw.bias`),
          });
          y = ln(y, `${p}.norm`);
          y = gelu(linear(y, this.p(`${p}.mlp.fc1.weight`), this.p(`${p}.mlp.fc1.bias`)));
          y = linear(y, this.p(`${p}.mlp.fc2.weight`), this.p(`${p}.mlp.fc2.bias`));
          y = tf.mul(y, this.p(`${p}.gamma`));
          return tf.add(input, dropPath(y, dpr, rng));
        });
      }
    });
    return ln(tf.mean(h, [1, 2]) as tfTypes.Tensor2D, "head.norm");
  }

  protected head(features: tfTypes.Tensor2D): tfTypes.Tensor2D {
    if (this.numClasses === 0) return features;
    return linear(features, this.p("head.fc.weight"), this.p("head.fc.bias"));
  }
}

/** The ConvNeXt variants of the registry. */
export const CONVNEXT_CONFIGS: {
  readonly convnext_tiny: ConvNeXtConfig;
  readonly convnext_small: ConvNeXtConfig;
  readonly convnext_base: ConvNeXtConfig;
  readonly convnext_atto: ConvNeXtConfig;
  readonly convnext_atto_patch2_32: ConvNeXtConfig;
  readonly convnext_atto_patch1_32: ConvNeXtConfig;
  readonly convnext_micro_patch2_32: ConvNeXtConfig;
  readonly test_convnext: ConvNeXtConfig;
} = {
  convnext_tiny: { depths: [3, 3, 9, 3], dims: [96, 192, 384, 768], patch: 4, defaultSize: 224 },
  convnext_small: { depths: [3, 3, 27, 3], dims: [96, 192, 384, 768], patch: 4, defaultSize: 224 },
  convnext_base: { depths: [3, 3, 27, 3], dims: [128, 256, 512, 1024], patch: 4, defaultSize: 224 },
  convnext_atto: { depths: [2, 2, 6, 2], dims: [40, 80, 160, 320], patch: 4, defaultSize: 224 },
  convnext_atto_patch2_32: {
    depths: [2, 2, 6, 2],
    dims: [40, 80, 160, 320],
    patch: 2,
    defaultSize: 32,
  },
  convnext_atto_patch1_32: {
    depths: [2, 2, 6, 2],
    dims: [40, 80, 160, 320],
    patch: 1,
    defaultSize: 32,
  },
  convnext_micro_patch2_32: {
    depths: [1, 1, 3, 1],
    dims: [32, 64, 128, 256],
    patch: 2,
    defaultSize: 32,
  },
  test_convnext: { depths: [1, 1], dims: [8, 16], patch: 2, defaultSize: 16 },
};

/**
 * Build a ConvNeXt with allocated, initialised parameters.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { CONVNEXT_CONFIGS, createConvNeXt } from "@efficienttrain/models";
 * const m = createConvNeXt("test_convnext", CONVNEXT_CONFIGS.test_convnext, { numClasses: 3 });
 * console.assert(m.forward(tf.zeros([1, 16, 16, 3]), { training: false }).shape[1] === 3);
 * m.dispose();
 * ```
 */
export function createConvNeXt(
  name: string,
  cfg: ConvNeXtConfig,
  options: CreateModelOptions = {},
): Model {
  return new ConvNeXt(name, cfg, {
    ...resolveCreateOptions(cfg, options),
    layerScaleInit: options.layerScaleInit ?? 1e-6,
  });
}

/**
 * The ConvNeXt family for the registry: its variants and the functions behind
 * `modelInfo` and `createModel`.
 *
 * @example
 * ```ts
 * import { convnextFamily } from "@efficienttrain/models";
 * console.assert(Object.keys(convnextFamily.configs).length > 0 && convnextFamily.name === "convnext");
 * ```
 */
export const convnextFamily: ModelFamily<ConvNeXtConfig> = {
  name: "convnext",
  configs: CONVNEXT_CONFIGS,
  inputRule: convnextInputRule,
  specs: convnextSpecs,
  flops: convnextFlops,
  create: createConvNeXt,
};
