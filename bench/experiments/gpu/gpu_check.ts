/**
 * One pass over the WebGPU path on a real GPU, for a machine that has one (CI and the tests
 * never need it): the adapter, the low-frequency crop against the float64 reference, crop
 * timings, one gradient step of each `test_*` model against tfjs-cpu, and training-step
 * throughput of each family at the sizes the curricula use (time ratio next to FLOP ratio).
 *
 *   deno run -A bench/experiments/gpu/gpu_check.ts [out.json] [--budget-s 420] [--quick] [--sections crop,parity,steps]
 *        [--models a,b]   (a subset of the step section's models, in that order)
 *
 * Results are written after every section (atomically), so a run cut short keeps what it
 * measured. `--quick` shrinks everything to a smoke test that llvmpipe finishes in a minute.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { lowFrequencyCropReference, writeTextFileAtomic } from "@efficienttrain/core";
import { initBackend, lowFrequencyCrop } from "@efficienttrain/backend-tfjs";
import { lowFrequencyCropWebGPU } from "@efficienttrain/backend-webgpu";
import { createModel, modelInfo, nearestSize } from "@efficienttrain/models";
import { measureStepProfile } from "@efficienttrain/train";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    "budget-s": { type: "string", default: "420" },
    quick: { type: "boolean" },
    sections: { type: "string", default: "crop,parity,steps" },
    models: { type: "string" },
  },
});
const outPath = positionals[0];
const quick = values.quick === true;
const deadline = performance.now() + Number(values["budget-s"]) * 1000;
const sections = new Set(values.sections.split(","));
const report: Record<string, unknown> = { started: new Date().toISOString(), quick };

async function save(): Promise<void> {
  const text = JSON.stringify(report, null, 2) + "\n";
  if (outPath) await writeTextFileAtomic(outPath, text);
  else console.log(text);
}

async function median(f: () => Promise<void>, runs: number): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await f();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const backend = await initBackend("webgpu");
const adapter = await navigator.gpu.requestAdapter();
report.backend = backend;
report.adapter = adapter?.info
  ? {
    vendor: adapter.info.vendor,
    architecture: adapter.info.architecture,
    device: adapter.info.device,
    description: adapter.info.description,
  }
  : null;
console.log(`backend ${tf.getBackend()}: ${backend.reason}`);
await save();

// 1. the crop against the float64 reference, and its cost
const cropSizes: Array<[number, number]> = !sections.has("crop")
  ? []
  : quick
  ? [[32, 24]]
  : [[32, 24], [224, 160]];
const crop: Record<string, unknown>[] = [];
for (const [h, b] of cropSizes) {
  const n = quick ? 4 : 64;
  const x = tf.randomUniform([n, h, h, 3]) as tf.Tensor4D;
  const host = x.dataSync() as Float32Array;
  const checkN = 2;
  const ref = lowFrequencyCropReference(host.subarray(0, checkN * h * h * 3), [checkN, h, h, 3], {
    size: b,
  });
  const gemm = lowFrequencyCrop(x, { size: b });
  const gemmHost = (await gemm.data()) as Float32Array;
  const wgsl = await lowFrequencyCropWebGPU(host, { shape: [n, h, h, 3], size: b });
  const err = (y: Float32Array) => ref.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i]!)), 0);
  const row = {
    from: h,
    to: b,
    batch: n,
    maxAbsErrTfjsGemm: err(gemmHost),
    maxAbsErrWgsl: err(wgsl),
    msTfjsGemm: await median(async () => {
      const y = lowFrequencyCrop(x, { size: b });
      await y.data();
      y.dispose();
    }, 5),
    msWgslWithTransfers: await median(async () => {
      await lowFrequencyCropWebGPU(host, { shape: [n, h, h, 3], size: b });
    }, 5),
  };
  crop.push(row);
  console.log(JSON.stringify(row));
  tf.dispose([x, gemm]);
}
report.crop = crop;
await save();

// 2. one gradient step of each test_* model: webgpu against tfjs-cpu
async function lossAndGrads(name: string, backendName: string) {
  await tf.setBackend(backendName);
  const m = createModel(name, { seed: 3 });
  const side = m.inputSize;
  const x = tf.randomUniform([4, side, side, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 3], "int32"), modelInfo(name).numClasses).toFloat();
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, m.forward(x, { training: true })) as tf.Scalar,
    [...m.params.values()],
  );
  const out = { loss: (await value.data())[0]!, grads: new Map<string, Float32Array>() };
  for (const [k, v] of m.params) out.grads.set(k, (await grads[v.name]!.data()) as Float32Array);
  tf.dispose([x, y, value, grads]);
  m.dispose();
  return out;
}
const parity: Record<string, unknown>[] = [];
const parityModels = sections.has("parity")
  ? ["test_resnet", "test_convnext", "test_deit", "test_swin"]
  : [];
for (const name of parityModels) {
  const cpu = await lossAndGrads(name, "cpu");
  const gpu = await lossAndGrads(name, backend.tfjsName);
  let worst = 0;
  for (const [k, g] of cpu.grads) {
    const h = gpu.grads.get(k)!;
    const scale = Math.max(1e-6, ...g.map(Math.abs));
    worst = Math.max(worst, ...g.map((v, i) => Math.abs(v - h[i]!) / scale));
  }
  const row = { model: name, lossCpu: cpu.loss, lossGpu: gpu.loss, worstGradRelErr: worst };
  parity.push(row);
  console.log(JSON.stringify(row));
}
await tf.setBackend(backend.tfjsName);
report.parity = parity;
await save();

// 3. training-step throughput at the curricula's sizes
const cases: Array<{ model: string; batch: number }> = !sections.has("steps")
  ? []
  : quick
  ? [{ model: "resnet8_cifar", batch: 16 }]
  : [
    // the papers' setting first: 224² ImageNet-size models
    { model: "resnet50", batch: 32 },
    { model: "deit_small_patch16_224", batch: 32 },
    { model: "swin_tiny_patch4_window7_224", batch: 32 },
    { model: "convnext_tiny", batch: 32 },
    { model: "resnet8_cifar", batch: 128 },
    { model: "convnext_micro_patch2_32", batch: 128 },
    { model: "deit_micro_patch4_32", batch: 128 },
    { model: "swin_micro_patch2_window4_32", batch: 128 },
  ];
const only = values.models?.split(",");
const chosen = only
  ? only.map((m) => cases.find((c) => c.model === m) ?? { model: m, batch: 32 })
  : cases;
const steps: Record<string, unknown>[] = [];
report.steps = steps;
for (const { model, batch } of chosen) {
  if (performance.now() > deadline) {
    steps.push({ model, skipped: "time budget spent" });
    continue;
  }
  const info = modelInfo(model);
  const full = info.defaultSize;
  const sizes = [
    ...new Set([full, ...[192, 160, 96].map((b) => nearestSize(info.inputRule, (full * b) / 224))]),
  ]
    .filter((s) => s <= full);
  const m = createModel(model, { seed: 0 });
  const start = performance.now();
  console.log(`${model}: batch ${batch}, sizes ${sizes.join(", ")}`);
  try {
    const profile = await measureStepProfile(m, sizes, {
      batchSize: batch,
      channels: 3,
      numClasses: info.numClasses,
      steps: quick ? 1 : 3,
    });
    const base = profile[full]!;
    const row = {
      model,
      batch,
      seconds: (performance.now() - start) / 1000,
      sizes: sizes.map((s) => ({
        size: s,
        imagesPerSecond: 1 / profile[s]!,
        timeRatio: profile[s]! / base,
        flopRatio: m.flops(s) / m.flops(full),
      })),
    };
    steps.push(row);
    console.log(JSON.stringify(row));
  } catch (e) {
    steps.push({ model, error: String(e) });
  }
  m.dispose();
  await save();
}
report.finished = new Date().toISOString();
await save();
