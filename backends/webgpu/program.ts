/**
 * What the project's WGSL training kernels share: tfjs-webgpu's backend method they call, the
 * one-output element-wise program (in the shape of tfjs-webgpu's `WebGPUProgram`: variable
 * names, uniforms, workgroup size, dispatch, a `getUserCode` with `fn main(index : i32)`, so
 * tfjs declares the bindings, compiles it once per shader key and records it in order with its
 * own kernels), and the norms' passes, whose reductions write several outputs in one dispatch
 * (`multi_output.ts`).
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type MultiOutputSpec, runMultiOutput, type UniformValue } from "./multi_output.ts";
import {
  type ColumnLayout,
  type ColumnSumsSpec,
  splitColumnSums,
  splitFromRowsNow,
} from "./column_sums.ts";

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

/** The uniform fields every norm program declares. */
const NORM_UNIFORMS = "rows : i32, channels : i32, eps : f32,";

/**
 * A norm kernel's pass with one workgroup per channel (summing its column over the rows) or
 * per row (over its channels), writing any number of outputs: a {@link MultiOutputSpec} body
 * that also sees `uniforms.rows`, `uniforms.channels` and `uniforms.eps`.
 */
export interface NormGroupSpec {
  readonly key: string;
  readonly per: "channel" | "row";
  readonly outputs: readonly string[];
  readonly inputs: readonly string[];
  readonly body: string;
}

/**
 * A norm's parameter gradients as column sums: `DScale` is the column sum of `dScale` times
 * `dScaleFactor`, `DOffset` the column sum of `dOffset` (WGSL expressions of the inputs, the
 * row `k`, the channel `c` and the flat index `at`). {@link NormRunner}`.columnSums` runs them.
 *
 * @example
 * ```ts
 * import { parameterGradients } from "./program.ts";
 * const spec = parameterGradients("g", ["Dy", "X"], { dScale: "Dy[at] * X[at]", dOffset: "Dy[at]" });
 * console.assert(spec.outputs.join() === "DScale,DOffset" && spec.terms[1] === "Dy[at]");
 * ```
 */
export function parameterGradients(
  key: string,
  inputs: readonly string[],
  terms: { dScale: string; dOffset: string; dScaleFactor?: string },
): ColumnSumsSpec {
  return {
    key,
    inputs,
    outputs: ["DScale", "DOffset"],
    terms: [terms.dScale, terms.dOffset],
    factors: [terms.dScaleFactor, undefined],
  };
}

// A spec's one-workgroup pass, built once: the kernels that use it run every training step.
const oneGroupPasses = new WeakMap<ColumnSumsSpec, NormGroupSpec>();

/** Column sums with one workgroup per channel: its lanes stride down the column. */
function oneGroupPerChannel(spec: ColumnSumsSpec): NormGroupSpec {
  let pass = oneGroupPasses.get(spec);
  if (!pass) oneGroupPasses.set(spec, pass = buildOneGroupPerChannel(spec));
  return pass;
}

function buildOneGroupPerChannel(spec: ColumnSumsSpec): NormGroupSpec {
  const sums = spec.terms.map((_, i) => `var sum${i} = 0.0;`).join("\n    ");
  const adds = spec.terms.map((term, i) => `sum${i} = sum${i} + ${term};`).join("\n      ");
  const totals = spec.outputs.map((_, i) => {
    const factor = spec.factors?.[i];
    return `let total${i} = workgroupSum(lane, sum${i})${
      factor === undefined ? "" : ` * ${factor}`
    };`;
  }).join("\n    ");
  const writes = spec.outputs.map((name, i) => `${name}[c] = total${i};`).join("\n      ");
  return {
    key: spec.key,
    per: "channel",
    outputs: spec.outputs,
    inputs: spec.inputs,
    body: `let c = group;
    ${sums}
    for (var k = lane; k < uniforms.rows; k = k + LANES) {
      let at = k * uniforms.channels + c;
      ${adds}
    }
    ${totals}
    if (lane == 0) {
      ${writes}
    }`,
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

/** Runs a norm kernel's passes over one input `x`. */
export interface NormRunner {
  /** `x`'s rows and channels and the norm's epsilon. */
  readonly layout: ColumnLayout;
  /** One dispatch of `spec`; `outputShapes` follow `spec.outputs`. */
  groups(
    spec: NormGroupSpec,
    inputs: tf.TensorInfo[],
    outputShapes: readonly (readonly number[])[],
  ): tf.TensorInfo[];
  elementwise(spec: ElementwiseSpec, inputs: tf.TensorInfo[]): tf.TensorInfo;
  /**
   * `spec`'s column sums, `[channels]` each: one workgroup per channel in one dispatch, or from
   * {@link SPLIT_FROM_ROWS} rows up, slices of the rows in two (`column_sums.ts`).
   */
  columnSums(spec: ColumnSumsSpec, inputs: tf.TensorInfo[]): tf.TensorInfo[];
}

/**
 * The passes of a norm kernel over `x` (channels last; the other axes are rows), with the
 * uniforms {@link NormGroupSpec} and {@link normElementwise} declare filled in once. A group
 * pass uses 256 lanes when a group sums at least `wideFrom` terms, else 64.
 *
 * @example
 * ```ts ignore
 * const run = normRunner(backend, x, 1e-5);
 * const [mean, variance] = run.groups(STATISTICS, [x], [[channels], [channels]]);
 * ```
 */
export function normRunner(
  backend: unknown,
  x: tf.TensorInfo,
  eps: number,
  wideFrom = 4096,
): NormRunner {
  const gpu = backend as WebGPUBackendLike;
  const channels = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((a, b) => a * b, 1) / channels;
  const uniforms: UniformValue[] = [
    { type: "int32", data: [rows] },
    { type: "int32", data: [channels] },
    { type: "float32", data: [eps] },
  ];
  const groups: NormRunner["groups"] = (spec, inputs, outputShapes) => {
    const [count, terms] = spec.per === "channel" ? [channels, rows] : [rows, channels];
    const lanes = terms >= wideFrom ? 256 : 64;
    const multi: MultiOutputSpec = { ...spec, uniforms: NORM_UNIFORMS, per: { lanes } };
    return runMultiOutput(backend, multi, inputs, { outputShapes, count, uniforms });
  };
  const layout = { rows, channels, eps };
  return {
    layout,
    groups,
    elementwise: (spec, inputs) =>
      gpu.runWebGPUProgram(new ElementwiseProgram(x.shape, spec), inputs, "float32", uniforms),
    columnSums: (spec, inputs) =>
      rows >= splitFromRowsNow()
        ? splitColumnSums(backend, spec, inputs, layout)
        : groups(oneGroupPerChannel(spec), inputs, spec.outputs.map(() => [channels])),
  };
}
