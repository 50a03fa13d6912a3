/**
 * Element-wise kernels and reductions for the native backend through oneDNN's `binary`,
 * `eltwise` and `reduction` primitives (JIT-compiled, multi-threaded). Shapes are collapsed
 * first (adjacent dims that broadcast alike are merged), so `[N,H,W,C] ⊕ [C]` becomes a
 * `[N·H·W, C] ⊕ [1, C]` primitive. Small tensors, other dtypes and broadcasts oneDNN 2.x
 * cannot express stay on tfjs-cpu, where FFI overhead would not pay off anyway.
 *
 * @module
 */
import { backend_util, type KernelConfig, type TensorInfo, util } from "@tensorflow/tfjs-core";
import { D, type DnnlContext, mdDense, opDesc, Primitive, primitiveDesc } from "./dnnl.ts";
import type { Gemm } from "./ffi.ts";
import {
  allFloat32,
  cpuKernel,
  f32,
  type NativeKernelFunc,
  nativeLimits,
  output,
  sizeOf,
} from "./kernel_util.ts";
import { take } from "./pool.ts";

const BINARY_GT = 131063;
const ELTWISE = {
  square: 79,
  linear: 127,
  relu: 31,
  exp: 191,
  log: 239,
  sqrt: 111,
  tanh: 47,
  logistic: 175,
  abs: 95,
  pow: 32,
} as const;

/**
 * Collapse two broadcast-compatible shapes (right-aligned) into the fewest dims: runs of
 * axes where each side is either full or 1 alike are merged. Returns null when the output
 * shape differs from both sides' broadcast result in a way the caller must handle.
 */
export function collapseBroadcast(
  a: readonly number[],
  b: readonly number[],
): { out: number[]; a: number[]; b: number[] } {
  const rank = Math.max(a.length, b.length);
  const pa = [...new Array(rank - a.length).fill(1), ...a];
  const pb = [...new Array(rank - b.length).fill(1), ...b];
  const out: number[] = [];
  const ra: number[] = [];
  const rb: number[] = [];
  let prevKind = "";
  for (let i = 0; i < rank; i++) {
    const o = Math.max(pa[i], pb[i]);
    if (o === 1) continue;
    const kind = `${pa[i] === 1 ? 1 : 0}${pb[i] === 1 ? 1 : 0}`;
    if (kind === prevKind) {
      out[out.length - 1] *= o;
      ra[ra.length - 1] *= pa[i];
      rb[rb.length - 1] *= pb[i];
    } else {
      out.push(o);
      ra.push(pa[i]);
      rb.push(pb[i]);
      prevKind = kind;
    }
  }
  if (out.length === 0) return { out: [1], a: [1], b: [1] };
  return { out, a: ra, b: rb };
}

/**
 * Expand `src` of collapsed shape `from` to `to` (same rank; each dim equal or 1), copying
 * whole contiguous blocks: the first copy of a broadcast block is built once, then repeated
 * with `copyWithin`.
 *
 * @example
 * ```ts
 * import { broadcastTo } from "./kernels_elementwise.ts";
 * const y = broadcastTo(new Float32Array([1, 2]), [2, 1], [2, 3]);
 * console.assert(y.join() === "1,1,1,2,2,2");
 * ```
 */
export function broadcastTo(
  src: Float32Array,
  from: readonly number[],
  to: readonly number[],
): Float32Array {
  // elements below each dim, in the output and in the source
  const outStride = new Array<number>(to.length).fill(1);
  const srcStride = new Array<number>(to.length).fill(1);
  for (let d = to.length - 2; d >= 0; d--) {
    outStride[d] = outStride[d + 1]! * to[d + 1]!;
    srcStride[d] = srcStride[d + 1]! * from[d + 1]!;
  }
  const dst = new Float32Array(to.length === 0 ? 1 : outStride[0]! * to[0]!);
  const fill = (d: number, s: number, o: number): void => {
    const block = outStride[d]!;
    if (d === to.length - 1) {
      if (from[d] === 1) dst.fill(src[s]!, o, o + to[d]!);
      else dst.set(src.subarray(s, s + to[d]!), o);
      return;
    }
    if (from[d] === 1) {
      fill(d + 1, s, o);
      // doubling: log2(to[d]) copies however small the block
      const total = block * to[d]!;
      for (let done = block; done < total;) {
        const len = Math.min(done, total - done);
        dst.copyWithin(o + done, o, o + len);
        done += len;
      }
    } else {
      const step = srcStride[d]!;
      for (let i = 0; i < to[d]!; i++) fill(d + 1, s + i * step, o + i * block);
    }
  };
  fill(0, 0, 0);
  return dst;
}

function attrWithEltwise(
  ctx: DnnlContext,
  ops: ReadonlyArray<readonly [alg: number, alpha: number, beta: number]>,
): Deno.PointerValue {
  if (ops.length === 0) return null;
  const out = new BigUint64Array(1);
  ctx.lib.dnnl_primitive_attr_create(out);
  const attr = Deno.UnsafePointer.create(out[0]);
  ctx.lib.dnnl_post_ops_create(out);
  const postOps = Deno.UnsafePointer.create(out[0]);
  for (const [alg, alpha, beta] of ops) {
    ctx.lib.dnnl_post_ops_append_eltwise(postOps, 1, alg, alpha, beta);
  }
  ctx.lib.dnnl_primitive_attr_set_post_ops(attr, postOps);
  return attr;
}

const binaries = new Map<string, Primitive>();

function binaryPrimitive(
  ctx: DnnlContext,
  alg: number,
  shapes: { out: number[]; b: number[] },
  post: ReadonlyArray<readonly [number, number, number]>,
): Primitive {
  const k = `${alg}|${shapes.out}|${shapes.b}|${post.flat()}`;
  let p = binaries.get(k);
  if (p === undefined) {
    const src0 = mdDense(ctx, shapes.out);
    const src1 = mdDense(ctx, shapes.b);
    const desc = opDesc();
    const status = ctx.lib.dnnl_binary_desc_init(
      desc,
      alg,
      src0.bytes as Uint8Array<ArrayBuffer>,
      src1.bytes as Uint8Array<ArrayBuffer>,
      src0.bytes as Uint8Array<ArrayBuffer>,
    );
    if (status !== 0) throw new Error(`oneDNN binary_desc_init failed (${status})`);
    const pd = primitiveDesc(ctx, desc, null, attrWithEltwise(ctx, post));
    if (pd === null) throw new Error("oneDNN has no binary implementation");
    p = new Primitive(ctx, pd, [[D.argSrc, src0], [D.argSrc1, src1], [D.argDst, src0]]);
    binaries.set(k, p);
  }
  return p;
}

interface BinarySpec {
  readonly alg: number;
  readonly commutative: boolean;
  /** Post-op applied to the binary result (e.g. square for SquaredDifference). */
  readonly post: ReadonlyArray<readonly [number, number, number]>;
}

const BINARY: Record<string, BinarySpec> = {
  Add: { alg: D.binaryAdd, commutative: true, post: [] },
  Multiply: { alg: D.binaryMul, commutative: true, post: [] },
  Maximum: { alg: D.binaryMax, commutative: true, post: [] },
  Minimum: { alg: D.binaryMin, commutative: true, post: [] },
  Sub: { alg: D.binarySub, commutative: false, post: [] },
  RealDiv: { alg: D.binaryDiv, commutative: false, post: [] },
  SquaredDifference: { alg: D.binarySub, commutative: true, post: [[ELTWISE.square, 0, 0]] },
};

function binaryKernel(ctx: DnnlContext, name: string, spec: BinarySpec): NativeKernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (!allFloat32(a, b)) return fallback(args);
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const n = sizeOf(outShape);
    if (n < nativeLimits.minElements) return fallback(args);
    const c = collapseBroadcast(a.shape, b.shape);
    const aFull = sizeOf(a.shape) === n;
    const bFull = sizeOf(b.shape) === n;
    let src0 = f32(args.backend, a);
    let src1 = f32(args.backend, b);
    let small = c.b;
    let post = spec.post;
    if (!aFull) {
      const swap = bFull && (spec.commutative || spec.alg === D.binarySub);
      if (swap) {
        // oneDNN 2.x broadcasts only its second source: swap, and undo the sign for Sub.
        [src0, src1, small] = [src1, src0, c.a];
        if (!spec.commutative) post = [[ELTWISE.linear, -1, 0]];
      } else {
        // both sides broadcast ([N,1,1,C] ⊙ [1,H,W,1]) or a non-commutative op broadcasts its
        // first input: materialise that input (tfjs-cpu's generic loop was ~30× slower)
        src0 = broadcastTo(src0, c.a, c.out);
      }
    }
    const prim = binaryPrimitive(ctx, spec.alg, { out: c.out, b: small }, post);
    const y = take(args.backend, n);
    prim.exec([src0, src1, y]);
    return output(args.backend, outShape, y);
  };
}

const eltwises = new Map<string, Primitive>();

function eltwiseKernel(
  ctx: DnnlContext,
  name: string,
  alg: number,
  alpha: number,
  beta: number,
): NativeKernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const n = sizeOf(x.shape);
    if (!allFloat32(x) || n < nativeLimits.minElements) return fallback(args);
    const k = `${alg}|${n}`;
    let p = eltwises.get(k);
    if (p === undefined) {
      const md = mdDense(ctx, [n]);
      const desc = opDesc();
      const status = ctx.lib.dnnl_eltwise_forward_desc_init(
        desc,
        D.forwardInference,
        alg,
        md.bytes as Uint8Array<ArrayBuffer>,
        alpha,
        beta,
      );
      if (status !== 0) throw new Error(`oneDNN eltwise_forward_desc_init failed (${status})`);
      const pd = primitiveDesc(ctx, desc, null);
      if (pd === null) throw new Error("oneDNN has no eltwise implementation");
      p = new Primitive(ctx, pd, [[D.argSrc, md], [D.argDst, md]]);
      eltwises.set(k, p);
    }
    const y = take(args.backend, n);
    p.exec([f32(args.backend, x), y]);
    return output(args.backend, x.shape, y);
  };
}

/**
 * Step(x) = x > 0 ? 1 : alpha. With alpha = 0 (ReLU's gradient mask) it is oneDNN's `x > 0`
 * comparison: a JS loop branches on every sign and runs ~40× slower. One deviation from
 * tfjs-cpu: NaN maps to 0, not NaN (PyTorch's threshold_backward does the same).
 */
function stepKernel(ctx: DnnlContext): NativeKernelFunc {
  const fallback = cpuKernel("Step");
  const zero = new Float32Array(1);
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const alpha = (args.attrs as { alpha?: number }).alpha ?? 0;
    const n = sizeOf(x.shape);
    if (!allFloat32(x) || alpha !== 0 || n < nativeLimits.minElements) return fallback(args);
    const prim = binaryPrimitive(ctx, BINARY_GT, { out: [n], b: [1] }, []);
    const y = take(args.backend, n);
    prim.exec([f32(args.backend, x), zero, y]);
    return output(args.backend, x.shape, y);
  };
}

/**
 * erf(x) with tfjs-cpu's formula (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7), split so the
 * expensive part runs in oneDNN: one binary pass computes exp(−x²) (x·x, then the linear(−1)
 * and exp post-ops), then a JS loop evaluates the polynomial, which has no transcendental.
 */
function erfKernel(ctx: DnnlContext): NativeKernelFunc {
  const fallback = cpuKernel("Erf");
  const p = backend_util.ERF_P;
  const a1 = backend_util.ERF_A1;
  const a2 = backend_util.ERF_A2;
  const a3 = backend_util.ERF_A3;
  const a4 = backend_util.ERF_A4;
  const a5 = backend_util.ERF_A5;
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const n = sizeOf(x.shape);
    if (!allFloat32(x) || n < nativeLimits.minElements) return fallback(args);
    const prim = binaryPrimitive(ctx, D.binaryMul, { out: [n], b: [n] }, [
      [ELTWISE.linear, -1, 0],
      [ELTWISE.exp, 0, 0],
    ]);
    const xs = f32(args.backend, x);
    const y = take(args.backend, n);
    prim.exec([xs, xs, y]);
    for (let i = 0; i < n; i++) {
      const xi = xs[i];
      const v = Math.abs(xi);
      const t = 1 / (1 + p * v);
      const r = 1 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * y[i];
      // x/|x| is the sign without a branch (random signs defeat the branch predictor).
      y[i] = r * (xi / (v + 1e-30));
    }
    return output(args.backend, x.shape, y);
  };
}

const reductions = new Map<string, Primitive>();
let ones = new Float32Array(0);

function onesOf(n: number): Float32Array {
  if (ones.length < n) ones = new Float32Array(n).fill(1);
  return ones.subarray(0, n);
}

/**
 * Sums (times `scale`) over the reduced runs of a collapsed `[.., R, K]`-style shape as
 * matrix-vector products with a ones vector: a threaded GEMM streams the data once,
 * where oneDNN 2.x only has a reference reduction for these layouts. Returns false when the
 * pattern is not one of `[R,K]→[1,K]`, `[K,R]→[K,1]`, `[A,R,K]→[A,1,K]`.
 */
function sumBySgemv(
  gemm: Gemm,
  src: readonly number[],
  dst: readonly number[],
  x: Float32Array,
  y: Float32Array,
  scale: number,
): boolean {
  const rowsDown = (r: number, k: number, xs: Float32Array, ys: Float32Array) =>
    // y[1×K] = ones[1×R] · X[R×K]
    gemm.sgemm(false, false, { m: 1, n: k, k: r }, { data: onesOf(r), ld: r }, {
      data: xs,
      ld: k,
    }, { data: ys, ld: k, alpha: scale, beta: 0 });
  if (src.length === 2 && dst[0] === 1) {
    rowsDown(src[0], src[1], x, y);
    return true;
  }
  if (src.length === 2 && dst[1] === 1) {
    const [k, r] = src;
    // y[K×1] = X[K×R] · ones[R×1]
    gemm.sgemm(false, false, { m: k, n: 1, k: r }, { data: x, ld: r }, {
      data: onesOf(r),
      ld: 1,
    }, { data: y, ld: 1, alpha: scale, beta: 0 });
    return true;
  }
  if (src.length === 3 && dst[1] === 1) {
    const [a, r, k] = src;
    for (let i = 0; i < a; i++) {
      rowsDown(r, k, x.subarray(i * r * k, (i + 1) * r * k), y.subarray(i * k, (i + 1) * k));
    }
    return true;
  }
  return false;
}

function reduceKernel(
  ctx: DnnlContext,
  gemm: Gemm,
  name: string,
  alg: number,
): NativeKernelFunc {
  const fallback = cpuKernel(name);
  return (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    // Sum and Mean name the axes `axis`, Max names them `reductionIndices`.
    const attrs = args.attrs as {
      axis?: number | number[];
      reductionIndices?: number | number[];
      keepDims: boolean;
    };
    const n = sizeOf(x.shape);
    if (!allFloat32(x) || n < nativeLimits.minElements) return fallback(args);
    const axes = util.parseAxisParam(attrs.axis ?? attrs.reductionIndices!, x.shape);
    const reduced = new Set(axes);
    // Collapse runs of reduced / kept axes (size-1 axes join either run).
    const src: number[] = [];
    const dst: number[] = [];
    let prev: boolean | undefined;
    for (let i = 0; i < x.shape.length; i++) {
      const d = x.shape[i];
      if (d === 1) continue;
      const r = reduced.has(i);
      if (r === prev) {
        src[src.length - 1] *= d;
        if (!r) dst[dst.length - 1] *= d;
      } else {
        src.push(d);
        dst.push(r ? 1 : d);
        prev = r;
      }
    }
    const outShape = attrs.keepDims
      ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d))
      : x.shape.filter((_, i) => !reduced.has(i));
    if (src.length === 0 || dst.every((d, i) => d === src[i])) return fallback(args);
    const y = take(args.backend, sizeOf(outShape));
    if (alg !== D.reductionMax) {
      const scale = alg === D.reductionMean ? sizeOf(dst) / n : 1;
      if (sumBySgemv(gemm, src, dst, f32(args.backend, x), y, scale)) {
        return output(args.backend, outShape, y);
      }
    }
    const k = `${alg}|${src}|${dst}`;
    let p = reductions.get(k);
    if (p === undefined) {
      const s = mdDense(ctx, src);
      const d = mdDense(ctx, dst);
      const desc = opDesc();
      const status = ctx.lib.dnnl_reduction_desc_init(
        desc,
        alg,
        s.bytes as Uint8Array<ArrayBuffer>,
        d.bytes as Uint8Array<ArrayBuffer>,
        0,
        0,
      );
      if (status !== 0) throw new Error(`oneDNN reduction_desc_init failed (${status})`);
      const pd = primitiveDesc(ctx, desc, null);
      if (pd === null) return fallback(args);
      p = new Primitive(ctx, pd, [[D.argSrc, s], [D.argDst, d]]);
      reductions.set(k, p);
    }
    p.exec([f32(args.backend, x), y]);
    return output(args.backend, outShape, y);
  };
}

function makeKernels(ctx: DnnlContext, gemm: Gemm): Record<string, NativeKernelFunc> {
  const out: Record<string, NativeKernelFunc> = {};
  for (const [name, spec] of Object.entries(BINARY)) out[name] = binaryKernel(ctx, name, spec);
  out.Relu = eltwiseKernel(ctx, "Relu", ELTWISE.relu, 0, 0);
  out.Square = eltwiseKernel(ctx, "Square", ELTWISE.square, 0, 0);
  out.Neg = eltwiseKernel(ctx, "Neg", ELTWISE.linear, -1, 0);
  out.Exp = eltwiseKernel(ctx, "Exp", ELTWISE.exp, 0, 0);
  out.Log = eltwiseKernel(ctx, "Log", ELTWISE.log, 0, 0);
  out.Sqrt = eltwiseKernel(ctx, "Sqrt", ELTWISE.sqrt, 0, 0);
  out.Rsqrt = eltwiseKernel(ctx, "Rsqrt", ELTWISE.pow, 1, -0.5);
  out.Tanh = eltwiseKernel(ctx, "Tanh", ELTWISE.tanh, 0, 0);
  out.Sigmoid = eltwiseKernel(ctx, "Sigmoid", ELTWISE.logistic, 0, 0);
  out.Abs = eltwiseKernel(ctx, "Abs", ELTWISE.abs, 0, 0);
  out.Erf = erfKernel(ctx);
  out.Step = stepKernel(ctx);
  out.Sum = reduceKernel(ctx, gemm, "Sum", D.reductionSum);
  out.Mean = reduceKernel(ctx, gemm, "Mean", D.reductionMean);
  out.Max = reduceKernel(ctx, gemm, "Max", D.reductionMax);
  return out;
}

/**
 * Kernel configs for element-wise ops and reductions.
 *
 * @example
 * ```ts ignore
 * for (const k of elementwiseKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function elementwiseKernels(
  ctx: DnnlContext,
  gemm: Gemm,
  backendName: string,
): KernelConfig[] {
  return Object.entries(makeKernels(ctx, gemm)).map(([kernelName, kernelFunc]) => ({
    kernelName,
    backendName,
    kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"],
  }));
}
