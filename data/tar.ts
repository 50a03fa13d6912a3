/**
 * A streaming reader for tar archives (POSIX ustar, GNU long names, PAX path records), so
 * image folders can be read straight from `.tar` / `.tar.gz` without unpacking. Gzip is
 * undone with the platform's `DecompressionStream`.
 *
 * @module
 */
import { DatasetError } from "./errors.ts";

/** One archive member. `data` is present for regular files only. */
export interface TarEntry {
  readonly name: string;
  readonly type: "file" | "directory" | "other";
  readonly size: number;
  readonly data?: Uint8Array;
}

/** Pulls exact byte counts out of a chunked stream. */
class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #done = false;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }
  async #fill(n: number): Promise<void> {
    while (this.#buffered < n && !this.#done) {
      const { value, done } = await this.#reader.read();
      if (done) this.#done = true;
      else if (value.length > 0) {
        this.#chunks.push(value);
        this.#buffered += value.length;
      }
    }
  }
  /** Exactly `n` bytes, or fewer only at end of stream. */
  async read(n: number): Promise<Uint8Array> {
    await this.#fill(n);
    const take = Math.min(n, this.#buffered);
    const first = this.#chunks[0];
    if (first !== undefined && first.length >= take) {
      const out = first.subarray(0, take);
      if (first.length === take) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(take);
      this.#buffered -= take;
      return out;
    }
    const out = new Uint8Array(take);
    let off = 0;
    while (off < take) {
      const c = this.#chunks[0];
      const k = Math.min(c.length, take - off);
      out.set(c.subarray(0, k), off);
      off += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    this.#buffered -= take;
    return out;
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

const decoder = new TextDecoder();

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

function octal(bytes: Uint8Array, path: string, field: string): number {
  if (bytes[0] & 0x80) {
    // GNU base-256 for sizes ≥ 8 GiB
    let v = bytes[0] & 0x7f;
    for (let i = 1; i < bytes.length; i++) v = v * 256 + bytes[i];
    return v;
  }
  const s = cString(bytes).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) {
    throw new DatasetError({ path, reason: `not a tar archive (bad ${field} field "${s}")` });
  }
  return parseInt(s, 8);
}

function checksumOk(header: Uint8Array, stored: number): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
  return sum === stored;
}

function paxPath(data: Uint8Array): string | undefined {
  const text = decoder.decode(data);
  let i = 0;
  let path: string | undefined;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    if (sp < 0) break;
    const len = parseInt(text.slice(i, sp), 10);
    if (!(len > 0)) break;
    const record = text.slice(sp + 1, i + len - 1);
    const eq = record.indexOf("=");
    if (record.slice(0, eq) === "path") path = record.slice(eq + 1);
    i += len;
  }
  return path;
}

/**
 * Iterate the members of a tar stream in archive order. Truncation, a header with a bad
 * checksum (i.e. not a tar file) or a corrupt gzip layer is a {@link DatasetError} naming
 * `path`. Stopping the iteration early cancels the stream.
 *
 * @example
 * ```ts
 * import { readTar } from "@efficienttrain/data";
 * const empty = new Blob([new Uint8Array(1024)]).stream();
 * for await (const _ of readTar(empty, "empty.tar")) throw new Error("no entries expected");
 * ```
 */
export async function* readTar(
  stream: ReadableStream<Uint8Array>,
  path: string,
): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(stream);
  let longName: string | undefined;
  let paxName: string | undefined;
  let finished = false;
  try {
    for (;;) {
      let header: Uint8Array;
      try {
        header = await reader.read(512);
      } catch (e) {
        throw new DatasetError({ path, reason: `unreadable archive: ${(e as Error).message}` });
      }
      if (header.length === 0) {
        finished = true;
        return; // some writers omit the two zero blocks
      }
      if (header.length < 512) {
        throw new DatasetError({ path, reason: "truncated tar archive (partial header)" });
      }
      if (header.every((b) => b === 0)) {
        finished = true;
        return;
      }
      const stored = octal(header.subarray(148, 156), path, "checksum");
      if (!checksumOk(header, stored)) {
        throw new DatasetError({ path, reason: "not a tar archive (header checksum mismatch)" });
      }
      const size = octal(header.subarray(124, 136), path, "size");
      const flag = String.fromCharCode(header[156] || 0x30);
      let name = cString(header.subarray(0, 100));
      if (decoder.decode(header.subarray(257, 262)) === "ustar") {
        const prefix = cString(header.subarray(345, 500));
        if (prefix) name = `${prefix}/${name}`;
      }
      const padded = Math.ceil(size / 512) * 512;
      let data: Uint8Array;
      try {
        data = await reader.read(padded);
      } catch (e) {
        throw new DatasetError({ path, reason: `unreadable archive: ${(e as Error).message}` });
      }
      if (data.length < padded) {
        throw new DatasetError({ path, reason: `truncated tar archive inside "${name}"` });
      }
      data = data.subarray(0, size);
      if (flag === "L") {
        longName = cString(data);
        continue;
      }
      if (flag === "x") {
        paxName = paxPath(data);
        continue;
      }
      if (flag === "g") continue;
      name = paxName ?? longName ?? name;
      paxName = longName = undefined;
      const type = flag === "0" || flag === "\0" || flag === "7"
        ? "file"
        : flag === "5"
        ? "directory"
        : "other";
      if (type === "file") yield { name, type, size, data };
      else yield { name, type, size };
    }
  } finally {
    if (!finished) await reader.cancel();
  }
}

/**
 * Open a `.tar` or `.tar.gz` file (gzip detected from the first bytes) as a stream of tar
 * bytes.
 *
 * @example
 * ```ts ignore
 * import { openTar, readTar } from "@efficienttrain/data";
 * const path = "../shared/data/cifar10-jpg.tar.gz";
 * for await (const e of readTar(await openTar(path), path)) console.log(e.name);
 * ```
 */
export async function openTar(path: string): Promise<ReadableStream<Uint8Array>> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new DatasetError({ path, reason: `cannot open archive: ${(e as Error).message}` });
  }
  const head = new Uint8Array(2);
  const got = await file.read(head);
  await file.seek(0, Deno.SeekMode.Start);
  const gz = got === 2 && head[0] === 0x1f && head[1] === 0x8b;
  return gz ? file.readable.pipeThrough(new DecompressionStream("gzip")) : file.readable;
}
