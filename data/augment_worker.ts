/**
 * Deno Web Worker body for {@link Loader}: holds a view of the shared dataset buffer and
 * answers batch jobs with transferred pixel buffers.
 *
 * @module
 */
import type { AugmentConfig } from "./augment.ts";
import { augmentBatch, batchRng, withMagnitude } from "./batch.ts";
import type { HWC } from "./resize.ts";

/** Messages the loader sends. */
export type WorkerRequest =
  | { type: "init"; images: Uint8Array; shape: HWC; config: AugmentConfig; seed: number }
  | {
    type: "job";
    id: number;
    epoch: number;
    batch: number;
    indices: Int32Array;
    magnitude?: number;
  };

/** Messages the worker answers with. */
export type WorkerReply =
  | { id: number; images: Uint8Array }
  | { id: number; error: string };

/** The worker global, typed without the `deno.worker` lib (JSR bans lib directives). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};

let state: { images: Uint8Array; shape: HWC; config: AugmentConfig; seed: number } | undefined;

scope.onmessage = (e: MessageEvent<WorkerRequest>) => {
  const msg = e.data;
  if (msg.type === "init") {
    state = { images: msg.images, shape: msg.shape, config: msg.config, seed: msg.seed };
    return;
  }
  try {
    if (!state) throw new Error("augment worker used before init");
    const config = withMagnitude(state.config, msg.magnitude);
    const rng = batchRng(state.seed, msg.epoch, msg.batch);
    const images = augmentBatch(state.images, state.shape, msg.indices, config, rng);
    scope.postMessage({ id: msg.id, images } satisfies WorkerReply, [images.buffer as ArrayBuffer]);
  } catch (err) {
    scope.postMessage({
      id: msg.id,
      error: err instanceof Error ? err.stack ?? err.message : String(err),
    });
  }
};
