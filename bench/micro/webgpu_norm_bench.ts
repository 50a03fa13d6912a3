/**
 * `deno bench -A bench/micro/webgpu_norm_bench.ts`: the norms' column reductions on
 * tfjs-webgpu over long columns, one workgroup per channel (the whole column in one dispatch)
 * against the rows split into slices (`backends/webgpu/column_sums.ts`), side by side per
 * shape: batch norm forward and backward (statistics and parameter gradients), and layer norm's
 * backward (its parameter gradients). Each iteration records the kernels and reads a result
 * back, so the GPU's time is inside. Both give the same values
 * (`tests/webgpu_training_kernels_test.ts`). Skipped without an adapter; on llvmpipe (a CPU
 * rasteriser with a few threads) the ratios say little about a GPU, where 64 workgroups leave
 * most of the chip idle.
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { setSplitFromRows } from "@efficienttrain/backend-webgpu";

const available = await initBackend("webgpu", { allowFallbackAdapter: true }).then(
  () => true,
  () => false,
);

const CASES: { name: string; shape: number[]; norm: "batch" | "layer" }[] = [
  { name: "batch norm, 8×56×56×64 (25,088 rows)", shape: [8, 56, 56, 64], norm: "batch" },
  { name: "batch norm, 8×28×28×256 (6,272 rows)", shape: [8, 28, 28, 256], norm: "batch" },
  { name: "layer norm, 8×785×192 (6,280 tokens)", shape: [8, 785, 192], norm: "layer" },
];

for (const c of CASES) {
  const channels = c.shape[c.shape.length - 1];
  let inputs: Record<string, tf.Tensor> | undefined;
  const setup = () =>
    inputs ??= {
      x: tf.randomNormal(c.shape),
      dy: tf.randomNormal(c.shape),
      scale: tf.randomNormal([channels]),
      offset: tf.randomNormal([channels]),
    };
  const run = () => {
    const { x, dy, scale, offset } = setup();
    const [forward, backward, attrs] = c.norm === "batch"
      ? [FUSED_KERNELS.batchNorm, FUSED_KERNELS.batchNormGrad, { varianceEpsilon: 1e-5 }]
      : [FUSED_KERNELS.layerNorm, FUSED_KERNELS.layerNormGrad, { epsilon: 1e-6 }];
    const [y, mean, variance] = tf.engine().runKernel(
      forward,
      { x, scale, offset },
      attrs,
    ) as tf.Tensor[];
    const grads = tf.engine().runKernel(
      backward,
      { dy, x, scale, mean, variance },
      attrs,
    ) as tf.Tensor[];
    return [y, mean, variance, ...grads];
  };
  for (const [label, splitFrom] of [["whole columns", Infinity], ["split", 1]] as const) {
    Deno.bench({
      name: label,
      group: c.name,
      baseline: splitFrom === Infinity,
      ignore: !available,
      n: 5,
      warmup: 1,
      async fn() {
        const previous = setSplitFromRows(splitFrom);
        try {
          const outputs = run();
          await outputs[outputs.length - 1].data(); // the read waits for every recorded dispatch
          tf.dispose(outputs);
        } finally {
          setSplitFromRows(previous);
        }
      },
    });
  }
}
