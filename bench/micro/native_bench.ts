/**
 * One SGD training step (forward + backward via `tf.variableGrads` + update) of a CIFAR
 * ResNet at batch 128 on 32×32×3 images, on tfjs-cpu, tfjs-wasm (with our gradient kernels)
 * and our `native` backend, grouped so `deno bench` prints the ratios.
 *
 *   deno bench -A bench/micro/native_bench.ts            # resnet8_cifar
 *   BENCH_MODEL=resnet20_cifar deno bench -A bench/micro/native_bench.ts
 *
 * tfjs-cpu needs minutes per step at batch 128 (its convolution filter gradient alone is ~100×
 * slower than its forward), so it runs only with BENCH_CPU=1, once. "native, inline net"
 * is `bench_nets.ts`'s ResNet calling `batchNormTraining` directly (the registry model reaches
 * the same fused kernels through `@efficienttrain/models`).
 */
import * as tf from "@tensorflow/tfjs";
import { probeNative } from "@efficienttrain/backend-native";
import type { BenchNet } from "./bench_nets.ts";
import { randomBatch, trainStep } from "./bench_nets.ts";
import { type BenchBackend, buildNet, useBackend } from "./step_runner.ts";

const model = Deno.env.get("BENCH_MODEL") ?? "resnet8_cifar";
const batch = Number(Deno.env.get("BENCH_BATCH") ?? 128);
const size = 32;
const group = `${model} train step, batch ${batch}, ${size}x${size}`;
const native = probeNative();

function stepBench(
  name: string,
  backend: BenchBackend,
  net: string,
  opts: { baseline?: boolean; n: number; warmup: number; ignore?: boolean },
): void {
  let built: BenchNet | undefined;
  let data: { x: tf.Tensor4D; y: tf.Tensor2D } | undefined;
  Deno.bench({
    name,
    group,
    baseline: opts.baseline,
    n: opts.n,
    warmup: opts.warmup,
    ignore: opts.ignore,
    async fn(b) {
      if (!built) {
        await useBackend(backend);
        built = buildNet(net, size);
        data = randomBatch(batch, size);
        trainStep(built, data.x, data.y);
      }
      b.start();
      trainStep(built, data!.x, data!.y);
      b.end();
    },
  });
}

stepBench("native, inline net", "native", `fused:${model}`, {
  n: 5,
  warmup: 1,
  ignore: !native.available || !/^resnet\d+_cifar$/.test(model),
});
stepBench("native", "native", model, {
  baseline: true,
  n: 5,
  warmup: 1,
  ignore: !native.available,
});
stepBench("wasm", "wasm", model, { n: 3, warmup: 1 });
stepBench("cpu", "cpu", model, { n: 1, warmup: 0, ignore: Deno.env.get("BENCH_CPU") !== "1" });
