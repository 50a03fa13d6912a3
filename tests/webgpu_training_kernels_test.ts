/**
 * The WGSL training kernels on tfjs-webgpu against tfjs-cpu's composite formulas, over swept
 * shapes (size-1 axes, 1×1 maps, odd sizes, sizes around the workgroup widths, batch 1):
 * batch norm, layer norm and GELU forward and backward (outputs, statistics and every input
 * gradient; the norms' column reductions both whole and split over slices of the rows),
 * batch norm's running-statistics update, and a whole training step of each `test_*` model
 * (loss and every parameter's gradient). The fused AdamW is in `fused_adamw_test.ts`, the
 * attention head split in `webgpu_attention_kernels_test.ts`. Runs on llvmpipe; skipped without
 * an adapter.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { FUSED_KERNELS, Rng } from "@efficienttrain/core";
import { batchNorm, createModel } from "@efficienttrain/models";
import { setSplitFromRows, SPLIT_FROM_ROWS } from "@efficienttrain/backend-webgpu";
import { dispatchesOf, random, startWebgpu, worstRelative } from "./webgpu_util.ts";

const ignore = !(await startWebgpu());

const BN_SHAPES: readonly [number, number, number, number][] = [
  [1, 1, 1, 1],
  [1, 1, 1, 5],
  [3, 1, 1, 7],
  [2, 3, 3, 5],
  [1, 5, 7, 3],
  [4, 9, 9, 16],
  [2, 48, 48, 3], // 4,608 rows: the 256-lane reduction
  // From SPLIT_FROM_ROWS (16,384) rows the column reductions run over slices of the rows:
  [2, 96, 96, 3], // 18,432 rows, 18 equal slices of 1,024
  [1, 129, 129, 70], // 16,641 rows, a shorter last slice; 70 channels, two tiles of 64
];

Deno.test({
  name: "webgpu: fused batch norm forward and backward match tfjs-cpu over swept shapes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    assert.ok(tf.getKernel(FUSED_KERNELS.batchNormGrad, "webgpu"));
    for (const shape of BN_SHAPES) {
      const rng = new Rng(shape.reduce((a, b) => a * 31 + b, 7));
      const c = [shape[3]];
      const rows = shape[0] * shape[1] * shape[2];
      // an offset mean, as activations have, so the centred variance matters, and a ramp down
      // the rows, so the slices of a split reduction have different means to merge
      const ramp = (i: number) => 2 + (4 * Math.floor(i / shape[3])) / rows;
      const inputs = {
        x: { shape: [...shape], values: random(shape, rng, 3).map((v, i) => v + ramp(i)) },
        scale: { shape: c, values: random(c, rng, 1) },
        offset: { shape: c, values: random(c, rng, 1) },
      };
      const composite = ({ x, scale, offset }: Record<string, tf.Tensor>) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2]);
        const k = tf.mul(scale, tf.rsqrt(tf.add(variance, 1e-5)));
        return [tf.add(tf.mul(tf.sub(x, mean), k), offset), mean, variance];
      };
      const attrs = { varianceEpsilon: 1e-5 };
      const cpu = await fusedOn("cpu", FUSED_KERNELS.batchNorm, attrs, inputs, composite);
      // shapes under the split line also run split (every reduction sliced, down to one slice)
      for (const splitFrom of rows < SPLIT_FROM_ROWS ? [SPLIT_FROM_ROWS, 1] : [SPLIT_FROM_ROWS]) {
        const previous = setSplitFromRows(splitFrom);
        const gpu = await fusedOn("webgpu", FUSED_KERNELS.batchNorm, attrs, inputs, composite)
          .finally(() => setSplitFromRows(previous));
        const label = `[${shape}], split from ${splitFrom} rows`;
        assert.ok(gpu.kernels.includes(FUSED_KERNELS.batchNormGrad), `${label}: fused backward`);
        assert.ok(!gpu.kernels.includes("Transpose"), `${label}: no transposes (${gpu.kernels})`);
        assertBatchNormMatches(label, rows, gpu, cpu);
      }
    }
    await tf.setBackend("webgpu");
  },
});

/** Every output and gradient of the fused batch norm on webgpu against tfjs-cpu's formula. */
function assertBatchNormMatches(
  label: string,
  rows: number,
  gpu: { outputs: Float32Array[]; grads: Float32Array[] },
  cpu: { outputs: Float32Array[]; grads: Float32Array[] },
): void {
  const pairs = {
    y: [gpu.outputs[0], cpu.outputs[0]],
    mean: [gpu.outputs[1], cpu.outputs[1]],
    variance: [gpu.outputs[2], cpu.outputs[2]],
    dx: [gpu.grads[0], cpu.grads[0]],
    dScale: [gpu.grads[1], cpu.grads[1]],
    dOffset: [gpu.grads[2], cpu.grads[2]],
  };
  for (const [key, [got, want]] of Object.entries(pairs)) {
    // a 1-row batch has x̂ = 0: dx is rounding noise around 0 on both
    if (key === "dx" && rows === 1) continue;
    const err = worstRelative(got, want);
    assert.ok(err < 1e-4, `${label} ${key}: relative error ${err}`);
  }
}

/** The running statistics after two training-mode `batchNorm` calls on `backend`. */
async function runningStatsOn(
  backend: string,
  shape: readonly [number, number, number, number],
): Promise<{ mean: Float32Array; variance: Float32Array; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const rng = new Rng(shape.reduce((a, b) => a * 17 + b, 3));
  const c = [shape[3]];
  const state = {
    weight: tf.variable(tf.tensor(random(c, rng, 1), c)),
    bias: tf.variable(tf.tensor(random(c, rng, 1), c)),
    runningMean: tf.variable(tf.tensor(random(c, rng, 1), c), false),
    runningVar: tf.variable(tf.tensor(random(c, rng, 1).map((v) => v + 2), c), false),
  };
  const batches = [0, 1].map(() =>
    tf.tensor4d(random(shape, rng, 3).map((v) => v + 1), [...shape])
  );
  const profile = await tf.profile(() => {
    for (const x of batches) tf.dispose(batchNorm(x, state, { training: true, momentum: 0.3 }));
  });
  const mean = (await state.runningMean.data()) as Float32Array;
  const variance = (await state.runningVar.data()) as Float32Array;
  tf.dispose([...batches, ...Object.values(state)]);
  return { mean, variance, kernels: profile.kernelNames };
}

Deno.test({
  name: "webgpu: batch norm's fused running-statistics update matches tfjs-cpu's formula",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const shape of BN_SHAPES) {
      const gpu = await runningStatsOn("webgpu", shape);
      const cpu = await runningStatsOn("cpu", shape);
      assert.ok(gpu.kernels.includes(FUSED_KERNELS.batchNormRunningStats), `${shape}: fused ran`);
      assert.ok(
        !cpu.kernels.includes(FUSED_KERNELS.batchNormRunningStats),
        `${shape}: cpu formula`,
      );
      for (const key of ["mean", "variance"] as const) {
        const err = worstRelative(gpu[key], cpu[key]);
        assert.ok(err < 1e-5, `[${shape}] running ${key}: relative error ${err}`);
      }
    }
    await tf.setBackend("webgpu");
  },
});

/** One training step's loss and gradients on `backend`, read asynchronously. */
async function stepOn(
  backend: string,
  name: string,
  side: number,
): Promise<{ loss: number; grads: Map<string, Float32Array>; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const model = createModel(name, { numClasses: 3, inChans: 3, imgSize: side, seed: 5 });
  const rng = new Rng(9);
  const x = tf.tensor4d(random([2, side, side, 3], rng, 1), [2, side, side, 3]);
  const labels = tf.oneHot(tf.tensor1d([0, 2], "int32"), 3);
  const names = [...model.params.keys()];
  const vars = names.map((n) => model.params.get(n)!);
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(
      () =>
        tf.losses.softmaxCrossEntropy(
          labels,
          model.forward(x, { training: true, seed: 1 }),
        ) as tf.Scalar,
      vars,
    );
    return [value, ...vars.map((v) => grads[v.name])];
  });
  const [value, ...grads] = profile.result as tf.Tensor[];
  const loss = (await value.data())[0];
  const host = new Map<string, Float32Array>();
  for (let i = 0; i < names.length; i++) {
    host.set(names[i], (await grads[i].data()) as Float32Array);
  }
  tf.dispose([value, ...grads, x, labels]);
  model.dispose();
  return { loss, grads: host, kernels: profile.kernelNames };
}

Deno.test({
  name: "webgpu: a whole training step of each test_* model equals tfjs-cpu",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const models: [string, number, number][] = [
      ["test_resnet", 12, SPLIT_FROM_ROWS],
      ["test_convnext", 16, SPLIT_FROM_ROWS],
      ["test_deit", 8, SPLIT_FROM_ROWS],
      ["test_swin", 16, SPLIT_FROM_ROWS],
      // the norms' column reductions split, as at batch 64 and 224 px
      ["test_resnet", 12, 1],
      ["test_deit", 8, 1],
    ];
    for (const [name, side, splitFrom] of models) {
      const previous = setSplitFromRows(splitFrom);
      const gpu = await stepOn("webgpu", name, side).finally(() => setSplitFromRows(previous));
      const cpu = await stepOn("cpu", name, side);
      const lossErr = Math.abs(gpu.loss - cpu.loss) / Math.abs(cpu.loss);
      assert.ok(
        lossErr < 1e-4,
        `${name} (split from ${splitFrom}): loss ${gpu.loss} vs ${cpu.loss}`,
      );
      for (const [param, want] of cpu.grads) {
        const err = worstRelative(gpu.grads.get(param)!, want);
        assert.ok(
          err < 1e-3,
          `${name} (split from ${splitFrom}) ${param}: gradient relative error ${err}`,
        );
      }
      if (name === "test_resnet") {
        assert.ok(gpu.kernels.includes(FUSED_KERNELS.batchNormGrad), "fused batch norm used");
      }
      if (name === "test_deit" || name === "test_swin") {
        assert.ok(gpu.kernels.includes(FUSED_KERNELS.splitHeadsGrad), `${name}: fused head split`);
        assert.ok(gpu.kernels.includes(FUSED_KERNELS.attentionGrad), `${name}: fused attention`);
      }
      if (name === "test_swin") {
        assert.ok(gpu.kernels.includes(FUSED_KERNELS.windowMerge), "fused window partition");
      }
    }
    await tf.setBackend("webgpu");
  },
});

/**
 * Forward values and the input gradients of `sum(f(inputs)[0] · w)`, with the fused kernel
 * `kernel` on backends that have it and `composite` elsewhere; the kernels that ran.
 */
async function fusedOn(
  backend: string,
  kernel: string,
  attrs: tf.NamedAttrMap,
  inputs: Record<string, { shape: number[]; values: Float32Array }>,
  composite: (t: Record<string, tf.Tensor>) => tf.Tensor[],
): Promise<{ outputs: Float32Array[]; grads: Float32Array[]; kernels: readonly string[] }> {
  await tf.setBackend(backend);
  const names = Object.keys(inputs);
  const tensors = names.map((n) => tf.tensor(inputs[n].values, inputs[n].shape));
  const fused = tf.getKernel(kernel, backend) !== undefined;
  const run = (...ts: tf.Tensor[]): tf.Tensor[] => {
    const named = Object.fromEntries(names.map((n, i) => [n, ts[i]]));
    if (!fused) return composite(named);
    const out = tf.engine().runKernel(kernel, named as tf.NamedTensorMap, attrs);
    return Array.isArray(out) ? out : [out as tf.Tensor];
  };
  const rng = new Rng(3);
  const first = run(...tensors)[0];
  const w = tf.tensor(random(first.shape, rng, 1), first.shape);
  first.dispose();
  const profile = await tf.profile(() => {
    const outputs = run(...tensors);
    const grads = tf.grads((...ts: tf.Tensor[]) => tf.sum(tf.mul(run(...ts)[0], w)))(tensors);
    return [...outputs, ...grads];
  });
  const all = profile.result as tf.Tensor[];
  const values = await Promise.all(all.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([...all, ...tensors, w]);
  const nOut = all.length - names.length;
  return {
    outputs: values.slice(0, nOut),
    grads: values.slice(nOut),
    kernels: profile.kernelNames,
  };
}

async function assertFusedMatchesCpu(
  label: string,
  kernel: string,
  attrs: tf.NamedAttrMap,
  inputs: Record<string, { shape: number[]; values: Float32Array }>,
  composite: (t: Record<string, tf.Tensor>) => tf.Tensor[],
): Promise<void> {
  const gpu = await fusedOn("webgpu", kernel, attrs, inputs, composite);
  const cpu = await fusedOn("cpu", kernel, attrs, inputs, composite);
  assert.ok(gpu.kernels.includes(kernel), `${label}: the fused kernel ran (${gpu.kernels})`);
  assert.equal(gpu.outputs.length, cpu.outputs.length);
  [
    ...gpu.outputs.map((o, i) => [`output ${i}`, o, cpu.outputs[i]] as const),
    ...gpu.grads.map((g, i) => [`gradient ${Object.keys(inputs)[i]}`, g, cpu.grads[i]] as const),
  ]
    .forEach(([what, got, want]) => {
      const err = worstRelative(got, want);
      assert.ok(err < 1e-4, `${label} ${what}: relative error ${err}`);
    });
}

Deno.test({
  name: "webgpu: fused layer norm forward and backward match tfjs-cpu over swept shapes",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const shapes = [
      [1, 1],
      [3, 5],
      [2, 7, 33],
      [4, 300],
      [1, 1, 1, 8],
      [2, 3, 3, 8],
      [70, 3],
      [2, 4097], // rows of 4,097: the 256-lane row passes
      [4100, 3], // 4,100 rows: the 256-lane column sums
      // from 16,384 rows the parameter gradients' column sums run over slices of the rows
      [65537, 1], // and more rows than one dispatch dimension holds: a second row of workgroups
      [3, 6001, 70], // 18,003 rows, a shorter last slice, two tiles of 64 channels
    ];
    for (const shape of shapes) {
      const rng = new Rng(shape.length * 97 + shape[shape.length - 1]);
      const c = shape[shape.length - 1];
      const x = random(shape, rng, 2).map((v) => v + 1);
      const inputs = {
        x: { shape, values: x },
        scale: { shape: [c], values: random([c], rng, 1) },
        offset: { shape: [c], values: random([c], rng, 1) },
      };
      const rows = x.length / c;
      // shapes under the split line also run split (the parameter gradients' column sums)
      for (const splitFrom of rows < SPLIT_FROM_ROWS ? [SPLIT_FROM_ROWS, 1] : [SPLIT_FROM_ROWS]) {
        const previous = setSplitFromRows(splitFrom);
        await assertFusedMatchesCpu(
          `layer norm [${shape}], split from ${splitFrom} rows`,
          FUSED_KERNELS.layerNorm,
          { epsilon: 1e-6 },
          inputs,
          ({ x, scale, offset }) => {
            const { mean, variance } = tf.moments(x, -1, true);
            const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6)));
            return [
              tf.add(tf.mul(normed, scale), offset),
              tf.squeeze(mean, [-1]),
              tf.squeeze(variance, [-1]),
            ];
          },
        ).finally(() => setSplitFromRows(previous));
      }
    }
  },
});

Deno.test({
  name: "webgpu: fused GELU forward and backward match tfjs-cpu's erf formula",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    for (const shape of [[1], [67], [2, 3, 5], [1, 1, 1, 1]]) {
      const rng = new Rng(shape.length + 40);
      await assertFusedMatchesCpu(
        `GELU [${shape}]`,
        FUSED_KERNELS.gelu,
        {},
        { x: { shape, values: random(shape, rng, 5) } },
        ({ x }) => [tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))],
      );
    }
  },
});

Deno.test({
  name: "webgpu: each fused kernel is the dispatches its design says, not one per output",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await tf.setBackend("webgpu");
    const rng = new Rng(4);
    const t = (shape: number[]) => tf.tensor(random(shape, rng, 1), shape);
    const [x, scale, offset, dy] = [t([2, 3, 3, 8]), t([8]), t([8]), t([2, 3, 3, 8])];
    const kernel = (name: string, inputs: Record<string, tf.Tensor>, attrs: object) => () =>
      tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor[];
    const ln = { epsilon: 1e-6 };
    const [lnY, lnMean, lnVariance] = kernel(FUSED_KERNELS.layerNorm, { x, scale, offset }, ln)();
    const bn = { varianceEpsilon: 1e-5 };
    const [bnY, bnMean, bnVariance] = kernel(FUSED_KERNELS.batchNorm, { x, scale, offset }, bn)();
    const adamW = {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      stepSize: 1e-3,
      vCorrection: 1,
      decay: 0,
    };
    const expected: [string, () => tf.Tensor[], number][] = [
      ["AdamW", kernel(FUSED_KERNELS.adamW, { param: x, grad: dy, m: x, v: x }, adamW), 1],
      ["layer norm forward", kernel(FUSED_KERNELS.layerNorm, { x, scale, offset }, ln), 1],
      [
        "layer norm backward",
        kernel(
          FUSED_KERNELS.layerNormGrad,
          { dy, x, scale, mean: lnMean, variance: lnVariance },
          ln,
        ),
        2,
      ],
      ["batch norm forward", kernel(FUSED_KERNELS.batchNorm, { x, scale, offset }, bn), 2],
      [
        "batch norm backward",
        kernel(
          FUSED_KERNELS.batchNormGrad,
          { dy, x, scale, mean: bnMean, variance: bnVariance },
          bn,
        ),
        2,
      ],
      [
        "batch norm running statistics",
        kernel(FUSED_KERNELS.batchNormRunningStats, {
          runningMean: scale,
          runningVar: offset,
          mean: bnMean,
          variance: bnVariance,
        }, { momentum: 0.1, varianceCorrection: 36 / 35 }),
        1,
      ],
    ];
    for (const [what, run, dispatches] of expected) {
      assert.equal(dispatchesOf(run), dispatches, what);
    }
    tf.dispose([x, scale, offset, dy, lnY, lnMean, lnVariance, bnY, bnMean, bnVariance]);

    // from SPLIT_FROM_ROWS rows on, each column reduction is two dispatches (slices, combine)
    const [lx, lScale, lOffset, ldy] = [t([1, 128, 128, 2]), t([2]), t([2]), t([1, 128, 128, 2])];
    const long = { x: lx, scale: lScale, offset: lOffset };
    const [bY, bMean, bVariance] = kernel(FUSED_KERNELS.batchNorm, long, bn)();
    const [lY, lMean, lVariance] = kernel(FUSED_KERNELS.layerNorm, long, ln)();
    const split: [string, () => tf.Tensor[], number][] = [
      ["batch norm forward, 16,384 rows", kernel(FUSED_KERNELS.batchNorm, long, bn), 3],
      [
        "batch norm backward, 16,384 rows",
        kernel(FUSED_KERNELS.batchNormGrad, {
          dy: ldy,
          x: lx,
          scale: lScale,
          mean: bMean,
          variance: bVariance,
        }, bn),
        3,
      ],
      [
        "layer norm backward, 16,384 rows",
        kernel(FUSED_KERNELS.layerNormGrad, {
          dy: ldy,
          x: lx,
          scale: lScale,
          mean: lMean,
          variance: lVariance,
        }, ln),
        3,
      ],
    ];
    for (const [what, run, dispatches] of split) {
      assert.equal(dispatchesOf(run), dispatches, what);
    }
    tf.dispose([lx, lScale, lOffset, ldy, bY, bMean, bVariance, lY, lMean, lVariance]);
  },
});
