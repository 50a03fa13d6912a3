/**
 * Write what `bench/experiments/torch/timm_parity.py` needs to check our models against timm's own: for each
 * model, its randomly initialised weights (safetensors, PyTorch names and layout), a fixed
 * input batch (.npy, NCHW) and our eval-mode logits (.npy). Random weights are enough: the
 * check is that the same tensors give the same function.
 *
 *   deno run -A bench/experiments/torch/timm_parity.ts <dir> [model …]     then   python3 bench/experiments/torch/timm_parity.py <dir>
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { encodeNpy, Rng, writeFileAtomic } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { createModel, modelInfo, saveModel } from "@efficienttrain/models";

const [dir, ...names] = Deno.args;
if (!dir) {
  throw new Error("usage: deno run -A bench/experiments/torch/timm_parity.ts <dir> [model …]");
}
const models = names.length > 0
  ? names
  : ["resnet50", "convnext_tiny", "deit_tiny_patch16_224", "swin_tiny_patch4_window7_224"];
await initBackend(Deno.env.get("TIMM_PARITY_BACKEND") as never ?? "auto");
await Deno.mkdir(dir, { recursive: true });
for (const name of models) {
  const info = modelInfo(name);
  const side = info.defaultSize;
  const m = createModel(name, { seed: 1 });
  const rng = new Rng(5);
  const n = 2;
  const nhwc = Float32Array.from({ length: n * side * side * 3 }, () => rng.normal());
  const x = tf.tensor4d(nhwc, [n, side, side, 3]);
  const logits = m.forward(x, { training: false });
  const nchw = tf.transpose(x, [0, 3, 1, 2]);
  await saveModel(m, `${dir}/${name}.safetensors`);
  await writeFileAtomic(
    `${dir}/${name}.input.npy`,
    encodeNpy({ data: await nchw.data() as Float32Array, shape: nchw.shape }),
  );
  await writeFileAtomic(
    `${dir}/${name}.logits.npy`,
    encodeNpy({ data: await logits.data() as Float32Array, shape: logits.shape }),
  );
  console.log(`${name}: wrote weights, input ${nchw.shape}, logits ${logits.shape}`);
  tf.dispose([x, logits, nchw]);
  m.dispose();
}
