/**
 * The batch loader: a seeded, resumable iterator over an {@link ImageSet} whose per-image
 * augmentation runs inline or in Deno Web Workers behind a bounded prefetch queue. Batch
 * `b` of epoch `e` depends only on (seed, e, b, magnitude), never on the worker count or on
 * where iteration started.
 *
 * @module
 */
import { InvalidArgumentError } from "@efficienttrain/core";
import { type AugmentConfig, augmentOutputSize } from "./augment.ts";
import { augmentBatch, batchRng, epochOrder, type LoaderBatch, withMagnitude } from "./batch.ts";
import type { WorkerReply, WorkerRequest } from "./augment_worker.ts";
import type { ImageSet } from "./types.ts";

/** Loader settings. */
export interface LoaderOptions {
  readonly batchSize: number;
  /** Reshuffle every epoch (default true). */
  readonly shuffle?: boolean;
  /** Drop the last partial batch (default false: it is yielded with n < batchSize). */
  readonly dropLast?: boolean;
  readonly seed?: number;
  /** Per-image pipeline; omit for plain batches (evaluation). */
  readonly augment?: AugmentConfig;
  /** Augmentation workers; 0 runs inline on the caller's thread (default 0). */
  readonly workers?: number;
  /** Batches computed ahead of the consumer (default 2 per worker, at least 1). */
  readonly prefetch?: number;
}

/** Time the consumer spent waiting for batches. */
export interface LoaderStats {
  batches: number;
  waitMs: number;
}

interface Job {
  resolve: (images: Uint8Array) => void;
  reject: (e: Error) => void;
}

/**
 * Seeded, resumable batch iterator with worker-backed augmentation.
 *
 * @example
 * ```ts
 * import { imageSet, Loader } from "@efficienttrain/data";
 * const set = imageSet(new Uint8Array(10 * 4 * 4 * 3), new Int32Array(10), { height: 4, width: 4, channels: 3 });
 * const loader = new Loader(set, { batchSize: 4, seed: 1 });
 * let n = 0;
 * for await (const b of loader.epoch(0)) n += b.n;
 * console.assert(n === 10);
 * await loader.close();
 * ```
 */
export class Loader {
  readonly set: ImageSet;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  readonly augment: AugmentConfig;
  readonly workers: number;
  readonly prefetch: number;
  /** Output image side (after cropping). */
  readonly outputHeight: number;
  readonly outputWidth: number;
  readonly stats: LoaderStats = { batches: 0, waitMs: 0 };
  #magnitude: number | undefined;
  #pool: Worker[] = [];
  #jobs = new Map<number, Job>();
  #nextJob = 0;
  #closed = false;

  constructor(set: ImageSet, options: LoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize <= 0) {
      throw new InvalidArgumentError({
        argument: "batchSize",
        value: String(options.batchSize),
        reason: "must be a positive integer",
      });
    }
    const workers = options.workers ?? 0;
    if (!Number.isInteger(workers) || workers < 0) {
      throw new InvalidArgumentError({
        argument: "workers",
        value: String(workers),
        reason: "must be an integer ≥ 0",
      });
    }
    this.set = set;
    this.batchSize = options.batchSize;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    this.seed = options.seed ?? 0;
    this.augment = options.augment ?? {};
    this.workers = workers;
    this.prefetch = Math.max(1, options.prefetch ?? 2 * Math.max(1, workers));
    this.#magnitude = this.augment.randAugment?.magnitude;
    const side = augmentOutputSize(this.augment, set);
    this.outputHeight = side;
    this.outputWidth = (this.augment.crop?.kind ?? "none") === "none" ? set.width : side;
  }

  /** Batches per epoch (after `dropLast`). */
  get batchesPerEpoch(): number {
    const full = Math.floor(this.set.count / this.batchSize);
    return this.dropLast || this.set.count % this.batchSize === 0 ? full : full + 1;
  }

  /** Images per epoch (after `dropLast`). */
  get imagesPerEpoch(): number {
    return this.dropLast
      ? Math.floor(this.set.count / this.batchSize) * this.batchSize
      : this.set.count;
  }

  /** Current RandAugment magnitude (undefined when RandAugment is off). */
  get magnitude(): number | undefined {
    return this.#magnitude;
  }

  /** Change the RandAugment magnitude for batches dispatched from now on (set it between
   * epochs/stages so prefetched batches do not straddle a change). */
  setMagnitude(m: number): void {
    if (!(m >= 0)) {
      throw new InvalidArgumentError({
        argument: "magnitude",
        value: String(m),
        reason: "must be ≥ 0",
      });
    }
    this.#magnitude = m;
  }

  /** Dataset indices of batch `batch` of `epoch`. */
  indicesOf(epoch: number, batch: number): Int32Array {
    const order = epochOrder(this.set.count, { seed: this.seed, epoch, shuffle: this.shuffle });
    return order.slice(
      batch * this.batchSize,
      Math.min(order.length, (batch + 1) * this.batchSize),
    );
  }

  #startWorkers(): void {
    if (this.#pool.length > 0 || this.workers === 0) return;
    const src = this.set.images;
    // workers read the dataset through one shared buffer instead of a copy each
    let shared: Uint8Array;
    if (src.buffer instanceof SharedArrayBuffer) shared = src;
    else {
      shared = new Uint8Array(new SharedArrayBuffer(src.byteLength));
      shared.set(src);
    }
    const shape = { height: this.set.height, width: this.set.width, channels: this.set.channels };
    for (let i = 0; i < this.workers; i++) {
      const w = new Worker(new URL("./augment_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        const job = this.#jobs.get(e.data.id);
        if (!job) return;
        this.#jobs.delete(e.data.id);
        if ("error" in e.data) job.reject(new Error(`augment worker: ${e.data.error}`));
        else job.resolve(e.data.images);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        const err = new Error(`augment worker crashed: ${e.message}`);
        for (const job of this.#jobs.values()) job.reject(err);
        this.#jobs.clear();
      };
      const init: WorkerRequest = {
        type: "init",
        images: shared,
        shape,
        config: this.augment,
        seed: this.seed,
      };
      w.postMessage(init);
      this.#pool.push(w);
    }
  }

  #compute(
    epoch: number,
    batch: number,
    indices: Int32Array,
    magnitude: number | undefined,
  ): Promise<Uint8Array> {
    if (this.workers === 0) {
      return new Promise((resolve, reject) => {
        // yield to the event loop first so a consumer's await lets other work run
        setTimeout(() => {
          try {
            const config = withMagnitude(this.augment, magnitude);
            resolve(
              augmentBatch(
                this.set.images,
                this.set,
                indices,
                config,
                batchRng(this.seed, epoch, batch),
              ),
            );
          } catch (e) {
            reject(e);
          }
        }, 0);
      });
    }
    this.#startWorkers();
    const id = this.#nextJob++;
    const worker = this.#pool[batch % this.#pool.length];
    return new Promise((resolve, reject) => {
      this.#jobs.set(id, { resolve, reject });
      const msg: WorkerRequest = { type: "job", id, epoch, batch, indices, magnitude };
      worker.postMessage(msg);
    });
  }

  /**
   * Compute one batch directly (no prefetch), e.g. to inspect or to test resumption.
   */
  async batchAt(
    epoch: number,
    batch: number,
    options: { magnitude?: number } = {},
  ): Promise<LoaderBatch> {
    const order = epochOrder(this.set.count, { seed: this.seed, epoch, shuffle: this.shuffle });
    return await this.#make(order, epoch, batch, options.magnitude ?? this.#magnitude);
  }

  #make(
    order: Int32Array,
    epoch: number,
    batch: number,
    magnitude: number | undefined,
  ): Promise<LoaderBatch> {
    if (this.#closed) {
      throw new InvalidArgumentError({
        argument: "loader",
        value: "closed",
        reason: "used after close()",
      });
    }
    const indices = order.slice(
      batch * this.batchSize,
      Math.min(order.length, (batch + 1) * this.batchSize),
    );
    const labels = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) labels[i] = this.set.labels[indices[i]];
    return this.#compute(epoch, batch, indices, magnitude).then((images) => ({
      images,
      labels,
      n: indices.length,
      height: this.outputHeight,
      width: this.outputWidth,
      channels: this.set.channels,
      indices,
      epoch,
      index: batch,
    }));
  }

  /**
   * The batches of `epoch` from `startBatch` on, in order, computed up to `prefetch` ahead.
   * `magnitude` overrides the loader's RandAugment magnitude for this epoch.
   */
  async *epoch(
    epoch: number,
    options: { startBatch?: number; magnitude?: number } = {},
  ): AsyncGenerator<LoaderBatch> {
    const start = options.startBatch ?? 0;
    const end = this.batchesPerEpoch;
    if (!Number.isInteger(start) || start < 0 || start > end) {
      throw new InvalidArgumentError({
        argument: "startBatch",
        value: String(start),
        reason: `must be in 0..${end}`,
      });
    }
    const order = epochOrder(this.set.count, { seed: this.seed, epoch, shuffle: this.shuffle });
    const pending = new Map<number, Promise<LoaderBatch>>();
    let next = start;
    const fill = () => {
      while (next < end && pending.size < this.prefetch) {
        const p = this.#make(order, epoch, next, options.magnitude ?? this.#magnitude);
        p.catch(() => {}); // surfaced when awaited; avoids unhandled rejections on early exit
        pending.set(next, p);
        next++;
      }
    };
    try {
      for (let b = start; b < end; b++) {
        fill();
        const t0 = performance.now();
        const batch = await pending.get(b)!;
        this.stats.waitMs += performance.now() - t0;
        this.stats.batches++;
        pending.delete(b);
        fill();
        yield batch;
      }
    } finally {
      pending.clear();
    }
  }

  /** The trainer's `BatchSource` view: {@link Loader.epoch} with an explicit magnitude. */
  batches(
    epoch: number,
    options: { readonly startBatch: number; readonly magnitude: number },
  ): AsyncGenerator<LoaderBatch> {
    return this.epoch(epoch, options);
  }

  /** Terminate the workers; further use throws. */
  close(): Promise<void> {
    this.#closed = true;
    for (const w of this.#pool) w.terminate();
    this.#pool = [];
    const err = new Error("loader closed");
    for (const job of this.#jobs.values()) job.reject(err);
    this.#jobs.clear();
    return Promise.resolve();
  }

  /** `await using loader = new Loader(...)` closes it at scope exit. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Unaugmented, in-order batches of a split (the trainer's `EvalSet`). */
export interface EvalBatches {
  readonly count: number;
  /** Batch `index` of at most `batchSize` images, as views into the split (no copy). */
  batch(index: number, batchSize: number): LoaderBatch;
}

/**
 * Random-access evaluation batches over a split, without copies or workers.
 *
 * @example
 * ```ts
 * import { evalBatches, imageSet } from "@efficienttrain/data";
 * const set = imageSet(new Uint8Array(5 * 2 * 2), new Int32Array([0, 1, 2, 3, 4]), { height: 2, width: 2, channels: 1 });
 * const ev = evalBatches(set);
 * console.assert(ev.batch(1, 3).n === 2 && ev.batch(1, 3).labels[0] === 3);
 * ```
 */
export function evalBatches(set: ImageSet): EvalBatches {
  const per = set.height * set.width * set.channels;
  return {
    count: set.count,
    batch(index: number, batchSize: number): LoaderBatch {
      const lo = Math.min(set.count, index * batchSize);
      const hi = Math.min(set.count, lo + batchSize);
      return {
        images: set.images.subarray(lo * per, hi * per),
        labels: set.labels.subarray(lo, hi),
        n: hi - lo,
        height: set.height,
        width: set.width,
        channels: set.channels,
        indices: Int32Array.from({ length: hi - lo }, (_, i) => lo + i),
        epoch: 0,
        index,
      };
    },
  };
}
