/**
 * Scaled dot-product attention as tfjs-webgpu kernels ({@link FUSED_KERNELS}`.attention` and
 * its gradient). The formula is a batched matmul for the scores, a bias add (Swin), the
 * softmax, a second matmul and the transpose that merges the heads: four or five dispatches
 * forward per block, and backward two matmuls per product, the softmax's gradient and a
 * transpose. Here the forward is one dispatch and the backward two.
 *
 * Forward, a workgroup per query row: its lanes compute the row's scores into the
 * probabilities' buffer, reduce the row's maximum and sum, normalise in place, then (after a
 * storage barrier, so each lane reads every lane's scores) multiply by v straight into the
 * merged `[G, N, heads·headDim]` layout. The probabilities stay for the gradient, as tfjs keeps
 * the softmax's output. Backward, a workgroup per query row gives the scores' gradient (the
 * softmax's, in the same association as `softmax.ts`) and dq; then a lane per element of k and v
 * walks that key's column for dk and dv. No row is held in workgroup memory, so any token count
 * and head width run.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type AttentionAttrs, FUSED_KERNELS } from "@efficienttrain/core";
import {
  type MultiOutputSpec,
  runMultiOutput,
  type UniformValue,
  uniformValues,
} from "./multi_output.ts";

const UNIFORMS = "tokens : i32, heads : i32, headDim : i32, biasGroups : i32,";
const ROW_LANES = 64;

// A row's position: group = (g·heads + h)·N + i; its q row and probabilities row start at
// group·headDim and group·N, its k/v block at (g·heads + h)·N·headDim, its merged output row at
// ((g·N + i)·heads + h)·headDim.
const ROW_INDICES = `let n = uniforms.tokens;
    let d = uniforms.headDim;
    let i = group % n;
    let gh = group / n;
    let h = gh % uniforms.heads;
    let g = gh / uniforms.heads;
    let qRow = group * d;
    let pRow = group * n;
    let block = gh * n * d;
    let outRow = ((g * n + i) * uniforms.heads + h) * d;`;

const WORKGROUP_MAX = `var<workgroup> maxPartial : array<f32, LANES>;

fn workgroupMax(lane : i32, value : f32) -> f32 {
  maxPartial[lane] = value;
  workgroupBarrier();
  for (var width = LANES / 2; width > 0; width = width / 2) {
    if (lane < width) {
      maxPartial[lane] = max(maxPartial[lane], maxPartial[lane + width]);
    }
    workgroupBarrier();
  }
  let result = maxPartial[0];
  workgroupBarrier();
  return result;
}`;

function forwardSpec(withBias: boolean): MultiOutputSpec {
  const addBias = withBias
    ? `s = s + Bias[(((g % uniforms.biasGroups) * uniforms.heads + h) * n + i) * n + j];`
    : "";
  return {
    key: withBias ? "et_attention_bias" : "et_attention",
    outputs: ["O", "P"],
    inputs: withBias ? ["Q", "K", "V", "Bias"] : ["Q", "K", "V"],
    uniforms: UNIFORMS,
    per: { lanes: ROW_LANES },
    declarations: WORKGROUP_MAX,
    body: `${ROW_INDICES}
    var localMax = -3.4028235e38;
    for (var j = lane; j < n; j = j + LANES) {
      var s = 0.0;
      for (var e = 0; e < d; e = e + 1) {
        s = s + Q[qRow + e] * K[block + j * d + e];
      }
      ${addBias}
      P[pRow + j] = s;
      localMax = max(localMax, s);
    }
    let rowMax = workgroupMax(lane, localMax);
    var localSum = 0.0;
    for (var j = lane; j < n; j = j + LANES) {
      let p = exp(P[pRow + j] - rowMax);
      P[pRow + j] = p;
      localSum = localSum + p;
    }
    let total = workgroupSum(lane, localSum);
    for (var j = lane; j < n; j = j + LANES) {
      P[pRow + j] = P[pRow + j] / total;
    }
    storageBarrier();
    for (var e = lane; e < d; e = e + LANES) {
      var acc = 0.0;
      for (var j = 0; j < n; j = j + 1) {
        acc = acc + P[pRow + j] * V[block + j * d + e];
      }
      O[outRow + e] = acc;
    }`,
  };
}

// built once: the kernel is called once per attention block per step
const FORWARD = forwardSpec(false);
const FORWARD_WITH_BIAS = forwardSpec(true);

// dP = dO·vᵀ, dS = dP·P − (Σ dP·P)·P, dq = dS·k
const ROW_GRADIENTS: MultiOutputSpec = {
  key: "et_attention_grad_rows",
  outputs: ["Ds", "Dq"],
  inputs: ["Dy", "K", "V", "P"],
  uniforms: UNIFORMS,
  per: { lanes: ROW_LANES },
  body: `${ROW_INDICES}
    var local = 0.0;
    for (var j = lane; j < n; j = j + LANES) {
      var dp = 0.0;
      for (var e = 0; e < d; e = e + 1) {
        dp = dp + Dy[outRow + e] * V[block + j * d + e];
      }
      Ds[pRow + j] = dp;
      local = local + dp * P[pRow + j];
    }
    let total = workgroupSum(lane, local);
    for (var j = lane; j < n; j = j + LANES) {
      let p = P[pRow + j];
      Ds[pRow + j] = Ds[pRow + j] * p - total * p;
    }
    storageBarrier();
    for (var e = lane; e < d; e = e + LANES) {
      var acc = 0.0;
      for (var j = 0; j < n; j = j + 1) {
        acc = acc + Ds[pRow + j] * K[block + j * d + e];
      }
      Dq[qRow + e] = acc;
    }`,
};

// index runs over k's and v's [G, heads, N, headDim]: dk = dSᵀ·q, dv = Pᵀ·dO down key j's column
const KEY_GRADIENTS: MultiOutputSpec = {
  key: "et_attention_grad_keys",
  outputs: ["Dk", "Dv"],
  inputs: ["Dy", "Q", "P", "Ds"],
  uniforms: UNIFORMS,
  per: "element",
  body: `let n = uniforms.tokens;
    let d = uniforms.headDim;
    let e = index % d;
    let j = (index / d) % n;
    let gh = index / (d * n);
    let h = gh % uniforms.heads;
    let g = gh / uniforms.heads;
    var accK = 0.0;
    var accV = 0.0;
    for (var i = 0; i < n; i = i + 1) {
      let column = (gh * n + i) * n + j;
      accK = accK + Ds[column] * Q[(gh * n + i) * d + e];
      accV = accV + P[column] * Dy[((g * n + i) * uniforms.heads + h) * d + e];
    }
    Dk[index] = accK;
    Dv[index] = accV;`,
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

function uniformsOf(headShape: readonly number[], attrs: AttentionAttrs): UniformValue[] {
  const [, heads, n, headDim] = headShape;
  return uniformValues("int32", [n, heads, headDim, attrs.biasGroups]);
}

function forward(args: KernelArgs): tf.TensorInfo[] {
  const { q, k, v, bias } = args.inputs as Record<string, tf.TensorInfo | undefined>;
  const [g, heads, n, headDim] = q!.shape;
  const attrs = args.attrs as unknown as AttentionAttrs;
  return runMultiOutput(
    args.backend,
    bias ? FORWARD_WITH_BIAS : FORWARD,
    bias ? [q!, k!, v!, bias] : [q!, k!, v!],
    {
      outputShapes: [[g, n, heads * headDim], [g, heads, n, n]],
      count: g * heads * n,
      uniforms: uniformsOf(q!.shape, attrs),
    },
  );
}

function gradients(args: KernelArgs): tf.TensorInfo[] {
  const { dy, q, k, v, probs } = args.inputs as Record<string, tf.TensorInfo>;
  const [g, heads, n, headDim] = q.shape;
  const uniforms = uniformsOf(q.shape, args.attrs as unknown as AttentionAttrs);
  const [dScores, dq] = runMultiOutput(args.backend, ROW_GRADIENTS, [dy, k, v, probs], {
    outputShapes: [probs.shape, q.shape],
    count: g * heads * n,
    uniforms,
  });
  const [dk, dv] = runMultiOutput(args.backend, KEY_GRADIENTS, [dy, q, probs, dScores], {
    outputShapes: [k.shape, v.shape],
    count: g * heads * n * headDim,
    uniforms,
  });
  return [dq, dk, dv, dScores];
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { attentionWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(attentionWebgpuKernels().length === 2);
 * ```
 */
export function attentionWebgpuKernels(): tf.KernelConfig[] {
  return [
    { kernelName: FUSED_KERNELS.attention, backendName: "webgpu", kernelFunc: forward as never },
    {
      kernelName: FUSED_KERNELS.attentionGrad,
      backendName: "webgpu",
      kernelFunc: gradients as never,
    },
  ];
}
