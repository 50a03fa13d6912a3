/**
 * Helpers for kernels that work directly on the tfjs-wasm heap: typed views of tensors and
 * calls into tfjs-wasm's own kernels.
 *
 * Every allocation (`makeOutput`, or any wasm kernel call) may grow the wasm memory, which
 * detaches all earlier views of the heap. Kernels therefore take fresh views after each
 * allocation instead of holding one across calls.
 *
 * @module
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { DataType, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { getKernel } from "@tensorflow/tfjs-core";
import { transposeMatrix } from "./layout.ts";

/** The tfjs kernel-function argument, typed for the wasm backend. */
export interface WasmKernelArgs {
  readonly inputs: Record<string, TensorInfo>;
  readonly backend: BackendWasm;
  readonly attrs?: NamedAttrMap;
}

/**
 * A float32 view of a tensor on the wasm heap. Invalidated by the next allocation.
 *
 * @example
 * ```ts ignore
 * const view = f32(backend, tensorInfo);
 * ```
 */
export function f32(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/**
 * An int32 view of a tensor on the wasm heap. Invalidated by the next allocation.
 *
 * @example
 * ```ts ignore
 * const ids = i32(backend, segmentIds);
 * ```
 */
export function i32(backend: BackendWasm, t: TensorInfo): Int32Array {
  return backend.typedArrayFromHeap(t) as Int32Array;
}

/**
 * The same data under another shape, without copying (as the wasm kernels see only the data
 * id and the shape they are handed).
 *
 * @example
 * ```ts ignore
 * const x3 = withShape(x, [1, n, c]);
 * ```
 */
export function withShape(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/**
 * Allocate an uninitialised tensor on the wasm heap.
 *
 * @example
 * ```ts ignore
 * const out = alloc(backend, [2, 3]);
 * ```
 */
export function alloc(
  backend: BackendWasm,
  shape: number[],
  dtype: DataType = "float32",
): TensorInfo {
  return backend.makeOutput(shape, dtype);
}

/**
 * Allocate a zero-filled float32 tensor on the wasm heap (malloc'd memory is not cleared).
 *
 * @example
 * ```ts ignore
 * const acc = zeros(backend, [3, 3, 16, 32]);
 * ```
 */
export function zeros(backend: BackendWasm, shape: number[]): TensorInfo {
  const t = backend.makeOutput(shape, "float32");
  f32(backend, t).fill(0);
  return t;
}

/**
 * Free a tensor this kernel allocated and does not return.
 *
 * @example
 * ```ts ignore
 * free(backend, scratch);
 * ```
 */
export function free(backend: BackendWasm, t: TensorInfo): void {
  backend.disposeData(t.dataId);
}

const originals = new Map<string, KernelFunc>();

/**
 * Remember tfjs-wasm's own kernel before this package overrides it, so our kernels can keep
 * calling the original (e.g. BatchMatMul's XNNPACK path).
 *
 * @example
 * ```ts ignore
 * captureOriginal("BatchMatMul");
 * ```
 */
export function captureOriginal(name: string): void {
  if (originals.has(name)) return;
  const k = getKernel(name, "wasm");
  if (k === undefined) throw new Error(`tfjs-wasm has no ${name} kernel to wrap`);
  originals.set(name, k.kernelFunc);
}

/**
 * Run one of tfjs-wasm's own kernels (the original when this package overrides it).
 *
 * @example
 * ```ts ignore
 * const t = runWasm("Transpose", backend, { x }, { perm: [0, 2, 1] });
 * ```
 */
export function runWasm(
  name: string,
  backend: BackendWasm,
  inputs: Record<string, TensorInfo>,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const fn = originals.get(name) ?? getKernel(name, "wasm")?.kernelFunc;
  if (fn === undefined) throw new Error(`tfjs-wasm has no ${name} kernel`);
  // deno-lint-ignore no-explicit-any
  return fn({ inputs, backend: backend as any, attrs }) as TensorInfo;
}

/**
 * `a[1, m, k] · b[1, k, n]` through XNNPACK (tfjs-wasm's fast path: batch 1, no transposes).
 * `b` must be a tensor allocated for this call and freed right after: XNNPACK caches the
 * packed weights under b's id.
 *
 * @example
 * ```ts ignore
 * const c = gemm(backend, a, b);
 * ```
 */
export function gemm(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return runWasm("BatchMatMul", backend, { a, b }, { transposeA: false, transposeB: false });
}

/**
 * `[rows, cols]` → a fresh `[cols, rows]` float32 tensor (tiled JS copy; tfjs-wasm's own
 * Transpose is several times slower).
 *
 * @example
 * ```ts ignore
 * const t = transpose2d(backend, x, 4, 6); // [6, 4]
 * ```
 */
export function transpose2d(
  backend: BackendWasm,
  t: TensorInfo,
  rows: number,
  cols: number,
): TensorInfo {
  const out = alloc(backend, [cols, rows]);
  transposeMatrix(f32(backend, t).subarray(0, rows * cols), f32(backend, out), rows, cols);
  return out;
}

/**
 * Copy rows [r0, r0 + rows) of a row-major [*, width] tensor into a fresh [rows, width] one.
 *
 * @example
 * ```ts ignore
 * const part = copyRows(backend, dy, 0, 128, 64);
 * ```
 */
export function copyRows(
  backend: BackendWasm,
  t: TensorInfo,
  r0: number,
  rows: number,
  width: number,
): TensorInfo {
  const out = alloc(backend, [rows, width]);
  f32(backend, out).set(f32(backend, t).subarray(r0 * width, (r0 + rows) * width));
  return out;
}

/**
 * Give a tensor this kernel allocated (and returns) its final shape, in place.
 *
 * @example
 * ```ts ignore
 * return relabel(out, [3, 3, 16, 32]);
 * ```
 */
export function relabel(t: TensorInfo, shape: readonly number[]): TensorInfo {
  (t as { shape: number[] }).shape = [...shape];
  return t;
}
