/**
 * The lookup every model op uses for a fused kernel a backend may register (the native backend
 * registers the norms and GELU, the webgpu backend those and attention's head split): by
 * kernel name, so models import no backend; on backends without one the op's formula runs.
 * Internal to the package (not re-exported by `mod.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/**
 * Whether the current backend has kernel `name` for `x` (float32 only).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { hasFusedKernel } from "./fused.ts";
 * console.assert(!hasFusedKernel("NoSuchKernel", tf.zeros([1])));
 * ```
 */
export function hasFusedKernel(name: string, x: tf.Tensor): boolean {
  return x.dtype === "float32" && tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * Run kernel `name` and return its outputs as a list (one or several).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { fused } from "./fused.ts";
 * await tf.setBackend("cpu");
 * const [y] = fused("Relu", { x: tf.tensor1d([-1, 2]) }, {});
 * console.assert(y.dataSync()[0] === 0);
 * ```
 */
export function fused(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: tf.NamedAttrMap,
): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs);
  return Array.isArray(out) ? out : [out];
}
