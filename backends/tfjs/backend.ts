/**
 * Initialise tfjs on one of the project's backends (`cpu`, `wasm`, `webgpu`, `native`) or pick
 * one (`auto`), and provide it as the core `Backend` service.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core ships no gradient registrations in its Node bundle; the union package registers all
// of them (and the chained tensor methods) by side effect, against the same global registry.
import "@tensorflow/tfjs";
import { Effect, Layer } from "effect";
import {
  Backend,
  BACKEND_NAMES,
  type BackendCapabilities,
  type BackendInfo,
  type BackendName,
  InvalidArgumentError,
  showValue,
} from "@efficienttrain/core";
import { registerWasmKernels } from "./wasm_kernels/register.ts";
import { BackendError } from "./errors.ts";
import {
  type BackendProvider,
  type ConcreteBackend,
  oneLine,
  providerOf,
  PROVIDERS,
  selectTfjs,
} from "./providers/mod.ts";

export { BackendError } from "./errors.ts";
export { tfjsWebgpuDevice } from "@efficienttrain/backend-webgpu";

/** Options for {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * Let `auto` choose a software (fallback) WebGPU adapter such as Mesa llvmpipe. Off by
   * default: llvmpipe runs tfjs-webgpu far slower than wasm. An explicit `webgpu` request
   * always accepts a fallback adapter.
   */
  readonly allowFallbackAdapter?: boolean;
}

/** One row of {@link listBackends}. */
export interface BackendAvailability {
  readonly name: ConcreteBackend;
  readonly available: boolean;
  readonly reason: string;
}

/**
 * The kernels (forward and backward) that the ResNet, ConvNeXt, DeiT and Swin families reach
 * when trained with `tf.variableGrads`. A backend is `trainable` when all are registered.
 */
export const TRAINING_KERNELS: readonly string[] = [
  "Add",
  "AddN",
  "Sub",
  "Multiply",
  "RealDiv",
  "Neg",
  "Square",
  "Sqrt",
  "Rsqrt",
  "Exp",
  "Log",
  "Pow",
  "Abs",
  "Sign",
  "Erf",
  "Tanh",
  "Sigmoid",
  "Relu",
  "Step",
  "Maximum",
  "Minimum",
  "GreaterEqual",
  "Greater",
  "Less",
  "LessEqual",
  "Equal",
  "Select",
  "Cast",
  "Fill",
  "ClipByValue",
  "Softmax",
  "Max",
  "Sum",
  "Mean",
  "BatchMatMul",
  "Conv2D",
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "DepthwiseConv2dNative",
  "DepthwiseConv2dNativeBackpropFilter",
  "DepthwiseConv2dNativeBackpropInput",
  "MaxPool",
  "MaxPoolGrad",
  "AvgPool",
  "AvgPoolGrad",
  "FusedBatchNorm",
  "Reshape",
  "Transpose",
  "Concat",
  "SplitV",
  "Slice",
  "PadV2",
  "Tile",
  "Pack",
  "Unpack",
  "GatherV2",
  "UnsortedSegmentSum",
  "OneHot",
  "ArgMax",
  "ZerosLike",
  "OnesLike",
];

/**
 * The kernels of {@link TRAINING_KERNELS} that are not registered for a tfjs backend.
 *
 * @example
 * ```ts
 * import { missingTrainingKernels } from "@efficienttrain/backend-tfjs";
 * console.assert(missingTrainingKernels("cpu").length === 0);
 * ```
 */
export function missingTrainingKernels(tfjsName: string): string[] {
  if (tfjsName === "wasm") registerWasmKernels();
  return TRAINING_KERNELS.filter((k) => tf.getKernel(k, tfjsName) === undefined);
}

function capabilitiesOf(provider: BackendProvider): BackendCapabilities {
  const tfjsName = provider.tfjsName;
  return {
    fft: tf.getKernel("FFT", tfjsName) !== undefined &&
      tf.getKernel("IFFT", tfjsName) !== undefined,
    // tfjs has no float64 dtype on any backend.
    float64: false,
    gpu: provider.name === "webgpu",
    threads: provider.threads(),
    trainable: missingTrainingKernels(tfjsName).length === 0,
  };
}

/** `auto`: the first provider, in {@link PROVIDERS}' order, that can run here. */
async function resolveAuto(options: InitBackendOptions): Promise<[BackendProvider, string]> {
  const skipped: string[] = [];
  for (const provider of PROVIDERS.filter((p) => p.auto)) {
    const probe = await provider.probe();
    if (probe.available && (!probe.fallback || options.allowFallbackAdapter === true)) {
      const found = skipped.length === 0
        ? `using ${provider.name} (${probe.reason})`
        : `using ${provider.name}`;
      return [provider, [...skipped, found].join("; ")];
    }
    skipped.push(
      probe.available
        ? `${provider.name} skipped: ${probe.reason}`
        : `${provider.name} unavailable: ${probe.reason}`,
    );
  }
  // wasm is always available; reaching here means WebAssembly itself is missing
  throw new BackendError({ backend: "auto", reason: skipped.join("; ") });
}

/**
 * Initialise tfjs on the named backend and make it current. `auto` picks WebGPU when a
 * non-fallback adapter exists, else `native` when its libraries load, else `wasm`; `reason`
 * says why in one line. Idempotent: a second call re-selects the same backend cheaply. On
 * return `tf.getBackend() === info.tfjsName`.
 *
 * Throws {@link BackendError} when an explicitly named backend cannot run here, and
 * `InvalidArgumentError` for a name that is not a backend.
 *
 * @example
 * ```ts
 * import { initBackend } from "@efficienttrain/backend-tfjs";
 * import * as tf from "@tensorflow/tfjs-core";
 * const info = await initBackend("wasm");
 * console.assert(tf.getBackend() === "wasm" && info.capabilities.trainable);
 * ```
 */
export async function initBackend(
  name: BackendName,
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new InvalidArgumentError({
      argument: "backend",
      value: showValue(name),
      reason: `expected one of ${BACKEND_NAMES.join(", ")}`,
    });
  }
  let provider: BackendProvider;
  let reason: string;
  if (name === "auto") {
    [provider, reason] = await resolveAuto(options);
  } else {
    provider = providerOf(name as ConcreteBackend);
    const probe = await provider.probe();
    if (!probe.available) throw new BackendError({ backend: name, reason: probe.reason });
    reason = `requested --backend ${name}` + (name === "webgpu" ? ` (${probe.reason})` : "");
  }
  await selectTfjs(provider);
  return {
    name: provider.name,
    tfjsName: provider.tfjsName,
    capabilities: capabilitiesOf(provider),
    reason: oneLine(reason),
  };
}

/**
 * Which backends can run here and why not, for `--help` and doctor output. Probes only;
 * does not change the current tfjs backend.
 *
 * @example
 * ```ts
 * import { listBackends } from "@efficienttrain/backend-tfjs";
 * const rows = await listBackends();
 * console.assert(rows.find((r) => r.name === "cpu")?.available === true);
 * ```
 */
export async function listBackends(): Promise<BackendAvailability[]> {
  const order: ConcreteBackend[] = ["cpu", "wasm", "webgpu", "native"];
  return await Promise.all(order.map(async (name) => {
    const provider = providerOf(name);
    const probe = await provider.probe();
    return { name, available: probe.available, reason: oneLine(probe.reason) };
  }));
}

/**
 * A layer providing the core `Backend` service on the named backend. Fails with
 * {@link BackendError} (or `InvalidArgumentError` for a bad name).
 *
 * @example
 * ```ts
 * import { Backend } from "@efficienttrain/core";
 * import { backendLayer } from "@efficienttrain/backend-tfjs";
 * import { Effect } from "effect";
 * const name = await Effect.runPromise(
 *   Effect.provide(Backend.useSync((b) => b.info.name), backendLayer("cpu")),
 * );
 * console.assert(name === "cpu");
 * ```
 */
export function backendLayer(
  name: BackendName,
  options: InitBackendOptions = {},
): Layer.Layer<Backend, BackendError | InvalidArgumentError> {
  return Layer.effect(
    Backend,
    Effect.tryPromise({
      try: () => initBackend(name, options),
      catch: (e) =>
        e instanceof BackendError || e instanceof InvalidArgumentError
          ? e
          : new BackendError({ backend: name, reason: String(e) }),
    }).pipe(Effect.map((info): Backend => ({
      info,
      race: (probe) => name === "auto" ? raceAuto(info, probe) : Promise.resolve(info),
    }))),
  );
}

/**
 * The candidates `auto` races for a model: a GPU pick against the native CPU engine when that
 * can run too (tfjs-webgpu's kernels were 15–30× slower than native on one CPU core of an
 * H200 host, so a GPU is not faster by itself).
 */
async function raceAuto(info: BackendInfo, probe: () => Promise<number>): Promise<BackendInfo> {
  if (info.name !== "webgpu") return info;
  const native = providerOf("native");
  if (!(await native.probe()).available) return info;
  const result = await raceBackends(["webgpu", "native"], probe);
  const [winner] = result.order;
  const times = result.order.map((n) => `${n} ${result.msPerStep[n].toFixed(0)} ms/step`)
    .join(", ");
  const provider = providerOf(winner);
  return {
    name: winner,
    tfjsName: provider.tfjsName,
    capabilities: capabilitiesOf(provider),
    reason: oneLine(`${info.reason}; measured for this model: ${times}; using ${winner}`),
  };
}

/**
 * Time `probe` on each backend in turn (each made current first) and leave the fastest
 * current. `order` lists the backends fastest first.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { raceBackends } from "@efficienttrain/backend-tfjs";
 * const r = await raceBackends(["cpu", "wasm"], () => Promise.resolve(tf.getBackend() === "wasm" ? 1 : 2));
 * console.assert(r.order[0] === "wasm" && tf.getBackend() === "wasm");
 * ```
 */
export async function raceBackends(
  candidates: readonly ConcreteBackend[],
  probe: () => Promise<number>,
): Promise<{ order: ConcreteBackend[]; msPerStep: Record<string, number> }> {
  const msPerStep: Record<string, number> = {};
  for (const name of candidates) {
    await selectTfjs(providerOf(name));
    msPerStep[name] = await probe();
  }
  const order = [...candidates].sort((a, b) => msPerStep[a] - msPerStep[b]);
  await selectTfjs(providerOf(order[0]));
  return { order, msPerStep };
}
