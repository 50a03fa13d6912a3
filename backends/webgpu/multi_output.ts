/**
 * One WGSL dispatch that writes several new tensors, for fused kernels that tfjs-webgpu's
 * one-output programs would split into a dispatch per output, each recomputing or re-reading
 * what the others did: AdamW's parameter and both moments; a norm's statistics and its output.
 *
 * tfjs-webgpu generates a program's bindings from its inputs and one output, so a program with
 * more outputs brings its own complete WGSL and pipeline, and is recorded through the backend's
 * `recordAndSubmit`: that keeps it in order with tfjs's kernels in the same compute pass, under
 * tfjs's batched submits, its profiler timers and its ownership of the buffers until the
 * commands that use them are done. `recordAndSubmit` binds `[output, ...inputs, uniforms]` and
 * fills the uniform buffer with NaN, Infinity and each buffer's shape and strides before the
 * program's own values; every buffer is bound flat (rank 1), so that prefix is two f32 and two
 * i32 per buffer, and the WGSL declares it as padding fields.
 *
 * Written against tfjs-backend-webgpu 4.22 (the version the workspace pins); the tests run it
 * against tfjs-cpu on llvmpipe, so a change in those internals fails there first.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/**
 * A kernel with several outputs over flat float32 buffers.
 *
 * Per element, `body` runs once for each `index` below `uniforms.count`. Per group, one
 * workgroup of `LANES` threads runs `body` for each `group` below `uniforms.count`, with its
 * `lane`, and `workgroupSum(lane, value)` (call it from every lane) returning the sum over
 * the lanes.
 */
export interface MultiOutputSpec {
  /** Names the pipeline in the per-device cache. */
  readonly key: string;
  /** The new tensors, written as `name[i] = …;` by `body`. */
  readonly outputs: readonly string[];
  /** Read as `name[i]`. */
  readonly inputs: readonly string[];
  /** WGSL uniform fields after `count`, e.g. `"rows : i32, eps : f32,"`, filled in order. */
  readonly uniforms: string;
  readonly per: "element" | { readonly lanes: number };
  readonly body: string;
  /** Module-scope WGSL the body uses: workgroup tiles, helper functions. */
  readonly declarations?: string;
}

/** One uniform value, as tfjs-webgpu's `recordAndSubmit` takes it. */
export interface UniformValue {
  readonly type: "float32" | "int32";
  readonly data: number[];
}

/**
 * Uniform values of one type, one per field, in the order the WGSL struct declares them.
 *
 * @example
 * ```ts
 * import { uniformValues } from "./multi_output.ts";
 * const u = uniformValues("int32", [3, 5]);
 * console.assert(u.length === 2 && u[1].type === "int32" && u[1].data[0] === 5);
 * ```
 */
export function uniformValues(
  type: UniformValue["type"],
  values: readonly number[],
): UniformValue[] {
  return values.map((value) => ({ type, data: [value] }));
}

/** The internals of tfjs-webgpu's backend a multi-output dispatch uses. */
interface WebGPUBackendInternals {
  readonly device: GPUDevice;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: unknown): void;
  recordAndSubmit(
    program: object,
    output: tf.TensorInfo,
    inputs: tf.TensorInfo[],
    uniforms: UniformValue[],
  ): void;
}

const ELEMENT_LANES = 64;
const MAX_GROUPS_PER_DIMENSION = 65535;

/** What `recordAndSubmit` reads from a program (its class name labels timers and counts). */
class MultiOutputProgram {
  constructor(readonly pipeline: GPUComputePipeline, readonly dispatch: [number, number, number]) {}
}

function lanesOf(spec: MultiOutputSpec): number {
  return spec.per === "element" ? ELEMENT_LANES : spec.per.lanes;
}

/**
 * The complete WGSL of a {@link MultiOutputSpec}.
 *
 * @example
 * ```ts
 * import { multiOutputShader } from "./multi_output.ts";
 * const wgsl = multiOutputShader({
 *   key: "split", outputs: ["A", "B"], inputs: ["X"], uniforms: "scale : f32,", per: "element",
 *   body: "A[index] = X[index]; B[index] = uniforms.scale * X[index];",
 * });
 * console.assert(wgsl.includes("var<storage, read_write> B : array<f32>;"));
 * ```
 */
export function multiOutputShader(spec: MultiOutputSpec): string {
  const lanes = lanesOf(spec);
  if (!Number.isInteger(Math.log2(lanes))) throw new RangeError(`lanes ${lanes}: a power of 2`);
  const buffers = [...spec.outputs, ...spec.inputs];
  // recordAndSubmit's prefix: a shape and a stride per bound buffer (all rank 1 here).
  const prefix = buffers.map((_, i) => `shape${i} : i32, stride${i} : i32,`).join(" ");
  const bindings = buffers.map((name, i) => {
    const access = i < spec.outputs.length ? "read_write" : "read";
    return `@group(0) @binding(${i}) var<storage, ${access}> ${name} : array<f32>;`;
  });
  const header = `
const LANES : i32 = ${lanes};
struct Uniforms { nan : f32, infinity : f32, ${prefix} count : i32, ${spec.uniforms} };
${bindings.join("\n")}
@group(0) @binding(${buffers.length}) var<uniform> uniforms : Uniforms;
${spec.declarations ?? ""}
`;
  const entry = `@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) workgroup : vec3<u32>, @builtin(num_workgroups) workgroups : vec3<u32>,
        @builtin(local_invocation_index) localIndex : u32) {
  let group = i32(workgroup.y * workgroups.x + workgroup.x);`;
  if (spec.per === "element") {
    return `${header}
${entry}
  let index = group * ${lanes} + i32(localIndex);
  if (index < uniforms.count) {
    ${spec.body}
  }
}`;
  }
  return `${header}
var<workgroup> partial : array<f32, ${lanes}>;

// Every lane of the workgroup calls this at the same point; the last barrier lets the next
// call reuse the scratch array.
fn workgroupSum(lane : i32, value : f32) -> f32 {
  partial[lane] = value;
  workgroupBarrier();
  for (var width = ${lanes / 2}; width > 0; width = width / 2) {
    if (lane < width) {
      partial[lane] = partial[lane] + partial[lane + width];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

${entry}
  let lane = i32(localIndex);
  if (group < uniforms.count) {
    ${spec.body}
  }
}`;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

function pipelineFor(device: GPUDevice, spec: MultiOutputSpec): GPUComputePipeline {
  let byKey = pipelines.get(device);
  if (!byKey) pipelines.set(device, byKey = new Map());
  const key = `${spec.key}_${lanesOf(spec)}`;
  let pipeline = byKey.get(key);
  if (!pipeline) {
    const module = device.createShaderModule({ code: multiOutputShader(spec) });
    pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    byKey.set(key, pipeline);
  }
  return pipeline;
}

/** What one multi-output dispatch is given besides its inputs. */
export interface MultiOutputRun {
  /** The shape of each output, in `spec.outputs` order. */
  readonly outputShapes: readonly (readonly number[])[];
  /** Elements (per element) or groups (per group) the dispatch covers. */
  readonly count: number;
  /** The values of `spec.uniforms`, in order. */
  readonly uniforms: readonly UniformValue[];
}

/**
 * Record `spec` on tfjs-webgpu's backend as one dispatch and return its new outputs, in
 * `spec.outputs` order. `inputs` follow `spec.inputs`.
 *
 * @example
 * ```ts ignore
 * const [a, b] = runMultiOutput(backend, SPLIT, [x], {
 *   outputShapes: [x.shape, x.shape], count: 6, uniforms: [{ type: "float32", data: [2] }],
 * });
 * ```
 */
export function runMultiOutput(
  backend: unknown,
  spec: MultiOutputSpec,
  inputs: readonly tf.TensorInfo[],
  run: MultiOutputRun,
): tf.TensorInfo[] {
  const gpu = backend as WebGPUBackendInternals;
  if (inputs.length !== spec.inputs.length || run.outputShapes.length !== spec.outputs.length) {
    throw new RangeError(
      `${spec.key}: ${inputs.length} inputs and ${run.outputShapes.length} outputs given, ` +
        `${spec.inputs.length} and ${spec.outputs.length} expected`,
    );
  }
  const outputs = run.outputShapes.map((shape) => gpu.makeTensorInfo([...shape], "float32"));
  if (run.count === 0) return outputs;
  for (const t of [...outputs, ...inputs]) gpu.uploadToGPU(t.dataId);
  const groups = spec.per === "element" ? Math.ceil(run.count / ELEMENT_LANES) : run.count;
  const x = Math.min(groups, MAX_GROUPS_PER_DIMENSION);
  const program = new MultiOutputProgram(
    pipelineFor(gpu.device, spec),
    [x, Math.ceil(groups / x), 1],
  );
  const flat = (t: tf.TensorInfo): tf.TensorInfo => ({
    ...t,
    shape: [t.shape.reduce((a, b) => a * b, 1)],
  });
  const [first, ...rest] = outputs.map(flat);
  gpu.recordAndSubmit(program, first, [...rest, ...inputs.map(flat)], [
    { type: "int32", data: [run.count] },
    ...run.uniforms,
  ]);
  return outputs;
}
