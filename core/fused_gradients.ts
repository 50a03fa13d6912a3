/**
 * The gradients of the fused kernels in {@link FUSED_KERNELS}, defined once for every backend
 * that provides the kernels (native, webgpu): tfjs keeps one gradient per kernel name, not per
 * backend, so they cannot live in any one backend. Each gradient calls its `…Grad` kernel on
 * the current backend.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "./kernel_names.ts";

let registered = false;

/**
 * Register the gradients of the fused batch norm, layer norm and GELU kernels with tfjs.
 * Idempotent; a backend calls it when it registers the kernels.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { FUSED_KERNELS, registerFusedGradients } from "@efficienttrain/core";
 * registerFusedGradients();
 * console.assert(tf.getGradient(FUSED_KERNELS.layerNorm) !== undefined);
 * ```
 */
export function registerFusedGradients(): void {
  if (registered) return;
  registered = true;
  for (
    const [forward, backward] of [
      [FUSED_KERNELS.batchNorm, FUSED_KERNELS.batchNormGrad],
      [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad],
    ] as const
  ) {
    tf.registerGradient({
      kernelName: forward,
      inputsToSave: ["x", "scale", "offset"],
      outputsToSave: [false, true, true],
      gradFunc: (dys, saved, attrs) => {
        const all = (Array.isArray(dys) ? dys : [dys]) as tf.Tensor[];
        const [x, scale, offset, mean, variance] = saved;
        // The three input gradients come out of one kernel call, made here and not in the
        // thunks: tfjs runs each thunk in its own tidy, which would dispose the other two.
        const [dx, dScale, dOffset] = tf.engine().runKernel(
          backward,
          { dy: all[0], x, scale, offset, mean, variance } as unknown as tf.NamedTensorMap,
          attrs as tf.NamedAttrMap,
        ) as tf.Tensor[];
        const dxTotal = forward === FUSED_KERNELS.batchNorm
          ? withStatisticsPaths(dx, x, mean, all[1], all[2])
          : dx;
        return { x: () => dxTotal, scale: () => dScale, offset: () => dOffset };
      },
    });
  }
  tf.registerGradient({
    kernelName: FUSED_KERNELS.gelu,
    inputsToSave: ["x"],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      return {
        x: () =>
          tf.engine().runKernel(
            FUSED_KERNELS.geluGrad,
            { dy, x } as unknown as tf.NamedTensorMap,
          ) as tf.Tensor,
      };
    },
  });
}

/**
 * Batch norm's statistics normally feed only the running averages, and tfjs hands their
 * gradients in as host-side zeros (readable synchronously on every backend). When they do
 * reach the loss, add their paths: d mean/dx = 1/M, d var/dx = 2(x − mean)/M.
 */
function withStatisticsPaths(
  dx: tf.Tensor,
  x: tf.Tensor,
  mean: tf.Tensor,
  dMean: tf.Tensor | undefined,
  dVar: tf.Tensor | undefined,
): tf.Tensor {
  const nonzero = (t: tf.Tensor | undefined): boolean =>
    t !== undefined && (t.dataSync() as Float32Array).some((v) => v !== 0);
  if (!nonzero(dMean) && !nonzero(dVar)) return dx;
  const m = x.size / (x.shape[x.rank - 1] as number);
  return tf.add(dx, tf.div(tf.add(dMean!, tf.mul(tf.mul(dVar!, 2), tf.sub(x, mean))), m));
}
