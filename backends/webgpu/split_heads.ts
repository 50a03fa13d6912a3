/**
 * Attention's head split as tfjs-webgpu kernels ({@link FUSED_KERNELS}`.splitHeads` and its
 * gradient). The formula slices the fused qkv projection in three, reshapes and transposes each
 * to `[B, heads, N, headDim]` and scales q by a host number: seven dispatches and an upload
 * forward per attention block, about as many backward (the slices' gradients pad and add). Here
 * each way is one dispatch that reads every element once, with the scale a uniform. q, k and v
 * are written by the same thread because they come from the same token row of `qkv`.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, type SplitHeadsAttrs } from "@efficienttrain/core";
import {
  type MultiOutputSpec,
  runMultiOutput,
  type UniformValue,
  uniformValues,
} from "./multi_output.ts";

const UNIFORMS = "tokens : i32, heads : i32, headDim : i32, scale : f32,";

// index runs over [B, heads, N, headDim]; qkv is [B, N, 3, heads, headDim]
const SPLIT: MultiOutputSpec = {
  key: "et_split_heads",
  outputs: ["Q", "K", "V"],
  inputs: ["QKV"],
  uniforms: UNIFORMS,
  per: "element",
  body: `let e = index % uniforms.headDim;
    let n = (index / uniforms.headDim) % uniforms.tokens;
    let batchHead = index / (uniforms.headDim * uniforms.tokens);
    let h = batchHead % uniforms.heads;
    let b = batchHead / uniforms.heads;
    let width = uniforms.heads * uniforms.headDim;
    let source = (b * uniforms.tokens + n) * 3 * width + h * uniforms.headDim + e;
    Q[index] = QKV[source] * uniforms.scale;
    K[index] = QKV[source + width];
    V[index] = QKV[source + 2 * width];`,
};

// index runs over qkv's [B, N, 3, heads, headDim]
const MERGE_GRADIENTS: MultiOutputSpec = {
  key: "et_split_heads_grad",
  outputs: ["Dqkv"],
  inputs: ["Dq", "Dk", "Dv"],
  uniforms: UNIFORMS,
  per: "element",
  body: `let width = uniforms.heads * uniforms.headDim;
    let channel = index % width;
    let part = (index / width) % 3;
    let token = index / (3 * width);
    let n = token % uniforms.tokens;
    let b = token / uniforms.tokens;
    let h = channel / uniforms.headDim;
    let e = channel % uniforms.headDim;
    let source = ((b * uniforms.heads + h) * uniforms.tokens + n) * uniforms.headDim + e;
    var value = Dv[source];
    if (part == 0) {
      value = Dq[source] * uniforms.scale;
    } else if (part == 1) {
      value = Dk[source];
    }
    Dqkv[index] = value;`,
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** `[B, N, heads, headDim]` and the uniforms, from `qkv`'s shape (validated by the model op). */
function geometry(
  qkvShape: readonly number[],
  attrs: SplitHeadsAttrs,
): { heads: number[]; uniforms: UniformValue[] } {
  const [b, n, width] = qkvShape;
  const headDim = width / 3 / attrs.heads;
  return {
    heads: [b, attrs.heads, n, headDim],
    uniforms: [
      ...uniformValues("int32", [n, attrs.heads, headDim]),
      ...uniformValues("float32", [attrs.scale]),
    ],
  };
}

function split(args: KernelArgs): tf.TensorInfo[] {
  const { qkv } = args.inputs as Record<string, tf.TensorInfo>;
  const { heads, uniforms } = geometry(qkv.shape, args.attrs as unknown as SplitHeadsAttrs);
  return runMultiOutput(args.backend, SPLIT, [qkv], {
    outputShapes: [heads, heads, heads],
    count: heads.reduce((x, y) => x * y, 1),
    uniforms,
  });
}

function mergeGradients(args: KernelArgs): tf.TensorInfo {
  const { dq, dk, dv } = args.inputs as Record<string, tf.TensorInfo>;
  const [b, heads, n, headDim] = dq.shape;
  const qkvShape = [b, n, 3 * heads * headDim];
  const { uniforms } = geometry(qkvShape, args.attrs as unknown as SplitHeadsAttrs);
  const [dqkv] = runMultiOutput(args.backend, MERGE_GRADIENTS, [dq, dk, dv], {
    outputShapes: [qkvShape],
    count: qkvShape.reduce((x, y) => x * y, 1),
    uniforms,
  });
  return dqkv;
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { splitHeadsWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(splitHeadsWebgpuKernels().length === 2);
 * ```
 */
export function splitHeadsWebgpuKernels(): tf.KernelConfig[] {
  return [
    { kernelName: FUSED_KERNELS.splitHeads, backendName: "webgpu", kernelFunc: split as never },
    {
      kernelName: FUSED_KERNELS.splitHeadsGrad,
      backendName: "webgpu",
      kernelFunc: mergeGradients as never,
    },
  ];
}
