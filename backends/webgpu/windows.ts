/**
 * Swin's shifted window partition and its inverse as tfjs-webgpu kernels
 * ({@link FUSED_KERNELS}`.windowPartition` and `.windowMerge`). The formula rolls the map with
 * two slices and a concatenation per axis and cuts the windows with a transpose: seven
 * dispatches each way in a shifted block, and as many again backward. Both are permutations,
 * so each is one gather here (a thread per output element reading its source through the
 * roll's wrap-around), and each is the other's gradient.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, type WindowAttrs } from "@efficienttrain/core";
import { type MultiOutputSpec, runMultiOutput, uniformValues } from "./multi_output.ts";

const UNIFORMS = "side : i32, window : i32, shift : i32, channels : i32,";
const GEOMETRY = `let c = uniforms.channels;
    let w = uniforms.window;
    let side = uniforms.side;
    let per = side / w;`;

// index runs over the tokens [B·windows, window², C]
const PARTITION: MultiOutputSpec = {
  key: "et_window_partition",
  outputs: ["Tokens"],
  inputs: ["X"],
  uniforms: UNIFORMS,
  per: "element",
  body: `${GEOMETRY}
    let channel = index % c;
    let token = (index / c) % (w * w);
    let group = index / (c * w * w);
    let windowIndex = group % (per * per);
    let b = group / (per * per);
    let row = ((windowIndex / per) * w + token / w + uniforms.shift) % side;
    let col = ((windowIndex % per) * w + token % w + uniforms.shift) % side;
    Tokens[index] = X[((b * side + row) * side + col) * c + channel];`,
};

// index runs over the map [B, side, side, C]
const MERGE: MultiOutputSpec = {
  key: "et_window_merge",
  outputs: ["X"],
  inputs: ["Tokens"],
  uniforms: UNIFORMS,
  per: "element",
  body: `${GEOMETRY}
    let channel = index % c;
    let col = (index / c) % side;
    let row = (index / (c * side)) % side;
    let b = index / (c * side * side);
    let y = (row + side - uniforms.shift) % side;
    let x = (col + side - uniforms.shift) % side;
    let group = b * per * per + (y / w) * per + x / w;
    let token = (y % w) * w + x % w;
    X[index] = Tokens[(group * w * w + token) * c + channel];`,
};

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

/** One gather: `spec` over `input`, its elements reordered into `outputShape`. */
function gather(
  args: KernelArgs,
  spec: MultiOutputSpec,
  input: tf.TensorInfo,
  outputShape: number[],
): tf.TensorInfo {
  const { side, window, shift } = args.attrs as unknown as WindowAttrs;
  const [output] = runMultiOutput(args.backend, spec, [input], {
    outputShapes: [outputShape],
    count: outputShape.reduce((a, b) => a * b, 1),
    uniforms: uniformValues("int32", [side, window, shift, outputShape.at(-1)!]),
  });
  return output;
}

function partition(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs.x!;
  const [images, side, , channels] = x.shape;
  const { window } = args.attrs as unknown as WindowAttrs;
  const windows = (side / window) ** 2;
  return gather(args, PARTITION, x, [images * windows, window * window, channels]);
}

function merge(args: KernelArgs): tf.TensorInfo {
  const tokens = args.inputs.tokens!;
  const [groups, , channels] = tokens.shape;
  const { side, window } = args.attrs as unknown as WindowAttrs;
  const windows = (side / window) ** 2;
  return gather(args, MERGE, tokens, [groups / windows, side, side, channels]);
}

/**
 * The two kernels' configs for tfjs's `webgpu` backend.
 *
 * @example
 * ```ts
 * import { windowWebgpuKernels } from "@efficienttrain/backend-webgpu";
 * console.assert(windowWebgpuKernels().length === 2);
 * ```
 */
export function windowWebgpuKernels(): tf.KernelConfig[] {
  return [
    {
      kernelName: FUSED_KERNELS.windowPartition,
      backendName: "webgpu",
      kernelFunc: partition as never,
    },
    {
      kernelName: FUSED_KERNELS.windowMerge,
      backendName: "webgpu",
      kernelFunc: merge as never,
    },
  ];
}
