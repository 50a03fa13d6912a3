/**
 * EfficientTrain++'s replay buffer: in a stage with replay factor r, the loader delivers one
 * batch per r steps, and each step trains on 1/r of it (fresh) plus images drawn at random
 * from the stage's recently loaded batches (replayed), so a step keeps its batch size while
 * the loader's augmentation costs 1/r as much. This is the authors' answer to a loader that
 * cannot keep up with cheap low-resolution steps; here the loader shares two cores with the
 * steps, so it is the same problem.
 *
 * Every batch is a pure function of (seed, step) and the loader's own deterministic batches,
 * so a resumed run, which starts with an empty buffer, refills it by recomputing the loaded
 * batches it held and continues exactly.
 *
 * @module
 */
import { InvalidArgumentError, Rng } from "@efficienttrain/core";
import type { BatchSource, CurriculumPlan, HostBatch } from "./parts.ts";

/** A {@link BatchSource} that can also compute any one batch on its own (the loader's `batchAt`). */
export interface RandomAccessBatchSource extends BatchSource {
  batchAt(epoch: number, batch: number, options: { magnitude?: number }): Promise<HostBatch>;
}

/** Settings of {@link replayBatches}. */
export interface ReplayOptions {
  /** The curriculum; a step's replay factor is its stage's `replay` (1 when absent). */
  readonly curriculum: Pick<CurriculumPlan, "stageAt">;
  readonly seed: number;
  /** Loaded batches a step may replay from, counting its own: the buffer. Default: {@link defaultReplayBuffer}. */
  readonly bufferBatches?: number;
}

/**
 * The buffer's default size in loaded batches: a fifth of an epoch, about the share of their
 * data the authors' buffers held on ImageNet (~30k images of each GPU's ~160k).
 *
 * @example
 * ```ts
 * import { defaultReplayBuffer } from "@efficienttrain/train";
 * console.assert(defaultReplayBuffer(147) === 30);
 * ```
 */
export function defaultReplayBuffer(batchesPerEpoch: number): number {
  return Math.max(1, Math.ceil(batchesPerEpoch / 5));
}

/** Where a training step's images come from. */
export interface ReplaySlot {
  /** The loaded batch that provides this step's fresh images (0, 1, … over the whole run). */
  readonly group: number;
  /** Which of the loaded batch's `factor` parts is fresh in this step. */
  readonly position: number;
  readonly factor: number;
  /** The first loaded batch of this step's stage: the buffer never reaches before it. */
  readonly stageFirstGroup: number;
}

/**
 * The slot of every step: a loaded batch serves `factor` consecutive steps of its stage, and a
 * new stage starts a new one. Without replay, step s is served by loaded batch s.
 *
 * @example
 * ```ts
 * import { ReplaySchedule } from "@efficienttrain/train";
 * const schedule = new ReplaySchedule((step) => step < 5 ? { index: 0, replay: 2 } : { index: 1 });
 * console.assert(schedule.at(3).group === 1 && schedule.at(3).position === 1);
 * console.assert(schedule.at(5).group === 3 && schedule.at(6).group === 4);
 * ```
 */
export class ReplaySchedule {
  readonly #stageOf: (step: number) => { readonly index: number; readonly replay?: number };
  readonly #slots: ReplaySlot[] = [];
  #stageIndex = -1;

  constructor(stageOf: (step: number) => { readonly index: number; readonly replay?: number }) {
    this.#stageOf = stageOf;
  }

  /** The slot of `step` (a non-negative integer). */
  at(step: number): ReplaySlot {
    for (let t = this.#slots.length; t <= step; t++) {
      const stage = this.#stageOf(t);
      const factor = stage.replay ?? 1;
      const prev = this.#slots[t - 1];
      const newStage = prev === undefined || stage.index !== this.#stageIndex;
      const newGroup = newStage || prev.position + 1 >= prev.factor;
      const group = prev === undefined ? 0 : newGroup ? prev.group + 1 : prev.group;
      this.#slots.push({
        group,
        position: newGroup ? 0 : prev.position + 1,
        factor,
        stageFirstGroup: newStage ? group : prev.stageFirstGroup,
      });
      this.#stageIndex = stage.index;
    }
    return this.#slots[step];
  }
}

/**
 * Serve a curriculum's replay stages from `source`: a drop-in {@link BatchSource} whose batch
 * `b` of epoch `e` is training step `e · batchesPerEpoch + b`. Steps of stages without replay
 * get the loaded batch itself. A step's batch has its loaded batch's size: the fresh part is
 * a 1/r slice of it, the rest images drawn uniformly (with repeats) from the buffer, which holds
 * the stage's last `bufferBatches` loaded batches, the current one included, as the authors'
 * does.
 *
 * @example
 * ```ts
 * import { imageSet, Loader } from "@efficienttrain/data";
 * import { replayBatches } from "@efficienttrain/train";
 * const set = imageSet(new Uint8Array(8), Int32Array.from({ length: 8 }, (_, i) => i), { height: 1, width: 1, channels: 1 });
 * const loader = new Loader(set, { batchSize: 4, seed: 1 });
 * const batches = replayBatches(loader, {
 *   curriculum: { stageAt: () => ({ index: 0, imageSize: 1, magnitude: 0, cropMethod: "none", mixupScale: 1, replay: 2 }) },
 *   seed: 1,
 * });
 * let images = 0;
 * for await (const b of batches.batches(0, { startBatch: 0, magnitude: 0 })) images += b.n;
 * console.assert(images === 8); // two steps of 4, from one loaded batch
 * await batches.close();
 * ```
 */
export function replayBatches(
  source: RandomAccessBatchSource,
  options: ReplayOptions,
): BatchSource {
  const perEpoch = source.batchesPerEpoch;
  const bufferBatches = options.bufferBatches ?? defaultReplayBuffer(perEpoch);
  if (!Number.isInteger(bufferBatches) || bufferBatches < 1) {
    throw new InvalidArgumentError({
      argument: "bufferBatches",
      value: String(bufferBatches),
      reason: "must be a positive integer",
    });
  }
  const schedule = new ReplaySchedule((step) => options.curriculum.stageAt(step / perEpoch));
  // The stage's loaded batches the buffer holds, by group; only the current stage's. Each keeps
  // the magnitude it was augmented at: the trainer reads a step's batch before it checks for a
  // new stage, and asks again at the new magnitude when there is one.
  const held = new Map<number, { readonly batch: HostBatch; readonly magnitude: number }>();
  let open: { iterator: AsyncIterator<HostBatch>; next: number; magnitude: number } | undefined;

  const closeOpen = async (): Promise<void> => {
    const it = open?.iterator;
    open = undefined;
    await it?.return?.();
  };

  // In order, loaded batches come from the loader's prefetching iterator; out of order (a
  // resume, a restart) they are recomputed one by one.
  const load = async (group: number, magnitude: number): Promise<HostBatch> => {
    const epoch = Math.floor(group / perEpoch), batch = group % perEpoch;
    if (open === undefined || open.next !== group || open.magnitude !== magnitude) {
      await closeOpen();
      open = {
        iterator: source.batches(epoch, { startBatch: batch, magnitude }),
        next: group,
        magnitude,
      };
    }
    const r = await open.iterator.next();
    if (r.done) throw new Error(`replay: the loader ended before batch ${batch} of epoch ${epoch}`);
    open.next = group + 1;
    if (open.next % perEpoch === 0) await closeOpen();
    return r.value;
  };

  const fillBuffer = async (slot: ReplaySlot, magnitude: number): Promise<HostBatch[]> => {
    const lowest = slot.factor === 1
      ? slot.group
      : Math.max(slot.stageFirstGroup, slot.group - bufferBatches + 1);
    for (const [g, h] of held) {
      if (g < lowest || g > slot.group || h.magnitude !== magnitude) held.delete(g);
    }
    if (!held.has(slot.group)) {
      held.set(slot.group, { batch: await load(slot.group, magnitude), magnitude });
    }
    const window: HostBatch[] = [];
    for (let g = lowest; g <= slot.group; g++) {
      let h = held.get(g);
      if (h === undefined) {
        const batch = await source.batchAt(Math.floor(g / perEpoch), g % perEpoch, { magnitude });
        h = { batch, magnitude };
        held.set(g, h);
      }
      window.push(h.batch);
    }
    return window;
  };

  return {
    batchesPerEpoch: perEpoch,
    imagesPerEpoch: source.imagesPerEpoch,
    async *batches(epoch, { startBatch, magnitude }) {
      for (let b = startBatch; b < perEpoch; b++) {
        const step = epoch * perEpoch + b;
        const slot = schedule.at(step);
        const window = await fillBuffer(slot, magnitude);
        const loaded = window[window.length - 1];
        yield slot.factor === 1 ? loaded : composeStep(loaded, window, slot, options.seed, step);
      }
    },
    async close() {
      await closeOpen();
      held.clear();
      await source.close();
    },
  };
}

/** The fresh part of `loaded` for `slot`, then replayed images from `window`, in one batch. */
function composeStep(
  loaded: HostBatch,
  window: readonly HostBatch[],
  slot: ReplaySlot,
  seed: number,
  step: number,
): HostBatch {
  const n = loaded.n;
  const per = loaded.height * loaded.width * loaded.channels;
  const from = Math.floor((slot.position * n) / slot.factor);
  const to = Math.floor(((slot.position + 1) * n) / slot.factor);
  const images = new Uint8Array(n * per);
  const labels = new Int32Array(n);
  images.set(loaded.images.subarray(from * per, to * per));
  labels.set(loaded.labels.subarray(from, to));
  let total = 0;
  for (const b of window) total += b.n;
  const rng = new Rng(`replay:${seed}:${step}`);
  for (let i = to - from; i < n; i++) {
    let pick = Math.floor(rng.next() * total);
    let k = 0;
    while (pick >= window[k].n) pick -= window[k++].n;
    images.set(window[k].images.subarray(pick * per, (pick + 1) * per), i * per);
    labels[i] = window[k].labels[pick];
  }
  return {
    images,
    labels,
    n,
    height: loaded.height,
    width: loaded.width,
    channels: loaded.channels,
  };
}
