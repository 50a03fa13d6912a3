/**
 * A seeded, generated sweep of op cases over the shapes a curriculum produces: size-1 axes in
 * every position, odd sizes, 1×1 and 2×2 maps, batch 1, broadcasting on either side,
 * reductions over every subset of axes, strides and paddings that do not divide the input.
 * Each case computes values and (where tfjs-core defines them for the case) gradients of
 * `sum(f(x) · r)` for a fixed random `r`; {@link sweep} runs every case on tfjs-cpu and on a
 * backend under test and reports the worst relative error, and which kernels ran.
 *
 * `ET_SWEEP=full` draws several times as many shapes per op family (minutes, not seconds).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "@efficienttrain/core";
import { batchNormTraining, geluFused, layerNormFused } from "@efficienttrain/backend-native";
import { adamWStep } from "@efficienttrain/train";

/** One generated case. */
export interface SweepCase {
  /** Op family and shapes, for the failure message. */
  readonly name: string;
  readonly shapes: readonly number[][];
  readonly fn: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Whether tfjs-core's gradient is defined (and correct on tfjs-cpu) for this case. */
  readonly grads: boolean;
  /** Inputs that must stay positive (log, sqrt, divisor). */
  readonly positive?: boolean;
}

/** Shapes drawn per op family: a CI-sized sweep, or the larger one behind `ET_SWEEP=full`. */
export function sweepScale(): number {
  return Deno.env.get("ET_SWEEP") === "full" ? 4 : 1;
}

const ODD_OR_SMALL = [1, 1, 2, 3, 5, 7];

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(0, xs.length - 1)];
}

function shapeOf(rng: Rng, rank: number, dims: readonly number[] = ODD_OR_SMALL): number[] {
  return Array.from({ length: rank }, () => pick(rng, dims));
}

/** Every subset of `[0, rank)`, the empty one excluded. */
function axisSubsets(rank: number): number[][] {
  const out: number[][] = [];
  for (let mask = 1; mask < 1 << rank; mask++) {
    out.push([...Array(rank).keys()].filter((a) => (mask >> a) & 1));
  }
  return out;
}

function elementwiseCases(rng: Rng, n: number): SweepCase[] {
  const cases: SweepCase[] = [];
  const unary: [string, (x: tf.Tensor) => tf.Tensor, boolean, boolean?][] = [
    ["relu", tf.relu, true],
    ["square", tf.square, true],
    ["neg", tf.neg, true],
    ["exp", tf.exp, true],
    ["log", tf.log, true, true],
    ["sqrt", tf.sqrt, true, true],
    ["rsqrt", tf.rsqrt, true, true],
    ["tanh", tf.tanh, true],
    ["sigmoid", tf.sigmoid, true],
    ["abs", tf.abs, true],
    ["erf", (x) => tf.erf(tf.mul(x, 2)), true],
    ["step", (x) => tf.step(x), false],
  ];
  for (const [op, f, grads, positive] of unary) {
    for (let i = 0; i < n; i++) {
      const shape = shapeOf(rng, rng.int(1, 4));
      cases.push({ name: `${op} [${shape}]`, shapes: [shape], fn: f, grads, positive });
    }
  }
  const binary: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, boolean][] = [
    ["add", tf.add, true],
    ["sub", tf.sub, true],
    ["mul", tf.mul, true],
    ["div", tf.div, true],
    // tfjs-core's gradients of these do not reduce broadcast axes (tfjs-cpu throws too).
    ["maximum", tf.maximum, false],
    ["minimum", tf.minimum, false],
    ["squaredDifference", tf.squaredDifference, false],
  ];
  for (const [op, f, gradsWhenBroadcast] of binary) {
    for (let i = 0; i < 2 * n; i++) {
      const rank = rng.int(1, 4);
      const full = shapeOf(rng, rank, [1, 2, 3, 5, 6]);
      // Each side keeps an axis or collapses it to 1; trailing-rank broadcasting on either side.
      const side = () => {
        const s = full.map((d) => (rng.next() < 0.35 ? 1 : d));
        return s.slice(rng.next() < 0.25 ? rng.int(0, rank) : 0);
      };
      const a = side(), b = side();
      const same = a.length === b.length && a.every((d, k) => d === b[k]);
      cases.push({
        name: `${op} [${a}] [${b}]`,
        shapes: [a, b],
        fn: f,
        grads: gradsWhenBroadcast || same,
        positive: op === "div",
      });
    }
  }
  return cases;
}

function reductionCases(rng: Rng, n: number): SweepCase[] {
  const cases: SweepCase[] = [];
  for (let rank = 1; rank <= 4; rank++) {
    for (const axes of axisSubsets(rank)) {
      for (let i = 0; i < Math.max(1, Math.round(n / 2)); i++) {
        const shape = shapeOf(rng, rank);
        // A global pool over a 1×1 map: every reduced axis of size 1.
        if (rng.next() < 0.3) { for (const a of axes) shape[a] = 1; }
        const keep = rng.next() < 0.5;
        cases.push({
          name: `sum [${shape}] axes ${axes} keep ${keep}`,
          shapes: [shape],
          fn: (x) => tf.sum(x, axes, keep),
          grads: true,
        });
        cases.push({
          name: `mean [${shape}] axes ${axes} keep ${keep}`,
          shapes: [shape],
          fn: (x) => tf.mean(x, axes, keep),
          grads: true,
        });
        cases.push({
          name: `max [${shape}] axes ${axes}`,
          shapes: [shape],
          fn: (x) => tf.max(x, axes, keep),
          grads: false,
        });
      }
    }
  }
  return cases;
}

type Pad = "same" | "valid" | number;

function convCases(rng: Rng, n: number): SweepCase[] {
  const cases: SweepCase[] = [];
  for (let i = 0; i < 6 * n; i++) {
    const batch = pick(rng, [1, 1, 2, 3]);
    const h = pick(rng, [1, 2, 3, 5, 7, 8]), w = pick(rng, [1, 2, 3, 5, 7, 8]);
    const cin = pick(rng, [1, 2, 3]), cout = pick(rng, [1, 2, 4]);
    const k = pick(rng, [1, 2, 3, 5]);
    const stride = pick(rng, [1, 1, 2, 3]);
    const pad: Pad = pick(rng, ["same", "valid", 0, 1, 2] as Pad[]);
    const padded = typeof pad === "number" ? Math.min(h, w) + 2 * pad : Math.min(h, w);
    if (pad !== "same" && k > padded) continue;
    const dilation = stride === 1 && pad === "same" && rng.next() < 0.3 ? 2 : 1;
    const xs = [batch, h, w, cin], ws = [k, k, cin, cout];
    const tag = `[${xs}] k${k} c${cout} s${stride} ${pad}${dilation > 1 ? " d2" : ""}`;
    cases.push({
      name: `conv2d ${tag}`,
      shapes: [xs, ws],
      fn: (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, stride, pad, "NHWC", dilation),
      grads: dilation === 1,
    });
    const activation = pick(rng, ["linear", "relu"] as const);
    cases.push({
      name: `fused conv2d ${activation} ${tag}`,
      shapes: [xs, ws, [cout]],
      fn: (x, f, b) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: f as tf.Tensor4D,
          strides: stride,
          pad,
          bias: b,
          activation,
        }),
      grads: dilation === 1,
    });
    const mult = pick(rng, [1, 1, 2]);
    const dws = [k, k, cin, mult];
    const dwStride = pick(rng, [1, 2]);
    cases.push({
      name: `depthwise [${xs}] k${k} m${mult} s${dwStride} ${pad}`,
      shapes: [xs, dws],
      fn: (x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, dwStride, pad),
      grads: true,
    });
    cases.push({
      name: `fused depthwise relu [${xs}] k${k} m${mult} s${dwStride} ${pad}`,
      shapes: [xs, dws, [cin * mult]],
      fn: (x, f, b) =>
        tf.fused.depthwiseConv2d({
          x: x as tf.Tensor4D,
          filter: f as tf.Tensor4D,
          strides: dwStride,
          pad,
          bias: b,
          activation: "relu",
        }),
      grads: true,
    });
    if (k <= Math.min(h, w) || pad === "same") {
      const pool = Math.min(k, h, w);
      cases.push({
        name: `maxPool [${xs}] k${pool} s${stride} ${pad === "same" ? "same" : "valid"}`,
        shapes: [xs],
        fn: (x) => tf.maxPool(x as tf.Tensor4D, pool, stride, pad === "same" ? "same" : "valid"),
        grads: true,
      });
    }
    // ResNet's stem pool: numeric padding, after a ReLU, so whole windows tie at 0 and the
    // gradient must go to the first of them, as on tfjs-cpu.
    cases.push({
      name: `maxPool relu [${xs}] k3 s${stride} p1`,
      shapes: [xs],
      fn: (x) => tf.maxPool(tf.relu(x as tf.Tensor4D), 3, stride, 1),
      grads: true,
    });
  }
  return cases;
}

function matmulCases(rng: Rng, n: number): SweepCase[] {
  const cases: SweepCase[] = [];
  for (let i = 0; i < 4 * n; i++) {
    const m = pick(rng, [1, 2, 3, 7]), k = pick(rng, [1, 2, 5, 9]), p = pick(rng, [1, 3, 4]);
    const ta = rng.next() < 0.5, tb = rng.next() < 0.5;
    const a = ta ? [k, m] : [m, k], b = tb ? [p, k] : [k, p];
    const batch = pick(rng, [[], [1], [3], [2, 2]]);
    const broadcast = batch.length > 0 && rng.next() < 0.3 ? pick(rng, ["a", "b"]) : "";
    const sa = broadcast === "a" ? a : [...batch, ...a];
    const sb = broadcast === "b" ? b : [...batch, ...b];
    cases.push({
      name: `matMul [${sa}] [${sb}] ${ta} ${tb}`,
      shapes: [sa, sb],
      fn: (x, y) => tf.matMul(x, y, ta, tb),
      // tfjs-core's BatchMatMul gradient does not reduce broadcast batch axes.
      grads: broadcast === "",
    });
    if (batch.length === 0) {
      cases.push({
        name: `fused matMul relu [${a}] [${b}] ${ta} ${tb}`,
        shapes: [a, b, [p]],
        fn: (x, y, bias) =>
          tf.fused.matMul({
            a: x as tf.Tensor2D,
            b: y as tf.Tensor2D,
            transposeA: ta,
            transposeB: tb,
            bias,
            activation: "relu",
          }),
        grads: true,
      });
    }
  }
  return cases;
}

function layoutCases(rng: Rng, n: number): SweepCase[] {
  const cases: SweepCase[] = [];
  for (let i = 0; i < 3 * n; i++) {
    const rank = rng.int(2, 5);
    const shape = shapeOf(rng, rank);
    const perm = [...Array(rank).keys()];
    for (let j = rank - 1; j > 0; j--) {
      const r = rng.int(0, j);
      [perm[j], perm[r]] = [perm[r], perm[j]];
    }
    cases.push({
      name: `transpose [${shape}] ${perm}`,
      shapes: [shape],
      fn: (x) => tf.transpose(x, perm),
      grads: true,
    });
    // tfjs-core's SplitV gradient needs two parts or more: split an axis of 2 or more.
    const axis = rng.int(0, rank - 1);
    const splitShape = shape.slice();
    splitShape[axis] = Math.max(2, shape[axis]);
    const d = splitShape[axis];
    const sizes: number[] = [];
    for (let left = d; left > 0;) {
      const s = rng.int(1, left === d ? d - 1 : left);
      sizes.push(s);
      left -= s;
    }
    cases.push({
      name: `split [${splitShape}] axis ${axis} ${sizes}`,
      shapes: [splitShape],
      // Weight every part differently, so a part swapped with another shows.
      fn: (x) => tf.concat(tf.split(x, sizes, axis).map((p, k) => tf.mul(p, k + 1).flatten())),
      grads: true,
    });
    const reps = shape.map(() => rng.int(1, 2));
    cases.push({
      name: `tile [${shape}] ${reps}`,
      shapes: [shape],
      fn: (x) => tf.tile(x, reps),
      // tfjs-core differentiates Tile up to rank 4.
      grads: rank <= 4,
    });
    const last = [...shapeOf(rng, rng.int(1, 3)), pick(rng, [1, 2, 5, 17])];
    cases.push({
      name: `softmax [${last}]`,
      shapes: [last],
      fn: (x) => tf.softmax(tf.mul(x, 3)),
      grads: true,
    });
    cases.push({
      name: `logSoftmax [${last}]`,
      shapes: [last],
      fn: (x) => tf.logSoftmax(x),
      grads: true,
    });
    const rows = shape[0];
    cases.push({
      name: `gather [${shape}]`,
      shapes: [shape],
      // Its gradient is UnsortedSegmentSum, with repeated indices.
      fn: (x) => tf.gather(x, tf.tensor1d([rows - 1, 0, rows - 1], "int32")),
      grads: true,
    });
    cases.push({
      name: `cast round trip [${shape}]`,
      shapes: [shape],
      fn: (x) => tf.add(tf.cast(tf.cast(tf.mul(x, 4), "int32"), "float32"), tf.clone(x)),
      grads: false,
    });
  }
  return cases;
}

/** The fused layers a case calls. */
export interface FusedLayers {
  batchNorm: (x: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor;
  layerNorm: (x: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor;
  gelu: (x: tf.Tensor) => tf.Tensor;
  /** One AdamW update; the new parameter and both moments, flattened into one tensor. */
  adamW: (p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor) => tf.Tensor;
}

/**
 * The project's fused layers: the native backend's kernels there, their plain formulas on
 * every other backend. The batch norm's statistics are outputs too (they feed the running
 * averages), so they are checked with y.
 */
export const FUSED_LAYERS: FusedLayers = {
  batchNorm: (x, g, b) => {
    const r = batchNormTraining(x, g, b, 1e-5);
    return tf.concat([r.y.flatten(), r.mean, r.variance]);
  },
  layerNorm: (x, g, b) => layerNormFused(x, g, b, 1e-6),
  gelu: geluFused,
  adamW: (p, g, m, v) => {
    const out = adamWStep(p, g, m, tf.abs(v), {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      stepSize: 1e-3 / (1 - 0.9 ** 3),
      vCorrection: 1 / (1 - 0.999 ** 3),
      decay: 1e-3 * 0.05,
    });
    return tf.concat(out.map((t) => t.flatten()));
  },
};

/**
 * Fused layers (the native backend's batch-norm, layer-norm and GELU kernels, and their plain
 * formulas elsewhere), over maps down to 1×1 and batches down to 1.
 */
export function fusedCases(rng: Rng, n: number, fused: FusedLayers = FUSED_LAYERS): SweepCase[] {
  const cases: SweepCase[] = [];
  for (let i = 0; i < 3 * n; i++) {
    const s = [
      pick(rng, [1, 2, 3]),
      pick(rng, [1, 1, 2, 5]),
      pick(rng, [1, 1, 2, 3]),
      pick(rng, [
        1,
        3,
        8,
      ]),
    ];
    // A batch norm needs more than one value per channel to have a variance.
    if (s[0] * s[1] * s[2] < 2) s[0] = 2;
    const c = [s[3]];
    cases.push({
      name: `batchNorm [${s}]`,
      shapes: [s, c, c],
      fn: (x, g, b) => fused.batchNorm(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D),
      grads: true,
    });
    const ls = [...shapeOf(rng, rng.int(1, 3)), pick(rng, [2, 3, 8])];
    const lc = [ls[ls.length - 1]];
    cases.push({
      name: `layerNorm [${ls}]`,
      shapes: [ls, lc, lc],
      fn: (x, g, b) => fused.layerNorm(x, g as tf.Tensor1D, b as tf.Tensor1D),
      grads: true,
    });
    cases.push({
      name: `gelu [${s}]`,
      shapes: [s],
      fn: (x) => fused.gelu(tf.mul(x, 2)),
      grads: true,
    });
    cases.push({
      name: `adamW [${ls}]`,
      shapes: [ls, ls, ls, ls],
      fn: (p, g, m, v) => fused.adamW(p, g, m, v),
      grads: false,
    });
  }
  return cases;
}

/** Every generated case but the fused layers, from one seed. */
export function sweepCases(seed: number, scale = sweepScale()): SweepCase[] {
  const rng = new Rng(seed);
  return [
    ...elementwiseCases(rng.fork(), 3 * scale),
    ...reductionCases(rng.fork(), 2 * scale),
    ...convCases(rng.fork(), 3 * scale),
    ...matmulCases(rng.fork(), 3 * scale),
    ...layoutCases(rng.fork(), 3 * scale),
  ];
}

function inputValues(shape: readonly number[], seed: number, positive: boolean): Float32Array {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Distinct magnitudes, so ties (max, relu at 0) are improbable and every gradient path shows.
    const v = rng.uniform(-1, 1);
    out[i] = positive ? Math.abs(v) + 0.25 : v;
  }
  return out;
}

/** Values then gradients of one case on the current backend. */
function evaluate(c: SweepCase, index: number): Float32Array[] {
  const outs: Float32Array[] = [];
  tf.tidy(() => {
    const xs = c.shapes.map((s, i) =>
      tf.tensor(inputValues(s, 1000 * index + i, c.positive ?? false), s)
    );
    const y = c.fn(...xs);
    outs.push(Float32Array.from(y.dataSync()));
    if (c.grads) {
      const r = tf.tensor(inputValues(y.shape, 7919 * index + 1, false), y.shape);
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(c.fn(...a), r)))(xs);
      for (const g of grads) outs.push(Float32Array.from(g.dataSync()));
    }
  });
  return outs;
}

/**
 * max |a − b| / max(max |b|, 0.1): the error relative to the reference's scale. The floor
 * matters for outputs that are 0 in exact arithmetic and float rounding noise in practice
 * (log-softmax over one class, the input gradient of a layer norm over two values); the
 * sweep's inputs and cotangents are O(1), so every real output is well above it.
 */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0, den = 0.1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= num)) num = d; // NaN propagates as a failure
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** What {@link sweep} found. */
export interface SweepReport {
  readonly cases: number;
  /** Distinct input-shape lists tried. */
  readonly shapes: number;
  /** Kernels that ran on the backend under test, by name. */
  readonly kernels: ReadonlySet<string>;
  /** One line per case over the tolerance: name, output (value or grad k), error. */
  readonly failures: readonly string[];
  readonly worst: number;
}

/**
 * Run every case on tfjs-cpu, then on `backend`, and compare values and gradients.
 *
 * @example
 * ```ts ignore
 * const report = await sweep(sweepCases(1), "wasm", { tolerance: 1e-4 });
 * ```
 */
export async function sweep(
  cases: readonly SweepCase[],
  backend: string,
  options: { tolerance: number; activate: (name: string) => Promise<void> },
): Promise<SweepReport> {
  await options.activate("cpu");
  const expected = cases.map((c, i) => evaluate(c, i));
  await options.activate(backend);
  const kernels = new Set<string>();
  const failures: string[] = [];
  let worst = 0;
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i];
    let actual: Float32Array[] = [];
    const info = await tf.profile(() => {
      actual = evaluate(c, i);
    });
    for (const k of info.kernelNames) kernels.add(k);
    for (let o = 0; o < expected[i].length; o++) {
      const err = relativeError(actual[o], expected[i][o]);
      worst = Math.max(worst, err);
      if (!(err <= options.tolerance)) {
        failures.push(
          `${c.name}: ${o === 0 ? "value" : `grad of input ${o - 1}`} rel err ${
            err.toExponential(2)
          }`,
        );
      }
    }
  }
  const shapes = new Set(cases.map((c) => JSON.stringify(c.shapes))).size;
  return { cases: cases.length, shapes, kernels, failures, worst };
}
