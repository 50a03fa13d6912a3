/**
 * Flush-to-zero (FTZ) and denormals-are-zero (DAZ) for the native kernels. x86 cores take a
 * microcode assist, tens to a hundred cycles, on every float operation that reads or produces a
 * subnormal (|x| < 1.18e-38), so a trained network whose intermediate values underflow steps
 * slower than a fresh one at the same shapes (a DeiT-Tiny trained by EfficientTrain++: 20–28 %
 * of its forward and backward, `bench/experiments/checkpoint_step.ts`). TensorFlow
 * flushes on its CPU threads; PyTorch offers `torch.set_flush_denormal`. This is the same
 * switch: the MXCSR bits of the calling thread, set through glibc's `fegetenv`/`fesetenv`
 * (threads created afterwards, OpenMP's pool among them, inherit them).
 *
 * @module
 */
import { choiceFromEnv } from "./ffi.ts";

const MXCSR_OFFSET = 28; // glibc x86-64 fenv_t: 28 bytes of x87 environment, then MXCSR
const FTZ_DAZ = 0x8040; // bit 15 flush-to-zero, bit 6 denormals-are-zero

const LIBM_SYMBOLS = {
  fegetenv: { parameters: ["buffer"], result: "i32" },
  fesetenv: { parameters: ["buffer"], result: "i32" },
} as const;
type Libm = Deno.DynamicLibrary<typeof LIBM_SYMBOLS>["symbols"];
let libm: Deno.DynamicLibrary<typeof LIBM_SYMBOLS> | undefined;

function environment(): Libm | undefined {
  if (Deno.build.arch !== "x86_64" || Deno.build.os !== "linux") return undefined;
  try {
    libm ??= Deno.dlopen("libm.so.6", LIBM_SYMBOLS);
    return libm.symbols;
  } catch {
    return undefined;
  }
}

/** The calling thread's floating-point environment, and a view of its MXCSR word. */
function readEnvironment(): { fe: Libm; env: Uint8Array; view: DataView } | undefined {
  const fe = environment();
  if (!fe) return undefined;
  const env = new Uint8Array(32);
  if (fe.fegetenv(env) !== 0) return undefined;
  return { fe, env, view: new DataView(env.buffer) };
}

/**
 * Whether subnormal floats are flushed to zero on this thread; undefined where this cannot be
 * read (not x86-64 Linux with glibc, or no FFI permission).
 *
 * @example
 * ```ts
 * import { flushingDenormals } from "@efficienttrain/backend-native";
 * const flushing = flushingDenormals();
 * console.assert(flushing === undefined || typeof flushing === "boolean");
 * ```
 */
export function flushingDenormals(): boolean | undefined {
  const current = readEnvironment();
  if (!current) return undefined;
  return (current.view.getUint32(MXCSR_OFFSET, true) & FTZ_DAZ) === FTZ_DAZ;
}

/**
 * Turn flush-to-zero and denormals-are-zero on (or off) for the calling thread, like PyTorch's
 * `torch.set_flush_denormal`. Returns whether the setting took (false where it is not
 * supported). JavaScript numbers are doubles, so this changes them only below 2.2e-308; float32
 * results below 1.18e-38 become 0, as on TensorFlow's CPU threads.
 *
 * @example
 * ```ts
 * import { flushingDenormals, setFlushDenormals } from "@efficienttrain/backend-native";
 * const before = flushingDenormals();
 * if (setFlushDenormals(true)) {
 *   const tiny = new Float32Array([1e-30]);
 *   tiny[0] = tiny[0] * 1e-10; // 1e-40 is subnormal in float32
 *   console.assert(tiny[0] === 0);
 *   setFlushDenormals(before ?? false);
 * }
 * ```
 */
export function setFlushDenormals(on: boolean): boolean {
  const current = readEnvironment();
  if (!current) return false;
  const { fe, env, view } = current;
  const mxcsr = view.getUint32(MXCSR_OFFSET, true);
  view.setUint32(MXCSR_OFFSET, on ? mxcsr | FTZ_DAZ : mxcsr & ~FTZ_DAZ, true);
  return fe.fesetenv(env) === 0 && flushingDenormals() === on;
}

/**
 * What `ET_NATIVE_DENORMALS` asks for: `flush` (the default: FTZ/DAZ on, as on TensorFlow's CPU
 * threads) or `keep` (IEEE subnormals, slower on x86 once a network's activations underflow).
 * Any other value is an error naming the variable.
 *
 * @example
 * ```ts
 * import { denormalsFromEnv } from "@efficienttrain/backend-native";
 * console.assert(denormalsFromEnv(undefined) === "flush" && denormalsFromEnv("keep") === "keep");
 * ```
 */
export function denormalsFromEnv(value: string | undefined): "flush" | "keep" {
  return choiceFromEnv("ET_NATIVE_DENORMALS", value, ["flush", "keep"], {
    reason: "must be flush (subnormal floats become 0, the default) or keep",
  });
}
