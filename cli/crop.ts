/**
 * `deno task crop`: apply EfficientTrain's low-frequency crop (or a resize) to a NumPy
 * `.npy` batch, so the result can be compared with NumPy or PyTorch.
 *
 *   deno task crop --input in.npy --output out.npy --size B [--layout NHWC|NCHW]
 *       [--mode paper|hermitian] [--method fft|resize:<bilinear|bicubic|area|lanczos>]
 *       [--antialias] [--check-finite] [--backend auto|cpu|wasm|webgpu|native|reference]
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  BACKEND_NAMES,
  type CropMode,
  type CropSize,
  type ImageLayout,
  InvalidArgumentError,
  lowFrequencyCropReference,
  type NpyArray,
  readNpy,
  RESIZE_METHODS,
  type ResizeMethod,
  resizeReference,
  showValue,
  validateCropOptions,
  validateResizeOptions,
  writeNpy,
} from "@efficienttrain/core";

// Every training backend, plus the float64 reference implementation of the crop.
const BACKENDS = [...BACKEND_NAMES, "reference"] as const;
type CliBackend = typeof BACKENDS[number];

const USAGE = `usage: deno task crop --input in.npy --output out.npy --size B [options]

  --input FILE        float32/float64 .npy batch of rank 4
  --output FILE       where to write the result (.npy, written atomically)
  --size B | Bh,Bw    output size (the bandwidth B of the crop)
  --layout L          NHWC (default) or NCHW (PyTorch)
  --mode M            paper (default: the authors' freq_crop) or hermitian (exactly real)
  --method M          fft (default: the low-frequency crop) or resize:<${RESIZE_METHODS.join("|")}>
  --antialias         antialiased bilinear/bicubic resize (PyTorch antialias=True)
  --check-finite      reject inputs holding NaN or ±Infinity
  --backend B         auto (default), cpu, wasm, webgpu (WGSL kernel), native,
                      or reference (the float64 oracle; float64 input gives float64 output)
  --help              this text`;

/** Parsed, validated command line. */
interface CropCommand {
  readonly input: string;
  readonly output: string;
  readonly size: CropSize;
  readonly layout: ImageLayout;
  readonly mode: CropMode;
  readonly method: "fft" | ResizeMethod;
  readonly antialias: boolean;
  readonly checkFinite: boolean;
  readonly backend: CliBackend;
}

function bad(flag: string, value: unknown, reason: string): never {
  throw new InvalidArgumentError({ argument: flag, value: showValue(value), reason });
}

function parseSize(text: string): CropSize {
  const parts = text.split(/[,x×]/).map((s) => s.trim());
  const nums = parts.map(Number);
  if (parts.length > 2 || parts.some((p) => p === "") || nums.some((n) => !Number.isInteger(n))) {
    bad("--size", text, "expected an integer B or Bh,Bw");
  }
  return nums.length === 1 ? nums[0]! : [nums[0]!, nums[1]!];
}

function parseCommand(args: string[]): CropCommand | "help" {
  const { values, positionals } = parseArgs({
    args,
    options: {
      input: { type: "string" },
      output: { type: "string" },
      size: { type: "string" },
      layout: { type: "string", default: "NHWC" },
      mode: { type: "string", default: "paper" },
      method: { type: "string", default: "fft" },
      antialias: { type: "boolean", default: false },
      "check-finite": { type: "boolean", default: false },
      backend: { type: "string", default: "auto" },
      help: { type: "boolean", short: "h", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return "help";
  if (positionals.length > 0) bad("argument", positionals[0], "crop takes flags only, see --help");
  if (values.input === undefined) bad("--input", undefined, "required");
  if (values.output === undefined) bad("--output", undefined, "required");
  if (values.size === undefined) bad("--size", undefined, "required");
  const layout = values.layout.toUpperCase();
  if (layout !== "NHWC" && layout !== "NCHW") bad("--layout", values.layout, "NHWC or NCHW");
  if (values.mode !== "paper" && values.mode !== "hermitian") {
    bad("--mode", values.mode, "paper or hermitian");
  }
  let method: "fft" | ResizeMethod;
  if (values.method === "fft") {
    method = "fft";
  } else {
    const m = /^resize:(.+)$/.exec(values.method)?.[1];
    if (m === undefined || !(RESIZE_METHODS as readonly string[]).includes(m)) {
      bad("--method", values.method, `fft or resize:<${RESIZE_METHODS.join("|")}>`);
    }
    method = m as ResizeMethod;
  }
  if (!(BACKENDS as readonly string[]).includes(values.backend)) {
    bad("--backend", values.backend, BACKENDS.join(", "));
  }
  return {
    input: values.input,
    output: values.output,
    size: parseSize(values.size),
    layout,
    mode: values.mode,
    method,
    antialias: values.antialias,
    checkFinite: values["check-finite"],
    backend: values.backend as CliBackend,
  };
}

/** Validate options against the array before any backend starts, naming the flags. */
function validateAgainst(cmd: CropCommand, array: NpyArray): readonly number[] {
  const withFlag = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof InvalidArgumentError) {
        const flag = e.argument === "size"
          ? "--size"
          : e.argument === "images.shape"
          ? `${cmd.input} shape`
          : e.argument;
        throw new InvalidArgumentError({ argument: flag, value: e.value, reason: e.reason });
      }
      throw e;
    }
  };
  const common = { size: cmd.size, layout: cmd.layout, checkFinite: cmd.checkFinite };
  const r = withFlag(() =>
    cmd.method === "fft"
      ? validateCropOptions(array.shape, { ...common, mode: cmd.mode })
      : validateResizeOptions(array.shape, { ...common, method: cmd.method })
  );
  return cmd.layout === "NHWC" ? [r.n, r.outH, r.outW, r.c] : [r.n, r.c, r.outH, r.outW];
}

async function compute(
  cmd: CropCommand,
  array: NpyArray,
): Promise<{ data: Float32Array | Float64Array; backend: string }> {
  const shape = array.shape;
  const crop = { size: cmd.size, layout: cmd.layout, mode: cmd.mode, checkFinite: cmd.checkFinite };
  const rs = cmd.method === "fft" ? undefined : {
    size: cmd.size,
    layout: cmd.layout,
    method: cmd.method,
    antialias: cmd.antialias,
    checkFinite: cmd.checkFinite,
  };
  if (cmd.backend === "reference") {
    const y = rs
      ? resizeReference(array.data, shape, rs)
      : lowFrequencyCropReference(array.data, shape, crop);
    return {
      data: array.data instanceof Float64Array ? y : Float32Array.from(y),
      backend: "reference (float64)",
    };
  }
  const x32 = array.data instanceof Float32Array ? array.data : Float32Array.from(array.data);
  // the tfjs/WebGPU modules are loaded only when needed: `--backend reference` and `--help`
  // stay instant and work where WebAssembly or WebGPU are missing
  const tfjs = await import("@efficienttrain/backend-tfjs");
  let name: string = cmd.backend;
  let reason = `requested --backend ${cmd.backend}`;
  if (cmd.backend !== "webgpu") {
    const info = await tfjs.initBackend(cmd.backend);
    name = info.name;
    reason = info.reason;
  }
  if (name === "webgpu") {
    const gpu = await import("@efficienttrain/backend-webgpu");
    const data = rs
      ? await gpu.resizeWebGPU(x32, { ...rs, shape })
      : await gpu.lowFrequencyCropWebGPU(x32, { ...crop, shape });
    return { data, backend: `webgpu (WGSL kernel; ${reason})` };
  }
  const tf = await import("@tensorflow/tfjs-core");
  const x = tf.tensor4d(x32, shape as [number, number, number, number]);
  try {
    const y = rs ? tfjs.resize(x, rs) : tfjs.lowFrequencyCrop(x, crop);
    const data = (await y.data()) as Float32Array;
    y.dispose();
    return { data, backend: `${name} (${reason})` };
  } finally {
    x.dispose();
  }
}

/**
 * Run the command; returns the process exit code (0 ok, 1 bad input or failure).
 *
 * @example
 * ```ts ignore
 * const code = await main(["--input", "in.npy", "--output", "out.npy", "--size", "24"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  try {
    const cmd = parseCommand(args);
    if (cmd === "help") {
      console.log(USAGE);
      return 0;
    }
    const array = await readNpy(cmd.input);
    const outShape = validateAgainst(cmd, array);
    const t0 = performance.now();
    const { data, backend } = await compute(cmd, array);
    const ms = performance.now() - t0;
    await writeNpy(cmd.output, { data, shape: outShape });
    const what = cmd.method === "fft" ? `low-frequency crop (${cmd.mode})` : `resize:${cmd.method}`;
    console.log(
      `${what} [${array.shape}] → [${outShape}] ${cmd.layout} on ${backend} in ${
        ms.toFixed(1)
      } ms` +
        ` → ${cmd.output}`,
    );
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    // parseArgs reports unknown flags and missing values as TypeErrors
    const hint = e instanceof TypeError ? " (see --help)" : "";
    console.error(`crop: ${message}${hint}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
