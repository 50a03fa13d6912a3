/**
 * `deno task bench:torch [--quick] [--models a,b] [--sizes 32,224] [--batch 128] [--threads 2]`:
 * train the same small variants in PyTorch (`bench/experiments/torch/torch_reference.py`, Debian's `python3-torch`,
 * channels_last, same thread count as ours) and on our `native` backend, then print and write
 * (`bench/results/vs_torch.json`) images/s and the ratio ours/PyTorch per model and size, plus
 * the per-kernel time breakdown of our step.
 *
 * The machine is shared: each side runs in turn, never together, and the load average at the
 * start of each run is recorded with it, since OpenMP thread pools slow down sharply when
 * other processes hold the cores.
 */
import { parseArgs } from "node:util";
import { writeTextFileAtomic } from "@efficienttrain/core";
import { buildNet, kernelBreakdown, timeSteps, useBackend } from "../../micro/step_runner.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    quick: { type: "boolean", default: false },
    models: { type: "string" },
    sizes: { type: "string" },
    batch: { type: "string", default: "128" },
    threads: { type: "string", default: "2" },
    python: { type: "string", default: "/usr/bin/python3" },
    out: { type: "string", default: "bench/results/vs_torch.json" },
  },
});

/**
 * Ours runs the registry model (`@efficienttrain/models`, which uses the native backend's fused
 * batch norm, layer norm and GELU); `fused:resnetN_cifar` names the inline CIFAR ResNet of
 * `bench_nets.ts` (same architecture, fused batch norm called directly).
 */
const DEFAULT_MODELS = [
  "resnet8_cifar",
  "resnet20_cifar",
  "convnext_atto_patch2_32",
  "deit_tiny_patch4_32",
  "swin_tiny_patch2_window4_32",
].join(",");
const QUICK_MODELS = "resnet20_cifar,convnext_atto_patch2_32";
const models = (flags.models ?? (flags.quick ? QUICK_MODELS : DEFAULT_MODELS)).split(",");
const sizes = (flags.sizes ?? "32").split(",").map(Number);
const batch = Number(flags.batch);
const steps = flags.quick ? 2 : 3;
const warmup = 1;
const threads = Number(flags.threads);
// Both sides get the same thread count; ours reads it when oneDNN loads (below).
Deno.env.set("OMP_NUM_THREADS", String(threads));

function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** The PyTorch name of a bench net (the fused variants are the same architecture). */
function torchName(model: string): string {
  return model.replace(/^fused:/, "");
}

interface TorchResult {
  model: string;
  size: number;
  batch: number;
  step_ms: number;
  images_per_s: number;
}

async function runTorch(): Promise<{ version: string; results: TorchResult[]; load: number }> {
  const names = [...new Set(models.map(torchName))].join(",");
  const load = loadAverage();
  const cmd = new Deno.Command(flags.python!, {
    args: [
      "bench/experiments/torch/torch_reference.py",
      "--models",
      names,
      "--sizes",
      sizes.join(","),
      "--batch",
      String(batch),
      "--steps",
      String(steps),
      "--warmup",
      String(warmup),
      "--threads",
      String(threads),
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  if (!out.success) {
    throw new Error(
      `bench/experiments/torch/torch_reference.py failed (is python3-torch installed? apt-get install ` +
        `python3-torch): ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`,
    );
  }
  const parsed = JSON.parse(new TextDecoder().decode(out.stdout));
  return { version: parsed.torch, results: parsed.results, load };
}

const torch = await runTorch();
await useBackend("native");
const rows = [];
const breakdowns: Record<string, unknown> = {};
for (const model of models) {
  for (const size of sizes) {
    const load = loadAverage();
    const net = buildNet(model, size);
    const ours = timeSteps(net, { size, batch, steps, warmup });
    const bd = kernelBreakdown(net, { size, batch, steps: 1 });
    net.dispose();
    const ref = torch.results.find((r) => r.model === torchName(model) && r.size === size);
    rows.push({
      model,
      size,
      batch,
      oursImagesPerS: ours.imagesPerS,
      oursStepMs: ours.stepMs,
      torchImagesPerS: ref?.images_per_s ?? null,
      torchStepMs: ref?.step_ms ?? null,
      ratio: ref ? ours.imagesPerS / ref.images_per_s : null,
      loadAverage: load,
    });
    breakdowns[`${model}@${size}`] = bd;
  }
}

const pad = (s: string, n: number) => s.padEnd(n);
const num = (v: number | null, d = 1) => (v === null ? "n/a" : v.toFixed(d));
console.log(
  `PyTorch ${torch.version} (${threads} threads, channels_last, load ${torch.load}) vs ours ` +
    `(native, ${threads} threads), ` +
    `batch ${batch}, ${steps} timed steps (median)`,
);
console.log(
  `${pad("model", 30)}${pad("size", 6)}${pad("ours img/s", 12)}${pad("torch img/s", 13)}` +
    `${pad("ours/torch", 11)}load`,
);
for (const r of rows) {
  console.log(
    `${pad(r.model, 30)}${pad(String(r.size), 6)}${pad(num(r.oursImagesPerS), 12)}` +
      `${pad(num(r.torchImagesPerS), 13)}${pad(num(r.ratio, 2), 11)}${r.loadAverage}`,
  );
}
for (const [key, bd] of Object.entries(breakdowns)) {
  const b = bd as ReturnType<typeof kernelBreakdown>;
  console.log(
    `\nper-kernel time of one ${key} step (wall ${b.stepMs.toFixed(1)} ms, kernels ` +
      `${b.totalMs.toFixed(1)} ms, tfjs bookkeeping ${(b.stepMs - b.totalMs).toFixed(1)} ms):`,
  );
  for (const k of b.kernels.slice(0, 12)) {
    console.log(
      `  ${pad(k.kernel, 30)}${k.ms.toFixed(1).padStart(8)} ms ${
        (100 * k.ms / b.stepMs).toFixed(0).padStart(3)
      }%  ${k.calls} calls`,
    );
  }
}
await Deno.mkdir("bench/results", { recursive: true });
await writeTextFileAtomic(
  flags.out!,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      threads,
      torch: { version: torch.version, loadAverage: torch.load },
      batch,
      steps,
      rows,
      breakdowns,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwrote ${flags.out}`);
