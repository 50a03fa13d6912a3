/**
 * Where a WebGPU training step's time goes (issue 13), next to the native CPU backend on the
 * same machine: per model, the training step time on both, and for tfjs-webgpu the dispatches
 * per step by program, the host time spent recording them, host↔device transfers, pipelines
 * compiled on the first step and on a change of input side (a curriculum stage change), and
 * GPU time per program where the adapter has timestamp queries.
 *
 *   deno task bench:webgpu [--out bench/results/webgpu] [--budget-s 420] [--quick]
 *        [--models a@side,b@side] [--batch N] [--tfjs-formulas]
 *
 * `--tfjs-formulas` unregisters the project's WGSL training kernels (fused AdamW, batch norm,
 * layer norm, GELU, the attention head split, scaled dot-product attention, softmax's gradient,
 * the convolutions' filter gradients) so the step runs tfjs's own formulas and programs, for the
 * before/after of the engine; its results go to `<adapter>-tfjs-formulas.{json,md}`.
 *
 * One training step per iteration as the trainer takes it: forward, backward, the project's
 * AdamW (fused into one kernel per parameter where the backend has it), one read of the loss.
 * The per-step counts are one step's, taken before the stage-change step. Uploads are also
 * listed by where they came from (the innermost project line on the stack). Results are
 * written after every model (atomically), so a run cut short by its budget keeps what it
 * measured; models the budget did not reach are listed as skipped.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "node:util";
import { FUSED_KERNELS, writeTextFileAtomic } from "@efficienttrain/core";
import { initBackend } from "@efficienttrain/backend-tfjs";
import { createModel, modelInfo } from "@efficienttrain/models";
import { AdamW } from "@efficienttrain/train";

const USAGE = `usage: deno task bench:webgpu [flags]

  --out <dir>           results folder (default: bench/results/webgpu)
  --budget-s <s>        stop starting models after this many seconds (default: 420)
  --quick               batch 4, one timed step per model
  --models <list>       model@side,… (default: the CIFAR variants at 32 and five at 224)
  --batch <n>           batch size (default: 128 up to 64 px, 64 above; 4 with --quick)
  --tfjs-formulas       run tfjs's own programs instead of the project's WGSL kernels
  --help                this text`;

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: "bench/results/webgpu" },
      "budget-s": { type: "string", default: "420" },
      quick: { type: "boolean" },
      models: { type: "string" },
      batch: { type: "string" },
      "tfjs-formulas": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
} catch (error) {
  console.error(`bench:webgpu: ${(error as Error).message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (parsed.values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const { values } = parsed;
const tfjsFormulas = values["tfjs-formulas"] === true;

/** Activate a backend; with `--tfjs-formulas`, without the project's webgpu kernels. */
async function activate(backend: "native" | "webgpu"): Promise<void> {
  await initBackend(backend);
  if (backend !== "webgpu" || !tfjsFormulas) return;
  for (const name of Object.values(FUSED_KERNELS)) {
    if (tf.getKernel(name, "webgpu")) tf.unregisterKernel(name, "webgpu");
  }
}
const quick = values.quick === true;
const deadline = performance.now() + Number(values["budget-s"]) * 1000;
const DEFAULT_MODELS = [
  "resnet8_cifar@32",
  "convnext_micro_patch2_32@32",
  "deit_micro_patch4_32@32",
  "swin_micro_patch2_window4_32@32",
  "resnet18@224",
  "resnet50@224",
  "convnext_tiny@224",
  "deit_tiny_patch16_224@224",
  "swin_tiny_patch4_window7_224@224",
];
const cases = (values.models?.split(",") ?? DEFAULT_MODELS).map((s) => {
  const [model, side] = s.split("@");
  return { model, side: Number(side ?? modelInfo(model).defaultSize) };
});
const timedSteps = quick ? 1 : 3;

/** The tfjs-webgpu backend object's internals this script reads (tfjs 4.22). */
interface WebGPUInternals {
  pipelineCache: Record<string, unknown>;
  supportTimestampQuery: boolean;
  recordAndSubmit(program: { constructor: { name: string } }, ...rest: unknown[]): void;
  read(dataId: object): Promise<unknown>;
  readSync(dataId: object): unknown;
  uploadToGPU(dataId: object): void;
  tensorMap: { get(dataId: object): { resource?: unknown; values?: unknown } | undefined };
}

/** Counters the instrumented backend fills during one step. */
interface StepCounters {
  dispatches: Map<string, { calls: number; hostMs: number }>;
  reads: number;
  uploads: number;
  /** Uploads by where they came from: the innermost project source line on the stack. */
  uploadSources: Map<string, number>;
}

/**
 * The innermost frame of this project's code on the current stack (`models/layers.ts:441`),
 * or the innermost frame of all when no project code is on it (a tfjs gradient called by the
 * tape, for example).
 */
function projectFrame(): string {
  // tfjs's gradient machinery alone is deeper than V8's default 10 frames
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 60;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  const frames = stack.split("\n").slice(1)
    .map((line) => line.match(/\((.*):(\d+):\d+\)$|at (.*):(\d+):\d+$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .map((m) => ({ file: m[1] ?? m[3], line: m[2] ?? m[4] }))
    .filter((f) => !f.file.includes("webgpu_profile.ts"));
  const ours = frames.find((f) => f.file.startsWith("file://") && !f.file.includes("/npm/"));
  const frame = ours ?? frames[0];
  if (!frame) return "unknown";
  const root = new URL("../../../", import.meta.url).href;
  const file = frame.file.startsWith(root)
    ? frame.file.slice(root.length)
    : frame.file.replace(/^.*\/npm\/[^/]+\//, "npm:");
  return `${file}:${frame.line}`;
}

function instrument(backend: WebGPUInternals): { counters: StepCounters; reset(): void } {
  const counters: StepCounters = {
    dispatches: new Map(),
    reads: 0,
    uploads: 0,
    uploadSources: new Map(),
  };
  const record = backend.recordAndSubmit.bind(backend);
  backend.recordAndSubmit = (program, ...rest) => {
    const t = performance.now();
    record(program, ...rest);
    const name = program.constructor.name;
    const entry = counters.dispatches.get(name) ?? { calls: 0, hostMs: 0 };
    entry.calls++;
    entry.hostMs += performance.now() - t;
    counters.dispatches.set(name, entry);
  };
  // A read of data still on the host (a tensor made from JS values, or one tfjs-webgpu kept
  // on the CPU) is no transfer; only reads of GPU-resident data count.
  const onGpu = (id: object) => backend.tensorMap.get(id)?.resource != null;
  const read = backend.read.bind(backend), readSync = backend.readSync.bind(backend);
  backend.read = (id) => {
    if (onGpu(id)) counters.reads++;
    return read(id);
  };
  backend.readSync = (id) => {
    if (onGpu(id)) counters.reads++;
    return readSync(id);
  };
  const upload = backend.uploadToGPU.bind(backend);
  backend.uploadToGPU = (id) => {
    // uploadToGPU also allocates every program's output; only data held on the host is a
    // transfer (and ends the compute pass to copy it in).
    const data = backend.tensorMap.get(id);
    if (data?.resource == null && data?.values != null) {
      counters.uploads++;
      const where = projectFrame();
      counters.uploadSources.set(where, (counters.uploadSources.get(where) ?? 0) + 1);
    }
    upload(id);
  };
  return {
    counters,
    reset() {
      counters.dispatches.clear();
      counters.reads = 0;
      counters.uploads = 0;
      counters.uploadSources.clear();
    },
  };
}

function batchOf(side: number): number {
  if (values.batch) return Number(values.batch);
  if (quick) return 4;
  return side <= 64 ? 128 : 64;
}

const optimizers = new Map<object, AdamW>();

/** One training step; resolves when the GPU has finished it (the loss is read back). */
async function step(
  model: ReturnType<typeof createModel>,
  x: tf.Tensor4D,
  y: tf.Tensor2D,
): Promise<void> {
  const params = model.params;
  const vars = [...params.values()];
  let optimizer = optimizers.get(model);
  if (!optimizer) optimizers.set(model, optimizer = new AdamW({ weightDecay: 0.05 }));
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(x, { training: true });
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    }, vars);
    optimizer.apply(params, new Map([...params].map(([n, v]) => [n, grads[v.name]])), 1e-3);
    return value;
  });
  await loss.data();
  loss.dispose();
}

async function timeOn(
  backend: "native" | "webgpu",
  model: string,
  side: number,
  batch: number,
  onReady?: (m: ReturnType<typeof createModel>, x: tf.Tensor4D, y: tf.Tensor2D) => Promise<void>,
): Promise<{ stepMs: number; imagesPerS: number }> {
  await activate(backend);
  const m = createModel(model, { numClasses: 10, imgSize: side });
  const x = tf.randomNormal([batch, side, side, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, "int32", 2), 10).toFloat() as tf.Tensor2D;
  try {
    await step(m, x, y); // warm-up: pipelines compiled, buffers allocated
    await onReady?.(m, x, y);
    const times: number[] = [];
    for (let i = 0; i < timedSteps; i++) {
      const t = performance.now();
      await step(m, x, y);
      times.push(performance.now() - t);
    }
    const stepMs = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    return { stepMs, imagesPerS: batch / (stepMs / 1000) };
  } finally {
    tf.dispose([x, y]);
    optimizers.get(m)?.dispose();
    optimizers.delete(m);
    m.dispose();
  }
}

await activate("webgpu");
const adapter = await navigator.gpu.requestAdapter();
const webgpu = tf.backend() as unknown as WebGPUInternals;
const probe = instrument(webgpu);
// GPUAdapterInfo's fields are prototype getters: copy them by name (a spread copies none).
const info = adapter?.info;
const adapterInfo = info
  ? {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
  }
  : null;
const adapterName = adapterInfo?.description ||
  `${adapterInfo?.vendor ?? "unknown"} ${adapterInfo?.architecture ?? ""}`.trim();
const slug = (adapterName || "adapter").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(
  /^-|-$/g,
  "",
) + (tfjsFormulas ? "-tfjs-formulas" : "");
const report: Record<string, unknown> = {
  started: new Date().toISOString(),
  adapter: adapterInfo,
  timestampQuery: webgpu.supportTimestampQuery,
  quick,
  kernels: tfjsFormulas ? "tfjs formulas" : "project WGSL training kernels",
  rows: [] as unknown[],
};
const rows = report.rows as Record<string, unknown>[];

for (const { model, side } of cases) {
  if (performance.now() > deadline) {
    rows.push({ model, side, skipped: "time budget spent" });
    continue;
  }
  const batch = batchOf(side);
  try {
    let breakdown: Record<string, unknown> = {};
    const gpu = await timeOn("webgpu", model, side, batch, async (m, x, y) => {
      const compiledBefore = Object.keys(webgpu.pipelineCache).length;
      probe.reset();
      await step(m, x, y);
      // Counted now: the stage-change step below goes on filling the same counters.
      const c = probe.counters;
      const programs = [...c.dispatches].map(([name, v]) => [name, { ...v }] as const)
        .sort((a, b) => b[1].hostMs - a[1].hostMs);
      const counted = {
        dispatchesPerStep: programs.reduce((a, [, v]) => a + v.calls, 0),
        hostRecordMsPerStep: programs.reduce((a, [, v]) => a + v.hostMs, 0),
        readsPerStep: c.reads,
        uploadsPerStep: c.uploads,
        uploadSources: [...c.uploadSources].sort((a, b) => b[1] - a[1]).slice(0, 10)
          .map(([where, uploads]) => ({ where, uploads })),
      };
      // A stage change: a new input side compiles the pipelines of every new shape.
      const smaller = Math.max(modelInfo(model).inputRule.min, side - side / 4);
      const newSide = Math.round(smaller / modelInfo(model).inputRule.step) *
        modelInfo(model).inputRule.step;
      const beforeStage = Object.keys(webgpu.pipelineCache).length;
      m.setInputSize(newSide);
      const xs = tf.image.resizeBilinear(x, [newSide, newSide]) as tf.Tensor4D;
      await step(m, xs, y);
      xs.dispose();
      m.setInputSize(side);
      breakdown = {
        ...counted,
        pipelinesAfterWarmup: compiledBefore,
        pipelinesNewAtStageChange: Object.keys(webgpu.pipelineCache).length - beforeStage,
        stageChangeSide: newSide,
        topPrograms: programs.slice(0, 12).map(([name, v]) => ({ name, ...v })),
      };
      if (webgpu.supportTimestampQuery) {
        const info = await tf.time(() => step(m, x, y) as unknown as void);
        breakdown.gpuKernelMs = info.kernelMs;
      }
    });
    const cpu = performance.now() > deadline
      ? undefined
      : await timeOn("native", model, side, batch).catch((e) => ({ error: String(e) }));
    rows.push({
      model,
      side,
      batch,
      webgpu: gpu,
      native: cpu,
      webgpuOverNative: cpu && "imagesPerS" in cpu ? gpu.imagesPerS / cpu.imagesPerS : null,
      ...breakdown,
    });
  } catch (e) {
    rows.push({ model, side, batch, error: String(e) });
  }
  await activate("webgpu");
  await Deno.mkdir(values.out, { recursive: true });
  await writeTextFileAtomic(
    `${values.out}/${slug}.json`,
    JSON.stringify(report, null, 2) + "\n",
  );
  await writeTextFileAtomic(`${values.out}/${slug}.md`, markdownTable());
  console.log(JSON.stringify(rows[rows.length - 1]));
}
console.log(markdownTable());

function fmt(v: unknown, d = 1): string {
  return typeof v === "number" ? v.toFixed(d) : "–";
}
function markdownTable(): string {
  return [
    `# WebGPU training step on ${adapterName} (timestamp queries: ${webgpu.supportTimestampQuery})`,
    "",
    `\`deno task bench:webgpu${quick ? " --quick" : ""}${
      tfjsFormulas ? " --tfjs-formulas" : ""
    }\`, ${report.started}. Kernels: ${report.kernels}. Native: the oneDNN CPU backend in the ` +
    "same process, same batch. One step: forward, backward, AdamW, one read of the loss.",
    "",
    "| model | side | batch | webgpu img/s | native img/s | webgpu / native | dispatches / step | host ms recording | reads / step | uploads / step | pipelines (warm-up) | new pipelines at a stage change | top programs (host ms) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => {
      if (r.skipped || r.error) return `| ${r.model} | ${r.side} | – | ${r.skipped ?? r.error} |`;
      const w = r.webgpu as { imagesPerS: number }, n = r.native as { imagesPerS?: number };
      const top = (r.topPrograms as { name: string; hostMs: number; calls: number }[] ?? [])
        .slice(0, 4).map((p) => `${p.name} ×${p.calls} ${p.hostMs.toFixed(0)}`).join(", ");
      return `| ${r.model} | ${r.side} | ${r.batch} | ${fmt(w.imagesPerS)} | ${
        fmt(n?.imagesPerS)
      } | ${fmt(r.webgpuOverNative, 2)} | ${r.dispatchesPerStep} | ${
        fmt(r.hostRecordMsPerStep, 0)
      } | ${r.readsPerStep} | ${r.uploadsPerStep} | ${r.pipelinesAfterWarmup} | ${r.pipelinesNewAtStageChange} (→${r.stageChangeSide}) | ${top} |`;
    }),
    "",
    "Host→GPU uploads of one step by source (the innermost project line on the stack):",
    "",
    ...rows.filter((r) => r.uploadSources).map((r) =>
      `- ${r.model}: ${
        (r.uploadSources as { where: string; uploads: number }[])
          .map((u) => `\`${u.where}\` ×${u.uploads}`).join(", ") || "none"
      }`
    ),
  ].join("\n") + "\n";
}
