/**
 * `deno bench -A bench/micro/normalize_bench.ts`: the per-step normalisation of a host batch
 * (64 images of 128 px, the Imagenette recipe's) into a float32 tensor on the native backend:
 * `normalizeBatch`'s one host pass against the three tensor passes it replaced (upload as
 * float, multiply, add), side by side in one run. The two give the same bits
 * (`data/loader_test.ts`).
 */
import * as tf from "@tensorflow/tfjs-core";
import { probeNative, registerNativeBackend } from "@efficienttrain/backend-native";
import { Rng } from "@efficienttrain/core";
import { normalizeBatch } from "@efficienttrain/data";

const native = probeNative();
const n = 64, side = 128, channels = 3;
const stats = { mean: [0.462, 0.458, 0.43], std: [0.28, 0.28, 0.3] };
const rng = new Rng(0);
const images = Uint8Array.from({ length: n * side * side * channels }, () => rng.next() * 256);
const batch = { images, n, height: side, width: side, channels };

let ready = false;
async function setup(): Promise<void> {
  if (ready) return;
  await registerNativeBackend();
  await tf.setBackend("native");
  ready = true;
}

function tensorPasses(): tf.Tensor4D {
  return tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(images), [n, side, side, channels]);
    const scale = tf.tensor1d(stats.std.map((s) => 1 / (255 * s)));
    const bias = tf.tensor1d(stats.mean.map((m, i) => -m / stats.std[i]));
    return tf.add(tf.mul(x, scale), bias) as tf.Tensor4D;
  });
}

const group = `normalise ${n}×${side}×${side}×${channels} bytes to float32, native backend`;
for (
  const [name, fn] of [
    ["three tensor passes (before)", tensorPasses],
    ["one host pass (normalizeBatch)", () => normalizeBatch(batch, stats)],
  ] as const
) {
  Deno.bench({
    name,
    group,
    baseline: name.startsWith("three"),
    ignore: !native.available,
    n: 30,
    warmup: 3,
    async fn(b) {
      await setup();
      b.start();
      const x = fn();
      b.end();
      x.dispose();
    },
  });
}
