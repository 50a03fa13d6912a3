/**
 * Loading the system libraries the native backend calls: oneDNN 2.x (`libdnnl.so.2`, the
 * library PyTorch's CPU convolutions use) and OpenBLAS (`libopenblas.so.0`). Both are loaded
 * lazily, once, so importing this package never fails on a machine without them.
 *
 * @module
 */

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

/** Both libraries, or why they could not be loaded. */
export interface NativeLibs {
  readonly dnnl: DnnlLib;
  readonly blas: BlasLib;
}

/** Shared-object names (sonames) and the Debian packages that ship them. */
export const LIBRARIES: { readonly dnnl: string; readonly blas: string } = {
  dnnl: "libdnnl.so.2",
  blas: "libopenblas.so.0",
};

const PACKAGES = "libdnnl2 libopenblas0-pthread";

let loaded: NativeLibs | undefined;
let failure: string | undefined;

function threadCount(): number {
  return Math.max(1, navigator.hardwareConcurrency ?? 1);
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
  // Both thread pools are sized before the libraries read their environment at load time.
  // Their parallel regions never overlap (each call returns before the next starts), so
  // giving each every core does not oversubscribe.
  try {
    const n = String(threadCount());
    if (Deno.env.get("OMP_NUM_THREADS") === undefined) Deno.env.set("OMP_NUM_THREADS", n);
    if (Deno.env.get("OPENBLAS_NUM_THREADS") === undefined) {
      Deno.env.set("OPENBLAS_NUM_THREADS", n);
    }
  } catch {
    // Without --allow-env the libraries fall back to their own defaults (all cores).
  }
  let dnnl: DnnlLib;
  let blas: BlasLib;
  try {
    dnnl = Deno.dlopen(LIBRARIES.dnnl, DNNL_SYMBOLS).symbols;
  } catch (e) {
    return failure = `cannot load ${LIBRARIES.dnnl} (oneDNN): ${firstLine(e)}; ` +
      `install it with: apt-get install ${PACKAGES}`;
  }
  try {
    blas = Deno.dlopen(LIBRARIES.blas, BLAS_SYMBOLS).symbols;
  } catch (e) {
    return failure = `cannot load ${LIBRARIES.blas} (OpenBLAS): ${firstLine(e)}; ` +
      `install it with: apt-get install ${PACKAGES}`;
  }
  loaded = { dnnl, blas };
  return loaded;
}

function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}
