/**
 * Training-step throughput of every small-image variant at its full input side and at the
 * smaller sides a curriculum uses (the legal sides nearest to S·96/224, S·160/224 and
 * S·192/224), with the measured time ratio next to the FLOP ratio (B/S)² and the model's own
 * FLOP ratio. The CIFAR ResNets are also measured on MNIST's shape (28×28×1 and 20, 24).
 *
 *   deno bench -A bench/micro/models_bench.ts        # Deno.bench rows + the ratio table at exit
 *   deno run -A bench/micro/models_bench.ts          # only the ratio table
 *
 * In `deno run` mode the sizes of one model are timed round-robin (one step each per round)
 * and each row reports its fastest step, which is what survives best on a shared machine.
 *
 * Environment: MODELS_BENCH_BACKEND (cpu | wasm | native | webgpu | auto; default wasm),
 * MODELS_BENCH_BATCH (default 16), MODELS_BENCH_STEPS (timed steps, default 3),
 * MODELS_BENCH_MODELS (comma-separated subset).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendName, Model } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { createModel, modelInfo, nearestSize } from "@efficienttrain/models";

const env = (k: string, d: string): string => Deno.env.get(k) ?? d;
const backend = env("MODELS_BENCH_BACKEND", "wasm") as BackendName;
const batch = Number(env("MODELS_BENCH_BATCH", "16"));
const steps = Number(env("MODELS_BENCH_STEPS", "3"));

interface Case {
  readonly label: string;
  readonly model: string;
  readonly inChans: number;
  readonly full: number;
  readonly sizes: number[];
}

function curriculumSizes(model: string, full: number): number[] {
  const rule = modelInfo(model).inputRule;
  const s = [96, 160, 192].map((b) => nearestSize(rule, (full * b) / 224));
  return [...new Set([full, ...s.filter((v) => v < full)])].sort((a, b) => b - a);
}

const SMALL = [
  "resnet8_cifar",
  "resnet20_cifar",
  "resnet18_cifar",
  "convnext_atto_patch2_32",
  "convnext_atto_patch1_32",
  "deit_tiny_patch4_32",
  "deit_tiny_patch2_32",
  "swin_tiny_patch2_window4_32",
  "convnext_micro_patch2_32",
  "deit_micro_patch4_32",
  "swin_micro_patch2_window4_32",
];
const wanted = Deno.env.get("MODELS_BENCH_MODELS")?.split(",");
const cases: Case[] = [];
for (const model of SMALL.filter((m) => !wanted || wanted.includes(m))) {
  cases.push({ label: model, model, inChans: 3, full: 32, sizes: curriculumSizes(model, 32) });
  if (model === "resnet8_cifar" || model === "resnet20_cifar") {
    cases.push({ label: `${model} (MNIST)`, model, inChans: 1, full: 28, sizes: [28, 24, 20] });
  }
}

const info = await initBackend(backend);
const models = new Map<string, Model>();
const timings = new Map<string, number[]>();

function step(c: Case, size: number): number {
  const key = `${c.label}@${c.inChans}`;
  let m = models.get(key);
  if (m === undefined) {
    // one model alive at a time keeps the wasm heap small
    for (const old of models.values()) old.dispose();
    models.clear();
    m = createModel(c.model, { inChans: c.inChans, imgSize: c.full, seed: 0 });
    models.set(key, m);
  }
  const model = m;
  const vars = [...model.params.values()];
  const x = tf.randomNormal([batch, size, size, c.inChans]) as tf.Tensor4D;
  const labels = tf.oneHot(
    tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32"),
    10,
  );
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(labels, model.forward(x, { training: true })) as tf.Scalar,
    vars,
  );
  value.dataSync();
  for (const g of Object.values(grads)) g.dataSync();
  const ms = performance.now() - t0;
  tf.dispose([x, labels, value, ...Object.values(grads)]);
  return ms;
}

function record(c: Case, size: number, ms: number): void {
  const k = `${c.label}|${size}`;
  timings.set(k, [...(timings.get(k) ?? []), ms]);
}

/** The fastest step: on a shared machine the least-disturbed sample is the most repeatable. */
function best(v: number[]): number {
  return Math.min(...v);
}

function table(): string {
  const rows = [
    `backend ${info.name} (${info.capabilities.threads} thread(s)), batch ${batch}, fastest of ${steps} ${
      import.meta.main ? "interleaved steps" : "deno bench iterations"
    } per row`,
    "| model | B | img/s | ms/step | time ratio | (B/S)² | model FLOP ratio |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const c of cases) {
    const full = timings.get(`${c.label}|${c.full}`);
    if (!full) continue;
    const fullMs = best(full);
    const fFull = modelInfo(c.model, { inChans: c.inChans, imgSize: c.full }).flops;
    for (const size of c.sizes) {
      const t = timings.get(`${c.label}|${size}`);
      if (!t) continue;
      const ms = best(t);
      const f = modelInfo(c.model, { inChans: c.inChans, imgSize: size }).flops;
      rows.push(
        `| ${c.label} | ${size} | ${(batch / (ms / 1000)).toFixed(1)} | ${ms.toFixed(0)} | ` +
          `${(ms / fullMs).toFixed(3)} | ${((size / c.full) ** 2).toFixed(3)} | ${
            (f / fFull).toFixed(3)
          } |`,
      );
    }
  }
  return rows.join("\n");
}

let printed = false;
function printTable(): void {
  if (printed || timings.size === 0) return;
  printed = true;
  console.log(`\n${table()}`);
  const out = Deno.env.get("MODELS_BENCH_OUT");
  if (out) Deno.writeTextFileSync(out, `${table()}\n`);
}
globalThis.addEventListener("unload", printTable);

for (const c of cases) {
  for (const size of c.sizes) {
    Deno.bench({
      name: `${c.label} B=${size}`,
      group: c.label,
      baseline: size === c.full,
      n: steps,
      warmup: 1,
      fn: () => record(c, size, step(c, size)),
    });
  }
}

if (import.meta.main) {
  // plain `deno run`: one warm-up and `steps` timed steps per row
  for (const c of cases) {
    for (const size of c.sizes) {
      step(c, size);
    }
    // sizes interleaved round by round, so load from other processes spreads over all rows
    for (let i = 0; i < steps; i++) {
      for (const size of c.sizes) record(c, size, step(c, size));
    }
    console.error(
      `${c.label}: ` +
        c.sizes.map((s) => `B=${s} ${best(timings.get(`${c.label}|${s}`)!).toFixed(0)} ms`).join(
          ", ",
        ),
    );
  }
  printTable();
}
