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
import "@tensorflow/tfjs-backend-cpu";
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { tmpdir } from "node:os";
import { Effect, Layer } from "effect";
import {
  Backend,
  BACKEND_NAMES,
  type BackendCapabilities,
  type BackendInfo,
  type BackendName,
  InvalidArgumentError,
  showValue,
  taggedError,
  type TaggedErrorClass,
} from "@efficienttrain/core";
import {
  type NativeProbe,
  probeNative as probeNativeLibs,
  registerNativeBackend,
} from "@efficienttrain/backend-native";
import { registerWasmKernels } from "./wasm_kernels/register.ts";

type BackendErrorFields = { backend: string; reason: string };
const BackendErrorBase: TaggedErrorClass<"BackendError", BackendErrorFields> = taggedError(
  "BackendError",
);

/**
 * A backend that was asked for but cannot run here; `reason` says why and how to fix it.
 *
 * @example
 * ```ts
 * import { BackendError } from "@efficienttrain/backend-tfjs";
 * const err = new BackendError({ backend: "native", reason: "libopenblas.so.0 not found" });
 * console.assert(err.message.includes("native"));
 * ```
 */
export class BackendError extends BackendErrorBase {
  /** Human-readable description naming the backend. */
  override get message(): string {
    return `backend ${this.backend} unavailable: ${this.reason}`;
  }
}

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
  readonly name: Exclude<BackendName, "auto">;
  readonly available: boolean;
  readonly reason: string;
}

/** The tfjs name of each concrete backend. */
const TFJS_NAME: Record<Exclude<BackendName, "auto">, string> = {
  cpu: "cpu",
  wasm: "wasm",
  webgpu: "webgpu",
  native: "native",
};

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

/** The native probe, with a missing permission (e.g. no --allow-ffi) reported, not thrown. */
function probeNative(): NativeProbe {
  try {
    return probeNativeLibs();
  } catch (e) {
    return { available: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

let wasmPathsSet = false;

/** Point tfjs-wasm at the .wasm binaries inside its npm package, so nothing is fetched. */
function useLocalWasmBinaries(): void {
  if (wasmPathsSet) return;
  const main = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
  // tfjs treats Deno as Node and reads the prefix with fs, so a plain directory path works.
  setWasmPaths(`${dirname(main)}/`);
  wasmPathsSet = true;
}

interface WebgpuProbe {
  readonly available: boolean;
  readonly fallback: boolean;
  readonly reason: string;
}

let runtimeDirSet = false;

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every adapter
 * request when the variable is missing (containers, CI). Point it at a private per-user
 * directory (created once, reused by every run) so `--backend auto` prints nothing.
 */
function ensureRuntimeDir(): void {
  if (runtimeDirSet) return;
  runtimeDirSet = true;
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    let user = "user";
    try {
      user = String(Deno.uid() ?? user);
    } catch { /* no sys permission: one shared name is still private enough */ }
    const dir = `${tmpdir()}/efficienttrain-xdg-${user}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env/write permission the only cost is Mesa's warning.
  }
}

async function probeWebgpu(): Promise<WebgpuProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu !== undefined) ensureRuntimeDir();
  if (gpu === undefined) {
    return { available: false, fallback: false, reason: "navigator.gpu is missing" };
  }
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return { available: false, fallback: false, reason: `requestAdapter failed: ${String(e)}` };
  }
  if (adapter === null) {
    return { available: false, fallback: false, reason: "no WebGPU adapter found" };
  }
  // Newer WebGPU exposes the flag on `info`, older drafts on the adapter itself.
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = info?.isFallbackAdapter ??
    (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const desc = info?.description || info?.vendor || "unknown adapter";
  return {
    available: true,
    fallback,
    reason: fallback ? `only a fallback (software) adapter: ${desc}` : `adapter: ${desc}`,
  };
}

function threadsOf(name: Exclude<BackendName, "auto">): number {
  switch (name) {
    case "wasm":
      return getThreadsCount();
    case "native":
      // OpenBLAS' pthread build uses every core unless OPENBLAS_NUM_THREADS says otherwise.
      return Number(Deno.env.get("OPENBLAS_NUM_THREADS")) || navigator.hardwareConcurrency || 1;
    default:
      // cpu runs on the JS thread; webgpu's host side is one thread, its kernels run on the GPU.
      return 1;
  }
}

function capabilitiesOf(name: Exclude<BackendName, "auto">): BackendCapabilities {
  const tfjsName = TFJS_NAME[name];
  return {
    fft: tf.getKernel("FFT", tfjsName) !== undefined &&
      tf.getKernel("IFFT", tfjsName) !== undefined,
    // tfjs has no float64 dtype on any backend.
    float64: false,
    gpu: name === "webgpu",
    threads: threadsOf(name),
    trainable: missingTrainingKernels(tfjsName).length === 0,
  };
}

async function activate(name: Exclude<BackendName, "auto">): Promise<void> {
  const tfjsName = TFJS_NAME[name];
  if (name === "wasm") {
    useLocalWasmBinaries();
    registerWasmKernels();
  }
  if (name === "native" && tf.findBackendFactory(tfjsName) === null) {
    await registerNativeBackend();
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(tfjsName);
  } catch (e) {
    throw new BackendError({ backend: name, reason: `tfjs failed to initialise it: ${String(e)}` });
  }
  if (!ok || tf.getBackend() !== tfjsName) {
    throw new BackendError({ backend: name, reason: "tfjs failed to initialise it" });
  }
  // tfjs-cpu (and backends built on it) print an "install tfjs-node" banner on first write.
  const active = tf.backend() as unknown as { firstUse?: boolean };
  if (active.firstUse === true) active.firstUse = false;
}

async function resolveAuto(
  options: InitBackendOptions,
): Promise<[Exclude<BackendName, "auto">, string]> {
  const gpu = await probeWebgpu();
  if (gpu.available && (!gpu.fallback || options.allowFallbackAdapter === true)) {
    return ["webgpu", `using webgpu (${gpu.reason})`];
  }
  const native = probeNative();
  if (native.available) {
    return ["native", `webgpu skipped: ${gpu.reason}; using native`];
  }
  return [
    "wasm",
    `webgpu skipped: ${gpu.reason}; native unavailable: ${native.reason}; using wasm`,
  ];
}

/** Reasons are shown on one line (`--help`, logs). */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
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
  let chosen: Exclude<BackendName, "auto">;
  let reason: string;
  if (name === "auto") {
    [chosen, reason] = await resolveAuto(options);
  } else {
    chosen = name;
    reason = `requested --backend ${name}`;
    if (name === "native") {
      const probe = probeNative();
      if (!probe.available) {
        throw new BackendError({ backend: "native", reason: oneLine(probe.reason) });
      }
    }
    if (name === "webgpu") {
      const gpu = await probeWebgpu();
      if (!gpu.available) throw new BackendError({ backend: "webgpu", reason: gpu.reason });
      reason += ` (${gpu.reason})`;
    }
  }
  await activate(chosen);
  return {
    name: chosen,
    tfjsName: TFJS_NAME[chosen],
    capabilities: capabilitiesOf(chosen),
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
  const gpu = await probeWebgpu();
  const native = probeNative();
  return [
    { name: "cpu", available: true, reason: "plain JavaScript kernels (slow for training)" },
    {
      name: "wasm",
      available: typeof WebAssembly === "object",
      reason: typeof WebAssembly === "object"
        ? "XNNPACK SIMD kernels, loaded from the npm package"
        : "WebAssembly is missing",
    },
    { name: "webgpu", available: gpu.available, reason: oneLine(gpu.reason) },
    { name: "native", available: native.available, reason: oneLine(native.reason) },
  ];
}

/**
 * The GPU device tfjs-webgpu runs on, once `initBackend("webgpu")` has succeeded, so WGSL
 * kernels can share buffers with tfjs tensors. `undefined` otherwise.
 *
 * @example
 * ```ts
 * import { tfjsWebgpuDevice } from "@efficienttrain/backend-tfjs";
 * const device = tfjsWebgpuDevice(); // undefined unless the webgpu backend is initialised
 * console.assert(device === undefined || typeof device.createBuffer === "function");
 * ```
 */
export function tfjsWebgpuDevice(): GPUDevice | undefined {
  // Read the registry directly: findBackend() would start initialising webgpu as a side effect.
  const backend = tf.engine().registry["webgpu"] as unknown as { device?: GPUDevice } | undefined;
  return backend?.device;
}

/**
 * A layer providing the core `Backend` service on the named backend (`ops` is the tfjs
 * namespace). Fails with {@link BackendError} (or `InvalidArgumentError` for a bad name).
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
    }).pipe(Effect.map((info): Backend => ({ info, ops: tf }))),
  );
}
