/**
 * Conformance of every native kernel against tfjs-cpu: forward values and gradients, over
 * several shapes, strides, paddings and broadcasts. Skips (with the probe's reason) when
 * oneDNN/OpenBLAS are not installed.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { createModel } from "@efficienttrain/models";
import {
  batchNormTraining,
  geluFused,
  layerNormFused,
  NATIVE_BACKEND_NAME,
  probeNative,
  registerNativeBackend,
} from "./mod.ts";
import { broadcastTo } from "./kernels_elementwise.ts";

const probe = probeNative();
const ignore = !probe.available;
if (ignore) console.warn(`native kernel tests skipped: ${probe.reason}`);

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

/** Deterministic pseudo-random values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed * 2654435761 >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function run(
  backend: string,
  fn: Fn,
  shapes: number[][],
  withGrads: boolean,
): Float32Array[] {
  tf.setBackend(backend);
  const outs: Float32Array[] = [];
  tf.tidy(() => {
    const xs = shapes.map((s, i) => tf.tensor(values(s.reduce((a, b) => a * b, 1), i + 1), s));
    const y = fn(...xs);
    outs.push(y.dataSync().slice() as Float32Array);
    if (withGrads) {
      // A fixed random cotangent, so every output element's gradient path is exercised.
      const dy = tf.tensor(values(y.size, 99), y.shape);
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(fn(...a), dy)))(xs);
      for (const g of grads) outs.push(g.dataSync().slice() as Float32Array);
    }
  });
  return outs;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string, tol = 1e-4) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1e-6;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < actual.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    if (!(err <= tol * scale)) {
      assert.fail(`${what}[${i}]: native ${actual[i]} vs cpu ${expected[i]} (scale ${scale})`);
    }
  }
}

function conform(what: string, fn: Fn, shapes: number[][], opts: { grads?: boolean } = {}) {
  const grads = opts.grads ?? true;
  const expected = run("cpu", fn, shapes, grads);
  const actual = run(NATIVE_BACKEND_NAME, fn, shapes, grads);
  for (let i = 0; i < expected.length; i++) {
    assertClose(actual[i], expected[i], i === 0 ? `${what} value` : `${what} grad ${i - 1}`);
  }
}

async function setup(): Promise<void> {
  await registerNativeBackend();
  await tf.ready();
}

Deno.test("probeNative explains itself", () => {
  assert.equal(typeof probe.available, "boolean");
  if (!probe.available) assert.match(probe.reason, /apt-get install libdnnl2/);
});

Deno.test("without oneDNN the probe names the package to install", async () => {
  const code = `import { probeNative } from "${new URL("./mod.ts", import.meta.url).href}";
    console.log(JSON.stringify(probeNative()));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { ET_NATIVE_DNNL: "/nonexistent/libdnnl.so.2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  const p = JSON.parse(line);
  assert.equal(p.available, false);
  assert.match(p.reason, /nonexistent.*apt-get install libdnnl2/);
});

Deno.test({ name: "native: Conv2D values and gradients", ignore }, async () => {
  await setup();
  const cases: [number[], number[], number | [number, number], "same" | "valid" | number][] = [
    [[2, 7, 7, 3], [3, 3, 3, 4], 1, "same"],
    [[2, 8, 8, 3], [3, 3, 3, 5], 2, "same"],
    [[1, 9, 7, 4], [3, 3, 4, 6], [2, 1], "valid"],
    [[2, 6, 6, 4], [1, 1, 4, 8], 2, "valid"],
    [[2, 6, 6, 2], [5, 5, 2, 3], 1, 2],
    [[2, 8, 8, 4], [4, 4, 4, 6], 4, "valid"],
  ];
  for (const [xs, ws, stride, pad] of cases) {
    conform(
      `conv2d ${xs} ${ws} s${stride} ${pad}`,
      (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
      [xs, ws],
    );
  }
  conform(
    "conv2d dilated",
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same", "NHWC", 2),
    [[1, 9, 9, 3], [
      3,
      3,
      3,
      2,
    ]],
    { grads: false },
  );
});

Deno.test({ name: "native: fused Conv2D (bias, relu) values and gradients", ignore }, async () => {
  await setup();
  for (const activation of ["linear", "relu", "elu"] as const) {
    conform(`fused conv ${activation}`, (x, w, b) =>
      tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w as tf.Tensor4D,
        strides: 1,
        pad: "same",
        bias: b,
        activation,
      }), [[2, 6, 6, 3], [3, 3, 3, 4], [4]]);
  }
});

Deno.test({ name: "native: depthwise conv values and gradients", ignore }, async () => {
  await setup();
  const cases: [number[], number[], number, "same" | "valid" | number][] = [
    [[2, 9, 9, 4], [3, 3, 4, 1], 1, "same"],
    [[2, 9, 9, 4], [3, 3, 4, 2], 2, "same"],
    [[1, 8, 8, 8], [7, 7, 8, 1], 1, 3],
    [[2, 7, 7, 3], [3, 3, 3, 1], 1, "valid"],
  ];
  for (const [xs, ws, stride, pad] of cases) {
    conform(
      `depthwise ${xs} ${ws} s${stride} ${pad}`,
      (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad),
      [xs, ws],
    );
  }
  conform("fused depthwise bias relu", (x, w, b) =>
    tf.fused.depthwiseConv2d({
      x: x as tf.Tensor4D,
      filter: w as tf.Tensor4D,
      strides: 1,
      pad: "same",
      bias: b,
      activation: "relu",
    }), [[2, 6, 6, 4], [3, 3, 4, 1], [4]]);
});

Deno.test({ name: "native: matMul, batched and fused, values and gradients", ignore }, async () => {
  await setup();
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]]) {
    const a = ta ? [7, 5] : [5, 7];
    const b = tb ? [3, 7] : [7, 3];
    conform(`matMul ${ta} ${tb}`, (x, y) => tf.matMul(x, y, ta, tb), [a, b]);
    conform(`batched ${ta} ${tb}`, (x, y) => tf.matMul(x, y, ta, tb), [[4, ...a], [4, ...b]]);
    // tfjs-core's BatchMatMul gradient does not reduce broadcast batch dims: values only.
    conform(`broadcast A ${ta} ${tb}`, (x, y) => tf.matMul(x, y, ta, tb), [a, [3, ...b]], {
      grads: false,
    });
    conform(`broadcast B ${ta} ${tb}`, (x, y) => tf.matMul(x, y, ta, tb), [[2, 3, ...a], b], {
      grads: false,
    });
  }
  conform(
    "fused matMul bias relu",
    (x, y, b) =>
      tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: b, activation: "relu" }),
    [
      [6, 5],
      [5, 4],
      [4],
    ],
  );
});

Deno.test({ name: "native: broadcasting binary ops values and gradients", ignore }, async () => {
  await setup();
  const big = [2, 8, 16, 40]; // 10240 elements: above the native minimum, so oneDNN runs
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ["add", tf.add],
    ["sub", tf.sub],
    ["mul", tf.mul],
    ["div", (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5))],
    ["maximum", tf.maximum],
    ["minimum", tf.minimum],
    ["squaredDifference", tf.squaredDifference],
  ];
  const pairs: number[][][] = [
    [big, big],
    [big, [40]],
    [big, [1, 8, 1, 40]],
    [big, [2, 1, 1, 1]],
    [big, []],
    [[40], big],
    [[1, 1, 16, 40], big],
    // both sides broadcast: the first input is materialised before oneDNN runs
    [[2, 1, 1, 40], [1, 8, 16, 1]],
    [[2, 8, 1, 1], [1, 1, 16, 40]],
  ];
  for (const [name, op] of ops) {
    for (const [sa, sb] of pairs) {
      // tfjs-core's Maximum/Minimum/SquaredDifference gradients do not reduce broadcast dims
      // (tfjs-cpu throws too): values only there.
      const grads = !["maximum", "minimum", "squaredDifference"].includes(name) ||
        sa.length === sb.length &&
          sa.every((d, i) => d === sb[i]);
      conform(`${name} ${sa} ${sb}`, op, [sa, sb], { grads });
    }
  }
});

Deno.test({ name: "native: unary ops and reductions", ignore }, async () => {
  await setup();
  const s = [8, 12, 12, 16];
  conform("relu", (x) => tf.relu(x), [s]);
  conform("square", (x) => tf.square(x), [s]);
  conform("neg", (x) => tf.neg(x), [s]);
  conform("step", (x) => tf.step(x), [s], { grads: false });
  const pos = (x: tf.Tensor) => tf.add(tf.abs(x), 0.1);
  conform("exp", (x) => tf.exp(x), [s]);
  conform("log", (x) => tf.log(pos(x)), [s]);
  conform("sqrt", (x) => tf.sqrt(pos(x)), [s]);
  conform("rsqrt", (x) => tf.rsqrt(pos(x)), [s]);
  conform("tanh", (x) => tf.tanh(x), [s]);
  conform("sigmoid", (x) => tf.sigmoid(x), [s]);
  conform("abs", (x) => tf.abs(x), [s]);
  conform("erf", (x) => tf.erf(tf.mul(x, 3)), [s]);
  conform("step alpha", (x) => tf.step(x, 0.3), [s], { grads: false });
  const axes: (number | number[])[] = [[0, 1, 2], [1, 2], 3, [0], [0, 3], [1], [0, 1, 2, 3]];
  for (const axis of axes) {
    for (const keepDims of [false, true]) {
      conform(`sum ${axis} ${keepDims}`, (x) => tf.sum(x, axis, keepDims), [s]);
      conform(`mean ${axis} ${keepDims}`, (x) => tf.mean(x, axis, keepDims), [s]);
      conform(`max ${axis} ${keepDims}`, (x) => tf.max(x, axis, keepDims), [s], { grads: false });
    }
  }
  conform("moments", (x) => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return tf.concat([mean, variance]);
  }, [s]);
});

Deno.test(
  { name: "native: fused batchNormTraining matches the moments formula", ignore },
  async () => {
    await setup();
    for (const shape of [[4, 6, 6, 8], [2, 5, 7, 3], [8, 4, 4, 32]]) {
      const c = [shape[3]];
      conform(`batchNormTraining ${shape}`, (x, g, b) => {
        const r = batchNormTraining(x as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
        // The statistics are outputs too (for the running averages): check them with y.
        return tf.concat([r.y.flatten(), r.mean, r.variance]);
      }, [shape, c, c]);
    }
  },
);

Deno.test({ name: "native: fused layerNorm matches the moments formula", ignore }, async () => {
  await setup();
  for (const shape of [[4, 6, 6, 40], [2, 65, 24], [33, 7]]) {
    const c = [shape[shape.length - 1]];
    conform(
      `layerNormFused ${shape}`,
      (x, g, b) => layerNormFused(x, g as tf.Tensor1D, b as tf.Tensor1D, 1e-6),
      [shape, c, c],
    );
  }
});

Deno.test({ name: "native: fused GELU matches the erf formula", ignore }, async () => {
  await setup();
  conform("geluFused", (x) => geluFused(tf.mul(x, 3)), [[8, 12, 12, 16]]);
  conform("geluFused small", (x) => geluFused(x), [[3, 5]]);
});

Deno.test({ name: "native: transpose, split and softmax", ignore }, async () => {
  await setup();
  const s = [4, 10, 12, 24];
  for (const perm of [[0, 3, 1, 2], [0, 2, 1, 3], [3, 2, 1, 0], [1, 0, 2, 3]]) {
    conform(`transpose ${perm}`, (x) => tf.transpose(x, perm), [s]);
  }
  conform("transpose 2d", (x) => tf.transpose(x), [[96, 120]]);
  for (const [axis, split] of [[3, 3], [3, [4, 12, 8]], [1, 2], [0, [1, 3]]] as const) {
    conform(`split ${axis} ${split}`, (x) => {
      const parts = tf.split(x, split as number | number[], axis);
      // Weight each part differently so a part swapped with another would show.
      return tf.concat(parts.map((p, i) => tf.mul(p, i + 1).flatten()));
    }, [s]);
  }
  conform("softmax", (x) => tf.softmax(tf.mul(x, 4)), [[64, 3, 65]]);
  conform("logSoftmax", (x) => tf.logSoftmax(x), [[256, 40]]);
});

Deno.test(
  { name: "native: pooled buffers never clobber data a caller holds", ignore },
  async () => {
    await setup();
    tf.setBackend(NATIVE_BACKEND_NAME);
    const shape = [4, 32, 32, 16];
    const x = tf.tensor(values(4 * 32 * 32 * 16, 5), shape);
    // dataSync hands out the backend's own array: it must survive the tensor's disposal.
    const y = tf.relu(x);
    const held = y.dataSync();
    const copy = held.slice();
    y.dispose();
    // A slice that views its input's buffer must survive the input's disposal too.
    const z = tf.add(x, 1);
    const view = tf.slice(z, [0], [1]);
    const viewCopy = view.dataSync().slice();
    z.dispose();
    for (let i = 0; i < 5; i++) tf.dispose([tf.relu(x), tf.add(x, 2), tf.mul(x, x)]);
    assert.deepEqual(held, copy);
    assert.deepEqual(view.dataSync(), viewCopy);
    tf.dispose([x, view]);
  },
);

Deno.test({ name: "native: a ResNet block trains like on tfjs-cpu", ignore }, async () => {
  await setup();
  const losses: number[][] = [];
  for (const backend of ["cpu", NATIVE_BACKEND_NAME]) {
    tf.setBackend(backend);
    const w1 = tf.variable(tf.tensor(values(3 * 3 * 3 * 8, 1), [3, 3, 3, 8]).mul(0.3));
    const w2 = tf.variable(tf.tensor(values(3 * 3 * 8 * 8, 2), [3, 3, 8, 8]).mul(0.2));
    const fc = tf.variable(tf.tensor(values(8 * 4, 3), [8, 4]));
    const x = tf.tensor(values(8 * 12 * 12 * 3, 4), [8, 12, 12, 3]) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 0, 1, 2, 3], "int32"), 4);
    const run: number[] = [];
    for (let step = 0; step < 3; step++) {
      const loss = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, "same"));
          const { mean, variance } = tf.moments(h, [0, 1, 2]);
          const n = tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5)));
          const h2 = tf.relu(
            tf.add(tf.conv2d(n as tf.Tensor4D, w2 as tf.Tensor4D, 2, "same"), 0.1),
          );
          const logits = tf.matMul(tf.mean(h2, [1, 2]) as tf.Tensor2D, fc);
          return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
        });
        for (const [name, g] of Object.entries(grads)) {
          const v = [w1, w2, fc].find((t) => t.name === name)!;
          v.assign(tf.sub(v, tf.mul(g, 0.1)));
        }
        return value.dataSync()[0];
      });
      run.push(loss);
    }
    losses.push(run);
    tf.dispose([w1, w2, fc, x, labels]);
  }
  for (let i = 0; i < losses[0].length; i++) {
    assert.ok(
      Math.abs(losses[0][i] - losses[1][i]) < 1e-4,
      `step ${i}: cpu ${losses[0][i]} vs native ${losses[1][i]}`,
    );
  }
});

Deno.test(
  { name: "native: registry test models match tfjs-cpu (loss and grads)", ignore },
  async () => {
    await setup();
    for (const name of ["test_resnet", "test_convnext", "test_deit", "test_swin"]) {
      const results: Float32Array[][] = [];
      for (const backend of ["cpu", NATIVE_BACKEND_NAME]) {
        tf.setBackend(backend);
        const model = createModel(name, { numClasses: 4, seed: 3 });
        const size = model.inputSize;
        const vars = [...model.params.values()];
        const outs: Float32Array[] = [];
        tf.tidy(() => {
          const x = tf.tensor(values(4 * size * size * 3, 7), [4, size, size, 3]) as tf.Tensor4D;
          const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3], "int32"), 4);
          const { value, grads } = tf.variableGrads(() =>
            tf.losses.softmaxCrossEntropy(
              labels,
              model.forward(x, { training: true }),
            ) as tf.Scalar, vars);
          outs.push(value.dataSync().slice() as Float32Array);
          for (const v of vars) {
            outs.push(grads[v.name].dataSync().slice() as Float32Array);
          }
        });
        model.dispose();
        results.push(outs);
      }
      for (let i = 0; i < results[0].length; i++) {
        assertClose(
          results[1][i],
          results[0][i],
          `${name} ${i === 0 ? "loss" : `grad ${i - 1}`}`,
          5e-4,
        );
      }
    }
  },
);

Deno.test("broadcastTo expands collapsed shapes block by block", () => {
  const src = Float32Array.from({ length: 6 }, (_, i) => i + 1);
  // [2, 1, 3] → [2, 5, 3]: each row of 3 repeated 5 times
  const y = broadcastTo(src, [2, 1, 3], [2, 5, 3]);
  const expected = [0, 1].flatMap((i) =>
    Array.from({ length: 5 }, () => [1 + 3 * i, 2 + 3 * i, 3 + 3 * i]).flat()
  );
  assert.deepEqual(Array.from(y), expected);
  // [3, 1] → [3, 4] fills, [1, 4] → [3, 4] copies the whole row
  assert.deepEqual(Array.from(broadcastTo(Float32Array.of(7, 8, 9), [3, 1], [3, 4])), [
    7,
    7,
    7,
    7,
    8,
    8,
    8,
    8,
    9,
    9,
    9,
    9,
  ]);
  assert.deepEqual(Array.from(broadcastTo(Float32Array.of(1, 2, 3, 4), [1, 4], [3, 4])), [
    1,
    2,
    3,
    4,
    1,
    2,
    3,
    4,
    1,
    2,
    3,
    4,
  ]);
});

Deno.test(
  { name: "native: the gradient of a global pool over a 1×1 map is dy, not dy[0]", ignore },
  async () => {
    // Regression (issue 12): with every reduced axis of size 1 the broadcast is an identity
    // layout, oneDNN's reorder is skipped, and the kernel used to fill the whole gradient with
    // its first element: ConvNeXt's and Swin's last stage at 16 px trained on garbage.
    await setup();
    const gap = (x: tf.Tensor) => tf.mean(x, [1, 2]);
    conform("mean over a 1×1 map", gap, [[8, 1, 1, 1024]]);
    conform("sum over a 1×1 map", (x) => tf.sum(x, [1, 2], true), [[4, 1, 1, 2048]]);
    conform("mean over size-1 axes 0 and 2", (x) => tf.mean(x, [0, 2]), [[1, 8192, 1]]);
  },
);

Deno.test(
  {
    name: "native: batch norm keeps its digits when a channel's mean is far above its spread",
    ignore,
  },
  async () => {
    // Regression: oneDNN's float32 statistics lose digits with |mean| ≫ std; resnet18_cifar's
    // gradients were 5 % off at 24 px. The kernel shifts each channel by a sample first.
    await setup();
    for (const shape of [[2, 12, 12, 128], [2, 6, 6, 256]]) {
      const c = [shape[3]];
      conform(`batchNormTraining, mean/std ≈ 500, ${shape}`, (x, g, b) => {
        const far = tf.add(tf.mul(x, 0.01), 3) as tf.Tensor4D;
        const r = batchNormTraining(far, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
        return tf.concat([r.y.flatten(), r.mean, r.variance]);
      }, [shape, c, c]);
    }
  },
);

Deno.test(
  {
    name: "native: MaxPoolGrad sends tied windows' gradient to the first maximum, as tfjs-cpu",
    ignore,
  },
  async () => {
    await registerNativeBackend();
    // Integer-valued inputs in a small range tie often, in windows that overlap (k3 s2) and
    // are clipped by padding; kernel outputs are compared directly, since a gradient taken
    // through the model cannot tell tied positions of equal value apart.
    const cases: [[number, number, number, number], number, number, number | "valid" | "same"][] = [
      [[2, 7, 9, 3], 3, 2, 1],
      [[1, 6, 6, 4], 2, 2, "valid"],
      [[3, 5, 5, 2], 3, 1, "same"],
      [[1, 1, 1, 5], 3, 2, 1],
    ];
    for (const [shape, k, s, pad] of cases) {
      const result = (backend: string): Float32Array[] => {
        tf.setBackend(backend);
        return tf.tidy(() => {
          const v = values(shape.reduce((a, b) => a * b, 1), 5).map((t) => Math.round(t * 2));
          const x = tf.tensor4d(v, shape);
          const y = tf.maxPool(x, k, s, pad);
          const dy = tf.tensor(values(y.size, 6), y.shape);
          const dx = tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: y }, {
            filterSize: k,
            strides: s,
            pad,
          }) as tf.Tensor;
          return [y.dataSync().slice() as Float32Array, dx.dataSync().slice() as Float32Array];
        });
      };
      const [yc, dxc] = result("cpu");
      const [yn, dxn] = result(NATIVE_BACKEND_NAME);
      const what = `maxPool [${shape}] k${k} s${s} ${pad}`;
      assert.deepEqual([...yn], [...yc], `${what}: values`);
      assertClose(dxn, dxc, `${what}: gradient`, 1e-6);
    }
    await tf.setBackend("cpu");
  },
);
