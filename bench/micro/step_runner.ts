/**
 * Shared by the training-step benches: initialise a backend, build a net (a registry model
 * from `@efficienttrain/models`, or the inline CIFAR ResNet of `bench_nets.ts` with batch norm
 * as one fused op), time SGD steps, and break a step down per tfjs kernel.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { batchNormTraining, registerNativeBackend } from "@efficienttrain/backend-native";
import { createModel } from "@efficienttrain/models";
import { type BenchNet, cifarResNet, randomBatch, trainStep, useFusedNorm } from "./bench_nets.ts";

/** Backends the benches compare. */
export type BenchBackend = "cpu" | "wasm" | "native";

/**
 * Initialise `backend` (wasm through `@efficienttrain/backend-tfjs`, which adds the gradient
 * kernels tfjs-wasm lacks).
 */
export async function useBackend(backend: BenchBackend): Promise<void> {
  if (backend === "native") {
    await registerNativeBackend();
    await tf.setBackend("native");
  } else if (backend === "wasm") {
    const { initBackend } = await import("@efficienttrain/backend-tfjs");
    await initBackend("wasm");
  } else {
    await tf.setBackend("cpu");
  }
  await tf.ready();
}

/**
 * A net by name: `fused:resnetN_cifar` is the inline CIFAR ResNet with `batchNormTraining`
 * (the native backend's fused kernels), anything else a registry model at `size`.
 */
export function buildNet(name: string, size: number): BenchNet {
  if (name.startsWith("fused:")) {
    const depth = Number(/^fused:resnet(\d+)_cifar$/.exec(name)?.[1]);
    if (!Number.isFinite(depth)) throw new Error(`unknown fused bench net ${name}`);
    useFusedNorm((x, g, b) => batchNormTraining(x, g, b, 1e-5).y);
    const net = cifarResNet(depth);
    return { ...net, name };
  }
  useFusedNorm(undefined);
  const model = createModel(name, { numClasses: 10 });
  if (model.inputSize !== size) model.setInputSize(size);
  return {
    name,
    variables: [...model.params.values()],
    forward: (x) => model.forward(x, { training: true }),
    dispose: () => model.dispose(),
  };
}

/** Timing of one net on one backend. */
export interface StepTiming {
  readonly model: string;
  readonly backend: string;
  readonly size: number;
  readonly batch: number;
  /** Median wall-clock milliseconds per training step. */
  readonly stepMs: number;
  readonly imagesPerS: number;
}

/** Median of `steps` timed steps after `warmup` untimed ones. */
export function timeSteps(
  net: BenchNet,
  opts: { size: number; batch: number; steps: number; warmup: number },
): StepTiming {
  const { x, y } = randomBatch(opts.batch, opts.size);
  for (let i = 0; i < opts.warmup; i++) trainStep(net, x, y);
  const times: number[] = [];
  for (let i = 0; i < opts.steps; i++) {
    const t = performance.now();
    trainStep(net, x, y);
    times.push(performance.now() - t);
  }
  tf.dispose([x, y]);
  times.sort((a, b) => a - b);
  const stepMs = times[Math.floor(times.length / 2)];
  return {
    model: net.name,
    backend: tf.getBackend(),
    size: opts.size,
    batch: opts.batch,
    stepMs,
    imagesPerS: opts.batch / (stepMs / 1000),
  };
}

/** Milliseconds per step spent in each tfjs kernel, with call counts. */
export interface KernelBreakdown {
  readonly totalMs: number;
  readonly stepMs: number;
  readonly kernels: ReadonlyArray<{ kernel: string; ms: number; calls: number }>;
}

/**
 * Run `steps` steps with every kernel of the active backend wrapped in a timer. The wrappers
 * are removed afterwards. Kernel time excludes tfjs's own bookkeeping (tape, scopes), which is
 * `stepMs − totalMs`.
 */
export function kernelBreakdown(
  net: BenchNet,
  opts: { size: number; batch: number; steps: number },
): KernelBreakdown {
  const backend = tf.getBackend();
  const originals = tf.getKernelsForBackend(backend);
  const ms = new Map<string, number>();
  const calls = new Map<string, number>();
  for (const k of originals) {
    const f = k.kernelFunc;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const t = performance.now();
        const r = f(args);
        ms.set(k.kernelName, (ms.get(k.kernelName) ?? 0) + performance.now() - t);
        calls.set(k.kernelName, (calls.get(k.kernelName) ?? 0) + 1);
        return r;
      },
    });
  }
  const { x, y } = randomBatch(opts.batch, opts.size);
  let stepMs: number;
  try {
    trainStep(net, x, y);
    ms.clear();
    calls.clear();
    const t = performance.now();
    for (let i = 0; i < opts.steps; i++) trainStep(net, x, y);
    stepMs = (performance.now() - t) / opts.steps;
  } finally {
    tf.dispose([x, y]);
    for (const k of originals) {
      tf.unregisterKernel(k.kernelName, backend);
      tf.registerKernel(k);
    }
  }
  const kernels = [...ms.entries()]
    .map(([kernel, t]) => ({
      kernel,
      ms: t / opts.steps,
      calls: (calls.get(kernel) ?? 0) / opts.steps,
    }))
    .sort((a, b) => b.ms - a.ms);
  return { totalMs: kernels.reduce((a, k) => a + k.ms, 0), stepMs, kernels };
}
