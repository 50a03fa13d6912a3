/**
 * A plain-text table of a resolved curriculum, for CLIs and reports.
 *
 * @module
 */
import type { ResolvedCurriculum } from "./resolve.ts";

function fmtEpoch(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}

/**
 * A RandAugment magnitude as logs and tables print it: at most two decimals (a ramp or a
 * `--max-magnitude` scaling makes fractions such as 5/9).
 *
 * @example
 * ```ts
 * import { formatMagnitude } from "@efficienttrain/curricula";
 * console.assert(formatMagnitude(9) === "9" && formatMagnitude(5 / 9) === "0.56");
 * ```
 */
export function formatMagnitude(magnitude: number): string {
  return String(Math.round(magnitude * 100) / 100);
}

/**
 * Render the stages (epoch range, B, m, crop method, knobs) and the totals as an aligned
 * text table.
 *
 * @example
 * ```ts
 * import { curriculumTable, resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({ progress: "epochs", segments: [{ kind: "stage", size: 32, magnitude: 9, length: 1 }] }, { epochs: 3, imageSize: 32 });
 * console.assert(curriculumTable(r).includes("relative compute 1.000"));
 * ```
 */
export function curriculumTable(resolved: ResolvedCurriculum): string {
  const header = ["stage", "epochs", "B", "m", "crop", "knobs"];
  const rows = resolved.stages.map((s) => {
    const knobs = [
      s.mixupScale === undefined ? "" : `mixup×${s.mixupScale}`,
      s.batchSize === undefined ? "" : `batch ${s.batchSize}`,
      s.replay === undefined ? "" : `replay ${s.replay}`,
    ].filter((k) => k !== "").join(", ");
    return [
      String(s.index),
      `${fmtEpoch(s.startEpoch)}–${fmtEpoch(s.endEpoch)}`,
      String(s.imageSize),
      formatMagnitude(s.magnitude),
      s.cropMethod,
      knobs,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [
    `${resolved.name}: ${fmtEpoch(resolved.totalEpochs)} epochs at H = ${resolved.imageSize} ` +
    `(progress: ${resolved.progress}, LR by ${resolved.lrProgress})`,
    line(header),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    `equivalent epochs ${resolved.equivalentEpochs.toFixed(2)}; relative compute ` +
    `${resolved.relativeCompute.toFixed(3)} of ${
      fmtEpoch(resolved.baselineEpochs)
    } baseline epochs ` +
    `(${(1 / resolved.relativeCompute).toFixed(2)}× less)`,
  ];
  return out.join("\n") + "\n";
}
