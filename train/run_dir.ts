/**
 * A run directory: `config.json`, `metrics.jsonl`, `summary.json`, the checkpoint and SVG
 * plots. Every whole-file write is atomic; metrics are appended line by line and trimmed back
 * to the checkpoint on resume so a killed run leaves no duplicate records.
 *
 * @module
 */
import { writeTextFileAtomic } from "@efficienttrain/core";
import type { ResolvedCurriculum } from "@efficienttrain/curricula";
import type { MetricRecord } from "./trainer.ts";
import { curriculumPoints, lineChartSvg, type SeriesPoint } from "./plots.ts";

/**
 * A run's output folder.
 *
 * @example
 * ```ts
 * import { RunDirectory } from "@efficienttrain/train";
 * const dir = await RunDirectory.create(await Deno.makeTempDir(), { resumeFromStep: 0 });
 * await dir.append({ kind: "step", step: 1, epoch: 0.1, trainSeconds: 1, wallSeconds: 1, loss: 2 });
 * console.assert((await dir.readMetrics()).length === 1);
 * ```
 */
export class RunDirectory {
  readonly path: string;
  #file: Deno.FsFile | undefined;

  private constructor(path: string) {
    this.path = path;
  }

  /** Create (or reopen) the folder; keeps only metrics up to `resumeFromStep` when resuming. */
  static async create(
    path: string,
    options: { resumeFromStep: number | undefined },
  ): Promise<RunDirectory> {
    await Deno.mkdir(path, { recursive: true });
    const dir = new RunDirectory(path);
    const metricsPath = `${path}/metrics.jsonl`;
    if (options.resumeFromStep === undefined) {
      await writeTextFileAtomic(metricsPath, "");
    } else {
      const kept = (await dir.readMetrics()).filter((r) => r.step <= options.resumeFromStep!);
      await writeTextFileAtomic(metricsPath, kept.map((r) => JSON.stringify(r) + "\n").join(""));
    }
    dir.#file = await Deno.open(metricsPath, { append: true, create: true });
    return dir;
  }

  /** Append one record to metrics.jsonl. */
  async append(record: MetricRecord): Promise<void> {
    await this.#file!.write(new TextEncoder().encode(JSON.stringify(record) + "\n"));
  }

  /** All records so far. */
  async readMetrics(): Promise<MetricRecord[]> {
    let text = "";
    try {
      text = await Deno.readTextFile(`${this.path}/metrics.jsonl`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const records: MetricRecord[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        records.push(JSON.parse(line));
      } catch {
        // a line torn by a kill mid-write is dropped; the checkpoint is the source of truth
      }
    }
    return records;
  }

  /** Write a JSON file atomically. */
  async writeJson(name: string, value: unknown): Promise<void> {
    await writeTextFileAtomic(`${this.path}/${name}`, JSON.stringify(value, null, 2) + "\n");
  }

  /** Render the run's plots from metrics.jsonl. Returns the written file names. */
  async writePlots(label: string, curriculum?: ResolvedCurriculum): Promise<string[]> {
    const records = await this.readMetrics();
    const epochs = records.filter((r) => r.kind === "epoch");
    const steps = records.filter((r) => r.kind === "step");
    const plots: Array<[string, SeriesPoint[], Parameters<typeof lineChartSvg>[1]]> = [
      [
        "accuracy_vs_time.svg",
        epochs.map((r) => ({ x: r.trainSeconds, y: 100 * Number(r.top1), series: label })),
        { title: "Top-1 vs training time", xTitle: "training seconds", yTitle: "top-1 (%)" },
      ],
      [
        "loss_vs_epoch.svg",
        [
          ...steps.map((r) => ({ x: r.epoch, y: Number(r.loss), series: "train (batch)" })),
          ...epochs.map((r) => ({ x: r.epoch, y: Number(r.testLoss), series: "test" })),
        ],
        { title: "Loss", xTitle: "epoch", yTitle: "cross-entropy" },
      ],
      [
        "curriculum.svg",
        curriculum !== undefined ? curriculumPoints(curriculum) : [
          ...steps.map((r) => ({ x: r.epoch, y: Number(r.imageSize), series: "B (input side)" })),
          ...steps.map((r) => ({
            x: r.epoch,
            y: Number(r.magnitude),
            series: "m (RandAugment)",
          })),
        ],
        { title: "Curriculum", xTitle: "epoch", yTitle: "value", step: true },
      ],
    ];
    const written: string[] = [];
    for (const [file, points, options] of plots) {
      if (points.length === 0) continue;
      await writeTextFileAtomic(`${this.path}/${file}`, await lineChartSvg(points, options));
      written.push(file);
    }
    return written;
  }

  /** Close the metrics file. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
