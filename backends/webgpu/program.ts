/**
 * What the project's WGSL training kernels share with tfjs-webgpu: the one backend method
 * they call, and the body of a workgroup reduction. The programs themselves take the shape of
 * tfjs-webgpu's `WebGPUProgram` (variable names, uniforms, workgroup size, dispatch, a
 * `getUserCode` with `fn main(index : i32)`), so tfjs declares the bindings, compiles each
 * program once per shader key and records it in order with its own kernels.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** The part of tfjs-webgpu's backend the kernels use (public methods of its backend class). */
export interface WebGPUBackendLike {
  /** Release an intermediate result (deferred until the commands that read it are done). */
  disposeData(dataId: unknown): void;
  runWebGPUProgram(
    program: unknown,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: { type: string; data: number[] }[],
  ): tf.TensorInfo;
}

/** The pieces of a reduction where one workgroup produces one output value. */
export interface ReductionParts {
  /** How many outputs (workgroups) there are (an i32 expression). */
  readonly groups: string;
  /** How many terms a workgroup sums (an i32 expression). */
  readonly count: string;
  /** The flat input index of term `k` of output `group` (an i32 expression). */
  readonly at: string;
  /** The term itself; `at` is in scope. */
  readonly term: string;
  /** Statements run by lane 0 of a real output with the sum in `total`. */
  readonly finish: string;
}

/**
 * WGSL for a `main` in which each workgroup of `lanes` threads sums `count` terms (each lane a
 * strided share, then a tree in workgroup memory) and lane 0 writes the result. The workgroup
 * is found from the global index, so it stays right when tfjs reshapes a long dispatch into
 * two dimensions (and the padding workgroups that adds write nothing).
 *
 * @example
 * ```ts
 * import { workgroupReduction } from "./program.ts";
 * const wgsl = workgroupReduction(64, {
 *   groups: "uniforms.m", count: "uniforms.n", at: "group * uniforms.n + k", term: "X[at]",
 *   finish: "setOutputAtIndex(group, total);",
 * });
 * console.assert(wgsl.includes("workgroupBarrier"));
 * ```
 */
export function workgroupReduction(lanes: number, parts: ReductionParts): string {
  if (!Number.isInteger(Math.log2(lanes))) throw new RangeError(`lanes ${lanes}: a power of 2`);
  return `
  var<workgroup> partial : array<f32, ${lanes}>;
  fn main(index : i32) {
    let lane = index % ${lanes};
    let group = index / ${lanes};
    var total = 0.0;
    for (var k = lane; k < ${parts.count}; k = k + ${lanes}) {
      let at = ${parts.at};
      total = total + ${parts.term};
    }
    partial[lane] = total;
    workgroupBarrier();
    for (var width = ${lanes / 2}; width > 0; width = width / 2) {
      if (lane < width) {
        partial[lane] = partial[lane] + partial[lane + width];
      }
      workgroupBarrier();
    }
    if (lane == 0 && group < ${parts.groups}) {
      total = partial[0];
      ${parts.finish}
    }
  }`;
}

/** An element-wise program: `body` writes output `index` (all inputs are flat arrays). */
export interface ElementwiseSpec {
  /** Names the compiled shader (tfjs adds ranks and dtypes). */
  readonly key: string;
  readonly inputs: readonly string[];
  /** WGSL uniform fields, e.g. `"eps : f32,"`, filled in that order by the caller. */
  readonly uniforms: string;
  /** Statements that end in `setOutputAtIndex(index, …)`. */
  readonly body: string;
}

/**
 * A tfjs-webgpu program over every element of `shape`, one thread each.
 *
 * @example
 * ```ts
 * import { ElementwiseProgram } from "./program.ts";
 * const p = new ElementwiseProgram([3, 5], {
 *   key: "twice", inputs: ["X"], uniforms: "", body: "setOutputAtIndex(index, 2.0 * X[index]);",
 * });
 * console.assert(p.dispatch[0] === 1 && p.getUserCode().includes("2.0 * X[index]"));
 * ```
 */
export class ElementwiseProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly workgroupSize: [number, number, number] = [64, 1, 1];
  readonly size = true;
  readonly outputShape: number[];
  readonly dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  readonly shaderKey: string;
  readonly #body: string;

  constructor(shape: readonly number[], spec: ElementwiseSpec) {
    this.variableNames = [...spec.inputs];
    this.uniforms = spec.uniforms;
    this.outputShape = [...shape];
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 64), 1, 1];
    this.shaderKey = `et_${spec.key}`;
    this.#body = spec.body;
  }

  getUserCode(): string {
    return `
  fn main(index : i32) {
    if (index < uniforms.size) {
      ${this.#body}
    }
  }`;
  }
}

/** A reduction program: one output value per workgroup. */
export interface ReductionSpec extends ReductionParts {
  readonly key: string;
  readonly inputs: readonly string[];
  readonly uniforms: string;
}

/**
 * A tfjs-webgpu program whose `outputs` values are each one workgroup's sum (see
 * {@link workgroupReduction}); 256 lanes when a sum has at least `wideFrom` terms, else 64.
 *
 * @example
 * ```ts
 * import { ReductionProgram } from "./program.ts";
 * const p = new ReductionProgram(4, 10_000, {
 *   key: "rowsum", inputs: ["X"], uniforms: "m : i32, n : i32,", groups: "uniforms.m",
 *   count: "uniforms.n", at: "group * uniforms.n + k", term: "X[at]",
 *   finish: "setOutputAtIndex(group, total);",
 * });
 * console.assert(p.dispatch[0] === 4 && p.workgroupSize[0] === 256);
 * ```
 */
export class ReductionProgram {
  readonly variableNames: string[];
  readonly uniforms: string;
  readonly workgroupSize: [number, number, number];
  readonly outputShape: number[];
  readonly dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  readonly shaderKey: string;
  readonly #spec: ReductionSpec;

  constructor(outputs: number, terms: number, spec: ReductionSpec, wideFrom = 4096) {
    const lanes = terms >= wideFrom ? 256 : 64;
    this.variableNames = [...spec.inputs];
    this.uniforms = spec.uniforms;
    this.workgroupSize = [lanes, 1, 1];
    this.outputShape = [outputs];
    this.dispatch = [outputs, 1, 1];
    this.shaderKey = `et_${spec.key}_${lanes}`;
    this.#spec = spec;
  }

  getUserCode(): string {
    return workgroupReduction(this.workgroupSize[0], this.#spec);
  }
}

/** The uniform fields every norm program declares. */
const NORM_UNIFORMS = "rows : i32, channels : i32, eps : f32,";

/** A norm program's reduction: one value per channel (over the rows) or per row (over it). */
export interface NormReduction extends ReductionSpec {
  readonly per: "channel" | "row";
}

/**
 * A norm's reduction of `x` (`rows × channels`, channels last): per channel it sums the column
 * `k · channels + group` over the rows, per row the row's `channels` entries; lane 0 writes
 * `total · scale`. `term` is a WGSL expression of the input arrays, `at`, `k` and `group`.
 *
 * @example
 * ```ts
 * import { normReduction } from "./program.ts";
 * const mean = normReduction("bn_mean", ["X"], "channel", "X[at]", "(1.0 / f32(uniforms.rows))");
 * console.assert(mean.groups === "uniforms.channels");
 * ```
 */
export function normReduction(
  key: string,
  inputs: readonly string[],
  per: "channel" | "row",
  term: string,
  scale = "1.0",
): NormReduction {
  return {
    key,
    inputs,
    per,
    uniforms: NORM_UNIFORMS,
    groups: per === "channel" ? "uniforms.channels" : "uniforms.rows",
    count: per === "channel" ? "uniforms.rows" : "uniforms.channels",
    at: per === "channel" ? "k * uniforms.channels + group" : "group * uniforms.channels + k",
    term,
    finish: `setOutputAtIndex(group, total * ${scale});`,
  };
}

/**
 * A norm's element-wise pass over `x`: `body` sees `index`, `uniforms.rows`,
 * `uniforms.channels` and `uniforms.eps`.
 *
 * @example
 * ```ts
 * import { normElementwise } from "./program.ts";
 * const spec = normElementwise("copy", ["X"], "setOutputAtIndex(index, X[index]);");
 * console.assert(spec.uniforms.includes("eps"));
 * ```
 */
export function normElementwise(
  key: string,
  inputs: readonly string[],
  body: string,
): ElementwiseSpec {
  return { key, inputs, uniforms: NORM_UNIFORMS, body };
}

/** Runs a norm kernel's programs over one input `x`. */
export interface NormRunner {
  reduce(spec: NormReduction, inputs: tf.TensorInfo[]): tf.TensorInfo;
  elementwise(spec: ElementwiseSpec, inputs: tf.TensorInfo[]): tf.TensorInfo;
}

/**
 * The programs of a norm kernel over `x` (channels last; the other axes are rows), with the
 * uniforms {@link normReduction} and {@link normElementwise} declare filled in once.
 *
 * @example
 * ```ts ignore
 * const run = normRunner(backend, x, 1e-5);
 * const mean = run.reduce(MEAN, [x]);
 * ```
 */
export function normRunner(backend: unknown, x: tf.TensorInfo, eps: number): NormRunner {
  const gpu = backend as WebGPUBackendLike;
  const channels = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, b) => a * b, 1) / channels;
  const uniforms = [
    { type: "int32", data: [rows] },
    { type: "int32", data: [channels] },
    { type: "float32", data: [eps] },
  ];
  return {
    reduce: (spec, inputs) => {
      const [outputs, terms] = spec.per === "channel" ? [channels, rows] : [rows, channels];
      const program = new ReductionProgram(outputs, terms, spec);
      return gpu.runWebGPUProgram(program, inputs, "float32", uniforms);
    },
    elementwise: (spec, inputs) =>
      gpu.runWebGPUProgram(new ElementwiseProgram(x.shape, spec), inputs, "float32", uniforms),
  };
}
