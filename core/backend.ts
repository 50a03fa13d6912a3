/**
 * What a compute backend is and can do, and the `Backend` service the trainer depends on.
 *
 * @module
 */
import { Context } from "effect";

/** Backends a user can ask for on the command line. */
export const BACKEND_NAMES = ["auto", "cpu", "wasm", "webgpu", "native"] as const;

/** One of {@link BACKEND_NAMES}. */
export type BackendName = typeof BACKEND_NAMES[number];

/** Capability flags: what the backend offers, so callers can pick algorithms. */
export interface BackendCapabilities {
  /** A native FFT kernel exists (tfjs `FFT`/`IFFT`). */
  readonly fft: boolean;
  /** float64 tensors are supported. */
  readonly float64: boolean;
  /** Runs on a GPU (or a GPU API, even if software-emulated). */
  readonly gpu: boolean;
  /** Number of threads the heavy kernels use. */
  readonly threads: number;
  /** Every gradient the four model families need has a registered kernel. */
  readonly trainable: boolean;
}

/** A resolved, initialised backend. */
export interface BackendInfo {
  /** The concrete backend (never `auto`). */
  readonly name: Exclude<BackendName, "auto">;
  /** The name under which it is registered in tfjs. */
  readonly tfjsName: string;
  readonly capabilities: BackendCapabilities;
  /** Why this backend was chosen (e.g. the auto fallback reason). */
  readonly reason: string;
}

/**
 * The `Backend` service: which tfjs backend is initialised, and why. Models and the trainer
 * call tfjs ops directly; a backend is a set of kernels registered in tfjs's kernel registry
 * under its name (see `TensorOpName` for the ops the library relies on), so the service
 * carries no op table of its own.
 *
 * @example
 * ```ts
 * import { Backend } from "@efficienttrain/core";
 * console.assert(Backend.key === "@efficienttrain/core/Backend");
 * ```
 */
export interface Backend {
  readonly info: BackendInfo;
  /**
   * Settle `auto` for the model at hand: when it picked a GPU backend and a CPU engine can
   * also run, time `probe` (a few training steps of a fresh model, on whichever backend is
   * current) on both and keep the faster, saying why in the returned info's `reason`. With
   * an explicitly named backend, or only one candidate, it returns `info` without probing.
   */
  readonly race: (probe: () => Promise<number>) => Promise<BackendInfo>;
}

/** Service key for {@link Backend}; layers live in `@efficienttrain/backend-tfjs`. */
export const Backend: Context.Service<Backend, Backend> = Context.Service<Backend>(
  "@efficienttrain/core/Backend",
);
