/**
 * Command-line flags of `deno task train` (and `compare`), generated from one table so that
 * `--help`, parsing and validation cannot drift apart. Flags are decoded once, here, at the edge.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { InvalidArgumentError } from "@efficienttrain/core";
import { decodeTrainSettings, DEFAULT_TRAIN_SETTINGS, type TrainSettings } from "./settings.ts";

type Kind = "string" | "number" | "integer" | "boolean";

/** One flag: its name, the setting it fills, its kind and help text. */
export interface FlagSpec {
  readonly flag: string;
  readonly key: keyof TrainSettings;
  readonly kind: Kind;
  readonly help: string;
}

/** Every settings flag, in `--help` order. */
export const TRAIN_FLAGS: readonly FlagSpec[] = [
  { flag: "model", key: "model", kind: "string", help: "model name (deno task models lists them)" },
  {
    flag: "data",
    key: "data",
    kind: "string",
    help: "mnist | cifar10:<path> | imagenette:<path> | folder:<path> | <path>",
  },
  {
    flag: "curriculum",
    key: "curriculum",
    kind: "string",
    help: "preset name or curriculum .json",
  },
  {
    flag: "boundaries",
    key: "boundaries",
    kind: "string",
    help: "curriculum | floor | exact (stage ends at fractional epochs)",
  },
  { flag: "epochs", key: "epochs", kind: "number", help: "epochs (ET++: 224²-equivalent epochs)" },
  {
    flag: "image-size",
    key: "imageSize",
    kind: "integer",
    help: "final training side (0 = the images' side)",
  },
  { flag: "crop-pct", key: "cropPct", kind: "number", help: "eval centre-crop fraction (timm)" },
  {
    flag: "min-image-size",
    key: "minImageSize",
    kind: "integer",
    help: "smallest side a curriculum stage may train at (0 = the model's minimum)",
  },
  {
    flag: "size-multiple",
    key: "sizeMultiple",
    kind: "integer",
    help: "curriculum sides are multiples of this (32 for ConvNeXt: no edge row dropped)",
  },
  {
    flag: "max-magnitude",
    key: "maxMagnitude",
    kind: "number",
    help: "RandAugment m of the strongest stage; every stage scales with it (0 = the curriculum's)",
  },
  { flag: "batch-size", key: "batchSize", kind: "integer", help: "micro-batch size" },
  {
    flag: "accumulate",
    key: "accumulate",
    kind: "integer",
    help: "micro-batches per optimizer step",
  },
  {
    flag: "opt",
    key: "optimizer",
    kind: "string",
    help: "adamw | sgd (Nesterov momentum, PyTorch's L2 weight decay)",
  },
  { flag: "momentum", key: "momentum", kind: "number", help: "SGD momentum factor" },
  { flag: "lr", key: "lr", kind: "number", help: "peak learning rate" },
  { flag: "min-lr", key: "minLr", kind: "number", help: "cosine floor" },
  { flag: "warmup-epochs", key: "warmupEpochs", kind: "number", help: "linear warm-up length" },
  {
    flag: "weight-decay",
    key: "weightDecay",
    kind: "number",
    help: "AdamW: decoupled decay; SGD: L2 added to the gradient, 5e-4 when not given",
  },
  { flag: "label-smoothing", key: "labelSmoothing", kind: "number", help: "label smoothing" },
  { flag: "mixup", key: "mixup", kind: "number", help: "Mixup α (0 = off)" },
  { flag: "cutmix", key: "cutmix", kind: "number", help: "CutMix α (0 = off)" },
  {
    flag: "mixup-switch-prob",
    key: "mixupSwitchProb",
    kind: "number",
    help: "P(CutMix) when both on",
  },
  {
    flag: "random-erasing",
    key: "randomErasing",
    kind: "number",
    help: "random erasing probability",
  },
  {
    flag: "rrc-scale",
    key: "rrcScale",
    kind: "number",
    help: "RandomResizedCrop's smallest area fraction (timm --scale's lower bound)",
  },
  { flag: "drop-path", key: "dropPath", kind: "number", help: "stochastic depth rate" },
  { flag: "ema", key: "ema", kind: "boolean", help: "keep and evaluate an EMA of the weights" },
  { flag: "ema-decay", key: "emaDecay", kind: "number", help: "EMA decay per optimizer step" },
  { flag: "clip-grad", key: "clipGrad", kind: "number", help: "max global grad norm (0 = off)" },
  { flag: "backend", key: "backend", kind: "string", help: "auto | cpu | wasm | webgpu | native" },
  { flag: "seed", key: "seed", kind: "integer", help: "seed of everything random" },
  { flag: "out", key: "out", kind: "string", help: "parent folder of run directories" },
  { flag: "workers", key: "workers", kind: "integer", help: "augmentation workers (0 = inline)" },
  {
    flag: "limit-train",
    key: "limitTrain",
    kind: "integer",
    help: "use the first N train images (0 = all)",
  },
  {
    flag: "limit-test",
    key: "limitTest",
    kind: "integer",
    help: "use the first N test images (0 = all)",
  },
  {
    flag: "max-hours",
    key: "maxHours",
    kind: "number",
    help: "refuse a run predicted to take longer (0 = no limit)",
  },
  { flag: "eval-batch-size", key: "evalBatchSize", kind: "integer", help: "evaluation batch size" },
  {
    flag: "checkpoint-minutes",
    key: "checkpointMinutes",
    kind: "number",
    help: "also checkpoint every N minutes",
  },
  {
    flag: "checkpoint-steps",
    key: "checkpointSteps",
    kind: "integer",
    help: "also checkpoint every N steps (0 = off)",
  },
  { flag: "log-every", key: "logEverySteps", kind: "integer", help: "steps between metric lines" },
  {
    flag: "loss-read-every",
    key: "lossReadEvery",
    kind: "integer",
    help: "read the loss back every N steps (GPU: > 1 lets the device run ahead)",
  },
  {
    flag: "skip-bad-images",
    key: "skipBadImages",
    kind: "boolean",
    help: "leave out unreadable images (listed in the run directory)",
  },
];

/** Parsed command line: settings plus the run-control flags. */
export interface ParsedTrainArgs {
  readonly settings: TrainSettings;
  /** `--resume <run dir>`. */
  readonly resume?: string;
  /** `--run-name`: folder name under `--out` (default: time, model, curriculum). */
  readonly runName?: string;
  readonly help: boolean;
  readonly json: boolean;
  /** Settings given on the command line (the rest are defaults). */
  readonly explicit: readonly (keyof TrainSettings)[];
}

/**
 * Parse `deno task train` flags into decoded settings; a bad value is an
 * `InvalidArgumentError` naming the flag and the value.
 *
 * @example
 * ```ts
 * import { parseTrainArgs } from "@efficienttrain/train";
 * const { settings } = parseTrainArgs(["--epochs", "3", "--lr=0.01"]);
 * console.assert(settings.epochs === 3 && settings.lr === 0.01);
 * ```
 */
export function parseTrainArgs(
  args: readonly string[],
  defaults: Partial<TrainSettings> = {},
): ParsedTrainArgs {
  const options: Record<string, { type: "string" | "boolean" }> = {
    resume: { type: "string" },
    "run-name": { type: "string" },
    help: { type: "boolean" },
    json: { type: "boolean" },
  };
  for (const f of TRAIN_FLAGS) {
    options[f.flag] = { type: f.kind === "boolean" ? "boolean" : "string" };
  }
  let parsed;
  const normalised = joinNegativeValues(args, options);
  try {
    parsed = parseArgs({ args: normalised, options, allowPositionals: false, strict: true });
  } catch (e) {
    throw argumentError(e as Error & { code?: string }, normalised, Object.keys(options));
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const input: Record<string, unknown> = { ...defaults };
  const explicit: (keyof TrainSettings)[] = [];
  for (const f of TRAIN_FLAGS) {
    const raw = values[f.flag];
    if (raw === undefined) continue;
    input[f.key] = convert(f, raw);
    explicit.push(f.key);
  }
  let settings: TrainSettings;
  try {
    settings = decodeTrainSettings(input);
  } catch (e) {
    const text = String((e as Error).message ?? e);
    const key = /\["([A-Za-z]+)"\]/.exec(text)?.[1];
    const spec = TRAIN_FLAGS.find((f) => f.key === key);
    throw new InvalidArgumentError({
      argument: spec ? `--${spec.flag}` : "settings",
      value: spec ? String(input[spec.key]) : "",
      reason: text.split("\n")[0],
    });
  }
  return {
    settings,
    resume: values.resume as string | undefined,
    runName: values["run-name"] as string | undefined,
    help: values.help === true,
    json: values.json === true,
    explicit,
  };
}

/**
 * `--batch-size -3` as `--batch-size=-3`: node's parser reads a value starting with a dash as
 * another flag, but a negative number after a flag that takes a value is that flag's value
 * (and then gets the value's own error: "must be ≥ 1").
 */
function joinNegativeValues(
  args: readonly string[],
  options: Record<string, { type: "string" | "boolean" }>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") && !args[i].includes("=") ? args[i].slice(2) : "";
    const next = args[i + 1];
    if (options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else out.push(args[i]);
  }
  return out;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** node:util's parse error as an error naming the offending flag and its value only. */
function argumentError(
  e: Error & { code?: string },
  args: readonly string[],
  known: readonly string[],
): InvalidArgumentError {
  const message = e.message.split("\n")[0];
  const flag = /'(--?[^' =]+)/.exec(message)?.[1];
  if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const token = /'([^']*)'/.exec(message)?.[1] ?? "";
    return new InvalidArgumentError({
      argument: "argument",
      value: token,
      reason: "unexpected value without a flag (flags are --name value or --name=value)",
    });
  }
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag !== undefined) {
    const name = flag.replace(/^--?/, "");
    const nearest = [...known].sort((a, b) => editDistance(name, a) - editDistance(name, b))[0];
    const hint = nearest !== undefined && editDistance(name, nearest) <= 3
      ? `; did you mean --${nearest}?`
      : "";
    return new InvalidArgumentError({
      argument: "flag",
      value: flag,
      reason: `unknown flag (--help lists them)${hint}`,
    });
  }
  const at = args.findIndex((a) => a === flag || a.startsWith(`${flag}=`));
  const token = at < 0
    ? ""
    : args[at].includes("=")
    ? args[at].slice(args[at].indexOf("=") + 1)
    : (args[at + 1] ?? "(missing)");
  return new InvalidArgumentError({
    argument: flag ?? "arguments",
    value: token,
    reason: message,
  });
}

/**
 * `--help` text listing every flag with its default.
 *
 * @example
 * ```ts
 * import { trainHelp } from "@efficienttrain/train";
 * console.assert(trainHelp("train").includes("--batch-size"));
 * ```
 */
export function trainHelp(command: string, defaults: Partial<TrainSettings> = {}): string {
  const merged = { ...DEFAULT_TRAIN_SETTINGS, ...defaults };
  const lines = TRAIN_FLAGS.map((f) => {
    const name = `--${f.flag}${
      f.kind === "boolean" ? "" : ` <${f.kind === "string" ? "value" : "n"}>`
    }`;
    return `  ${name.padEnd(28)} ${f.help} (default: ${merged[f.key]})`;
  });
  return [
    `usage: deno task ${command} [flags]`,
    "",
    ...lines,
    `  ${"--resume <run dir>".padEnd(28)} continue a killed run from its checkpoint`,
    `  ${"--run-name <name>".padEnd(28)} run folder name under --out`,
    `  ${"--json".padEnd(28)} print the summary as JSON`,
  ].join("\n");
}

function convert(spec: FlagSpec, raw: string | boolean): unknown {
  if (spec.kind === "boolean" || spec.kind === "string") return raw;
  const value = Number(raw);
  if (
    raw === "" || !Number.isFinite(value) || (spec.kind === "integer" && !Number.isInteger(value))
  ) {
    throw new InvalidArgumentError({
      argument: `--${spec.flag}`,
      value: String(raw),
      reason: spec.kind === "integer" ? "must be an integer" : "must be a number",
    });
  }
  return value;
}
