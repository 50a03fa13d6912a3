import assert from "node:assert/strict";
import { imageSet, Loader } from "@efficienttrain/data";
import type { HostBatch, StagePoint } from "./parts.ts";
import { replayBatches, ReplaySchedule } from "./replay.ts";

// 40 one-pixel images whose pixel and label are their index: a batch names its images.
const COUNT = 40, BATCH = 4, PER_EPOCH = COUNT / BATCH;
const set = imageSet(
  Uint8Array.from({ length: COUNT }, (_, i) => i),
  Int32Array.from({ length: COUNT }, (_, i) => i),
  { height: 1, width: 1, channels: 1 },
);
const loader = (): Loader => new Loader(set, { batchSize: BATCH, seed: 3, dropLast: true });

const point = (index: number, replay?: number): StagePoint => ({
  index,
  imageSize: 1,
  magnitude: index,
  cropMethod: "none",
  mixupScale: 1,
  ...(replay === undefined ? {} : { replay }),
});

/** Stages by epoch: [until epoch, replay] pairs. */
function plan(stages: readonly (readonly [number, number | undefined])[]) {
  return {
    stageAt: (epoch: number): StagePoint => {
      const k = stages.findIndex(([until]) => epoch < until);
      return point(k < 0 ? stages.length - 1 : k, stages[k < 0 ? stages.length - 1 : k][1]);
    },
  };
}

/** Every step's batch from `startStep` to the end of epoch `epochs - 1`, with their magnitudes. */
async function run(
  curriculum: ReturnType<typeof plan>,
  epochs: number,
  startStep = 0,
  bufferBatches?: number,
): Promise<HostBatch[]> {
  const source = replayBatches(loader(), {
    curriculum,
    seed: 7,
    ...(bufferBatches === undefined ? {} : { bufferBatches }),
  });
  const out: HostBatch[] = [];
  for (let step = startStep; step < epochs * PER_EPOCH;) {
    const epoch = Math.floor(step / PER_EPOCH);
    const magnitude = curriculum.stageAt(step / PER_EPOCH).magnitude;
    // As the trainer does: a new iterator at every epoch and at every change of stage.
    const it = source.batches(epoch, { startBatch: step % PER_EPOCH, magnitude });
    for await (const b of it) {
      out.push(b);
      step++;
      if (step % PER_EPOCH === 0) break;
      if (
        curriculum.stageAt(step / PER_EPOCH).index !==
          curriculum.stageAt((step - 1) / PER_EPOCH).index
      ) break;
    }
  }
  await source.close();
  return out;
}

const labels = (b: HostBatch): number[] => [...b.labels];

Deno.test("replay: a curriculum without replay gets the loader's own batches", async () => {
  const got = await run(plan([[1, undefined], [3, 1]]), 3);
  const l = loader();
  const want: number[][] = [];
  for (let e = 0; e < 3; e++) for await (const b of l.epoch(e)) want.push(labels(b));
  assert.deepEqual(got.map(labels), want);
});

Deno.test("replay ×2: one loaded batch per two steps, fresh halves in order, the rest from the stage's buffer", async () => {
  const curriculum = plan([[2, 2], [3, undefined]]);
  const got = await run(curriculum, 3, 0, 3);
  const l = loader();
  const loaded = async (g: number) =>
    labels(await l.batchAt(Math.floor(g / PER_EPOCH), g % PER_EPOCH));
  const freshSeen = new Map<number, number>();
  for (let step = 0; step < 2 * PER_EPOCH; step++) {
    const group = Math.floor(step / 2), half = step % 2;
    const own = await loaded(group);
    const b = labels(got[step]);
    assert.equal(b.length, BATCH, `step ${step}: the batch keeps its size`);
    assert.deepEqual(b.slice(0, 2), own.slice(2 * half, 2 * half + 2), `step ${step}: fresh half`);
    for (const x of b.slice(0, 2)) freshSeen.set(x, (freshSeen.get(x) ?? 0) + 1);
    const buffer = new Set<number>();
    for (let g = Math.max(0, group - 2); g <= group; g++) {
      for (const x of await loaded(g)) buffer.add(x);
    }
    for (const x of b.slice(2)) {
      assert.ok(buffer.has(x), `step ${step}: replayed ${x} is not in the buffer`);
    }
  }
  // Two epochs of steps at ×2 loaded one epoch's worth of images: each exactly once.
  assert.equal(freshSeen.size, COUNT);
  assert.ok([...freshSeen.values()].every((n) => n === 1));
  // The stage without replay continues with the next loaded batches: the loader's epoch 1.
  const want: number[][] = [];
  for await (const b of l.epoch(1)) want.push(labels(b));
  assert.deepEqual(got.slice(2 * PER_EPOCH).map(labels), want);
  // Replays differ from step to step (a generator keyed by step, not one draw reused).
  assert.notDeepEqual(labels(got[0]).slice(2), labels(got[2]).slice(2));
});

Deno.test("replay: started at any step (a resume) it gives the uninterrupted run's batches", async () => {
  const curriculum = plan([[1, 3], [2, 2], [3, undefined]]);
  const whole = await run(curriculum, 3, 0, 2);
  for (const start of [1, 2, 5, 9, 10, 11, 13, 19, 20, 27]) {
    const resumed = await run(curriculum, 3, start, 2);
    assert.deepEqual(resumed.map(labels), whole.slice(start).map(labels), `from step ${start}`);
    assert.deepEqual(
      resumed.map((b) => [...b.images]),
      whole.slice(start).map((b) => [...b.images]),
    );
  }
});

Deno.test("replay: a new stage starts a new loaded batch and replays nothing from the stage before", async () => {
  // ×3 over 10 steps leaves its last loaded batch two thirds unused; ×2 follows.
  const curriculum = plan([[1, 3], [2, 2]]);
  const schedule = new ReplaySchedule((step) => curriculum.stageAt(step / PER_EPOCH));
  assert.deepEqual(schedule.at(9), { group: 3, position: 0, factor: 3, stageFirstGroup: 0 });
  assert.deepEqual(schedule.at(10), { group: 4, position: 0, factor: 2, stageFirstGroup: 4 });
  assert.deepEqual(schedule.at(11), { group: 4, position: 1, factor: 2, stageFirstGroup: 4 });
  const got = await run(curriculum, 2, 0, 8);
  const first = await loader().batchAt(0, 4);
  const own = new Set(labels(first));
  for (const x of labels(got[10])) assert.ok(own.has(x), `step 10 replayed ${x} from the ×3 stage`);
});

Deno.test("replay: read as the trainer reads it (a new stage's first batch taken at the old magnitude, then asked again), it equals a run resumed there", async () => {
  const images = Uint8Array.from({ length: COUNT * 4 * 4 * 3 }, (_, i) => (i * 37) % 251);
  const rgb = imageSet(images, Int32Array.from({ length: COUNT }, (_, i) => i), {
    height: 4,
    width: 4,
    channels: 3,
  });
  const augmented = () =>
    new Loader(rgb, {
      batchSize: BATCH,
      seed: 3,
      dropLast: true,
      augment: { randAugment: { magnitude: 0, numOps: 2, prob: 1, magnitudeStd: 0 } },
    });
  // magnitudes 0, 9, 4 by stage: every stage's augmentation differs
  const curriculum = {
    stageAt: (epoch: number): StagePoint => ({
      ...point(epoch < 1 ? 0 : epoch < 2 ? 1 : 2, epoch < 2 ? 2 : undefined),
      magnitude: epoch < 1 ? 0 : epoch < 2 ? 9 : 4,
    }),
  };
  const trainerOrder = async (start: number): Promise<number[][]> => {
    const source = replayBatches(augmented(), { curriculum, seed: 5, bufferBatches: 2 });
    const out: number[][] = [];
    let step = start, stage = curriculum.stageAt(start / PER_EPOCH);
    while (step < 3 * PER_EPOCH) {
      const epoch = Math.floor(step / PER_EPOCH);
      const it = source.batches(epoch, {
        startBatch: step % PER_EPOCH,
        magnitude: stage.magnitude,
      });
      for await (const b of it) {
        const next = curriculum.stageAt(step / PER_EPOCH);
        if (next.index !== stage.index) {
          stage = next;
          break;
        }
        out.push([...b.images]);
        step++;
        if (step % PER_EPOCH === 0) break;
      }
    }
    await source.close();
    return out;
  };
  const whole = await trainerOrder(0);
  for (const start of [PER_EPOCH, 2 * PER_EPOCH, PER_EPOCH + 3]) {
    assert.deepEqual(await trainerOrder(start), whole.slice(start), `from step ${start}`);
  }
});

Deno.test("replay: a buffer of zero batches is refused naming the option", () => {
  assert.throws(
    () => replayBatches(loader(), { curriculum: plan([[1, 2]]), seed: 0, bufferBatches: 0 }),
    /bufferBatches = 0: must be a positive integer/,
  );
});
