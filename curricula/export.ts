/**
 * Export a resolved curriculum as per-stage launcher arguments for the authors' PyTorch code
 * (`main.py` / `main_buffer.py` of EfficientTrain) or timm's `train.py`, so a curriculum
 * designed or searched here runs unchanged on torch.distributed. The mapping is documented
 * in `curricula/README.md`.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "@efficienttrain/core";
import type { ResolvedCurriculum } from "./resolve.ts";

/** Target launchers. */
export type ExportFormat = "efficienttrain-pytorch" | "timm";

/** The export formats, for flag validation. */
export const EXPORT_FORMATS: readonly ExportFormat[] = ["efficienttrain-pytorch", "timm"];

/** Options of {@link exportLauncher}. */
export interface ExportOptions {
  /** Target launcher. */
  readonly format: ExportFormat;
  /** LR warm-up epochs of the recipe (the paper's 20). */
  readonly warmupEpochs?: number;
  /** Mixup alpha of the recipe, scaled by a stage's `mixupScale` (0.8). */
  readonly mixup?: number;
  /** CutMix alpha of the recipe, scaled by a stage's `mixupScale` (1.0). */
  readonly cutmix?: number;
  /** Replay buffer size passed with `--replay_times` > 1 (the authors' 1024). */
  readonly replayBufferSize?: number;
}

/** One launch of the external trainer. */
export interface LauncherStage {
  /** Stage index. */
  readonly stage: number;
  /** Real epochs this launch covers here (for the reader; the launcher uses `args`). */
  readonly startEpoch: number;
  /** End real epoch (exclusive). */
  readonly endEpoch: number;
  /** Input side B of the launch. */
  readonly imageSize: number;
  /** RandAugment magnitude m. */
  readonly magnitude: number;
  /** Arguments for this launch, in order. */
  readonly args: ReadonlyArray<string>;
  /** Environment variables this launch needs (timm: the stage end). */
  readonly env: { readonly [name: string]: string };
}

/** A curriculum as a sequence of launches of an external trainer. */
export interface LauncherExport {
  /** Target launcher. */
  readonly format: ExportFormat;
  /** Name of the exported curriculum. */
  readonly curriculum: string;
  /** Per-stage entries, in order. */
  readonly stages: ReadonlyArray<LauncherStage>;
  /** Notes the user must read (crop methods the target lacks, …). */
  readonly notes: ReadonlyArray<string>;
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 1e4) / 1e4);
}

function randAugment(m: number): string {
  return `rand-m${fmt(m)}-mstd0.5-inc1`;
}

const EPS = 1e-9;

/**
 * Per-stage launcher arguments for a resolved curriculum.
 *
 * `efficienttrain-pytorch`: every launch gets `--epochs E --end_epoch e --warmup_epochs W
 * --input_size B --aa rand-m{m}-mstd0.5-inc1` like the authors' `ET_training.py`; for
 * compute-progress curricula, like their EfficientTrain++ launcher, `--epochs
 * int(E_eq·(H/B)²/replay)` and `--end_epoch int(epochs·compute fraction at the stage end)`,
 * with `--replay_times`/`--replay_buffer_size` for the authors' `main_buffer.py`, which
 * rescales the resumed epoch to each launch's `--epochs` (`main.py` does not).
 * `timm`: `--epochs E --input-size 3 B B --aa … --resume` with the stage end in the
 * `ET_END_EPOCH` environment variable (see the README for the two-line train.py patch).
 *
 * @example
 * ```ts
 * import { exportLauncher, presets } from "@efficienttrain/curricula";
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
 * const x = exportLauncher(r, { format: "efficienttrain-pytorch" });
 * console.assert(x.stages[0].args.join(" ").includes("--end_epoch 60 --warmup_epochs 20 --input_size 160 --aa rand-m1-mstd0.5-inc1"));
 * ```
 */
export function exportLauncher(
  resolved: ResolvedCurriculum,
  options: ExportOptions,
): LauncherExport {
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw new InvalidArgumentError({
      argument: "format",
      value: showValue(options.format),
      reason: `must be one of ${EXPORT_FORMATS.join(", ")}`,
    });
  }
  const warmup = options.warmupEpochs ?? 20;
  const mixup = options.mixup ?? 0.8;
  const cutmix = options.cutmix ?? 1.0;
  const notes: string[] = [];
  const crops = new Set(resolved.stages.map((s) => s.cropMethod).filter((c) => c !== "none"));
  const usesReplay = resolved.stages.some((s) => s.replay !== undefined);
  const stages: LauncherStage[] = [];
  if (options.format === "efficienttrain-pytorch") {
    if ([...crops].some((c) => c !== "fft")) {
      notes.push(
        `crop methods ${[...crops].join(", ")}: the authors' code crops in frequency (fft); ` +
          "switch its freq_crop to a resize to reproduce this curriculum exactly",
      );
    }
    // Compute-progress curricula change --epochs per launch; only the authors' main_buffer.py
    // rescales the resumed epoch by (B_prev / B)² (and the replay ratio) to match. Their ET++
    // launchers always call it, with the replay flags, replay or not.
    const buffered = usesReplay || resolved.progress === "compute";
    for (const s of resolved.stages) {
      const replay = s.replay ?? 1;
      let epochs: number;
      let endEpoch: number;
      if (resolved.progress === "compute") {
        epochs = Math.floor(
          (resolved.budget * (resolved.imageSize / s.imageSize) ** 2) / replay + EPS,
        );
        endEpoch = Math.floor(epochs * (s.endEquivalent / resolved.equivalentEpochs) + EPS);
      } else {
        epochs = Math.round(resolved.totalEpochs);
        endEpoch = s.endEpoch;
      }
      const args = [
        "--epochs",
        fmt(epochs),
        "--end_epoch",
        fmt(endEpoch),
        "--warmup_epochs",
        fmt(Math.floor(warmup / replay + EPS)),
        "--input_size",
        String(s.imageSize),
        "--aa",
        randAugment(s.magnitude),
      ];
      if (s.batchSize !== undefined) args.push("--batch_size", String(s.batchSize));
      if (s.mixupScale !== undefined) {
        args.push("--mixup", fmt(mixup * s.mixupScale), "--cutmix", fmt(cutmix * s.mixupScale));
      }
      if (buffered) {
        args.push(
          "--replay_times",
          String(replay),
          "--replay_buffer_size",
          String(replay > 1 ? options.replayBufferSize ?? 1024 : 0),
        );
      }
      stages.push({
        stage: s.index,
        startEpoch: s.startEpoch,
        endEpoch: s.endEpoch,
        imageSize: s.imageSize,
        magnitude: s.magnitude,
        args,
        env: {},
      });
    }
  } else {
    if (resolved.progress === "compute" || resolved.lrProgress === "compute") {
      throw new InvalidArgumentError({
        argument: "format",
        value: showValue("timm"),
        reason: `timm schedules by epochs; ${resolved.name} follows compute: export it with ` +
          "--format efficienttrain-pytorch",
      });
    }
    if (resolved.stages.some((s) => !Number.isInteger(s.endEpoch))) {
      notes.push("fractional stage ends were rounded to whole epochs: timm switches per epoch");
    }
    if (crops.size > 0) {
      notes.push(
        `timm resizes in the data loader; the curriculum's ${[...crops].join(", ")} ` +
          "is approximated by training at --input-size B",
      );
    }
    if (usesReplay) notes.push("timm has no replay buffer; replay factors are ignored");
    if (new Set(resolved.stages.map((s) => s.imageSize)).size > 1) {
      notes.push(
        "ViT/DeiT change their position-embedding grid with B: pass --model-kwargs " +
          "dynamic_img_size=True so every launch resumes the same checkpoint",
      );
    }
    for (const s of resolved.stages) {
      const end = Math.round(s.endEpoch);
      if (end <= Math.round(s.startEpoch)) continue;
      const args = [
        "--epochs",
        fmt(Math.round(resolved.totalEpochs)),
        "--warmup-epochs",
        fmt(warmup),
        "--cooldown-epochs",
        "0",
        "--input-size",
        "3",
        String(s.imageSize),
        String(s.imageSize),
        "--aa",
        randAugment(s.magnitude),
      ];
      if (s.batchSize !== undefined) args.push("--batch-size", String(s.batchSize));
      if (s.mixupScale !== undefined) {
        args.push("--mixup", fmt(mixup * s.mixupScale), "--cutmix", fmt(cutmix * s.mixupScale));
      }
      stages.push({
        stage: s.index,
        startEpoch: s.startEpoch,
        endEpoch: s.endEpoch,
        imageSize: s.imageSize,
        magnitude: s.magnitude,
        args,
        env: { ET_END_EPOCH: String(end) },
      });
    }
  }
  return { format: options.format, curriculum: resolved.name, stages, notes };
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_./:=+-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * A bash script that runs the launches in order. Extra arguments to the script (model, data
 * path, batch size, …) are appended to every launch; `LAUNCH` overrides the command.
 *
 * @example
 * ```ts
 * import { exportLauncher, launcherScript, presets } from "@efficienttrain/curricula";
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 });
 * const sh = launcherScript(exportLauncher(r, { format: "efficienttrain-pytorch" }));
 * console.assert(sh.startsWith("#!/usr/bin/env bash") && sh.includes("--end_epoch 300"));
 * ```
 */
export function launcherScript(exported: LauncherExport): string {
  const pytorch = exported.format === "efficienttrain-pytorch";
  const replay = exported.stages.some((s) => s.args.includes("--replay_times"));
  const entry = pytorch
    ? (replay
      ? "python -m torch.distributed.launch --use-env --nproc_per_node=8 main_buffer.py"
      : "python -m torch.distributed.launch --nproc_per_node=8 main.py")
    : "torchrun --nproc_per_node=8 train.py";
  const lines = [
    "#!/usr/bin/env bash",
    `# ${exported.curriculum}: ${exported.stages.length} launches for ${exported.format}.`,
    "# Generated by `deno task curriculum export`. Pass the model, data and output flags as",
    pytorch
      ? "# script arguments (the authors' main.py resumes from --output_dir between launches)."
      : "# script arguments, including --output DIR --experiment NAME (every launch after the\n" +
        "# first resumes from DIR/NAME/last.pth.tar; see curricula/README.md for ET_END_EPOCH).",
    ...exported.notes.map((n) => `# NOTE: ${n}`),
    "set -euo pipefail",
    `LAUNCH=\${LAUNCH:-"${entry}"}`,
  ];
  if (!pytorch) {
    lines.push(
      'args=("$@")',
      "for ((i = 0; i < ${#args[@]}; i++)); do",
      '  case "${args[$i]}" in',
      '    --output) OUTPUT="${args[$((i + 1))]}" ;;',
      '    --experiment) EXPERIMENT="${args[$((i + 1))]}" ;;',
      "  esac",
      "done",
      'CKPT="${OUTPUT:-./output/train}/${EXPERIMENT:?pass --experiment NAME}/last.pth.tar"',
    );
  }
  exported.stages.forEach((s, i) => {
    lines.push(
      "",
      `# stage ${s.stage}: epochs ${fmt(s.startEpoch)}–${
        fmt(s.endEpoch)
      }, B = ${s.imageSize}, m = ${fmt(s.magnitude)}`,
    );
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${quote(v)} `).join("");
    const resume = !pytorch && i > 0 ? ' --resume "$CKPT"' : "";
    lines.push(`${env}$LAUNCH ${s.args.map(quote).join(" ")}${resume} "$@"`);
  });
  return lines.join("\n") + "\n";
}
