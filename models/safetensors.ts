/**
 * Model weights as safetensors: an 8-byte little-endian header length, a JSON header
 * (`{name: {dtype, shape, data_offsets}}` plus `__metadata__`), then raw little-endian
 * tensors. Names and layouts are those of the reference PyTorch state dicts (OIHW conv
 * weights, `[out, in]` linear weights), so files interoperate with timm; the models keep
 * NHWC/HWIO internally and convert here. Writes are atomic.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type Model,
  taggedError,
  type TaggedErrorClass,
  writeFileAtomic,
} from "@efficienttrain/core";
import type { ParamLayout } from "./layers.ts";

type SafetensorsFields = { path: string; tensor: string; reason: string };
const SafetensorsBase: TaggedErrorClass<"SafetensorsError", SafetensorsFields> = taggedError(
  "SafetensorsError",
);

/**
 * A safetensors file that cannot be parsed or does not fit the model; `tensor` names the
 * missing, unexpected or mis-shaped tensor (empty for file-level problems).
 *
 * @example
 * ```ts
 * import { SafetensorsError } from "@efficienttrain/models";
 * const e = new SafetensorsError({ path: "w.safetensors", tensor: "fc.weight", reason: "missing" });
 * console.assert(e.message.includes("fc.weight"));
 * ```
 */
export class SafetensorsError extends SafetensorsBase {
  /** Names the file and the tensor. */
  override get message(): string {
    return this.tensor === ""
      ? `${this.path}: ${this.reason}`
      : `${this.path}: tensor ${JSON.stringify(this.tensor)}: ${this.reason}`;
  }
}

/** A float32 tensor in PyTorch layout. */
export interface HostTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Decoded file contents. */
export interface Safetensors {
  readonly tensors: Map<string, HostTensor>;
  readonly metadata: Record<string, string>;
}

/**
 * Serialise float32 tensors (in insertion order) to safetensors bytes.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "@efficienttrain/models";
 * const bytes = encodeSafetensors(new Map([["a", { shape: [2], data: new Float32Array([1, 2]) }]]));
 * console.assert(decodeSafetensors(bytes).tensors.get("a")!.data[1] === 2);
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, HostTensor>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // pad with spaces so the data section starts 8-byte aligned (as the reference writer does)
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let pos = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    pos += t.data.byteLength;
  }
  return out;
}

function fail(path: string, tensor: string, reason: string): never {
  throw new SafetensorsError({ path, tensor, reason });
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/**
 * Parse safetensors bytes (F32, F64, F16 and BF16 tensors; decoded to float32).
 *
 * @example
 * ```ts
 * import { decodeSafetensors, SafetensorsError } from "@efficienttrain/models";
 * try {
 *   decodeSafetensors(new Uint8Array(3), "bad.safetensors");
 * } catch (e) {
 *   console.assert(e instanceof SafetensorsError);
 * }
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array, path = "<bytes>"): Safetensors {
  if (bytes.length < 8) fail(path, "", "file shorter than the 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (8 + n > bytes.length) {
    fail(path, "", `header length ${n} exceeds the file size ${bytes.length}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(path, "", `header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(path, "", "header is not a JSON object");
  }
  const data = bytes.subarray(8 + n);
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = raw as Record<string, string>;
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = info.shape, offs = info.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(path, name, `bad shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offs) || offs.length !== 2 || !(offs[0] <= offs[1]) || offs[1] > data.length
    ) {
      fail(
        path,
        name,
        `bad data_offsets ${JSON.stringify(offs)} (data section ${data.length} bytes)`,
      );
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    const size = { F32: 4, F64: 8, F16: 2, BF16: 2 }[info.dtype as string];
    if (size === undefined) fail(path, name, `unsupported dtype ${JSON.stringify(info.dtype)}`);
    if (offs[1] - offs[0] !== count * size) {
      fail(path, name, `${offs[1] - offs[0]} bytes for ${count} × ${info.dtype}`);
    }
    const chunk = data.slice(offs[0], offs[1]);
    const dv = new DataView(chunk.buffer);
    let out: Float32Array;
    if (info.dtype === "F32") out = new Float32Array(chunk.buffer);
    else {
      out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) {
        if (info.dtype === "F64") out[i] = dv.getFloat64(8 * i, true);
        else if (info.dtype === "F16") out[i] = halfToFloat(dv.getUint16(2 * i, true));
        else bits[i] = dv.getUint16(2 * i, true) << 16; // BF16 is the top half of an F32
      }
    }
    tensors.set(name, { shape, data: out });
  }
  return { tensors, metadata };
}

/** Permutation from the internal layout to PyTorch's (its inverse maps back). */
function torchPerm(layout: ParamLayout): number[] | undefined {
  if (layout === "conv") return [3, 2, 0, 1];
  if (layout === "dwconv") return [2, 3, 0, 1];
  if (layout === "linear") return [1, 0];
  return undefined;
}

function inverse(perm: number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/**
 * The internal layout of a parameter: taken from the model when it declares layouts
 * (every registry model does), else inferred (rank-4 → conv, rank-2 `*.weight` → linear).
 */
function layoutOf(model: Model, name: string, rank: number): ParamLayout {
  const declared = (model as { layouts?: ReadonlyMap<string, ParamLayout> }).layouts?.get(name);
  if (declared) return declared;
  if (rank === 4) return "conv";
  if (rank === 2 && name.endsWith(".weight")) return "linear";
  return "plain";
}

/**
 * The model's state dict (parameters then buffers) in PyTorch layout, read synchronously
 * (tfjs-webgpu under Deno cannot: use {@link readStateDict} there).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createModel, stateDict } from "@efficienttrain/models";
 * const m = createModel("test_resnet");
 * console.assert(stateDict(m).get("conv1.weight")!.shape[0] === 8);
 * m.dispose();
 * ```
 */
export function stateDict(model: Model): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, v] of [...model.params, ...model.buffers]) {
    const perm = torchPerm(layoutOf(model, name, v.rank));
    const t = perm ? tf.transpose(v, perm) : v;
    out.set(name, { shape: t.shape, data: Float32Array.from(t.dataSync() as Float32Array) });
    if (t !== v) t.dispose();
  }
  return out;
}

/**
 * {@link stateDict} with async reads, which every backend supports (tfjs-webgpu under Deno
 * has no synchronous read). The model must not change until it resolves.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createModel, readStateDict } from "@efficienttrain/models";
 * const m = createModel("test_resnet");
 * console.assert((await readStateDict(m)).get("conv1.weight")!.shape[0] === 8);
 * m.dispose();
 * ```
 */
export async function readStateDict(model: Model): Promise<Map<string, HostTensor>> {
  const out = new Map<string, HostTensor>();
  for (const [name, v] of [...model.params, ...model.buffers]) {
    const perm = torchPerm(layoutOf(model, name, v.rank));
    const t = perm ? tf.transpose(v, perm) : v;
    try {
      // copied: a backend may hand back (and later reuse) the tensor's own storage
      const data = Float32Array.from(await t.data() as Float32Array);
      out.set(name, { shape: t.shape, data });
    } finally {
      if (t !== v) t.dispose();
    }
  }
  return out;
}

/** Keys of reference checkpoints that are derived buffers, not weights. */
function ignorable(name: string): boolean {
  return /(^|\.)(num_batches_tracked|relative_position_index|attn_mask)$/.test(name);
}

/**
 * Copy a decoded state dict into the model. Every tensor is checked before anything is
 * written: a missing, unexpected or mis-shaped tensor raises `SafetensorsError` naming it.
 * When the file records an `input_size` the model accepts, the model first switches to it
 * (so resampled position embeddings / bias tables have matching shapes).
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createModel, loadStateDict, stateDict } from "@efficienttrain/models";
 * const a = createModel("test_resnet", { seed: 1 }), b = createModel("test_resnet", { seed: 2 });
 * loadStateDict(b, { tensors: stateDict(a), metadata: {} });
 * console.assert(b.params.get("fc.weight")!.dataSync()[0] === a.params.get("fc.weight")!.dataSync()[0]);
 * a.dispose();
 * b.dispose();
 * ```
 */
export function loadStateDict(model: Model, file: Safetensors, path = "<state dict>"): void {
  const size = Number(file.metadata.input_size);
  if (Number.isInteger(size) && size !== model.inputSize && model.acceptsInputSize(size)) {
    model.setInputSize(size);
  }
  const targets = new Map([...model.params, ...model.buffers]);
  for (const name of file.tensors.keys()) {
    if (!targets.has(name) && !ignorable(name)) {
      fail(path, name, `unexpected tensor (not a parameter or buffer of ${model.name})`);
    }
  }
  const ready: [tf.Variable, HostTensor, number[] | undefined][] = [];
  for (const [name, v] of targets) {
    const t = file.tensors.get(name);
    if (t === undefined) fail(path, name, `missing (${model.name} needs it)`);
    const perm = torchPerm(layoutOf(model, name, v.rank));
    const want = perm ? perm.map((p) => v.shape[p]) : v.shape;
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
      fail(path, name, `shape [${t.shape}] but ${model.name} expects [${want}]`);
    }
    ready.push([v, t, perm]);
  }
  for (const [v, t, perm] of ready) {
    tf.tidy(() => {
      const x = tf.tensor(t.data, t.shape as number[], "float32");
      v.assign(perm ? tf.transpose(x, inverse(perm)) : x);
    });
  }
}

/**
 * Save the model's weights atomically as safetensors (metadata records the model name and
 * its current input size).
 *
 * @example
 * ```ts ignore
 * import { createModel, saveModel } from "@efficienttrain/models";
 * await saveModel(createModel("resnet20_cifar"), "runs/x/model.safetensors");
 * ```
 */
export async function saveModel(
  model: Model,
  path: string,
  options: { metadata?: Record<string, string> } = {},
): Promise<void> {
  const bytes = encodeSafetensors(await readStateDict(model), {
    format: "pt",
    model: model.name,
    input_size: String(model.inputSize),
    ...options.metadata,
  });
  await writeFileAtomic(path, bytes);
}

/**
 * Load safetensors weights into the model (see {@link loadStateDict} for the checks).
 *
 * @example
 * ```ts ignore
 * import { createModel, loadModel } from "@efficienttrain/models";
 * const m = createModel("resnet20_cifar");
 * await loadModel(m, "runs/x/model.safetensors");
 * ```
 */
export async function loadModel(model: Model, path: string): Promise<Record<string, string>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    fail(path, "", `cannot read (${(e as Error).message})`);
  }
  const file = decodeSafetensors(bytes, path);
  loadStateDict(model, file, path);
  return file.metadata;
}
