/**
 * The WGSL training kernels this package adds to tfjs's `webgpu` backend, registered in one
 * call: the fused AdamW update, batch norm, layer norm, GELU, attention's head split, scaled
 * dot-product attention and Swin's window partition forward and backward, softmax's gradient
 * and the convolutions' filter gradients (the gradients come from `@efficienttrain/core`,
 * shared with the native backend).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { registerFusedGradients } from "@efficienttrain/core";
import { adamWWebgpuKernel } from "./adamw.ts";
import { attentionWebgpuKernels } from "./attention.ts";
import { batchNormWebgpuKernels } from "./batch_norm.ts";
import { convFilterGradWebgpuKernels } from "./conv_filter_grad.ts";
import { geluWebgpuKernels } from "./gelu.ts";
import { layerNormWebgpuKernels } from "./layer_norm.ts";
import { softmaxGradWebgpuKernel } from "./softmax.ts";
import { splitHeadsWebgpuKernels } from "./split_heads.ts";
import { windowWebgpuKernels } from "./windows.ts";

/**
 * Register the WGSL training kernels for tfjs's `webgpu` backend (idempotent). The models and
 * the optimizer in the other packages use a fused kernel whenever the current backend has it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { FUSED_KERNELS } from "@efficienttrain/core";
 * import { registerWebgpuTrainingKernels } from "@efficienttrain/backend-webgpu";
 * registerWebgpuTrainingKernels();
 * console.assert(tf.getKernel(FUSED_KERNELS.adamW, "webgpu") !== undefined);
 * ```
 */
export function registerWebgpuTrainingKernels(): void {
  const kernels = [
    adamWWebgpuKernel(),
    ...batchNormWebgpuKernels(),
    ...layerNormWebgpuKernels(),
    ...geluWebgpuKernels(),
    ...splitHeadsWebgpuKernels(),
    ...attentionWebgpuKernels(),
    ...windowWebgpuKernels(),
    softmaxGradWebgpuKernel(),
    ...convFilterGradWebgpuKernels(),
  ];
  for (const kernel of kernels) {
    if (!tf.getKernel(kernel.kernelName, kernel.backendName)) tf.registerKernel(kernel);
  }
  registerFusedGradients();
}
