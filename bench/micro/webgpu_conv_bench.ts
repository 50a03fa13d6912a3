/**
 * `deno bench -A bench/micro/webgpu_conv_bench.ts`: the convolutions' filter gradients on
 * tfjs-webgpu, tfjs's own programs (one thread per filter element, looping over every output
 * position) against the project's kernels (implicit GEMM in 64×64 workgroup tiles with a split
 * reduction; depthwise one lane per channel with a split reduction), side by side per shape.
 * Each iteration records the kernel and reads its result back, so the GPU's time is inside.
 * The two give the same values (`tests/webgpu_conv_kernels_test.ts`). Skipped without an
 * adapter; on llvmpipe (a CPU rasteriser) the ratios say little about a real GPU, where the
 * naive programs keep only a few percent of the lanes busy.
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";

type Shape4 = [number, number, number, number];

const available = await initBackend("webgpu", { allowFallbackAdapter: true }).then(
  () => true,
  () => false,
);

const CASES: { name: string; x: Shape4; filter: Shape4; stride: number; pad: number }[] = [
  { name: "stem 7×7/2, 3→32, 64 px", x: [8, 64, 64, 3], filter: [7, 7, 3, 32], stride: 2, pad: 3 },
  { name: "3×3, 64→64, 16 px", x: [8, 16, 16, 64], filter: [3, 3, 64, 64], stride: 1, pad: 1 },
  { name: "1×1, 128→256, 8 px", x: [8, 8, 8, 128], filter: [1, 1, 128, 256], stride: 1, pad: 0 },
  {
    name: "depthwise 7×7, 96, 16 px",
    x: [8, 16, 16, 96],
    filter: [7, 7, 96, 1],
    stride: 1,
    pad: 3,
  },
];

for (const c of CASES) {
  const depthwise = c.name.startsWith("depthwise");
  const kernels = depthwise
    ? { tfjs: "DepthwiseConv2dNativeBackpropFilter", project: FUSED_KERNELS.depthwiseFilterGrad }
    : { tfjs: "Conv2DBackpropFilter", project: FUSED_KERNELS.conv2dFilterGrad };
  let inputs: { x: tf.Tensor4D; dy: tf.Tensor4D } | undefined;
  const setup = () => {
    if (inputs) return inputs;
    const x = tf.randomNormal(c.x) as tf.Tensor4D;
    const y = depthwise
      ? tf.depthwiseConv2d(x, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad)
      : tf.conv2d(x, tf.zeros(c.filter) as tf.Tensor4D, c.stride, c.pad);
    return inputs = { x, dy: tf.randomNormal(y.shape) as tf.Tensor4D };
  };
  for (const [label, kernel] of [["tfjs-webgpu", kernels.tfjs], ["project", kernels.project]]) {
    Deno.bench({
      name: label,
      group: c.name,
      baseline: label === "tfjs-webgpu",
      ignore: !available,
      n: 5,
      warmup: 1,
      async fn() {
        const { x, dy } = setup();
        const attrs = {
          strides: c.stride,
          pad: c.pad,
          dataFormat: "NHWC",
          dilations: 1,
          filterShape: c.filter,
        };
        const dw = tf.engine().runKernel(
          kernel,
          { x, dy },
          attrs as unknown as tf.NamedAttrMap,
        ) as tf.Tensor;
        await dw.data();
        dw.dispose();
      },
    });
  }
}
