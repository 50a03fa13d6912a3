/**
 * Checkpoints: one safetensors file holding the model's parameters and buffers, the optimizer's
 * slots (AdamW's moments, SGD's momentum), the EMA weights, and the loop's position as JSON metadata. Written atomically, so
 * a `kill -9` at any moment leaves the previous checkpoint intact; the one it replaces is kept
 * beside it (`*.prev.safetensors`). Every tensor and the loop state carry a CRC-32 in the
 * metadata: a checkpoint whose bytes changed on disk is refused naming the file and tensor,
 * and {@link findResumeCheckpoint} then falls back to the previous one.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { crc32, pathExists, writeFileAtomic } from "@efficienttrain/core";
import { decodeSafetensors, encodeSafetensors, type HostTensor } from "@efficienttrain/models";
import { CheckpointError } from "./errors.ts";
import type { EpochPoint } from "./trainer.ts";

/** The loop position and bookkeeping stored beside the tensors. */
export interface CheckpointState {
  readonly step: number;
  readonly optimizerStep: number;
  readonly inputSize: number;
  readonly trainSeconds: number;
  readonly evalSeconds: number;
  /** Seconds the loop waited for the loader (absent in checkpoints written before it). */
  readonly dataWaitSeconds?: number;
  readonly history: readonly EpochPoint[];
  readonly model: string;
  readonly seed: number;
  readonly curriculum: string;
  readonly totalMicroSteps: number;
}

/** A loaded checkpoint (the caller disposes the tensors). */
export interface Checkpoint {
  readonly params: Map<string, tf.Tensor>;
  readonly buffers: Map<string, tf.Tensor>;
  readonly optimizer: Map<string, tf.Tensor>;
  readonly ema: Map<string, tf.Tensor>;
  readonly state: CheckpointState;
}

/** What {@link saveCheckpoint} writes. */
export interface CheckpointContents {
  readonly params: ReadonlyMap<string, tf.Tensor>;
  readonly buffers: ReadonlyMap<string, tf.Tensor>;
  readonly optimizer: { readonly tensors: ReadonlyMap<string, tf.Tensor> };
  readonly ema?: ReadonlyMap<string, tf.Tensor>;
  readonly state: CheckpointState;
}

const FORMAT = "efficienttrain-checkpoint-1";

/** Where the checkpoint a save replaces is kept. */
export function previousCheckpointPath(path: string): string {
  return path.replace(/(\.safetensors)?$/, ".prev.safetensors");
}

function checksum(data: Float32Array): string {
  return crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).toString(16);
}
const GROUPS = ["params", "buffers", "optimizer", "ema"] as const;

/**
 * Write a checkpoint atomically.
 *
 * @example
 * ```ts ignore
 * await saveCheckpoint("runs/x/checkpoint.safetensors", contents);
 * ```
 */
export async function saveCheckpoint(path: string, contents: CheckpointContents): Promise<void> {
  // Tensors keep the models' internal (NHWC/HWIO) layouts: a checkpoint is for resuming
  // here; `model.safetensors` beside it carries the reference layouts for other tools.
  // Async reads: tfjs-webgpu cannot read synchronously under Deno. The caller must not touch
  // the tensors until this resolves (the trainer awaits it between steps).
  const named = new Map<string, HostTensor>();
  const add = async (group: string, map: ReadonlyMap<string, tf.Tensor> | undefined) => {
    for (const [k, t] of map ?? []) {
      named.set(`${group}/${k}`, { shape: t.shape, data: await t.data() as Float32Array });
    }
  };
  await add("params", contents.params);
  await add("buffers", contents.buffers);
  await add("optimizer", contents.optimizer.tensors);
  await add("ema", contents.ema);
  const state = JSON.stringify(contents.state);
  const checksums = Object.fromEntries([...named].map(([k, t]) => [k, checksum(t.data)]));
  const bytes = encodeSafetensors(named, {
    format: FORMAT,
    state,
    stateCrc: crc32(new TextEncoder().encode(state)).toString(16),
    checksums: JSON.stringify(checksums),
  });
  await writeFileAtomic(path, bytes, { keepPrevious: previousCheckpointPath(path) });
}

function parseState(path: string, metadata: Record<string, string> | undefined): CheckpointState {
  if (metadata?.format !== FORMAT || typeof metadata.state !== "string") {
    throw new CheckpointError({ path, reason: "not an efficienttrain checkpoint" });
  }
  if (
    metadata.stateCrc !== undefined &&
    crc32(new TextEncoder().encode(metadata.state)).toString(16) !== metadata.stateCrc
  ) {
    throw new CheckpointError({ path, reason: "corrupt: the loop state fails its checksum" });
  }
  try {
    return JSON.parse(metadata.state) as CheckpointState;
  } catch (e) {
    throw new CheckpointError({ path, reason: `corrupt loop state (${(e as Error).message})` });
  }
}

/**
 * Read only the loop state of a checkpoint (the safetensors header), not its tensors.
 *
 * @example
 * ```ts ignore
 * const { step } = await readCheckpointState("runs/x/checkpoint.safetensors");
 * ```
 */
export async function readCheckpointState(path: string): Promise<CheckpointState> {
  const file = await Deno.open(path, { read: true });
  try {
    const lengthBytes = new Uint8Array(8);
    if ((await file.read(lengthBytes)) !== 8) {
      throw new CheckpointError({
        path,
        reason: "truncated: shorter than the 8-byte header length",
      });
    }
    const length = Number(new DataView(lengthBytes.buffer).getBigUint64(0, true));
    const { size } = await file.stat();
    if (8 + length > size) {
      throw new CheckpointError({
        path,
        reason: `corrupt: header length ${length} exceeds the file size ${size}`,
      });
    }
    const header = new Uint8Array(length);
    let read = 0;
    while (read < length) {
      const n = await file.read(header.subarray(read));
      if (n === null) throw new CheckpointError({ path, reason: "truncated header" });
      read += n;
    }
    let metadata: Record<string, string> | undefined;
    try {
      metadata = JSON.parse(new TextDecoder().decode(header)).__metadata__;
    } catch (e) {
      throw new CheckpointError({ path, reason: `header is not JSON (${(e as Error).message})` });
    }
    return parseState(path, metadata);
  } finally {
    file.close();
  }
}

/**
 * Read a checkpoint written by {@link saveCheckpoint}.
 *
 * @example
 * ```ts ignore
 * const ckpt = await loadCheckpoint("runs/x/checkpoint.safetensors");
 * ```
 */
export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  const bytes = await Deno.readFile(path);
  let decoded;
  try {
    decoded = decodeSafetensors(bytes, path);
  } catch (e) {
    throw new CheckpointError({ path, reason: (e as Error).message });
  }
  const { tensors, metadata } = decoded;
  const state = parseState(path, metadata);
  let checksums: Record<string, string> | undefined;
  try {
    checksums = metadata.checksums === undefined ? undefined : JSON.parse(metadata.checksums);
  } catch {
    throw new CheckpointError({ path, reason: "corrupt: unreadable checksum table" });
  }
  if (checksums !== undefined) {
    for (const [key, t] of tensors) {
      if (checksums[key] !== checksum(t.data)) {
        throw new CheckpointError({ path, reason: `corrupt: tensor ${key} fails its checksum` });
      }
    }
    const missing = Object.keys(checksums).filter((k) => !tensors.has(k));
    if (missing.length > 0) {
      throw new CheckpointError({ path, reason: `corrupt: tensor ${missing[0]} is missing` });
    }
  }
  const groups = Object.fromEntries(GROUPS.map((g) => [g, new Map<string, tf.Tensor>()]));
  for (const [key, t] of tensors) {
    const slash = key.indexOf("/");
    const group = groups[key.slice(0, slash)];
    if (!group) throw new CheckpointError({ path, reason: `unexpected tensor ${key}` });
    group.set(key.slice(slash + 1), tf.tensor(t.data, [...t.shape], "float32"));
  }
  return {
    params: groups.params,
    buffers: groups.buffers,
    optimizer: groups.optimizer,
    ema: groups.ema,
    state,
  };
}

/** The checkpoint a resume continues from. */
export interface ResumeCheckpoint {
  readonly path: string;
  readonly state: CheckpointState;
  /** Why the latest checkpoint was passed over, when it was. */
  readonly fellBack?: string;
}

async function verify(path: string): Promise<CheckpointState> {
  const ckpt = await loadCheckpoint(path);
  tf.dispose([
    ...ckpt.params.values(),
    ...ckpt.buffers.values(),
    ...ckpt.optimizer.values(),
    ...ckpt.ema.values(),
  ]);
  return ckpt.state;
}

/**
 * The newest checkpoint at `path` that verifies, else its previous copy (saying why), else
 * undefined when neither exists; a {@link CheckpointError} naming both when both are bad.
 *
 * @example
 * ```ts ignore
 * const found = await findResumeCheckpoint("runs/x/checkpoint.safetensors");
 * ```
 */
export async function findResumeCheckpoint(path: string): Promise<ResumeCheckpoint | undefined> {
  const previous = previousCheckpointPath(path);
  let latestError: string | undefined;
  if (await pathExists(path)) {
    try {
      return { path, state: await verify(path) };
    } catch (e) {
      if (!(e instanceof CheckpointError)) throw e;
      latestError = e.reason;
    }
  } else latestError = "missing";
  if (!(await pathExists(previous))) {
    if (await pathExists(path)) throw new CheckpointError({ path, reason: latestError });
    return undefined;
  }
  try {
    const state = await verify(previous);
    return { path: previous, state, fellBack: latestError };
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    throw new CheckpointError({
      path,
      reason: `${latestError}; the previous checkpoint is unusable too (${e.message})`,
    });
  }
}
