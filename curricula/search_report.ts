/**
 * Outputs of a curriculum search: the found curriculum as JSON, a markdown report with the
 * trials table, and an SVG plot of accuracy against relative compute.
 *
 * @module
 */
import { writeTextFileAtomic } from "@efficienttrain/core";
import { resolveCurriculum } from "./resolve.ts";
import { curriculumTable } from "./table.ts";
import { curriculumToJson } from "./types.ts";
import type { SearchResult } from "./search.ts";

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * The markdown report: settings, outcome, the found curriculum's table, every trial.
 *
 * @example
 * ```ts
 * import { greedySearch, searchReportMarkdown } from "@efficienttrain/curricula";
 * const r = await greedySearch(() => Promise.resolve({ accuracy: 1, wallSeconds: 1 }), {
 *   mode: "iccv", stages: 2, candidates: [16], epochs: 2, imageSize: 32,
 * });
 * console.assert(searchReportMarkdown(r).includes("| trial |"));
 * ```
 */
export function searchReportMarkdown(result: SearchResult): string {
  const c = result.config;
  const resolved = resolveCurriculum(result.curriculum, {
    epochs: c.epochs,
    imageSize: c.imageSize,
    multipleOf: 1,
  });
  const wall = result.trials.reduce((a, t) => a + t.wallSeconds, 0);
  const lines = [
    `# Curriculum search (${c.mode})`,
    "",
    `- stages ${c.stages}, candidates ${c.candidates.join(", ")} px at H = ${c.imageSize}`,
    `- ${
      c.mode === "iccv" ? "epochs" : "compute budget (H²-equivalent epochs)"
    } per trial: ${c.epochs}`,
    c.mode === "iccv"
      ? `- tolerance ${c.tolerance} below the baseline`
      : "- best accuracy per stage",
    `- magnitudes ${c.magnitudes.join(", ")}; seeds ${c.seed}…${c.seed + c.repeats - 1}`,
    `- stopped: ${result.stopReason}; ${result.trials.length} trial runs, ${
      (wall / 60).toFixed(1)
    } min`,
    "",
    `Baseline accuracy ${result.baselineAccuracy}; found B = ${
      result.sizes.join(", ")
    } with accuracy ` +
    `${result.accuracy}, relative compute ${resolved.relativeCompute.toFixed(3)}.`,
    "",
    "```",
    curriculumTable(resolved).trimEnd(),
    "```",
    "",
    "| trial | stage | B per stage | seed | accuracy | wall s | rel. compute |",
    "|---:|---:|---|---:|---:|---:|---:|",
    ...result.trials.map((t) =>
      `| ${t.trial} | ${t.stage < 0 ? "baseline" : t.stage} | ${t.sizes.join(",")} | ${t.seed} | ` +
      `${t.accuracy} | ${t.wallSeconds.toFixed(1)} | ${t.relativeCompute.toFixed(3)} |`
    ),
    "",
    "![accuracy vs compute](search.svg)",
    "",
  ];
  return lines.join("\n");
}

/**
 * An SVG scatter plot: accuracy of every trial against its relative compute, the baseline
 * accuracy and (ICCV) the acceptance threshold as lines, the found curriculum ringed.
 *
 * @example
 * ```ts
 * import { greedySearch, searchPlotSvg } from "@efficienttrain/curricula";
 * const r = await greedySearch(() => Promise.resolve({ accuracy: 1, wallSeconds: 1 }), {
 *   mode: "iccv", stages: 2, candidates: [16], epochs: 2, imageSize: 32,
 * });
 * console.assert(searchPlotSvg(r).startsWith("<svg"));
 * ```
 */
export function searchPlotSvg(result: SearchResult): string {
  const W = 640, Hh = 400, L = 64, R = 16, T = 28, B = 48;
  const xs = result.trials.map((t) => t.relativeCompute);
  const ys = result.trials.map((t) => t.accuracy);
  const threshold = result.baselineAccuracy - result.config.tolerance;
  const allY = [...ys, result.baselineAccuracy, threshold].filter(Number.isFinite);
  let [y0, y1] = [Math.min(...allY), Math.max(...allY)];
  if (!(y1 > y0)) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.08;
  y0 -= pad;
  y1 += pad;
  const x0 = 0, x1 = Math.max(1, ...xs) * 1.05;
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const px = (x: number) => r1(L + ((x - x0) / (x1 - x0)) * (W - L - R));
  const py = (y: number) => r1(T + (1 - (y - y0) / (y1 - y0)) * (Hh - T - B));
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Hh}" viewBox="0 0 ${W} ${Hh}" ` +
    `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${Hh}" fill="white"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">` +
    `${esc(`Curriculum search (${result.config.mode}): accuracy vs relative compute`)}</text>`,
    `<line x1="${L}" y1="${Hh - B}" x2="${W - R}" y2="${Hh - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${Hh - B}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const x = x0 + ((x1 - x0) * i) / 5;
    const y = y0 + ((y1 - y0) * i) / 5;
    out.push(
      `<text x="${px(x)}" y="${Hh - B + 16}" text-anchor="middle">${x.toFixed(2)}</text>`,
      `<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${Number(y.toPrecision(4))}</text>`,
    );
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${Hh - 12}" text-anchor="middle">relative compute</text>`,
    `<text x="16" y="${(T + Hh - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${
      (T + Hh - B) / 2
    })">final accuracy</text>`,
  );
  const hline = (y: number, color: string, label: string) => {
    if (!Number.isFinite(y)) return;
    out.push(
      `<line x1="${L}" y1="${py(y)}" x2="${W - R}" y2="${
        py(y)
      }" stroke="${color}" stroke-dasharray="5 4"/>`,
      `<text x="${W - R - 4}" y="${py(y) - 4}" text-anchor="end" fill="${color}">${
        esc(label)
      }</text>`,
    );
  };
  hline(result.baselineAccuracy, "#555", "baseline");
  if (result.config.mode === "iccv" && result.config.tolerance > 0) {
    hline(threshold, "#c33", "baseline − tolerance");
  }
  const found = result.sizes.join(",");
  for (const t of result.trials) {
    const ok = result.config.mode === "etpp" || t.accuracy >= threshold;
    out.push(
      `<circle cx="${px(t.relativeCompute)}" cy="${py(t.accuracy)}" r="4" fill="${
        ok ? "#2a7" : "#c33"
      }">` +
        `<title>${
          esc(`trial ${t.trial}: B ${t.sizes.join(",")} acc ${t.accuracy}`)
        }</title></circle>`,
    );
    if (t.sizes.join(",") === found) {
      out.push(
        `<circle cx="${px(t.relativeCompute)}" cy="${
          py(t.accuracy)
        }" r="8" fill="none" stroke="black"/>`,
      );
    }
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/**
 * Write `curriculum.json`, `report.md` and `search.svg` into `outDir` (atomically).
 *
 * @example
 * ```ts ignore
 * import { writeSearchOutputs } from "@efficienttrain/curricula";
 * await writeSearchOutputs(result, "runs/search");
 * ```
 */
export async function writeSearchOutputs(result: SearchResult, outDir: string): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  await writeTextFileAtomic(`${outDir}/curriculum.json`, curriculumToJson(result.curriculum));
  await writeTextFileAtomic(`${outDir}/report.md`, searchReportMarkdown(result));
  await writeTextFileAtomic(`${outDir}/search.svg`, searchPlotSvg(result));
}
