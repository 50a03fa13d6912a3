/**
 * `deno bench -A bench/micro/backend_bench.ts`: one training step (forward + backward through
 * `tf.variableGrads`, plus a plain SGD update) of a small conv net — three 3×3 stride-2 convs
 * of widths 16/32/64, each followed by batch norm (as tf.moments, then scale and shift) and
 * ReLU, global average pooling and a 10-way linear head — at batch 64 on 28×28×1 images, on
 * tfjs-cpu and on tfjs-wasm with this package's kernels. The group's baseline is cpu, so deno
 * prints wasm's speed-up; images/s = 64 × iter/s.
 *
 * `deno run -A bench/micro/backend_bench.ts --report` prints images/s and the ratio directly.
 *
 * Not timed: backend initialisation, building the batch, the first (warm-up) step.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";

const BATCH = 64;
const SIZE = 28;
const WIDTHS = [16, 32, 64];
const CLASSES = 10;

interface Net {
  readonly vars: tf.Variable[];
  step(x: tf.Tensor4D, y: tf.Tensor2D): number;
  dispose(): void;
}

function randomValues(rng: Rng, n: number, scale: number): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.normal() * scale;
  return v;
}

function makeNet(seed: number): Net {
  const rng = new Rng(seed);
  const convs: tf.Variable[] = [], gammas: tf.Variable[] = [], betas: tf.Variable[] = [];
  let cin = 1;
  for (const w of WIDTHS) {
    const fanIn = 9 * cin;
    convs.push(
      tf.variable(tf.tensor4d(randomValues(rng, fanIn * w, Math.sqrt(2 / fanIn)), [3, 3, cin, w])),
    );
    gammas.push(tf.variable(tf.ones([w])));
    betas.push(tf.variable(tf.zeros([w])));
    cin = w;
  }
  const head = tf.variable(
    tf.tensor2d(randomValues(rng, cin * CLASSES, Math.sqrt(1 / cin)), [cin, CLASSES]),
  );
  const bias = tf.variable(tf.zeros([CLASSES]));
  const vars = [...convs, ...gammas, ...betas, head, bias];
  const forward = (x: tf.Tensor4D): tf.Tensor2D => {
    let h: tf.Tensor4D = x;
    for (let i = 0; i < WIDTHS.length; i++) {
      h = tf.conv2d(h, convs[i] as tf.Tensor4D, 2, "same");
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      h = tf.add(
        tf.mul(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))), gammas[i]),
        betas[i],
      );
      h = tf.relu(h);
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, head), bias);
  };
  return {
    vars,
    step(x, y) {
      return tf.tidy(() => {
        const { value, grads } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(y, forward(x)) as tf.Scalar,
          vars,
        );
        for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
        return value.dataSync()[0];
      });
    },
    dispose: () => tf.dispose(vars),
  };
}

function makeBatch(seed: number): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: BATCH }, () => Math.floor(rng.next() * CLASSES));
  return {
    x: tf.tensor4d(randomValues(rng, BATCH * SIZE * SIZE, 1), [BATCH, SIZE, SIZE, 1]),
    y: tf.oneHot(tf.tensor1d(labels, "int32"), CLASSES).toFloat() as tf.Tensor2D,
  };
}

const setups = new Map<string, { net: Net; batch: { x: tf.Tensor4D; y: tf.Tensor2D } }>();
async function prepare(backend: "cpu" | "wasm") {
  await initBackend(backend);
  let s = setups.get(backend);
  if (s === undefined) {
    s = { net: makeNet(1), batch: makeBatch(2) };
    // wasm's first step sets up kernels and XNNPACK operators; cpu has none and is slow.
    if (backend === "wasm") s.net.step(s.batch.x, s.batch.y);
    setups.set(backend, s);
  }
  return s;
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.bench({
    name: `train step, batch ${BATCH}, 28x28x1, ${backend}`,
    group: "train step",
    baseline: backend === "cpu",
    // tfjs-cpu takes seconds per step; a few iterations are enough for a stable mean.
    n: backend === "cpu" ? 1 : 20,
    warmup: backend === "cpu" ? 0 : 1,
    async fn(b) {
      const { net, batch } = await prepare(backend);
      b.start();
      net.step(batch.x, batch.y);
      b.end();
    },
  });
}

if (import.meta.main && Deno.args.includes("--report")) {
  const rate: Record<string, number> = {};
  for (const backend of ["cpu", "wasm"] as const) {
    const { net, batch } = await prepare(backend);
    const reps = backend === "cpu" ? 1 : 10;
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) net.step(batch.x, batch.y);
    const ms = (performance.now() - t0) / reps;
    rate[backend] = BATCH / (ms / 1000);
    console.log(
      `${backend.padEnd(5)} ${ms.toFixed(1).padStart(8)} ms/step  ${
        rate[backend].toFixed(0).padStart(6)
      } images/s`,
    );
  }
  console.log(`wasm / cpu: ${(rate.wasm / rate.cpu).toFixed(1)}x`);
}
