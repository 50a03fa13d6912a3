/**
 * The norms' per-channel reductions over long columns, split over many workgroups: batch
 * norm's mean and variance and its parameter gradients, layer norm's parameter gradients.
 *
 * With one workgroup per channel (`program.ts`'s group pass) a batch norm at batch 64 and
 * 224 px reduces 802,816 rows per channel in 64 workgroups, each lane reading every 64th row of
 * a column whose elements lie `channels` floats apart: a few percent of a GPU's lanes, and no
 * two neighbouring lanes reading neighbouring floats. Here a workgroup is 64 channels × 4 row
 * lanes over one slice of the rows (neighbouring lanes read neighbouring channels of one row),
 * with as many slices as give the dispatch ~512 workgroups, and a second dispatch combines the
 * slices per channel. The statistics keep the two-pass accuracy of the one-workgroup pass: each
 * slice writes its own mean and centred sum of squares, and the combine pass merges them with
 * Chan's pairwise update, which never subtracts two large sums.
 *
 * Below {@link SPLIT_FROM_ROWS} rows (`setSplitFromRows` moves the line) the one-workgroup pass
 * does the whole column in one dispatch, which costs less than two.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";
import { type MultiOutputSpec, runMultiOutput, type UniformValue } from "./multi_output.ts";
import type { WebGPUBackendLike } from "./program.ts";

/**
 * Rows from which a per-channel reduction is split over several workgroups per channel.
 *
 * @example
 * ```ts
 * import { SPLIT_FROM_ROWS } from "@efficienttrain/backend-webgpu";
 * console.assert(64 * 56 * 56 >= SPLIT_FROM_ROWS); // ResNet's 56-px stage at batch 64 splits
 * ```
 */
export const SPLIT_FROM_ROWS = 16384;

let splitFromRows = SPLIT_FROM_ROWS;

/**
 * Set the rows from which the norms' column reductions split (default {@link SPLIT_FROM_ROWS};
 * 1 splits every reduction, `Infinity` none) and return the previous value: for tests that run
 * both paths over the same shapes, and benches that time them against each other.
 *
 * @example
 * ```ts
 * import { setSplitFromRows, splitFromRowsNow } from "@efficienttrain/backend-webgpu";
 * const previous = setSplitFromRows(1);
 * console.assert(splitFromRowsNow() === 1);
 * setSplitFromRows(previous);
 * ```
 */
export function setSplitFromRows(rows: number): number {
  if (!(rows >= 1)) throw new RangeError(`split from ${rows} rows: must be at least 1`);
  const previous = splitFromRows;
  splitFromRows = rows;
  return previous;
}

/**
 * The rows from which the norms' column reductions split now.
 *
 * @example
 * ```ts
 * import { SPLIT_FROM_ROWS, splitFromRowsNow } from "@efficienttrain/backend-webgpu";
 * console.assert(splitFromRowsNow() === SPLIT_FROM_ROWS);
 * ```
 */
export function splitFromRowsNow(): number {
  return splitFromRows;
}
/** Workgroups a split reduction aims for. */
const TARGET_GROUPS = 512;
/** The fewest rows a slice is given (256 per row lane). */
const MIN_SLICE_ROWS = 1024;
/** The most slices (the combine pass walks them one after another). */
const MAX_SLICES = 256;
const CHANNEL_LANES = 64;
const ROW_LANES = 4;
const WORKGROUP = CHANNEL_LANES * ROW_LANES;

/**
 * Column sums of WGSL expressions over the rows of a `[rows, channels]` layout, one output of
 * `[channels]` per term. A term sees the flat index `at`, the row `k` and the channel `c`;
 * `factor` (per output, optional) multiplies the column's total and sees `c`.
 */
export interface ColumnSumsSpec {
  readonly key: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly terms: readonly string[];
  readonly factors?: readonly (string | undefined)[];
}

/** How `rows` are cut into slices of equal length (the last one shorter). */
export interface RowSlices {
  readonly slices: number;
  readonly rowsPerSlice: number;
}

/**
 * The slices a reduction over `rows` rows and `channels` channels is split into: enough for
 * ~512 workgroups, none under 1,024 rows, at most 256.
 *
 * @example
 * ```ts
 * import { rowSlices } from "@efficienttrain/backend-webgpu";
 * const { slices, rowsPerSlice } = rowSlices(64 * 112 * 112, 64);
 * console.assert(slices === 256 && slices * rowsPerSlice >= 64 * 112 * 112);
 * ```
 */
export function rowSlices(rows: number, channels: number): RowSlices {
  const tiles = Math.ceil(channels / CHANNEL_LANES);
  const wanted = Math.ceil(TARGET_GROUPS / tiles);
  const most = Math.max(1, Math.floor(rows / MIN_SLICE_ROWS));
  const rowsPerSlice = Math.ceil(rows / Math.max(1, Math.min(wanted, most, MAX_SLICES)));
  return { slices: Math.ceil(rows / rowsPerSlice), rowsPerSlice };
}

const SPLIT_UNIFORMS = "rows : i32, channels : i32, eps : f32, rowsPerSlice : i32,";

// The sum over the row lanes of each channel lane, returned to all four lanes of the channel.
// Every lane of the workgroup calls it at the same point; the last barrier lets the next call
// reuse the scratch array.
const COLUMN_SUM = `
var<workgroup> columnPartial : array<f32, ${WORKGROUP}>;

fn columnSum(lane : i32, value : f32) -> f32 {
  columnPartial[lane] = value;
  workgroupBarrier();
  for (var width = ${WORKGROUP / 2}; width >= ${CHANNEL_LANES}; width = width / 2) {
    if (lane < width) {
      columnPartial[lane] = columnPartial[lane] + columnPartial[lane + width];
    }
    workgroupBarrier();
  }
  let total = columnPartial[lane % ${CHANNEL_LANES}];
  workgroupBarrier();
  return total;
}`;

// group = (slice, tile of 64 channels); lane = (row lane, channel lane)
const SLICE_PRELUDE = `let tiles = (uniforms.channels + ${CHANNEL_LANES - 1}) / ${CHANNEL_LANES};
    let c = (group % tiles) * ${CHANNEL_LANES} + lane % ${CHANNEL_LANES};
    let slice = group / tiles;
    let rowLane = lane / ${CHANNEL_LANES};
    let begin = slice * uniforms.rowsPerSlice;
    let end = min(begin + uniforms.rowsPerSlice, uniforms.rows);
    let inside = c < uniforms.channels;
    let writer = inside && rowLane == 0;`;

function sliceSumsShader(spec: ColumnSumsSpec): MultiOutputSpec {
  const sums = spec.terms.map((_, i) => `var sum${i} = 0.0;`).join("\n    ");
  const adds = spec.terms.map((term, i) => `sum${i} = sum${i} + ${term};`).join("\n        ");
  const writes = spec.outputs.map((name, i) => {
    const factor = spec.factors?.[i];
    const total = `columnSum(lane, sum${i})${factor === undefined ? "" : ` * (${factor})`}`;
    return `let total${i} = ${total};
    if (writer) {
      ${name}[slice * uniforms.channels + c] = total${i};
    }`;
  }).join("\n    ");
  return {
    key: `${spec.key}_slices`,
    outputs: spec.outputs,
    inputs: spec.inputs,
    uniforms: SPLIT_UNIFORMS,
    per: { lanes: WORKGROUP },
    declarations: COLUMN_SUM,
    body: `${SLICE_PRELUDE}
    ${sums}
    if (inside) {
      for (var k = begin + rowLane; k < end; k = k + ${ROW_LANES}) {
        let at = k * uniforms.channels + c;
        ${adds}
      }
    }
    ${writes}`,
  };
}

function combineSumsShader(spec: ColumnSumsSpec): MultiOutputSpec {
  const partials = spec.outputs.map((name) => `Slices${name}`);
  return {
    key: `${spec.key}_combine`,
    outputs: spec.outputs,
    inputs: partials,
    uniforms: "slices : i32,",
    per: "element",
    body: spec.outputs.map((name, i) =>
      `var sum${i} = 0.0;
    for (var s = 0; s < uniforms.slices; s = s + 1) {
      sum${i} = sum${i} + ${partials[i]}[s * uniforms.count + index];
    }
    ${name}[index] = sum${i};`
    ).join("\n    "),
  };
}

// Each slice's mean and centred sum of squares, two passes over the slice as the one-workgroup
// statistics pass makes over the whole column.
const SLICE_MOMENTS: MultiOutputSpec = {
  key: "column_moments_slices",
  outputs: ["SliceMean", "SliceSquares"],
  inputs: ["X"],
  uniforms: SPLIT_UNIFORMS,
  per: { lanes: WORKGROUP },
  declarations: COLUMN_SUM,
  body: `${SLICE_PRELUDE}
    var sum = 0.0;
    if (inside) {
      for (var k = begin + rowLane; k < end; k = k + ${ROW_LANES}) {
        sum = sum + X[k * uniforms.channels + c];
      }
    }
    let mean = columnSum(lane, sum) / f32(end - begin);
    var squares = 0.0;
    if (inside) {
      for (var k = begin + rowLane; k < end; k = k + ${ROW_LANES}) {
        let centred = X[k * uniforms.channels + c] - mean;
        squares = squares + centred * centred;
      }
    }
    let total = columnSum(lane, squares);
    if (writer) {
      SliceMean[slice * uniforms.channels + c] = mean;
      SliceSquares[slice * uniforms.channels + c] = total;
    }`,
};

// Chan's pairwise update, slice by slice: the merged mean moves by δ·n_b/n and the sum of
// squares gains δ²·n_a·n_b/n, with δ the difference of the two means.
const COMBINE_MOMENTS: MultiOutputSpec = {
  key: "column_moments_combine",
  outputs: ["MeanOut", "VarianceOut"],
  inputs: ["SliceMean", "SliceSquares"],
  uniforms: "slices : i32, rows : i32, rowsPerSlice : i32,",
  per: "element",
  body: `var mean = SliceMean[index];
    var squares = SliceSquares[index];
    var n = f32(min(uniforms.rowsPerSlice, uniforms.rows));
    for (var s = 1; s < uniforms.slices; s = s + 1) {
      let nb = f32(min(uniforms.rowsPerSlice, uniforms.rows - s * uniforms.rowsPerSlice));
      let total = n + nb;
      let delta = SliceMean[s * uniforms.count + index] - mean;
      mean = mean + delta * (nb / total);
      squares = squares + SliceSquares[s * uniforms.count + index] + delta * delta * (n * (nb / total));
      n = total;
    }
    MeanOut[index] = mean;
    VarianceOut[index] = squares / f32(uniforms.rows);`,
};

/** What a split reduction runs over: `x`'s rows and channels and the norm's epsilon. */
export interface ColumnLayout {
  readonly rows: number;
  readonly channels: number;
  readonly eps: number;
}

/** Both dispatches of a split reduction; the slices' partials are released after the second. */
function sliceThenCombine(
  backend: unknown,
  passes: { slices: MultiOutputSpec; combine: MultiOutputSpec },
  inputs: readonly tf.TensorInfo[],
  layout: ColumnLayout,
  combineUniforms: (split: RowSlices) => UniformValue[],
): tf.TensorInfo[] {
  const split = rowSlices(layout.rows, layout.channels);
  const tiles = Math.ceil(layout.channels / CHANNEL_LANES);
  const partials = runMultiOutput(backend, passes.slices, inputs, {
    outputShapes: passes.slices.outputs.map(() => [split.slices * layout.channels]),
    count: tiles * split.slices,
    uniforms: [
      { type: "int32", data: [layout.rows] },
      { type: "int32", data: [layout.channels] },
      { type: "float32", data: [layout.eps] },
      { type: "int32", data: [split.rowsPerSlice] },
    ],
  });
  const totals = runMultiOutput(backend, passes.combine, partials, {
    outputShapes: passes.combine.outputs.map(() => [layout.channels]),
    count: layout.channels,
    uniforms: combineUniforms(split),
  });
  for (const partial of partials) (backend as WebGPUBackendLike).disposeData(partial.dataId);
  return totals;
}

// A spec's two passes, built once: the kernels that use them run every training step.
const splitPasses = new WeakMap<
  ColumnSumsSpec,
  { slices: MultiOutputSpec; combine: MultiOutputSpec }
>();

/**
 * The column sums of `spec` in two dispatches: the slices' sums, then their totals per channel.
 * `inputs` follow `spec.inputs`; the outputs are `[channels]` each, in `spec.outputs` order.
 *
 * @example
 * ```ts ignore
 * const [dScale, dOffset] = splitColumnSums(backend, BN_GRADIENTS, [dy, x, mean, variance], {
 *   rows: 64 * 112 * 112, channels: 64, eps: 1e-5,
 * });
 * ```
 */
export function splitColumnSums(
  backend: unknown,
  spec: ColumnSumsSpec,
  inputs: readonly tf.TensorInfo[],
  layout: ColumnLayout,
): tf.TensorInfo[] {
  let passes = splitPasses.get(spec);
  if (!passes) {
    splitPasses.set(
      spec,
      passes = { slices: sliceSumsShader(spec), combine: combineSumsShader(spec) },
    );
  }
  return sliceThenCombine(backend, passes, inputs, layout, (split) => [
    { type: "int32", data: [split.slices] },
  ]);
}

/**
 * Each channel's mean and biased variance over the rows of `x` (channels last) in two
 * dispatches, as accurate as two passes over the whole column.
 *
 * @example
 * ```ts ignore
 * const [mean, variance] = splitColumnMoments(backend, x, { rows, channels, eps: 0 });
 * ```
 */
export function splitColumnMoments(
  backend: unknown,
  x: tf.TensorInfo,
  layout: ColumnLayout,
): tf.TensorInfo[] {
  const passes = { slices: SLICE_MOMENTS, combine: COMBINE_MOMENTS };
  return sliceThenCombine(backend, passes, [x], layout, (split) => [
    { type: "int32", data: [split.slices] },
    { type: "int32", data: [layout.rows] },
    { type: "int32", data: [split.rowsPerSlice] },
  ]);
}
