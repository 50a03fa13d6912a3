/**
 * Checkpoints: one safetensors file holding the model's parameters and buffers, the AdamW
 * moments, the EMA weights, and the loop's position as JSON metadata. Written atomically, so
 * a `kill -9` at any moment leaves the previous checkpoint intact.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { writeFileAtomic } from "@efficienttrain/core";
import { CheckpointError } from "./errors.ts";
import type { EpochPoint } from "./trainer.ts";

/** The loop position and bookkeeping stored beside the tensors. */
export interface CheckpointState {
  readonly step: number;
  readonly optimizerStep: number;
  readonly inputSize: number;
  readonly trainSeconds: number;
  readonly evalSeconds: number;
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
  const named = new Map<string, tf.Tensor>();
  const add = (group: string, map: ReadonlyMap<string, tf.Tensor> | undefined) => {
    for (const [k, t] of map ?? []) named.set(`${group}/${k}`, t);
  };
  add("params", contents.params);
  add("buffers", contents.buffers);
  add("optimizer", contents.optimizer.tensors);
  add("ema", contents.ema);
  const bytes = encodeSafetensors(named, {
    format: FORMAT,
    state: JSON.stringify(contents.state),
  });
  await writeFileAtomic(path, bytes);
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
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  if (metadata.format !== FORMAT) {
    throw new CheckpointError({
      path,
      reason: `not an efficienttrain checkpoint (format ${metadata.format})`,
    });
  }
  const groups = Object.fromEntries(GROUPS.map((g) => [g, new Map<string, tf.Tensor>()]));
  for (const [key, t] of tensors) {
    const slash = key.indexOf("/");
    const group = groups[key.slice(0, slash)];
    if (!group) throw new CheckpointError({ path, reason: `unexpected tensor ${key}` });
    group.set(key.slice(slash + 1), t);
  }
  return {
    params: groups.params,
    buffers: groups.buffers,
    optimizer: groups.optimizer,
    ema: groups.ema,
    state: JSON.parse(metadata.state) as CheckpointState,
  };
}

/**
 * Encode named float32/int32 tensors as a safetensors file (8-byte little-endian header
 * length, JSON header, raw little-endian data).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { decodeSafetensors, encodeSafetensors } from "@efficienttrain/train";
 * const bytes = encodeSafetensors(new Map([["a", tf.tensor1d([1, 2])]]), { k: "v" });
 * const { tensors, metadata } = decodeSafetensors(bytes, "mem");
 * console.assert(tensors.get("a")!.dataSync()[1] === 2 && metadata.k === "v");
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, tf.Tensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const blobs: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of [...tensors].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const data = t.dataSync();
    const dtype = t.dtype === "int32" ? "I32" : "F32";
    const typed = t.dtype === "int32" ? Int32Array.from(data) : Float32Array.from(data);
    const blob = new Uint8Array(typed.buffer);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + blob.length] };
    blobs.push(blob);
    offset += blob.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.length;
  }
  return out;
}

/**
 * Decode a safetensors file (F32 and I32 tensors). `path` names the file in errors.
 *
 * @example
 * ```ts
 * import { decodeSafetensors } from "@efficienttrain/train";
 * try {
 *   decodeSafetensors(new Uint8Array(3), "bad.safetensors");
 * } catch (e) {
 *   console.assert(String(e).includes("bad.safetensors"));
 * }
 * ```
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  path: string,
): { tensors: Map<string, tf.Tensor>; metadata: Record<string, string> } {
  const fail = (reason: string): never => {
    throw new CheckpointError({ path, reason });
  };
  if (bytes.length < 8) fail("truncated: shorter than the 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) {
    fail(`truncated: header of ${headerLength} bytes does not fit`);
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    return fail(`header is not JSON: ${(e as Error).message}`);
  }
  const base = 8 + headerLength;
  const tensors = new Map<string, tf.Tensor>();
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [start, end] = entry.data_offsets;
    if (base + end > bytes.length) fail(`truncated: tensor ${name} runs past the end of the file`);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const chunk = bytes.slice(base + start, base + end);
    if (entry.dtype === "F32") {
      if (chunk.length !== count * 4) {
        fail(`tensor ${name}: ${chunk.length} bytes for shape [${entry.shape}]`);
      }
      tensors.set(name, tf.tensor(new Float32Array(chunk.buffer), entry.shape, "float32"));
    } else if (entry.dtype === "I32") {
      if (chunk.length !== count * 4) {
        fail(`tensor ${name}: ${chunk.length} bytes for shape [${entry.shape}]`);
      }
      tensors.set(name, tf.tensor(new Int32Array(chunk.buffer), entry.shape, "int32"));
    } else {
      fail(`tensor ${name} has unsupported dtype ${entry.dtype}`);
    }
  }
  return { tensors, metadata };
}
