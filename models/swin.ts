/**
 * Swin Transformer (Liu et al. 2021; timm `swin_transformer.py`, NHWC throughout): patch
 * embedding + LN, stages of (shifted-)window attention with a relative position bias,
 * patch merging (LN + linear 4C→2C without bias) at the start of every later stage, final
 * LN, average pool, head. Linear weights and bias tables are truncated-normal(0.02).
 *
 * Window rule at input side S: `window = defaultWindow · S / defaultSize` (S/32 for the
 * 224 models, as in the EfficientTrain code: 5, 6, 7 at 160, 192, 224; S/8 for the 32 px
 * variants). A stage whose map is not larger than the window uses the whole map as one
 * window without shift, as timm does. Legal sizes are the multiples of
 * lcm(patch · 2^(stages−1), defaultSize / defaultWindow), so every stage tiles.
 * `setInputSize` resamples each relative-position-bias table from (2w−1)² to (2w′−1)²
 * (bicubic) and rebuilds masks and indices; a forward at another legal size resamples the
 * tables on the fly through the same linear map.
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
import { attention, splitHeads } from "./attention.ts";
import { windowMerge, windowPartition } from "./windows.ts";
import { bicubicMatrix2d, resampleRelPosTable } from "./resample.ts";

/** Architecture of one Swin variant. */
export interface SwinConfig {
  readonly patch: number;
  readonly dim: number;
  readonly depths: readonly number[];
  readonly heads: readonly number[];
  readonly defaultSize: number;
  /** Window side at `defaultSize`. */
  readonly window: number;
  readonly mlpRatio: number;
}

const TN = { kind: "trunc_normal", std: 0.02 } as const;
const ZERO = { kind: "zeros" } as const;
const EPS = 1e-5;

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Legal input sides of a swin configuration.
 *
 * @example
 * ```ts
 * import { SWIN_CONFIGS, swinInputRule } from "@efficienttrain/models";
 * console.assert(swinInputRule(Object.values(SWIN_CONFIGS)[0]).min > 0);
 * ```
 */
export function swinInputRule(cfg: SwinConfig): InputRule {
  const a = cfg.patch * 2 ** (cfg.depths.length - 1);
  const b = cfg.defaultSize / cfg.window;
  const unit = (a * b) / gcd(a, b);
  return { min: unit, step: unit };
}

/** Per-stage geometry at one input side. */
export interface SwinStageGeometry {
  /** Feature-map side. */
  readonly res: number;
  /** Effective window side (clamped to the map). */
  readonly window: number;
  /** Cyclic shift of the odd blocks (0 when the window covers the map). */
  readonly shift: number;
}

/**
 * Window and shift of every stage at input side `size` (the rule in the module doc).
 *
 * @example
 * ```ts
 * import { SWIN_CONFIGS, swinGeometry } from "@efficienttrain/models";
 * const g = swinGeometry(SWIN_CONFIGS.swin_tiny_patch4_window7_224, 160);
 * console.assert(g.map((s) => s.window).join() === "5,5,5,5");
 * ```
 */
export function swinGeometry(cfg: SwinConfig, size: number): SwinStageGeometry[] {
  const window = (cfg.window * size) / cfg.defaultSize;
  return cfg.depths.map((_, k) => {
    const res = size / (cfg.patch * 2 ** k);
    if (res <= window) return { res, window: res, shift: 0 };
    if (!Number.isInteger(window) || res % window !== 0) {
      throw new RangeError(`swin: stage ${k} map ${res} does not tile into windows of ${window}`);
    }
    return { res, window, shift: Math.floor(window / 2) };
  });
}

/**
 * Parameter specs of a Swin at input side `imgSize` (timm state-dict names; the bias
 * tables are sized by that size's windows).
 *
 * @example
 * ```ts
 * import { SWIN_CONFIGS, swinSpecs } from "@efficienttrain/models";
 * const cfg = SWIN_CONFIGS.swin_tiny_patch4_window7_224;
 * const s = swinSpecs(cfg, { numClasses: 1000, inChans: 3, imgSize: 224 });
 * console.assert(s.countParams() === 28288354);
 * ```
 */
export function swinSpecs(
  cfg: SwinConfig,
  options: { numClasses: number; inChans: number; imgSize: number },
): SpecList {
  const s = new SpecList();
  const geo = swinGeometry(cfg, options.imgSize);
  s.conv("patch_embed.proj", options.inChans, cfg.dim, { k: cfg.patch, bias: true });
  s.norm("patch_embed.norm", cfg.dim);
  cfg.depths.forEach((depth, i) => {
    const c = cfg.dim * 2 ** i;
    if (i > 0) {
      s.norm(`layers.${i}.downsample.norm`, 2 * c);
      s.linear(`layers.${i}.downsample.reduction`, 2 * c, c, { bias: false, init: TN });
    }
    const t = (2 * geo[i].window - 1) ** 2;
    const hidden = Math.round(c * cfg.mlpRatio);
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.blocks.${j}`;
      s.norm(`${p}.norm1`, c);
      s.add({
        name: `${p}.attn.relative_position_bias_table`,
        shape: [t, cfg.heads[i]],
        layout: "plain",
        init: TN,
        decay: false,
        buffer: false,
      });
      s.linear(`${p}.attn.qkv`, c, 3 * c, { init: TN, biasInit: ZERO });
      s.linear(`${p}.attn.proj`, c, c, { init: TN, biasInit: ZERO });
      s.norm(`${p}.norm2`, c);
      s.linear(`${p}.mlp.fc1`, c, hidden, { init: TN, biasInit: ZERO });
      s.linear(`${p}.mlp.fc2`, hidden, c, { init: TN, biasInit: ZERO });
    }
  });
  const last = cfg.dim * 2 ** (cfg.depths.length - 1);
  s.norm("norm", last);
  if (options.numClasses > 0) {
    s.linear("head.fc", last, options.numClasses, { init: TN, biasInit: ZERO });
  }
  return s;
}

/**
 * Forward FLOPs (2 × multiply-adds of the patch conv, linears and window-attention
 * matmuls) for one image.
 *
 * @example
 * ```ts
 * import { SWIN_CONFIGS, swinFlops } from "@efficienttrain/models";
 * const cfg = SWIN_CONFIGS.swin_tiny_patch4_window7_224;
 * const g = swinFlops(cfg, 224, { numClasses: 1000, inChans: 3 }) / 1e9;
 * console.assert(g > 8.9 && g < 9.1);
 * ```
 */
export function swinFlops(
  cfg: SwinConfig,
  size: number,
  options: { numClasses: number; inChans: number },
): number {
  const geo = swinGeometry(cfg, size);
  let f = 2 * cfg.patch * cfg.patch * options.inChans * cfg.dim * geo[0].res ** 2;
  cfg.depths.forEach((depth, i) => {
    const c = cfg.dim * 2 ** i, l = geo[i].res ** 2, n = geo[i].window ** 2;
    const hidden = Math.round(c * cfg.mlpRatio);
    if (i > 0) f += 2 * l * 2 * c * c;
    f += depth * (2 * l * c * 3 * c + 2 * 2 * l * n * c + 2 * l * c * c + 2 * 2 * l * c * hidden);
  });
  return f + 2 * cfg.dim * 2 ** (cfg.depths.length - 1) * options.numClasses;
}

/**
 * Relative position index of a w×w window, `[w², w²]` row-major with values in
 * [0, (2w−1)²), as timm's `relative_position_index`.
 *
 * @example
 * ```ts
 * import { relativePositionIndex } from "@efficienttrain/models";
 * console.assert(relativePositionIndex(2).join() === "4,3,1,0,5,4,2,1,7,6,4,3,8,7,5,4");
 * ```
 */
export function relativePositionIndex(w: number): Int32Array {
  const n = w * w;
  const idx = new Int32Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b < n; b++) {
      const dy = Math.floor(a / w) - Math.floor(b / w) + w - 1;
      const dx = (a % w) - (b % w) + w - 1;
      idx[a * n + b] = dy * (2 * w - 1) + dx;
    }
  }
  return idx;
}

/**
 * Shifted-window attention mask `[nW, N, N]` (0 or −100) for a `res`² map, window `w` and
 * shift `s`, as timm builds it: tokens that came from different regions of the rolled map
 * do not attend to each other.
 *
 * @example
 * ```ts
 * import { shiftedWindowMask } from "@efficienttrain/models";
 * const m = shiftedWindowMask(4, 2, 1);
 * console.assert(m.length === 4 * 4 * 4 && m.subarray(0, 16).every((v) => v === 0));
 * ```
 */
export function shiftedWindowMask(res: number, w: number, s: number): Float32Array {
  const img = new Int32Array(res * res);
  const bounds = (i: number): number => (i < res - w ? 0 : i < res - s ? 1 : 2);
  for (let y = 0; y < res; y++) {
    for (let x = 0; x < res; x++) img[y * res + x] = bounds(y) * 3 + bounds(x);
  }
  const nw = (res / w) ** 2, n = w * w, per = res / w;
  const mask = new Float32Array(nw * n * n);
  for (let win = 0; win < nw; win++) {
    const oy = Math.floor(win / per) * w, ox = (win % per) * w;
    const label = (t: number): number => img[(oy + Math.floor(t / w)) * res + ox + (t % w)];
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) mask[(win * n + a) * n + b] = label(a) === label(b) ? 0 : -100;
    }
  }
  return mask;
}

/** Cached constants of one stage at one input size. */
interface StageConsts {
  readonly geo: SwinStageGeometry;
  /** `[N², T]`: one-hot gather of the stored table (resampled if its window differs). */
  readonly gather: tfTypes.Tensor2D;
  /** `[nW, 1, N, N]` for shifted blocks, undefined when the stage is not shifted. */
  readonly mask?: tfTypes.Tensor4D;
}

/** `[w², w²] → [(w²)², T]` gather matrix, composed with a table resample when w ≠ w0. */
function gatherMatrix(w: number, w0: number): tfTypes.Tensor2D {
  const idx = relativePositionIndex(w);
  const t0 = (2 * w0 - 1) ** 2;
  const r = w === w0 ? undefined : bicubicMatrix2d(2 * w0 - 1, 2 * w - 1, { antialias: false });
  const m = new Float32Array(idx.length * t0);
  for (let i = 0; i < idx.length; i++) {
    if (r === undefined) m[i * t0 + idx[i]] = 1;
    else for (let j = 0; j < t0; j++) m[i * t0 + j] = r[idx[i] * t0 + j];
  }
  return tf.tensor2d(m, [idx.length, t0]);
}

class Swin extends SpecModel {
  readonly #cfg: SwinConfig;
  readonly #dpr: number[];
  /** Window of each stage that the stored bias tables are sized for. */
  #tableWindows: number[];
  readonly #consts = new Map<number, StageConsts[]>();

  constructor(name: string, cfg: SwinConfig, options: ResolvedOptions) {
    super(name, swinSpecs(cfg, options).specs, options);
    this.#cfg = cfg;
    this.#dpr = dropPathRates(options.dropPathRate, cfg.depths.reduce((a, b) => a + b, 0));
    this.#tableWindows = swinGeometry(cfg, options.imgSize).map((g) => g.window);
  }

  get rule(): InputRule {
    return swinInputRule(this.#cfg);
  }

  protected flopsAt(size: number): number {
    return swinFlops(this.#cfg, size, this);
  }

  /** Patch embedding, then a 2×2 patch merge per stage (an odd map loses its last row). */
  protected mapSidesAt(size: number): number[] {
    let h = Math.floor(size / this.#cfg.patch);
    return this.#cfg.depths.map((_, k) => {
      if (k > 0) h = Math.floor(h / 2);
      return h;
    });
  }

  override setInputSize(size: number): ReadonlyMap<string, ParamResample> {
    this.checkSize(size, "size");
    const geo = swinGeometry(this.#cfg, size);
    const out = new Map<string, ParamResample>();
    this.#cfg.depths.forEach((depth, i) => {
      const w0 = this.#tableWindows[i], w1 = geo[i].window;
      if (w0 === w1) return;
      const f = resampleRelPosTable(w0, w1);
      for (let j = 0; j < depth; j++) {
        const name = `layers.${i}.blocks.${j}.attn.relative_position_bias_table`;
        this.replaceParam(name, tf.tidy(() => f(this.p(name))));
        out.set(name, f);
      }
    });
    this.#tableWindows = geo.map((g) => g.window);
    this.size = size;
    this.#clearConsts();
    return out;
  }

  #stageConsts(size: number): StageConsts[] {
    let c = this.#consts.get(size);
    if (c === undefined) {
      c = swinGeometry(this.#cfg, size).map((geo, i) => {
        const n = geo.window ** 2, nw = (geo.res / geo.window) ** 2;
        return {
          geo,
          gather: tf.keep(gatherMatrix(geo.window, this.#tableWindows[i])),
          mask: geo.shift > 0
            ? tf.keep(tf.tensor4d(shiftedWindowMask(geo.res, geo.window, geo.shift), [nw, 1, n, n]))
            : undefined,
        };
      });
      this.#consts.set(size, c);
    }
    return c;
  }

  #clearConsts(): void {
    for (const stages of this.#consts.values()) {
      for (const s of stages) tf.dispose([s.gather, ...(s.mask ? [s.mask] : [])]);
    }
    this.#consts.clear();
  }

  /** One Swin block on `[B, R, R, C]`. */
  #block(
    x: tfTypes.Tensor4D,
    p: string,
    options: { heads: number; consts: StageConsts; shifted: boolean; dpr: number; rng?: Rng },
  ): tfTypes.Tensor4D {
    const [, r, , c] = x.shape;
    const { window: w, shift } = options.consts.geo;
    const s = options.shifted ? shift : 0;
    const n = w * w, per = r / w, nw = per * per, heads = options.heads, hd = c / heads;
    const ln = <T extends tfTypes.Tensor>(y: T, name: string): T =>
      layerNorm(y, this.p(`${p}.${name}.weight`), this.p(`${p}.${name}.bias`), EPS);

    const tokens = windowPartition(ln(x, "norm1"), w, { shift: s });
    const qkv = linear(tokens, this.p(`${p}.attn.qkv.weight`), this.p(`${p}.attn.qkv.bias`));
    const [q, k, v] = splitHeads(qkv, heads, { scale: hd ** -0.5 });
    const table = this.p(`${p}.attn.relative_position_bias_table`);
    const bias = tf.reshape(tf.transpose(tf.matMul(options.consts.gather, table)), [heads, n, n]);
    const mask = s > 0 ? options.consts.mask : undefined;
    // one bias per window when shifted (its mask differs per window), else one for all
    const windowBias = mask
      ? tf.reshape(tf.add(mask, bias), [nw, heads, n, n])
      : tf.reshape(bias, [1, heads, n, n]);
    const o = linear(
      attention(q, k, v, { bias: windowBias as tfTypes.Tensor4D }),
      this.p(`${p}.attn.proj.weight`),
      this.p(`${p}.attn.proj.bias`),
    );

    const y = windowMerge(o, w, { side: r, shift: s });
    const x1 = tf.add(x, dropPath(y, options.dpr, options.rng)) as tfTypes.Tensor4D;
    let m = gelu(
      linear(ln(x1, "norm2"), this.p(`${p}.mlp.fc1.weight`), this.p(`${p}.mlp.fc1.bias`)),
    );
    m = linear(m, this.p(`${p}.mlp.fc2.weight`), this.p(`${p}.mlp.fc2.bias`));
    return tf.add(x1, dropPath(m, options.dpr, options.rng));
  }

  /** Patch merging: 2×2 neighbours concatenated as (0,0), (1,0), (0,1), (1,1), LN, 4C→2C. */
  #merge(x: tfTypes.Tensor4D, p: string): tfTypes.Tensor4D {
    const [b, r, , c] = x.shape;
    const rows = tf.split(tf.reshape(x, [b * (r / 2), 2, r / 2, 2 * c]), 2, 1);
    const [x0, x2] = tf.split(tf.reshape(rows[0], [b, r / 2, r / 2, 2 * c]), 2, 3);
    const [x1, x3] = tf.split(tf.reshape(rows[1], [b, r / 2, r / 2, 2 * c]), 2, 3);
    const cat = tf.concat([x0, x1, x2, x3], 3) as tfTypes.Tensor4D;
    const normed = layerNorm(cat, this.p(`${p}.norm.weight`), this.p(`${p}.norm.bias`), EPS);
    return linear(normed, this.p(`${p}.reduction.weight`));
  }

  protected features(x: tfTypes.Tensor4D, training: boolean, rng?: Rng): tfTypes.Tensor2D {
    const cfg = this.#cfg;
    const consts = this.#stageConsts(x.shape[1]);
    let h = conv2d(x, this.p("patch_embed.proj.weight"), {
      stride: cfg.patch,
      bias: this.p("patch_embed.proj.bias"),
    });
    h = layerNorm(h, this.p("patch_embed.norm.weight"), this.p("patch_embed.norm.bias"), EPS);
    let k = 0;
    cfg.depths.forEach((depth, i) => {
      if (i > 0) h = this.#merge(h, `layers.${i}.downsample`);
      for (let j = 0; j < depth; j++, k++) {
        const [input, dpr] = [h, this.#dpr[k]];
        h = this.block(training, () =>
          this.#block(input, `layers.${i}.blocks.${j}`, {
            heads: cfg.heads[i],
            consts: consts[i],
            shifted: j % 2 === 1,
            dpr,
            rng,
          }));
      }
    });
    h = layerNorm(h, this.p("norm.weight"), this.p("norm.bias"), EPS);
    return tf.mean(h, [1, 2]);
  }

  protected head(features: tfTypes.Tensor2D): tfTypes.Tensor2D {
    if (this.numClasses === 0) return features;
    return linear(features, this.p("head.fc.weight"), this.p("head.fc.bias"));
  }

  override dispose(): void {
    this.#clearConsts();
    super.dispose();
  }
}

const T = { mlpRatio: 4 } as const;

/** The Swin variants of the registry. */
export const SWIN_CONFIGS: {
  readonly swin_tiny_patch4_window7_224: SwinConfig;
  readonly swin_small_patch4_window7_224: SwinConfig;
  readonly swin_base_patch4_window7_224: SwinConfig;
  readonly swin_tiny_patch2_window4_32: SwinConfig;
  readonly swin_micro_patch2_window4_32: SwinConfig;
  readonly swin_micro_patch4_window4_128: SwinConfig;
  readonly test_swin: SwinConfig;
} = {
  swin_tiny_patch4_window7_224: {
    ...T,
    patch: 4,
    dim: 96,
    depths: [2, 2, 6, 2],
    heads: [3, 6, 12, 24],
    defaultSize: 224,
    window: 7,
  },
  swin_small_patch4_window7_224: {
    ...T,
    patch: 4,
    dim: 96,
    depths: [2, 2, 18, 2],
    heads: [3, 6, 12, 24],
    defaultSize: 224,
    window: 7,
  },
  swin_base_patch4_window7_224: {
    ...T,
    patch: 4,
    dim: 128,
    depths: [2, 2, 18, 2],
    heads: [4, 8, 16, 32],
    defaultSize: 224,
    window: 7,
  },
  swin_tiny_patch2_window4_32: {
    ...T,
    patch: 2,
    dim: 96,
    depths: [2, 2, 6, 2],
    heads: [3, 6, 12, 24],
    defaultSize: 32,
    window: 4,
  },
  swin_micro_patch2_window4_32: {
    ...T,
    patch: 2,
    dim: 48,
    depths: [1, 1, 3, 1],
    heads: [2, 4, 8, 16],
    defaultSize: 32,
    window: 4,
  },
  swin_micro_patch4_window4_128: {
    ...T,
    patch: 4,
    dim: 48,
    depths: [1, 1, 3, 1],
    heads: [2, 4, 8, 16],
    defaultSize: 128,
    window: 4,
  },
  test_swin: {
    patch: 2,
    dim: 8,
    depths: [2, 2],
    heads: [1, 2],
    defaultSize: 16,
    window: 2,
    mlpRatio: 2,
  },
};

/**
 * Build a Swin Transformer with allocated, initialised parameters.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createSwin, SWIN_CONFIGS } from "@efficienttrain/models";
 * const m = createSwin("test_swin", SWIN_CONFIGS.test_swin, { numClasses: 3 });
 * console.assert(m.forward(tf.zeros([1, 16, 16, 3]), { training: false }).shape[1] === 3);
 * m.dispose();
 * ```
 */
export function createSwin(name: string, cfg: SwinConfig, options: CreateModelOptions = {}): Model {
  return new Swin(name, cfg, resolveCreateOptions(cfg, options));
}

/**
 * The Swin family for the registry: its variants and the functions behind
 * `modelInfo` and `createModel`.
 *
 * @example
 * ```ts
 * import { swinFamily } from "@efficienttrain/models";
 * console.assert(Object.keys(swinFamily.configs).length > 0 && swinFamily.name === "swin");
 * ```
 */
export const swinFamily: ModelFamily<SwinConfig> = {
  name: "swin",
  configs: SWIN_CONFIGS,
  inputRule: swinInputRule,
  specs: swinSpecs,
  flops: swinFlops,
  create: createSwin,
};
