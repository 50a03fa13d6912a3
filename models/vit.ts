/**
 * DeiT as a ViT configuration (Touvron et al. 2021; timm `VisionTransformer`): patch
 * embedding conv, cls token, absolute position embedding, pre-norm blocks (LN ε=1e-6,
 * MHSA with qkv bias, MLP ×4 with exact GELU), final LN, head on the cls token. Linear
 * weights and the position embedding are truncated-normal(0.02), the cls token normal(1e-6),
 * the patch conv keeps PyTorch's default init (as timm).
 *
 * A new input size changes the patch grid: `setInputSize` resamples the position embedding
 * (cls excluded, bicubic with antialias as timm's `resample_abs_pos_embed`) and returns that
 * map; a forward at another legal size resamples on the fly with the same linear map.
 *
 * @module
 */
import type * as tfTypes from "@tensorflow/tfjs-core";
import * as tf from "@tensorflow/tfjs-core";
import type { Model, ParamResample, Rng } from "@efficienttrain/core";
import {
  type CreateModelOptions,
  type InputRule,
  type ModelFamily,
  resolveCreateOptions,
  type ResolvedOptions,
  SpecModel,
} from "./base.ts";
import { conv2d, dropPath, dropPathRates, gelu, layerNorm, linear, SpecList } from "./layers.ts";
import { attention as scaledDotProduct, splitHeads } from "./attention.ts";
import { bicubicMatrix2d, resamplePosEmbed } from "./resample.ts";

/** Architecture of one ViT/DeiT variant. */
export interface ViTConfig {
  readonly patch: number;
  readonly dim: number;
  readonly depth: number;
  readonly heads: number;
  readonly mlpRatio: number;
  readonly defaultSize: number;
}

const TN = { kind: "trunc_normal", std: 0.02 } as const;
const ZERO = { kind: "zeros" } as const;
const EPS = 1e-6;

/**
 * Parameter specs of a ViT at input side `imgSize` (timm state-dict names).
 *
 * @example
 * ```ts
 * import { VIT_CONFIGS, vitSpecs } from "@efficienttrain/models";
 * const s = vitSpecs(VIT_CONFIGS.deit_tiny_patch16_224, { numClasses: 1000, inChans: 3, imgSize: 224 });
 * console.assert(s.countParams() === 5717416);
 * ```
 */
export function vitSpecs(
  cfg: ViTConfig,
  options: { numClasses: number; inChans: number; imgSize: number },
): SpecList {
  const s = new SpecList();
  const d = cfg.dim;
  const grid = Math.floor(options.imgSize / cfg.patch);
  s.add({
    name: "cls_token",
    shape: [1, 1, d],
    layout: "plain",
    init: { kind: "normal", std: 1e-6 },
    decay: false,
    buffer: false,
  });
  s.add({
    name: "pos_embed",
    shape: [1, 1 + grid * grid, d],
    layout: "plain",
    init: TN,
    decay: false,
    buffer: false,
  });
  s.conv("patch_embed.proj", options.inChans, d, { k: cfg.patch, bias: true });
  const hidden = Math.round(d * cfg.mlpRatio);
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    s.norm(`${p}.norm1`, d);
    s.linear(`${p}.attn.qkv`, d, 3 * d, { init: TN, biasInit: ZERO });
    s.linear(`${p}.attn.proj`, d, d, { init: TN, biasInit: ZERO });
    s.norm(`${p}.norm2`, d);
    s.linear(`${p}.mlp.fc1`, d, hidden, { init: TN, biasInit: ZERO });
    s.linear(`${p}.mlp.fc2`, hidden, d, { init: TN, biasInit: ZERO });
  }
  s.norm("norm", d);
  if (options.numClasses > 0) s.linear("head", d, options.numClasses, { init: TN, biasInit: ZERO });
  return s;
}

/**
 * Legal input sides of a ViT: multiples of the patch size.
 *
 * @example
 * ```ts
 * import { VIT_CONFIGS, vitInputRule } from "@efficienttrain/models";
 * console.assert(vitInputRule(VIT_CONFIGS.deit_tiny_patch4_32).step === 4);
 * ```
 */
export function vitInputRule(cfg: ViTConfig): InputRule {
  return { min: cfg.patch, step: cfg.patch };
}

/**
 * Forward FLOPs (2 × multiply-adds of the patch conv, all linears and both attention
 * matmuls) for one image.
 *
 * @example
 * ```ts
 * import { VIT_CONFIGS, vitFlops } from "@efficienttrain/models";
 * const g = vitFlops(VIT_CONFIGS.deit_tiny_patch16_224, 224, { numClasses: 1000, inChans: 3 });
 * console.assert(g / 1e9 > 2.5 && g / 1e9 < 2.6);
 * ```
 */
export function vitFlops(
  cfg: ViTConfig,
  size: number,
  options: { numClasses: number; inChans: number },
): number {
  const g = Math.floor(size / cfg.patch);
  const n = 1 + g * g, d = cfg.dim, hidden = Math.round(d * cfg.mlpRatio);
  const patch = 2 * cfg.patch * cfg.patch * options.inChans * d * g * g;
  const block = 2 * n * d * 3 * d + 2 * 2 * n * n * d + 2 * n * d * d + 2 * 2 * n * d * hidden;
  return patch + cfg.depth * block + 2 * d * options.numClasses;
}

/** Multi-head self-attention on `[B, N, D]`, timm's `Attention` with qkv bias. */
function attention(
  x: tfTypes.Tensor3D,
  heads: number,
  w: { qkv: tfTypes.Tensor; qkvB: tfTypes.Tensor; proj: tfTypes.Tensor; projB: tfTypes.Tensor },
): tfTypes.Tensor3D {
  const hd = x.shape[2] / heads;
  const [q, k, v] = splitHeads(linear(x, w.qkv, w.qkvB), heads, { scale: hd ** -0.5 });
  return linear(scaledDotProduct(q, k, v), w.proj, w.projB);
}

class ViT extends SpecModel {
  readonly #cfg: ViTConfig;
  readonly #dpr: number[];
  /** On-the-fly resampling matrices, keyed `${from}->${to}`. */
  readonly #maps = new Map<string, tfTypes.Tensor2D>();

  constructor(name: string, cfg: ViTConfig, options: ResolvedOptions) {
    super(name, vitSpecs(cfg, options).specs, options);
    this.#cfg = cfg;
    this.#dpr = dropPathRates(options.dropPathRate, cfg.depth);
  }

  get rule(): InputRule {
    return vitInputRule(this.#cfg);
  }

  protected flopsAt(size: number): number {
    return vitFlops(this.#cfg, size, this);
  }

  /** One token grid (a ViT has no stages). */
  protected mapSidesAt(size: number): number[] {
    return [Math.floor(size / this.#cfg.patch)];
  }

  override setInputSize(size: number): ReadonlyMap<string, ParamResample> {
    this.checkSize(size, "size");
    const g0 = this.size / this.#cfg.patch, g1 = size / this.#cfg.patch;
    this.size = size;
    if (g0 === g1) return new Map();
    for (const m of this.#maps.values()) m.dispose();
    this.#maps.clear();
    const f = resamplePosEmbed(g0, g1, { prefixTokens: 1 });
    this.replaceParam("pos_embed", tf.tidy(() => f(this.p("pos_embed"))));
    return new Map([["pos_embed", f]]);
  }

  /** The position embedding for grid `g`, resampled on the fly when `g` is not current. */
  #posEmbed(g: number): tfTypes.Tensor {
    const pos = this.p("pos_embed");
    const g0 = this.size / this.#cfg.patch;
    if (g === g0) return pos;
    const key = `${g0}->${g}`;
    let m = this.#maps.get(key);
    if (m === undefined) {
      m = tf.keep(
        tf.tensor2d(
          Float32Array.from(bicubicMatrix2d(g0, g, { antialias: true })),
          [g * g, g0 * g0],
        ),
      );
      this.#maps.set(key, m);
    }
    const d = this.#cfg.dim;
    const [cls, grid] = tf.split(tf.reshape(pos, [1 + g0 * g0, d]), [1, g0 * g0], 0);
    return tf.reshape(tf.concat([cls, tf.matMul(m, grid as tfTypes.Tensor2D)], 0), [
      1,
      1 + g * g,
      d,
    ]);
  }

  protected features(x: tfTypes.Tensor4D, training: boolean, rng?: Rng): tfTypes.Tensor2D {
    const cfg = this.#cfg;
    const b = x.shape[0], g = x.shape[1] / cfg.patch, d = cfg.dim;
    const ln = <T extends tfTypes.Tensor>(y: T, n: string): T =>
      layerNorm(y, this.p(`${n}.weight`), this.p(`${n}.bias`), EPS);
    const patches = conv2d(x, this.p("patch_embed.proj.weight"), {
      stride: cfg.patch,
      bias: this.p("patch_embed.proj.bias"),
    });
    const cls = tf.tile(this.p("cls_token"), [b, 1, 1]);
    let h = tf.concat([cls, tf.reshape(patches, [b, g * g, d])], 1) as tfTypes.Tensor3D;
    h = tf.add(h, this.#posEmbed(g));
    for (let i = 0; i < cfg.depth; i++) {
      const p = `blocks.${i}`;
      const input = h;
      h = this.block(training, () => {
        const a = attention(ln(input, `${p}.norm1`), cfg.heads, {
          qkv: this.p(`${p}.attn.qkv.weight`),
          qkvB: this.p(`${p}.attn.qkv.bias`),
          proj: this.p(`${p}.attn.proj.weight`),
          projB: this.p(`${p}.attn.proj.bias`),
        });
        const mid = tf.add(input, dropPath(a, this.#dpr[i], rng));
        let m = gelu(
          linear(ln(mid, `${p}.norm2`), this.p(`${p}.mlp.fc1.weight`), this.p(`${p}.mlp.fc1.bias`)),
        );
        m = linear(m, this.p(`${p}.mlp.fc2.weight`), this.p(`${p}.mlp.fc2.bias`));
        return tf.add(mid, dropPath(m, this.#dpr[i], rng));
      });
    }
    h = ln(h, "norm");
    return tf.reshape(tf.slice(h, [0, 0, 0], [b, 1, d]), [b, d]);
  }

  protected head(features: tfTypes.Tensor2D): tfTypes.Tensor2D {
    if (this.numClasses === 0) return features;
    return linear(features, this.p("head.weight"), this.p("head.bias"));
  }

  override dispose(): void {
    for (const m of this.#maps.values()) m.dispose();
    this.#maps.clear();
    super.dispose();
  }
}

/** The ViT/DeiT variants of the registry. */
export const VIT_CONFIGS: {
  readonly deit_tiny_patch16_224: ViTConfig;
  readonly deit_small_patch16_224: ViTConfig;
  readonly deit_base_patch16_224: ViTConfig;
  readonly deit_tiny_patch4_32: ViTConfig;
  readonly deit_tiny_patch2_32: ViTConfig;
  readonly deit_micro_patch4_32: ViTConfig;
  readonly test_deit: ViTConfig;
} = {
  deit_tiny_patch16_224: {
    patch: 16,
    dim: 192,
    depth: 12,
    heads: 3,
    mlpRatio: 4,
    defaultSize: 224,
  },
  deit_small_patch16_224: {
    patch: 16,
    dim: 384,
    depth: 12,
    heads: 6,
    mlpRatio: 4,
    defaultSize: 224,
  },
  deit_base_patch16_224: {
    patch: 16,
    dim: 768,
    depth: 12,
    heads: 12,
    mlpRatio: 4,
    defaultSize: 224,
  },
  deit_tiny_patch4_32: { patch: 4, dim: 192, depth: 12, heads: 3, mlpRatio: 4, defaultSize: 32 },
  deit_tiny_patch2_32: { patch: 2, dim: 192, depth: 12, heads: 3, mlpRatio: 4, defaultSize: 32 },
  deit_micro_patch4_32: { patch: 4, dim: 96, depth: 6, heads: 3, mlpRatio: 4, defaultSize: 32 },
  test_deit: { patch: 4, dim: 16, depth: 2, heads: 2, mlpRatio: 2, defaultSize: 16 },
};

/**
 * Build a ViT/DeiT with allocated, initialised parameters.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createViT, VIT_CONFIGS } from "@efficienttrain/models";
 * const m = createViT("test_deit", VIT_CONFIGS.test_deit, { numClasses: 3 });
 * console.assert(m.forward(tf.zeros([1, 16, 16, 3]), { training: false }).shape[1] === 3);
 * m.dispose();
 * ```
 */
export function createViT(name: string, cfg: ViTConfig, options: CreateModelOptions = {}): Model {
  return new ViT(name, cfg, resolveCreateOptions(cfg, options));
}

/**
 * The ViT / DeiT family for the registry: its variants and the functions behind
 * `modelInfo` and `createModel`.
 *
 * @example
 * ```ts
 * import { vitFamily } from "@efficienttrain/models";
 * console.assert(Object.keys(vitFamily.configs).length > 0 && vitFamily.name === "vit");
 * ```
 */
export const vitFamily: ModelFamily<ViTConfig> = {
  name: "vit",
  configs: VIT_CONFIGS,
  inputRule: vitInputRule,
  specs: vitSpecs,
  flops: vitFlops,
  create: createViT,
};
