/**
 * Shared building blocks: parameter specs (the single source for allocation, counting,
 * naming and checkpoint layouts), reference initialisers, and the differentiable layer
 * functions every family uses (NHWC activations, HWIO conv weights, [in, out] linear
 * weights).
 *
 * Op choices keep every gradient expressible with kernels that `cpu` and `wasm` both have:
 * batch/layer norm go through `tf.moments` (mean + squared difference, no FusedBatchNorm
 * gradient needed), GELU is the exact erf form (timm's `nn.GELU` default; `Erf` exists on
 * cpu and wasm and its gradient is `exp`/`mul`), and gathers are avoided in favour of
 * matmuls with constant one-hot matrices.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, Rng } from "@efficienttrain/core";
import { fused, hasFusedKernel } from "./fused.ts";

/** How a parameter is laid out internally relative to its PyTorch state-dict layout. */
export type ParamLayout =
  /** conv weight: internal HWIO `[kh, kw, in, out]`, PyTorch OIHW `[out, in, kh, kw]`. */
  | "conv"
  /** depthwise conv weight: internal `[kh, kw, C, 1]`, PyTorch `[C, 1, kh, kw]`. */
  | "dwconv"
  /** linear weight: internal `[in, out]`, PyTorch `[out, in]`. */
  | "linear"
  /** identical layout. */
  | "plain";

/** A reference initialiser. */
export type ParamInit =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "const"; readonly value: number }
  /** timm `trunc_normal_(std, a=-2, b=2)`: the bounds are absolute, not in std units. */
  | { readonly kind: "trunc_normal"; readonly std: number }
  | { readonly kind: "normal"; readonly std: number }
  /** torchvision/timm ResNet: `kaiming_normal_(mode="fan_out", nonlinearity="relu")`. */
  | { readonly kind: "kaiming_fan_out" }
  /** PyTorch's default for conv/linear weights and biases: U(±1/√fan_in). */
  | { readonly kind: "torch_default"; readonly fanIn: number };

/** One parameter or buffer, in internal layout. */
export interface ParamSpec {
  /** State-dict name, e.g. `layer1.0.conv1.weight`. */
  readonly name: string;
  /** Internal (tfjs) shape. */
  readonly shape: readonly number[];
  readonly layout: ParamLayout;
  readonly init: ParamInit;
  /** False for parameters excluded from weight decay (norms, biases, embeddings). */
  readonly decay: boolean;
  /** Buffers are saved but not trained (batch-norm running statistics). */
  readonly buffer: boolean;
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/**
 * Accumulates parameter specs while a family describes its architecture.
 *
 * @example
 * ```ts
 * import { SpecList } from "@efficienttrain/models";
 * const s = new SpecList();
 * s.linear("fc", 4, 2);
 * console.assert(s.countParams() === 10);
 * ```
 */
export class SpecList {
  /** Specs in registration (state-dict) order. */
  readonly specs: ParamSpec[] = [];

  /** Add a raw spec. */
  add(spec: ParamSpec): void {
    this.specs.push(spec);
  }

  /** Conv weight (+ optional bias) named `${name}.weight` / `${name}.bias`. */
  conv(
    name: string,
    inC: number,
    outC: number,
    options: { k: number; bias?: boolean; init?: ParamInit; biasInit?: ParamInit },
  ): void {
    const fanIn = inC * options.k * options.k;
    this.add({
      name: `${name}.weight`,
      shape: [options.k, options.k, inC, outC],
      layout: "conv",
      init: options.init ?? { kind: "torch_default", fanIn },
      decay: true,
      buffer: false,
    });
    if (options.bias) {
      this.vector(`${name}.bias`, outC, options.biasInit ?? { kind: "torch_default", fanIn });
    }
  }

  /** Depthwise conv weight + bias. */
  dwconv(name: string, channels: number, options: { k: number; init: ParamInit }): void {
    this.add({
      name: `${name}.weight`,
      shape: [options.k, options.k, channels, 1],
      layout: "dwconv",
      init: options.init,
      decay: true,
      buffer: false,
    });
    this.vector(`${name}.bias`, channels, { kind: "zeros" });
  }

  /** Linear weight (+ bias unless `bias: false`). Default init is PyTorch's. */
  linear(
    name: string,
    inF: number,
    outF: number,
    options: { bias?: boolean; init?: ParamInit; biasInit?: ParamInit } = {},
  ): void {
    this.add({
      name: `${name}.weight`,
      shape: [inF, outF],
      layout: "linear",
      init: options.init ?? { kind: "torch_default", fanIn: inF },
      decay: true,
      buffer: false,
    });
    if (options.bias ?? true) {
      this.vector(`${name}.bias`, outF, options.biasInit ?? { kind: "torch_default", fanIn: inF });
    }
  }

  /** LayerNorm affine parameters. */
  norm(name: string, channels: number): void {
    this.vector(`${name}.weight`, channels, { kind: "ones" });
    this.vector(`${name}.bias`, channels, { kind: "zeros" });
  }

  /** BatchNorm affine parameters and running statistics. */
  batchNorm(name: string, channels: number, options: { zeroGamma?: boolean } = {}): void {
    this.vector(`${name}.weight`, channels, { kind: options.zeroGamma ? "zeros" : "ones" });
    this.vector(`${name}.bias`, channels, { kind: "zeros" });
    this.add({
      name: `${name}.running_mean`,
      shape: [channels],
      layout: "plain",
      init: { kind: "zeros" },
      decay: false,
      buffer: true,
    });
    this.add({
      name: `${name}.running_var`,
      shape: [channels],
      layout: "plain",
      init: { kind: "ones" },
      decay: false,
      buffer: true,
    });
  }

  /** A 1-D parameter without weight decay. */
  vector(name: string, n: number, init: ParamInit): void {
    this.add({ name, shape: [n], layout: "plain", init, decay: false, buffer: false });
  }

  /** Trainable parameter count. */
  countParams(): number {
    let n = 0;
    for (const s of this.specs) if (!s.buffer) n += numel(s.shape);
    return n;
  }
}

/** Fan-out of a weight in PyTorch's sense (out channels × receptive field). */
function fanOut(spec: ParamSpec): number {
  const s = spec.shape;
  if (spec.layout === "conv") return s[3] * s[0] * s[1];
  if (spec.layout === "dwconv") return s[2] * s[0] * s[1];
  if (spec.layout === "linear") return s[1];
  return s[0];
}

/**
 * Sample initial values for a spec (internal layout).
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * import { initValues } from "@efficienttrain/models";
 * const v = initValues({
 *   name: "w", shape: [2, 3], layout: "plain", init: { kind: "trunc_normal", std: 0.02 },
 *   decay: true, buffer: false,
 * }, new Rng(0));
 * console.assert(v.length === 6);
 * ```
 */
export function initValues(spec: ParamSpec, rng: Rng): Float32Array {
  const n = numel(spec.shape);
  const out = new Float32Array(n);
  const init = spec.init;
  switch (init.kind) {
    case "zeros":
      break;
    case "ones":
      out.fill(1);
      break;
    case "const":
      out.fill(init.value);
      break;
    case "normal":
      for (let i = 0; i < n; i++) out[i] = rng.normal(0, init.std);
      break;
    case "trunc_normal":
      for (let i = 0; i < n; i++) {
        let v: number;
        do v = rng.normal(0, init.std); while (v < -2 || v > 2);
        out[i] = v;
      }
      break;
    case "kaiming_fan_out": {
      const std = Math.sqrt(2 / fanOut(spec));
      for (let i = 0; i < n; i++) out[i] = rng.normal(0, std);
      break;
    }
    case "torch_default": {
      const bound = 1 / Math.sqrt(init.fanIn);
      for (let i = 0; i < n; i++) out[i] = rng.uniform(-bound, bound);
      break;
    }
  }
  return out;
}

/** Allocated parameters and buffers of a model. */
export interface Materialized {
  readonly params: Map<string, tf.Variable>;
  readonly buffers: Map<string, tf.Variable>;
}

/**
 * Allocate every spec as a tfjs variable (parameters trainable, buffers not).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { Rng } from "@efficienttrain/core";
 * import { materialize, SpecList } from "@efficienttrain/models";
 * const s = new SpecList();
 * s.batchNorm("bn", 4);
 * const m = materialize(s.specs, new Rng(0));
 * console.assert(m.params.size === 2 && m.buffers.size === 2);
 * for (const v of [...m.params.values(), ...m.buffers.values()]) v.dispose();
 * ```
 */
export function materialize(specs: readonly ParamSpec[], rng: Rng): Materialized {
  const params = new Map<string, tf.Variable>();
  const buffers = new Map<string, tf.Variable>();
  for (const spec of specs) {
    const values = tf.tensor(initValues(spec, rng), spec.shape as number[], "float32");
    const v = tf.variable(values, !spec.buffer);
    values.dispose();
    (spec.buffer ? buffers : params).set(spec.name, v);
  }
  return { params, buffers };
}

/** Spatial output side of a conv/pool (PyTorch and tfjs agree for explicit padding). */
export function convOut(size: number, k: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - k) / stride) + 1;
}

/**
 * NHWC conv with an HWIO weight and optional bias; `pad` is symmetric like PyTorch's.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { conv2d } from "@efficienttrain/models";
 * const y = conv2d(tf.ones([1, 5, 5, 2]), tf.ones([3, 3, 2, 4]), { stride: 2, pad: 1 });
 * console.assert(y.shape.join() === "1,3,3,4");
 * ```
 */
export function conv2d(
  x: tf.Tensor4D,
  w: tf.Tensor,
  options: { stride?: number; pad?: number; bias?: tf.Tensor },
): tf.Tensor4D {
  const y = tf.conv2d(x, w as tf.Tensor4D, options.stride ?? 1, options.pad ?? 0);
  return options.bias ? tf.add(y, options.bias) : y;
}

/**
 * NHWC depthwise conv (`[kh, kw, C, 1]` weight) with bias.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { depthwiseConv2d } from "@efficienttrain/models";
 * const y = depthwiseConv2d(tf.ones([1, 7, 7, 3]), tf.ones([7, 7, 3, 1]), { pad: 3 });
 * console.assert(y.shape.join() === "1,7,7,3");
 * ```
 */
export function depthwiseConv2d(
  x: tf.Tensor4D,
  w: tf.Tensor,
  options: { pad: number; bias?: tf.Tensor },
): tf.Tensor4D {
  const y = tf.depthwiseConv2d(x, w as tf.Tensor4D, 1, options.pad);
  return options.bias ? tf.add(y, options.bias) : y;
}

/**
 * Linear layer over the last axis of a tensor of any rank (`[in, out]` weight).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { linear } from "@efficienttrain/models";
 * const y = linear(tf.ones([2, 3, 4]), tf.ones([4, 5]), tf.zeros([5]));
 * console.assert(y.shape.join() === "2,3,5");
 * ```
 */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor, bias?: tf.Tensor): T {
  const inF = x.shape[x.shape.length - 1];
  const outF = w.shape[1] as number;
  const flat = x.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x, [-1, inF]) as tf.Tensor2D;
  let y: tf.Tensor = tf.matMul(flat, w as tf.Tensor2D);
  if (bias) y = tf.add(y, bias);
  return (x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), outF])) as T;
}

/**
 * Fused kernels a backend may register (`@efficienttrain/backend-native` does): one kernel
 * each way per norm or GELU instead of ~25 element-wise kernels, with their gradients
 * registered by that backend. Looked up by kernel name, so models import no backend; on
 * backends without them the formulas below run.
 */
const FUSED = FUSED_KERNELS;

/**
 * LayerNorm over the last axis (channels-last, so also timm's `LayerNorm2d` on NHWC).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { layerNorm } from "@efficienttrain/models";
 * const y = layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3]), 1e-6);
 * console.assert(Math.abs(y.dataSync()[1]) < 1e-6);
 * ```
 */
export function layerNorm<T extends tf.Tensor>(
  x: T,
  weight: tf.Tensor,
  bias: tf.Tensor,
  eps: number,
): T {
  const c = x.shape[x.rank - 1];
  if (hasFusedKernel(FUSED.layerNorm, x) && weight.size === c && bias.size === c) {
    return fused(FUSED.layerNorm, { x, scale: weight, offset: bias }, { epsilon: eps })[0] as T;
  }
  const { mean, variance } = tf.moments(x, -1, true);
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(normed, weight), bias) as T;
}

/** Variables of one BatchNorm layer. */
export interface BatchNormState {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
}

/**
 * BatchNorm2d over NHWC. In training it normalises with the batch statistics and moves the
 * running statistics by `momentum` (PyTorch convention, unbiased variance). The running
 * statistics are assigned from the forward values directly: they are non-trainable, and
 * nothing downstream reads them in training, so the gradient tape is unaffected, and the
 * assigned tensors survive the enclosing `tidy`/`variableGrads` because the variable holds
 * their data.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { batchNorm } from "@efficienttrain/models";
 * const s = {
 *   weight: tf.variable(tf.ones([2])), bias: tf.variable(tf.zeros([2])),
 *   runningMean: tf.variable(tf.zeros([2]), false), runningVar: tf.variable(tf.ones([2]), false),
 * };
 * tf.tidy(() => batchNorm(tf.fill([2, 2, 2, 2], 3), s, { training: true }));
 * console.assert(Math.abs(s.runningMean.dataSync()[0] - 0.3) < 1e-6);
 * ```
 */
export function batchNorm(
  x: tf.Tensor4D,
  state: BatchNormState,
  options: { training: boolean; momentum?: number; eps?: number },
): tf.Tensor4D {
  const eps = options.eps ?? 1e-5;
  if (!options.training) {
    const scale = tf.mul(state.weight, tf.rsqrt(tf.add(state.runningVar, eps)));
    const shift = tf.sub(state.bias, tf.mul(state.runningMean, scale));
    return tf.add(tf.mul(x, scale), shift);
  }
  const momentum = options.momentum ?? 0.1;
  const fusedOut = hasFusedKernel(FUSED.batchNorm, x)
    ? fused(FUSED.batchNorm, { x, scale: state.weight, offset: state.bias }, {
      varianceEpsilon: eps,
    })
    : undefined;
  const { mean, variance } = fusedOut
    ? { mean: fusedOut[1], variance: fusedOut[2] }
    : tf.moments(x, [0, 1, 2]);
  const n = x.shape[0] * x.shape[1] * x.shape[2];
  const varianceCorrection = n > 1 ? n / (n - 1) : 1;
  tf.tidy(() => {
    if (hasFusedKernel(FUSED.batchNormRunningStats, mean)) {
      const [newMean, newVar] = fused(FUSED.batchNormRunningStats, {
        runningMean: state.runningMean,
        runningVar: state.runningVar,
        mean,
        variance,
      }, { momentum, varianceCorrection });
      state.runningMean.assign(newMean);
      state.runningVar.assign(newVar);
      return;
    }
    const unbiased = n > 1 ? tf.mul(variance, varianceCorrection) : variance;
    state.runningMean.assign(
      tf.add(tf.mul(state.runningMean, 1 - momentum), tf.mul(mean, momentum)),
    );
    state.runningVar.assign(
      tf.add(tf.mul(state.runningVar, 1 - momentum), tf.mul(unbiased, momentum)),
    );
  });
  if (fusedOut) return fusedOut[0] as tf.Tensor4D;
  const scale = tf.mul(state.weight, tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(tf.sub(x, mean), scale), state.bias);
}

/**
 * Exact GELU, `0.5·x·(1 + erf(x/√2))`, as PyTorch's `nn.GELU()`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { gelu } from "@efficienttrain/models";
 * console.assert(Math.abs(gelu(tf.scalar(1)).dataSync()[0] - 0.841345) < 1e-5);
 * ```
 */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (hasFusedKernel(FUSED.gelu, x)) return fused(FUSED.gelu, { x }, {})[0] as T;
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T;
}

/**
 * Stochastic depth on a residual branch: drop whole samples with probability `rate` and
 * rescale the kept ones by 1/(1−rate), as timm's `drop_path`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { Rng } from "@efficienttrain/core";
 * import { dropPath } from "@efficienttrain/models";
 * const y = dropPath(tf.ones([4, 2]), 0.5, new Rng(1));
 * console.assert(y.dataSync().every((v) => v === 0 || v === 2));
 * ```
 */
export function dropPath<T extends tf.Tensor>(x: T, rate: number, rng: Rng | undefined): T {
  if (rate <= 0 || rng === undefined) return x;
  const keep = 1 - rate;
  const n = x.shape[0];
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = rng.next() < keep ? 1 / keep : 0;
  const shape = [n, ...x.shape.slice(1).map(() => 1)];
  return tf.mul(x, tf.tensor(mask, shape)) as T;
}

/** Linearly increasing drop-path rates over all blocks, as timm's `linspace(0, rate, n)`. */
export function dropPathRates(rate: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n > 1 ? (rate * i) / (n - 1) : 0));
}

/**
 * Roll an NHWC tensor by `shift` along H and W (`torch.roll(x, (s, s), (1, 2))`), built from
 * slice + concat so that it is differentiable on every backend.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { roll2d } from "@efficienttrain/models";
 * const x = tf.tensor4d([0, 1, 2, 3], [1, 2, 2, 1]);
 * console.assert(roll2d(x, 1).dataSync().join() === "3,2,1,0");
 * ```
 */
export function roll2d(x: tf.Tensor4D, shift: number): tf.Tensor4D {
  let y = x;
  for (const axis of [1, 2]) {
    const n = y.shape[axis];
    const s = ((shift % n) + n) % n;
    if (s === 0) continue;
    const parts = tf.split(y, [n - s, s], axis);
    y = tf.concat([parts[1], parts[0]], axis) as tf.Tensor4D;
  }
  return y;
}

/** The drop-path RNG for one forward pass (none in eval or when all rates are zero). */
export function forwardRng(
  training: boolean,
  seed: number | undefined,
  fallback: Rng,
): Rng | undefined {
  if (!training) return undefined;
  return seed === undefined ? fallback.fork() : new Rng(seed);
}
