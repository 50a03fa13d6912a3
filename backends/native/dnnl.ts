/**
 * A thin layer over oneDNN's C API: memory descriptors built in JS buffers, primitives created
 * once per shape and cached, and execution on caller-owned typed arrays (zero-copy: oneDNN
 * reads and writes the tfjs-cpu backend's Float32Arrays in place).
 *
 * @module
 */
import type { DnnlLib } from "./ffi.ts";

/** oneDNN 2.6 constants (from dnnl_types.h), checked by the conformance tests' results. */
export const D = {
  f32: 3,
  u8: 6,
  tagAny: 1,
  a: 2,
  ab: 3,
  abc: 4,
  abcd: 5,
  nhwc: 20,
  hwio: 30,
  forwardTraining: 64,
  forwardInference: 96,
  backward: 128,
  backwardData: 160,
  backwardWeights: 192,
  convDirect: 1,
  eltwiseRelu: 31,
  binaryAdd: 131056,
  binaryMul: 131057,
  binaryMax: 131058,
  binaryMin: 131059,
  binaryDiv: 131060,
  binarySub: 131061,
  poolMax: 511,
  poolAvgInclude: 767,
  poolAvgExclude: 1023,
  reductionMax: 196594,
  reductionSum: 196596,
  reductionMean: 196598,
  useGlobalStats: 1,
  useScale: 8,
  useShift: 16,
  fuseNormRelu: 4,
  querySrc: 129,
  queryDiffSrc: 130,
  queryWeights: 131,
  queryDiffWeights: 132,
  queryDst: 133,
  queryDiffDst: 134,
  queryWorkspace: 135,
  queryImplInfo: 8,
  argSrc: 1,
  argSrc1: 2,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  argMean: 49,
  argVariance: 50,
  argScale: 51,
  argShift: 52,
  argWorkspace: 64,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
  argDiffBias: 169,
  argDiffScale: 255,
  argDiffShift: 256,
} as const;

const MD_BYTES = 696;
// Every op descriptor of oneDNN 2.6 fits (the convolution one, the largest, is 5976 bytes).
const OP_DESC_BYTES = 8192;

/** A memory descriptor: the bytes and a stable pointer to them. */
export interface Md {
  readonly bytes: Uint8Array;
  readonly ptr: Deno.PointerValue;
  /**
   * Bytes from the first element to one past the last that the layout reaches, when it was
   * built from strides. oneDNN's own size of a strided layout is the outermost dimension times
   * its stride, more than a view into a larger array (one part of a split) reaches or holds.
   */
  readonly reachBytes?: number;
}

/** A oneDNN engine and stream on the CPU. */
export interface DnnlContext {
  readonly lib: DnnlLib;
  readonly engine: Deno.PointerValue;
  readonly stream: Deno.PointerValue;
  /** OpenMP's thread-count control (the libgomp oneDNN runs on), when it could be loaded. */
  readonly omp: OmpControl | null;
}

/** The two libgomp calls that size the next parallel regions. */
export interface OmpControl {
  readonly maxThreads: number;
  setThreads(n: number): void;
}

/**
 * Primitives whose largest operand is below this many bytes run on one thread: for them the
 * OpenMP fork/join costs more than the work, and on a busy machine each barrier may wait a
 * whole scheduler slice for a descheduled thread (measured: a ConvNeXt-atto step at batch 128
 * on 2 threads, machine at load ~2, 2.4 s, against 0.68 s on 1 thread).
 */
const SERIAL_BYTES = 1 << 19;

function loadOmp(): OmpControl | null {
  try {
    const gomp = Deno.dlopen("libgomp.so.1", {
      omp_set_num_threads: { parameters: ["i32"], result: "void" },
      omp_get_max_threads: { parameters: [], result: "i32" },
    }).symbols;
    const maxThreads = gomp.omp_get_max_threads();
    return { maxThreads, setThreads: (n) => gomp.omp_set_num_threads(n) };
  } catch {
    return null;
  }
}

let context: DnnlContext | undefined;

function check(status: number, what: string): void {
  if (status !== 0) throw new Error(`oneDNN ${what} failed with status ${status}`);
}

function readPointer(buf: BigUint64Array): Deno.PointerValue {
  return Deno.UnsafePointer.create(buf[0]);
}

/**
 * The CPU engine and an in-order stream, created on first use.
 *
 * @example
 * ```ts ignore
 * const ctx = dnnlContext(lib);
 * ```
 */
export function dnnlContext(lib: DnnlLib): DnnlContext {
  if (context) return context;
  const out = new BigUint64Array(1);
  check(lib.dnnl_engine_create(out, 1, 0n), "engine_create");
  const engine = readPointer(out);
  check(lib.dnnl_stream_create(out, engine, 1), "stream_create");
  context = { lib, engine, stream: readPointer(out), omp: loadOmp() };
  return context;
}

function dimsBuffer(dims: readonly number[]): BigInt64Array {
  const b = new BigInt64Array(12);
  for (let i = 0; i < dims.length; i++) b[i] = BigInt(dims[i]);
  return b;
}

function asMd(bytes: Uint8Array): Md {
  return { bytes, ptr: Deno.UnsafePointer.of(bytes as Uint8Array<ArrayBuffer>) };
}

/**
 * A memory descriptor from logical dims and a format tag (`D.tagAny` lets the primitive pick).
 *
 * @example
 * ```ts ignore
 * const src = mdTag(ctx, [128, 16, 32, 32], D.nhwc);
 * ```
 */
export function mdTag(ctx: DnnlContext, dims: readonly number[], tag: number, dtype = D.f32): Md {
  const bytes = new Uint8Array(MD_BYTES);
  check(
    ctx.lib.dnnl_memory_desc_init_by_tag(bytes, dims.length, dimsBuffer(dims), dtype, tag),
    `memory_desc_init_by_tag(${dims})`,
  );
  return asMd(bytes);
}

/**
 * A memory descriptor from logical dims and element strides (how tfjs lays the data out).
 *
 * @example
 * ```ts ignore
 * const w = mdStrides(ctx, [16, 3, 3, 3], [1, 16, 144, 48]); // HWIO filter as OIHW
 * ```
 */
export function mdStrides(
  ctx: DnnlContext,
  dims: readonly number[],
  strides: readonly number[],
): Md {
  const bytes = new Uint8Array(MD_BYTES);
  check(
    ctx.lib.dnnl_memory_desc_init_by_strides(
      bytes,
      dims.length,
      dimsBuffer(dims),
      D.f32,
      dimsBuffer(strides),
    ),
    `memory_desc_init_by_strides(${dims})`,
  );
  const empty = dims.some((d) => d === 0);
  const last = dims.reduce((sum, d, i) => sum + (d - 1) * strides[i], 0);
  return { ...asMd(bytes), reachBytes: empty ? 0 : 4 * (last + 1) };
}

/**
 * Row-major (dense, C order) descriptor for `dims`.
 *
 * @example
 * ```ts ignore
 * const x = mdDense(ctx, [4, 8]);
 * ```
 */
export function mdDense(ctx: DnnlContext, dims: readonly number[]): Md {
  const strides = new Array<number>(dims.length);
  let s = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= dims[i];
  }
  return mdStrides(ctx, dims, strides);
}

/** A new zeroed op-descriptor buffer for a `*_desc_init` call. */
export function opDesc(): Uint8Array {
  return new Uint8Array(OP_DESC_BYTES);
}

/** Dims as the `dnnl_dims_t` buffer the `*_desc_init` calls take. */
export function dims(values: readonly number[]): BigInt64Array {
  return dimsBuffer(values);
}

/**
 * Create a primitive descriptor; returns null when oneDNN has no implementation for it.
 *
 * @example
 * ```ts ignore
 * const pd = primitiveDesc(ctx, desc, null);
 * ```
 */
export function primitiveDesc(
  ctx: DnnlContext,
  desc: Uint8Array,
  hint: Deno.PointerValue,
  attr: Deno.PointerValue = null,
): Deno.PointerValue {
  const out = new BigUint64Array(1);
  const status = ctx.lib.dnnl_primitive_desc_create(
    out,
    desc as Uint8Array<ArrayBuffer>,
    attr,
    ctx.engine,
    hint,
  );
  if (status !== 0) return null;
  return readPointer(out);
}

/**
 * The forward-training and backward primitive descriptors of one op, each initialised by the
 * caller's `*_desc_init` call on a fresh op descriptor; the backward one is hinted by the
 * forward one, as oneDNN requires. `what` names the op in the errors.
 *
 * @example
 * ```ts ignore
 * const { forward, backward } = trainingPrimitiveDescs(ctx, "GELU",
 *   (d) => ctx.lib.dnnl_eltwise_forward_desc_init(d, D.forwardTraining, 48, md.bytes, 0, 0),
 *   (d) => ctx.lib.dnnl_eltwise_backward_desc_init(d, 48, md.bytes, md.bytes, 0, 0));
 * ```
 */
export function trainingPrimitiveDescs(
  ctx: DnnlContext,
  what: string,
  initForward: (desc: Uint8Array<ArrayBuffer>) => number,
  initBackward: (desc: Uint8Array<ArrayBuffer>) => number,
): { forward: Deno.PointerValue; backward: Deno.PointerValue } {
  const create = (
    direction: string,
    init: (desc: Uint8Array<ArrayBuffer>) => number,
    hint: Deno.PointerValue,
  ): Deno.PointerValue => {
    const desc = opDesc() as Uint8Array<ArrayBuffer>;
    const status = init(desc);
    if (status !== 0) throw new Error(`oneDNN ${what} ${direction} descriptor (status ${status})`);
    const pd = primitiveDesc(ctx, desc, hint);
    if (pd === null) throw new Error(`oneDNN has no ${what} ${direction} implementation`);
    return pd;
  };
  const forward = create("forward", initForward, null);
  return { forward, backward: create("backward", initBackward, forward) };
}

/**
 * The forward and backward primitives of a normalisation (batch norm over channels, layer
 * norm over rows): `data` for x, y, dy and dx, `stat` for mean and variance, `vec` for the
 * scale, shift and their gradients.
 *
 * @example
 * ```ts ignore
 * const prims = normPrimitives(ctx, trainingPrimitiveDescs(ctx, "batch-norm", f, b), { data, stat: vec, vec });
 * ```
 */
export function normPrimitives(
  ctx: DnnlContext,
  descs: { forward: Deno.PointerValue; backward: Deno.PointerValue },
  mds: { data: Md; stat: Md; vec: Md },
): { forward: Primitive; backward: Primitive } {
  const { data, stat, vec } = mds;
  return {
    forward: new Primitive(ctx, descs.forward, [
      [D.argSrc, data],
      [D.argScale, vec],
      [D.argShift, vec],
      [D.argDst, data],
      [D.argMean, stat],
      [D.argVariance, stat],
    ]),
    backward: new Primitive(ctx, descs.backward, [
      [D.argSrc, data],
      [D.argMean, stat],
      [D.argVariance, stat],
      [D.argDiffDst, data],
      [D.argScale, vec],
      // Unused by the math, but oneDNN 2.6 counts it among the backward pass's inputs and
      // rejects the call without it.
      [D.argShift, vec],
      [D.argDiffSrc, data],
      [D.argDiffScale, vec],
      [D.argDiffShift, vec],
    ]),
  };
}

/** A memory descriptor a primitive descriptor chose (`D.queryWeights`, ...). */
export function queryMd(ctx: DnnlContext, pd: Deno.PointerValue, what: number, index = 0): Md {
  const ptr = ctx.lib.dnnl_primitive_desc_query_md(pd, what, index);
  if (ptr === null) throw new Error(`oneDNN primitive has no memory descriptor ${what}`);
  const bytes = new Uint8Array(MD_BYTES);
  new Deno.UnsafePointerView(ptr).copyInto(bytes);
  return asMd(bytes);
}

/** The implementation oneDNN picked (for example `brgconv:avx512_core`). */
export function implInfo(ctx: DnnlContext, pd: Deno.PointerValue): string {
  const out = new BigUint64Array(1);
  check(ctx.lib.dnnl_primitive_desc_query(pd, D.queryImplInfo, 0, out), "query impl_info");
  const p = readPointer(out);
  return p === null ? "?" : new Deno.UnsafePointerView(p).getCString();
}

/** Bytes a memory descriptor spans. */
export function mdSize(ctx: DnnlContext, md: Md): number {
  return Number(ctx.lib.dnnl_memory_desc_get_size(md.ptr));
}

/** Whether two descriptors describe the same layout. */
export function mdEqual(ctx: DnnlContext, a: Md, b: Md): boolean {
  return ctx.lib.dnnl_memory_desc_equal(a.ptr, b.ptr) === 1;
}

/** Buffers oneDNN reads or writes: typed arrays owned by tfjs or by a primitive. */
export type Buffer = Float32Array | Uint8Array;

/**
 * A created primitive with one memory object per argument; `exec` points them at the
 * caller's buffers and runs it.
 */
export class Primitive {
  readonly #ctx: DnnlContext;
  readonly #prim: Deno.PointerValue;
  readonly #mems: Deno.PointerValue[];
  readonly #args: Uint8Array;
  readonly #mds: Md[];
  /** Bytes each argument's layout reaches: what `exec` checks its buffers against. */
  readonly #bytes: number[];
  readonly #serial: boolean;
  /** The implementation oneDNN chose, for reports. */
  readonly impl: string;

  constructor(
    ctx: DnnlContext,
    pd: Deno.PointerValue,
    args: ReadonlyArray<readonly [arg: number, md: Md]>,
  ) {
    this.#ctx = ctx;
    const out = new BigUint64Array(1);
    check(ctx.lib.dnnl_primitive_create(out, pd), "primitive_create");
    this.#prim = readPointer(out);
    this.impl = implInfo(ctx, pd);
    this.#mds = args.map(([, md]) => md);
    const sizes = this.#mds.map((md) => mdSize(ctx, md));
    this.#bytes = this.#mds.map((md, i) => md.reachBytes ?? sizes[i]);
    const largest = Math.max(...sizes);
    this.#serial = ctx.omp !== null && ctx.omp.maxThreads > 1 && largest < SERIAL_BYTES;
    this.#mems = [];
    this.#args = new Uint8Array(16 * args.length);
    const view = new DataView(this.#args.buffer);
    for (let i = 0; i < args.length; i++) {
      const [arg, md] = args[i];
      check(ctx.lib.dnnl_memory_create(out, md.ptr, ctx.engine, null), "memory_create");
      const mem = readPointer(out);
      this.#mems.push(mem);
      view.setInt32(16 * i, arg, true);
      view.setBigUint64(16 * i + 8, BigInt(Deno.UnsafePointer.value(mem)), true);
    }
  }

  /**
   * Run on `buffers`, given in the order of the constructor's `args`. A buffer shorter than its
   * layout reaches is refused before oneDNN runs: oneDNN would read or write past the array,
   * into the process heap.
   */
  exec(buffers: ReadonlyArray<Buffer>): void {
    const lib = this.#ctx.lib;
    if (buffers.length !== this.#mems.length) {
      throw new RangeError(
        `oneDNN ${this.impl}: ${this.#mems.length} arguments, called with ${buffers.length} buffers`,
      );
    }
    for (let i = 0; i < buffers.length; i++) {
      if (buffers[i].byteLength < this.#bytes[i]) {
        throw new RangeError(
          `oneDNN ${this.impl}: argument ${i} reaches ${this.#bytes[i]} bytes, ` +
            `its buffer holds ${buffers[i].byteLength}`,
        );
      }
    }
    for (let i = 0; i < buffers.length; i++) {
      lib.dnnl_memory_set_data_handle(
        this.#mems[i],
        Deno.UnsafePointer.of(buffers[i] as Float32Array<ArrayBuffer>),
      );
    }
    const omp = this.#ctx.omp;
    if (this.#serial) omp!.setThreads(1);
    try {
      check(
        lib.dnnl_primitive_execute(this.#prim, this.#ctx.stream, buffers.length, this.#args),
        "primitive_execute",
      );
      lib.dnnl_stream_wait(this.#ctx.stream);
    } finally {
      if (this.#serial) omp!.setThreads(omp!.maxThreads);
    }
  }

  /** The descriptor of argument `i`. */
  md(i: number): Md {
    return this.#mds[i];
  }
}

/**
 * A reorder between two layouts of the same logical tensor (null when they are equal).
 *
 * @example
 * ```ts ignore
 * const r = reorder(ctx, userWeights, pdWeights);
 * r?.exec([hwio, blocked]);
 * ```
 */
export function reorder(ctx: DnnlContext, from: Md, to: Md): Primitive | null {
  if (mdEqual(ctx, from, to)) return null;
  const out = new BigUint64Array(1);
  check(
    ctx.lib.dnnl_reorder_primitive_desc_create(out, from.ptr, ctx.engine, to.ptr, ctx.engine, null),
    "reorder_primitive_desc_create",
  );
  return new Primitive(ctx, readPointer(out), [[D.argSrc, from], [D.argDst, to]]);
}

/** Float32 scratch space of `bytes` bytes, rounded up. */
export function scratch(bytes: number): Float32Array {
  return new Float32Array(Math.ceil(bytes / 4));
}
