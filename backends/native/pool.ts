/**
 * The native backend object: tfjs-cpu's `MathBackendCPU` plus a pool of output buffers.
 *
 * Why a pool: a training step allocates hundreds of multi-megabyte outputs. Each fresh
 * `Float32Array` is new zeroed pages from the OS, and faulting them in on first touch costs
 * more than the oneDNN kernel that fills them (measured: 0.8 ms vs 0.14 ms for a 2M-element
 * ReLU). Shapes repeat every step, so buffers released by disposed tensors are handed to the
 * next kernel that needs the same length.
 *
 * Staleness: lengths follow the input side, so a curriculum's stage change leaves the pool full
 * of buffers no kernel will ask for again. Left there they would hold the cap and every new
 * side's buffer would be a fresh allocation for the rest of the run; so when a released buffer
 * does not fit under the cap, lengths not asked for in the last `staleTakes` allocations are
 * dropped first (the lengths of the current step are asked for every step and stay). A caller
 * that knows the side changes drops the whole pool at once (`releasePooled`).
 *
 * Safety: only buffers this backend allocated are pooled, and a buffer is never pooled once it
 * may be visible outside a tensor: after `readSync`/`read` (tfjs returns the array itself from
 * `dataSync()`), or when any other tensor was created on a view of it (tfjs-cpu's Slice returns
 * subarrays of its input).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { InvalidArgumentError } from "@efficienttrain/core";

/**
 * Default cap on pooled bytes. One DeiT-Tiny step at 128 px, batch 64, releases ~2.3 GB of
 * pooled-size outputs; at a 1 GiB cap its forward and backward took 1.89–1.95 s on one thread,
 * at 2 GiB 1.63 s, at 3–4 GiB 1.58–1.61 s (`bench/experiments/stage_history.ts`, two caps side
 * by side, one core each, both core orders).
 */
const MAX_POOLED_BYTES = 2 * 2 ** 30;
/** Small buffers are cheap to allocate; pooling them would only add bookkeeping. */
const MIN_POOLED_LENGTH = 16384;
/**
 * A length not asked for in this many pooled-size allocations is stale: many training steps of
 * the largest bench model (a ResNet-50 step takes ~1,500), so no length of the current step.
 */
const STALE_TAKES = 50_000;

/** Options of {@link NativeBackendCPU}. */
export interface NativeBackendOptions {
  /** Cap on pooled bytes (default 2 GiB; {@link poolCapFromEnv} reads `ET_NATIVE_POOL_MB`). */
  readonly maxPooledBytes?: number;
  /** Allocations after which an unrequested length counts as stale (default 50,000). */
  readonly staleTakes?: number;
}

/** `MathBackendCPU` with pooled float32 outputs for the native kernels. */
export class NativeBackendCPU extends MathBackendCPU {
  readonly #free = new Map<number, Float32Array[]>();
  /** The allocation count at which each pooled length was last asked for. */
  readonly #lastTake = new Map<number, number>();
  readonly #owned = new WeakSet<ArrayBuffer>();
  readonly #escaped = new WeakSet<ArrayBuffer>();
  readonly #maxPooledBytes: number;
  readonly #staleTakes: number;
  #pooledBytes = 0;
  #takes = 0;
  #lastScan = -Infinity;

  /**
   * A CPU backend whose native kernels draw their outputs from the pool.
   *
   * @example
   * ```ts
   * import { NativeBackendCPU } from "@efficienttrain/backend-native";
   * const backend = new NativeBackendCPU({ maxPooledBytes: 1 << 20 });
   * console.assert(backend.take(16384).length === 16384 && backend.pooledBytes === 0);
   * ```
   */
  constructor(options: NativeBackendOptions = {}) {
    super();
    this.#maxPooledBytes = options.maxPooledBytes ?? MAX_POOLED_BYTES;
    this.#staleTakes = options.staleTakes ?? STALE_TAKES;
  }

  /** An uninitialised float32 buffer of `length` elements; the caller overwrites all of it. */
  take(length: number): Float32Array {
    if (length >= MIN_POOLED_LENGTH) {
      this.#lastTake.set(length, ++this.#takes);
      const list = this.#free.get(length);
      const hit = list?.pop();
      if (hit) {
        this.#pooledBytes -= hit.byteLength;
        return hit;
      }
      const fresh = new Float32Array(length);
      this.#owned.add(fresh.buffer);
      return fresh;
    }
    return new Float32Array(length);
  }

  /** Bytes currently held in the pool. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  #escape(values: unknown): void {
    if (ArrayBuffer.isView(values) && values.buffer instanceof ArrayBuffer) {
      if (this.#owned.has(values.buffer)) this.#escaped.add(values.buffer);
    }
  }

  override write(
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
  ): tf.DataId {
    // A tensor built on a view of (or the very array of) a pooled buffer pins that buffer.
    if (ArrayBuffer.isView(values) && this.#owned.has(values.buffer as ArrayBuffer)) {
      if (this.#written.has(values.buffer as ArrayBuffer)) this.#escape(values);
      else this.#written.add(values.buffer as ArrayBuffer);
    }
    return super.write(values, shape, dtype);
  }

  readonly #written = new WeakSet<ArrayBuffer>();

  override move(
    dataId: tf.DataId,
    values: tf.backend_util.BackendValues,
    shape: number[],
    dtype: tf.DataType,
    refCount: number,
  ): void {
    this.#escape(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override readSync(dataId: tf.DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    this.#escape(values);
    return values;
  }

  override disposeData(dataId: tf.DataId, force = false): boolean {
    const entry = this.data.get(dataId);
    const values = entry?.values;
    const released = super.disposeData(dataId, force);
    if (
      released && entry && values instanceof Float32Array && values.byteOffset === 0 &&
      values.length >= MIN_POOLED_LENGTH && values.byteLength === values.buffer.byteLength
    ) {
      const buf = values.buffer as ArrayBuffer;
      this.#written.delete(buf);
      if (this.#owned.has(buf) && !this.#escaped.has(buf) && this.#roomFor(values.byteLength)) {
        let list = this.#free.get(values.length);
        if (!list) this.#free.set(values.length, list = []);
        list.push(values);
        this.#pooledBytes += values.byteLength;
      }
    }
    return released;
  }

  /** Whether `bytes` more fit under the cap, once stale lengths are dropped if they must be. */
  #roomFor(bytes: number): boolean {
    if (this.#pooledBytes + bytes <= this.#maxPooledBytes) return true;
    // At the cap every release asks; a scan per few steps is enough to find stale lengths.
    if (this.#takes - this.#lastScan < this.#staleTakes / 8) return false;
    this.#lastScan = this.#takes;
    for (const [length, list] of this.#free) {
      if (this.#takes - (this.#lastTake.get(length) ?? 0) < this.#staleTakes) continue;
      for (const b of list) this.#pooledBytes -= b.byteLength;
      this.#free.delete(length);
      this.#lastTake.delete(length);
    }
    return this.#pooledBytes + bytes <= this.#maxPooledBytes;
  }

  /**
   * Drop every pooled buffer (buffers in use are not touched) and return the bytes dropped.
   * For a caller that knows the lengths are about to change, as a trainer does at a new input
   * side: the previous side's buffers would otherwise hold the cap until they go stale, and
   * until then every output of the new side would be a fresh allocation.
   *
   * @example
   * ```ts
   * import * as tf from "@tensorflow/tfjs-core";
   * import { NativeBackendCPU } from "@efficienttrain/backend-native";
   * const backend = new NativeBackendCPU();
   * const id = backend.write(backend.take(16384), [16384], "float32");
   * backend.disposeData(id);
   * console.assert(backend.releasePooled() === 65536 && backend.pooledBytes === 0);
   * ```
   */
  releasePooled(): number {
    const bytes = this.#pooledBytes;
    this.#free.clear();
    this.#lastTake.clear();
    this.#pooledBytes = 0;
    return bytes;
  }

  override dispose(): void {
    this.releasePooled();
    super.dispose();
  }
}

/**
 * The pool cap `ET_NATIVE_POOL_MB` asks for, in bytes (undefined when unset: the default).
 * Anything but a non-negative number of megabytes is an error naming the variable.
 *
 * @example
 * ```ts
 * import { poolCapFromEnv } from "@efficienttrain/backend-native";
 * console.assert(poolCapFromEnv("512") === 512 * 2 ** 20 && poolCapFromEnv(undefined) === undefined);
 * ```
 */
export function poolCapFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const mb = Number(value);
  if (!(Number.isFinite(mb) && mb >= 0)) {
    throw new InvalidArgumentError({
      argument: "ET_NATIVE_POOL_MB",
      value,
      reason: "must be a non-negative number of megabytes (0 turns the pool off)",
    });
  }
  return mb * 2 ** 20;
}

/** An output buffer from the backend's pool (a plain allocation on other backends). */
export function take(backend: tf.KernelBackend, length: number): Float32Array {
  return backend instanceof NativeBackendCPU ? backend.take(length) : new Float32Array(length);
}
