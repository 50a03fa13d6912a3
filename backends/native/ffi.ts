/**
 * Loading the system libraries the native backend calls: oneDNN 2.x (`libdnnl.so.2`, the
 * library PyTorch's CPU convolutions use) and OpenBLAS (`libopenblas.so.0`). Both are loaded
 * lazily, once, so importing this package never fails on a machine without them.
 *
 * @module
 */
import { InvalidArgumentError } from "@efficienttrain/core";

/** The oneDNN 2.x C entry points we call. Pointers to structs are passed as buffers. */
const DNNL_SYMBOLS = {
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_desc_init_by_tag: {
    parameters: ["buffer", "i32", "buffer", "i32", "i32"],
    result: "i32",
  },
  dnnl_memory_desc_init_by_strides: {
    parameters: ["buffer", "i32", "buffer", "i32", "buffer"],
    result: "i32",
  },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_memory_desc_equal: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "pointer", "pointer", "pointer"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_primitive_desc_create: {
    parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_primitive_desc_query: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_data_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_weights_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_eltwise_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_eltwise_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_binary_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_reduction_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_batch_normalization_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_batch_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_layer_normalization_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_layer_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_pooling_v2_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_pooling_v2_backward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_softmax_v2_forward_desc_init: {
    parameters: ["buffer", "i32", "i32", "buffer", "buffer", "i32"],
    result: "i32",
  },
  dnnl_matmul_desc_init: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_sgemm: {
    parameters: [
      "u8",
      "u8",
      "i64",
      "i64",
      "i64",
      "f32",
      "buffer",
      "i64",
      "buffer",
      "i64",
      "f32",
      "buffer",
      "i64",
    ],
    result: "i32",
  },
  dnnl_primitive_attr_create: { parameters: ["buffer"], result: "i32" },
  dnnl_post_ops_create: { parameters: ["buffer"], result: "i32" },
  dnnl_post_ops_append_eltwise: {
    parameters: ["pointer", "f32", "i32", "f32", "f32"],
    result: "i32",
  },
  dnnl_primitive_attr_set_post_ops: { parameters: ["pointer", "pointer"], result: "i32" },
} as const;

/** The OpenBLAS entry points we call. */
const BLAS_SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  cblas_sgemv: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_get_num_threads: { parameters: [], result: "i32" },
  openblas_set_num_threads: { parameters: ["i32"], result: "void" },
} as const;

/** The loaded oneDNN library. */
export type DnnlLib = Deno.DynamicLibrary<typeof DNNL_SYMBOLS>["symbols"];
/** The loaded OpenBLAS library. */
export type BlasLib = Deno.DynamicLibrary<typeof BLAS_SYMBOLS>["symbols"];

/**
 * Row-major single-precision GEMM, C = alpha·op(A)·op(B) + beta·C (beta = 0 never reads C).
 */
export interface Gemm {
  /** Which library runs it (`onednn` or `openblas`). */
  readonly name: string;
  sgemm(
    transA: boolean,
    transB: boolean,
    dims: { m: number; n: number; k: number },
    a: { data: Float32Array; ld: number },
    b: { data: Float32Array; ld: number },
    c: { data: Float32Array; ld: number; alpha: number; beta: number },
  ): void;
}

/** The loaded libraries: oneDNN, and the GEMM the matrix kernels use. */
export interface NativeLibs {
  readonly dnnl: DnnlLib;
  readonly gemm: Gemm;
}

function onednnGemm(dnnl: DnnlLib): Gemm {
  const N = "N".charCodeAt(0);
  const T = "T".charCodeAt(0);
  return {
    name: "onednn",
    sgemm(transA, transB, { m, n, k }, a, b, c) {
      const status = dnnl.dnnl_sgemm(
        transA ? T : N,
        transB ? T : N,
        BigInt(m),
        BigInt(n),
        BigInt(k),
        c.alpha,
        a.data,
        BigInt(a.ld),
        b.data,
        BigInt(b.ld),
        c.beta,
        c.data,
        BigInt(c.ld),
      );
      if (status !== 0) throw new Error(`oneDNN dnnl_sgemm failed with status ${status}`);
    },
  };
}

function openblasGemm(blas: BlasLib): Gemm {
  return {
    name: "openblas",
    sgemm(transA, transB, { m, n, k }, a, b, c) {
      blas.cblas_sgemm(
        101,
        transA ? 112 : 111,
        transB ? 112 : 111,
        m,
        n,
        k,
        c.alpha,
        a.data,
        a.ld,
        b.data,
        b.ld,
        c.beta,
        c.data,
        c.ld,
      );
    },
  };
}

/**
 * Elements a row-major operand of `rows × cols` with leading dimension `ld` spans (0 when
 * empty): the last row needs only `cols`, not `ld`.
 */
function gemmExtent(rows: number, cols: number, ld: number): number {
  return rows === 0 || cols === 0 ? 0 : (rows - 1) * ld + cols;
}

/**
 * `gemm` with its operands checked against their arrays before the library sees them: a GEMM
 * told a shape the array does not hold reads past it, or writes past it into the process heap,
 * and the damage shows later as a crash somewhere else. One comparison per operand.
 */
function checkedGemm(gemm: Gemm): Gemm {
  return {
    name: gemm.name,
    sgemm(transA, transB, dims, a, b, c) {
      const { m, n, k } = dims;
      const operands = [
        ["A", a, transA ? k : m, transA ? m : k],
        ["B", b, transB ? n : k, transB ? k : n],
        ["C", c, m, n],
      ] as const;
      for (const [name, operand, rows, cols] of operands) {
        const need = gemmExtent(rows, cols, operand.ld);
        if (operand.ld < cols || operand.data.length < need) {
          throw new RangeError(
            `sgemm(m=${m}, n=${n}, k=${k}): operand ${name} is ${rows}×${cols} with ld ${operand.ld}, ` +
              `needing ${need} elements and ld ≥ ${cols}, but its array holds ${operand.data.length}`,
          );
        }
      }
      gemm.sgemm(transA, transB, dims, a, b, c);
    },
  };
}

/** Shared-object names (sonames) and the Debian packages that ship them. */
export const LIBRARIES: { readonly dnnl: string; readonly blas: string } = {
  dnnl: "libdnnl.so.2",
  blas: "libopenblas.so.0",
};

const PACKAGES = "libdnnl2";

let loaded: NativeLibs | undefined;
let failure: string | undefined;

/**
 * Threads for the OpenMP pool when the user did not set OMP_NUM_THREADS: the cores that other
 * processes leave idle (by the 1-minute load average), at least 1. Each oneDNN call ends in a
 * barrier, so a team larger than the free cores waits on descheduled threads at every kernel:
 * measured on 2 busy cores (load ~5), ResNet-8 steps took 978 ms on 2 threads and 267 ms on 1.
 */
export function defaultThreadCount(): number {
  const cores = Math.max(1, navigator.hardwareConcurrency ?? 1);
  let load = 0;
  try {
    load = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]) || 0;
  } catch {
    // No /proc (or no read permission): assume the cores are free.
  }
  return Math.max(1, Math.min(cores, Math.round(cores - load + 0.25)));
}

/** The thread count OMP_NUM_THREADS gives, when it holds a positive integer. */
function ompThreads(): number | undefined {
  const n = Number(envGet("OMP_NUM_THREADS"));
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Threads the native kernels run on (known once the libraries are loaded). */
export function nativeThreads(): number {
  return ompThreads() ?? Math.max(1, navigator.hardwareConcurrency ?? 1);
}

/**
 * Load both libraries once. Returns the symbols, or a one-line reason naming the package to
 * install.
 *
 * @example
 * ```ts ignore
 * const libs = loadNativeLibs();
 * if (typeof libs === "string") console.log(libs);
 * ```
 */
export function loadNativeLibs(): NativeLibs | string {
  if (loaded) return loaded;
  if (failure) return failure;
  if (typeof Deno === "undefined" || typeof Deno.dlopen !== "function") {
    return failure = "native backend needs Deno with FFI (run with --allow-ffi or -A)";
  }
  // Thread pools are sized before the libraries read their environment at load time. GEMMs
  // default to oneDNN's own sgemm so that one OpenMP pool runs everything: OpenBLAS's pthreads
  // keep spinning after each call and then compete with the OpenMP threads of the next
  // convolution. ET_NATIVE_GEMM=openblas selects OpenBLAS (libopenblas0-pthread) instead.
  try {
    // OpenBLAS follows the user's OMP_NUM_THREADS when only that one is set
    const n = String(ompThreads() ?? defaultThreadCount());
    if (Deno.env.get("OMP_NUM_THREADS") === undefined) Deno.env.set("OMP_NUM_THREADS", n);
    if (Deno.env.get("OPENBLAS_NUM_THREADS") === undefined) {
      Deno.env.set("OPENBLAS_NUM_THREADS", n);
    }
  } catch {
    // Without --allow-env (or --allow-read for /proc) the libraries use all cores.
  }
  let dnnl: DnnlLib;
  // ET_NATIVE_DNNL points at another build of oneDNN 2.x (same C ABI).
  const dnnlPath = envGet("ET_NATIVE_DNNL") || LIBRARIES.dnnl;
  try {
    dnnl = Deno.dlopen(dnnlPath, DNNL_SYMBOLS).symbols;
  } catch (e) {
    return failure = `cannot load ${dnnlPath} (oneDNN 2.x): ${firstLine(e)}; ` +
      `install it with: apt-get install ${PACKAGES}`;
  }
  let gemm = onednnGemm(dnnl);
  // Anything but `openblas` loads oneDNN here; registerNative refuses a bad value by name (a
  // failure here would read as a missing library, which --backend auto passes over).
  if (envGet("ET_NATIVE_GEMM") === "openblas") {
    try {
      gemm = openblasGemm(Deno.dlopen(LIBRARIES.blas, BLAS_SYMBOLS).symbols);
    } catch (e) {
      return failure = `ET_NATIVE_GEMM=openblas but ${LIBRARIES.blas} does not load: ` +
        `${firstLine(e)}; install it with: apt-get install libopenblas0-pthread`;
    }
  }
  loaded = { dnnl, gemm: checkedGemm(gemm) };
  return loaded;
}

/**
 * The GEMM library `ET_NATIVE_GEMM` names: `onednn` (the default, also when unset or empty) or
 * `openblas`. Anything else is refused rather than read as the default, so a misspelt
 * `openblass` cannot silently benchmark the wrong library.
 *
 * @example
 * ```ts
 * import { gemmFromEnv } from "@efficienttrain/backend-native";
 * console.assert(gemmFromEnv(undefined) === "onednn" && gemmFromEnv("openblas") === "openblas");
 * ```
 */
export function gemmFromEnv(value: string | undefined): "onednn" | "openblas" {
  return choiceFromEnv("ET_NATIVE_GEMM", value, ["onednn", "openblas"], {
    reason: "must be onednn (the default) or openblas",
  });
}

/**
 * A two-way switch read from environment variable `name`: unset, empty or the first choice
 * gives the first (the default), the second gives the second, anything else is an
 * `InvalidArgumentError` naming the variable, the value and `reason`.
 *
 * @example
 * ```ts
 * import { choiceFromEnv } from "@efficienttrain/backend-native";
 * const mode = choiceFromEnv("MY_MODE", "", ["fast", "exact"], { reason: "fast or exact" });
 * console.assert(mode === "fast");
 * ```
 */
export function choiceFromEnv<Default extends string, Other extends string>(
  name: string,
  value: string | undefined,
  choices: readonly [Default, Other],
  options: { readonly reason: string },
): Default | Other {
  const [fallback, other] = choices;
  if (value === undefined || value === "" || value === fallback) return fallback;
  if (value === other) return other;
  throw new InvalidArgumentError({ argument: name, value, reason: options.reason });
}

/** An environment variable, or undefined where the process may not read it. */
export function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}
