/**
 * SVG plots of a run (or of several runs side by side), rendered headless with vega-lite.
 *
 * @module
 */
import * as vega from "vega";
import * as vl from "vega-lite";
import type { ResolvedCurriculum } from "@efficienttrain/curricula";

/** One point of a line series. */
export interface SeriesPoint {
  readonly x: number;
  readonly y: number;
  /** Series name (run, curriculum, …). */
  readonly series: string;
}

/** Axis titles and the chart title of {@link lineChartSvg}. */
export interface LineChartOptions {
  readonly title: string;
  readonly xTitle: string;
  readonly yTitle: string;
  /** Draw steps (for piecewise-constant quantities such as B and m). */
  readonly step?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/**
 * Render a multi-series line chart to an SVG string.
 *
 * @example
 * ```ts
 * import { lineChartSvg } from "@efficienttrain/train";
 * const svg = await lineChartSvg([{ x: 0, y: 1, series: "a" }, { x: 1, y: 2, series: "a" }], {
 *   title: "t", xTitle: "x", yTitle: "y",
 * });
 * console.assert(svg.startsWith("<svg"));
 * ```
 */
export async function lineChartSvg(
  points: readonly SeriesPoint[],
  options: LineChartOptions,
): Promise<string> {
  const spec: vl.TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: options.title,
    width: options.width ?? 480,
    height: options.height ?? 300,
    data: { values: points.map((p) => ({ ...p })) },
    mark: {
      type: "line",
      point: points.length < 60,
      interpolate: options.step ? "step-after" : "linear",
    },
    encoding: {
      x: { field: "x", type: "quantitative", title: options.xTitle },
      y: { field: "y", type: "quantitative", title: options.yTitle, scale: { zero: false } },
      color: { field: "series", type: "nominal", title: null },
    },
  };
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * The curriculum's B and m as step series drawn from the resolved stages, so a stage boundary
 * sits exactly where the trainer switches (the step log samples it only every few steps).
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * import { curriculumPoints } from "@efficienttrain/train";
 * const r = resolveCurriculum({ progress: "epochs", segments: [
 *   { kind: "stage", size: 16, magnitude: 3, length: 1 },
 *   { kind: "stage", size: 32, magnitude: 9, length: 2 },
 * ] }, { epochs: 3, imageSize: 32 });
 * console.assert(curriculumPoints(r).some((p) => p.x === 1 && p.y === 32));
 * ```
 */
export function curriculumPoints(curriculum: ResolvedCurriculum): SeriesPoint[] {
  const last = curriculum.stages[curriculum.stages.length - 1];
  const series = (value: (s: typeof last) => number, name: string): SeriesPoint[] => [
    ...curriculum.stages.map((s) => ({ x: s.startEpoch, y: value(s), series: name })),
    { x: last.endEpoch, y: value(last), series: name },
  ];
  return [
    ...series((s) => s.imageSize, "B (input side)"),
    ...series((s) => s.magnitude, "m (RandAugment)"),
  ];
}
