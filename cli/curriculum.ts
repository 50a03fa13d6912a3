/**
 * `deno task curriculum <command>`: inspect and export curricula.
 *
 *   list                                   the presets
 *   show <name|file.json> [--epochs E] [--image-size H] [--model M] [--size-multiple N]
 *        [--min-image-size S] [--max-magnitude M] [--baseline-epochs B]
 *        [--boundaries floor|exact] [--json]
 *                                          the resolved stages and relative compute (with a
 *                                          registered --model: its legal sizes and FLOPs)
 *   export <name|file.json> --format efficienttrain-pytorch|timm --epochs E [--image-size H]
 *        [--model M] [--min-image-size S] [--max-magnitude M] [--warmup-epochs W]
 *        [--out FILE] [--json]
 *                                          per-stage launcher arguments (a bash script)
 *   schema                                 the JSON Schema of curriculum files
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  FileError,
  InvalidArgumentError,
  showValue,
  writeTextFileAtomic,
} from "@efficienttrain/core";
import {
  computeBySize,
  type Curriculum,
  CurriculumDecodeError,
  curriculumJsonSchema,
  curriculumTable,
  resolveCurriculum,
} from "@efficienttrain/curricula";
import { acceptsSize, listModels, modelInfo } from "@efficienttrain/models";
import {
  EXPORT_FORMATS,
  type ExportFormat,
  exportLauncher,
  launcherScript,
  loadCurriculum,
  presetNames,
  presets,
} from "@efficienttrain/curricula";

const USAGE = `usage:
  deno task curriculum list
  deno task curriculum show <name|file.json> [--epochs E] [--image-size H] [--model M]
      [--size-multiple N] [--min-image-size S] [--max-magnitude M] [--baseline-epochs B]
      [--boundaries floor|exact] [--json]
  deno task curriculum export <name|file.json> --format efficienttrain-pytorch|timm --epochs E
      [--image-size H] [--model M] [--min-image-size S] [--max-magnitude M] [--warmup-epochs W]
      [--out FILE] [--json]
  deno task curriculum schema`;

function num(
  flag: string,
  value: string | undefined,
  options: { integer?: boolean; zero?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  const tooSmall = options.zero ? v < 0 : v <= 0;
  if (!Number.isFinite(v) || tooSmall || (options.integer && !Number.isInteger(v))) {
    throw new InvalidArgumentError({
      argument: `--${flag}`,
      value: showValue(value),
      reason: options.zero
        ? "must be a number ≥ 0"
        : options.integer
        ? "must be a positive integer"
        : "must be a positive number",
    });
  }
  return v;
}

/**
 * Legal sizes and FLOPs of a registered model (the relative compute then uses its FLOPs);
 * for a name the registry lacks only the per-family size lists apply.
 */
function modelRules(
  name: string | undefined,
  err: (text: string) => void,
): { accepts?: (size: number) => boolean; flops?: (size: number) => number } {
  if (name === undefined) return {};
  if (!(listModels() as string[]).includes(name)) {
    err(`note: ${name} is not a registered model; compute ∝ B², sizes by family prefix only\n`);
    return {};
  }
  const rule = modelInfo(name).inputRule;
  const cache = new Map<number, number>();
  return {
    accepts: (size) => acceptsSize(rule, size),
    flops: (size) => {
      let f = cache.get(size);
      if (f === undefined) cache.set(size, f = modelInfo(name, { imgSize: size }).flops);
      return f;
    },
  };
}

/** Where the CLI writes. */
export interface CliIo {
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

/**
 * Run the curriculum CLI on `args`; resolves with the exit code (0 ok, 2 bad input).
 *
 * @example
 * ```ts ignore
 * const code = await runCurriculumCli(["show", "efficienttrain", "--epochs", "300"]);
 * ```
 */
export async function runCurriculumCli(args: string[], io: CliIo = {}): Promise<number> {
  const out = io.stdout ?? ((t: string) => void Deno.stdout.writeSync(new TextEncoder().encode(t)));
  const err = io.stderr ?? ((t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t)));
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        epochs: { type: "string" },
        "image-size": { type: "string" },
        model: { type: "string" },
        "size-multiple": { type: "string" },
        // the flag's first name, kept working
        "multiple-of": { type: "string" },
        "min-image-size": { type: "string" },
        "max-magnitude": { type: "string" },
        "baseline-epochs": { type: "string" },
        boundaries: { type: "string" },
        format: { type: "string" },
        "warmup-epochs": { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    const [command, ref] = positionals;
    if (values.help || command === undefined) {
      out(USAGE + "\n");
      return values.help ? 0 : 2;
    }
    if (command === "list") {
      for (const name of presetNames) {
        out(`${name.padEnd(24)} ${presets[name].description ?? ""}\n`);
      }
      return 0;
    }
    if (command === "schema") {
      out(JSON.stringify(curriculumJsonSchema(), null, 2) + "\n");
      return 0;
    }
    if (command !== "show" && command !== "export") {
      throw new InvalidArgumentError({
        argument: "command",
        value: showValue(command),
        reason: USAGE,
      });
    }
    if (ref === undefined) {
      throw new InvalidArgumentError({
        argument: "curriculum",
        value: "missing",
        reason: "name a preset or a .json file",
      });
    }
    const loaded = await loadCurriculum(ref);
    const boundaries = values.boundaries;
    if (boundaries !== undefined && boundaries !== "floor" && boundaries !== "exact") {
      throw new InvalidArgumentError({
        argument: "--boundaries",
        value: showValue(boundaries),
        reason: "must be floor or exact",
      });
    }
    const curriculum: Curriculum = boundaries === undefined ? loaded : { ...loaded, boundaries };
    const model = modelRules(values.model, err);
    const imageSize = num("image-size", values["image-size"], { integer: true }) ?? 224;
    const minSide = num("min-image-size", values["min-image-size"], { integer: true }) ?? 0;
    if (minSide > imageSize) {
      throw new InvalidArgumentError({
        argument: "--min-image-size",
        value: showValue(minSide),
        reason: `exceeds --image-size ${imageSize}`,
      });
    }
    const resolved = resolveCurriculum(curriculum, {
      epochs: num("epochs", values.epochs) ?? 300,
      imageSize,
      multipleOf: num("size-multiple", values["size-multiple"], { integer: true }) ??
        num("multiple-of", values["multiple-of"], { integer: true }) ?? 2,
      modelFamily: values.model,
      baselineEpochs: num("baseline-epochs", values["baseline-epochs"]),
      ...model,
      minSize: minSide,
      // 0 keeps the curriculum's own magnitudes, as `deno task train --max-magnitude 0` does
      maxMagnitude: num("max-magnitude", values["max-magnitude"], { zero: true }) || undefined,
    });
    if (command === "show") {
      const modelShares = model.flops === undefined
        ? undefined
        : computeBySize(resolved, { flops: model.flops });
      if (values.json) {
        const shown = {
          ...resolved,
          computeBySize: computeBySize(resolved),
          ...(modelShares === undefined ? {} : { computeBySizeModelFlops: modelShares }),
        };
        out(JSON.stringify(shown, null, 2) + "\n");
      } else {
        out(curriculumTable(resolved));
        const fmt = (shares: ReturnType<typeof computeBySize>) =>
          shares.map((s) => `${s.imageSize}px ${(100 * s.fraction).toFixed(1)}%`).join(", ");
        out(`compute by size: ${fmt(computeBySize(resolved))}\n`);
        if (modelShares !== undefined) {
          out(`compute by size (${values.model} FLOPs): ${fmt(modelShares)}\n`);
        }
      }
      return 0;
    }
    const format = values.format;
    if (format === undefined || !EXPORT_FORMATS.includes(format as ExportFormat)) {
      throw new InvalidArgumentError({
        argument: "--format",
        value: showValue(format ?? "missing"),
        reason: `must be one of ${EXPORT_FORMATS.join(", ")}`,
      });
    }
    if (values.epochs === undefined) {
      throw new InvalidArgumentError({
        argument: "--epochs",
        value: "missing",
        reason: "export needs the epoch budget",
      });
    }
    const exported = exportLauncher(resolved, {
      format: format as ExportFormat,
      warmupEpochs: values["warmup-epochs"] === undefined
        ? undefined
        : Number(values["warmup-epochs"]),
    });
    const text = values.json ? JSON.stringify(exported, null, 2) + "\n" : launcherScript(exported);
    if (values.out !== undefined) {
      await writeTextFileAtomic(values.out, text);
      if (!values.json) await Deno.chmod(values.out, 0o755).catch(() => {});
      out(`wrote ${values.out} (${exported.stages.length} launches)\n`);
    } else {
      out(text);
    }
    return 0;
  } catch (e) {
    if (
      e instanceof InvalidArgumentError || e instanceof CurriculumDecodeError ||
      e instanceof FileError ||
      (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      err(`error: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await runCurriculumCli(Deno.args));
