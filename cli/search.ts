/**
 * `deno task search`: greedy curriculum search (ICCV procedure or the EfficientTrain++
 * sequential variant), resumable, with a report.
 *
 *   deno task search --model M --data D --epochs E --stages N --candidates 16,20,24,28
 *     --tolerance T --budget-minutes MIN --out DIR [--mode iccv|etpp] [--image-size H]
 *     [--magnitudes 1,3,5,7,9] [--seed S] [--repeats R] [--max-trials K]
 *     [--runner train|fake:thresholds=…] [--train-args="--batch-size 128 --backend wasm …"]
 *
 * The default runner trains every trial with `deno task train` in a subprocess (its flags
 * `--model --data --curriculum --epochs --seed --out --run-name --json`, plus `--train-args`),
 * reading top-1 (a fraction: `--tolerance 0.003` is 0.3 points) and wall time from its JSON
 * summary. Re-running with the same flags and `--out` continues a killed search from
 * DIR/state.json.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  FileError,
  InvalidArgumentError,
  showValue,
  taggedError,
  type TaggedErrorClass,
  writeTextFileAtomic,
} from "@efficienttrain/core";
import { type Curriculum, curriculumToJson } from "@efficienttrain/curricula";
import { acceptsSize, listModels, modelInfo } from "@efficienttrain/models";
import {
  fakeRunner,
  greedySearch,
  parseFakeRunnerSpec,
  type SearchResult,
  type TrialRunner,
  writeSearchOutputs,
} from "@efficienttrain/curricula";

/** The parsed flags, handed to a runner factory. */
export interface SearchCliFlags {
  readonly model: string;
  readonly data: string;
  readonly mode: "iccv" | "etpp";
  readonly epochs: number;
  readonly imageSize: number;
  readonly stages: number;
  readonly candidates: ReadonlyArray<number>;
  readonly tolerance: number;
  readonly out: string;
}

/** How {@link runSearchCli} gets its trainer, and where it writes. */
export interface SearchCliOptions {
  /** The trainer to run trials with (used unless `--runner fake:…` is given). */
  readonly runner?: TrialRunner;
  /** Build the trainer from the parsed flags (when `runner` is absent). */
  readonly makeRunner?: (flags: SearchCliFlags) => Promise<TrialRunner>;
  /** Program and leading arguments of the default train runner (tests substitute a stub). */
  readonly trainCommand?: ReadonlyArray<string>;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
}

type TrialFailedFields = { trial: number; command: string; reason: string };
const TrialFailedBase: TaggedErrorClass<"TrialFailedError", TrialFailedFields> = taggedError(
  "TrialFailedError",
);

/** A training subprocess that failed or printed no summary; re-running the search retries it. */
export class TrialFailedError extends TrialFailedBase {
  /** Human-readable description naming the trial and the command. */
  override get message(): string {
    return `trial ${this.trial} failed (${this.reason}): ${this.command}`;
  }
}

/** Options of {@link trainProcessRunner}. */
export interface TrainProcessOptions {
  /** Extra `deno task train` flags for every trial (batch size, backend, …). */
  readonly trainArgs?: ReadonlyArray<string>;
  /** The program and leading arguments; default `deno run -A cli/train.ts`. */
  readonly command?: ReadonlyArray<string>;
}

/**
 * A {@link TrialRunner} that trains each trial in a `deno task train` subprocess: the trial's
 * curriculum is written to `OUT/trials/trial-N.json`, the run goes to `OUT/runs/`, and the
 * accuracy and wall time come from the `--json` summary (`top1`, `wallSeconds`).
 *
 * @example
 * ```ts ignore
 * const runner = trainProcessRunner(flags, { trainArgs: ["--batch-size", "64"] });
 * ```
 */
export function trainProcessRunner(
  flags: SearchCliFlags,
  options: TrainProcessOptions = {},
): TrialRunner {
  const command = options.command ??
    [Deno.execPath(), "run", "-A", new URL("./train.ts", import.meta.url).pathname];
  return async (curriculum: Curriculum, context) => {
    await Deno.mkdir(`${flags.out}/trials`, { recursive: true });
    const file = `${flags.out}/trials/trial-${context.trial}.json`;
    await writeTextFileAtomic(file, curriculumToJson(curriculum));
    const args = [
      ...command.slice(1),
      "--model",
      flags.model,
      "--data",
      flags.data,
      "--curriculum",
      file,
      "--epochs",
      String(context.epochs),
      "--seed",
      String(context.seed),
      "--out",
      `${flags.out}/runs`,
      "--run-name",
      `trial-${context.trial}-seed${context.seed}`,
      "--json",
      ...(options.trainArgs ?? []),
    ];
    const shown = [command[0], ...args].join(" ");
    const fail = (reason: string) =>
      new TrialFailedError({ trial: context.trial, command: shown, reason });
    const result = await new Deno.Command(command[0], { args, stdout: "piped", stderr: "inherit" })
      .output()
      .catch((e) => {
        throw fail((e as Error).message);
      });
    if (!result.success) throw fail(`exit code ${result.code}`);
    const text = new TextDecoder().decode(result.stdout).trim();
    // The summary is the last JSON object on stdout (a runner may print lines before it).
    const start = text.startsWith("{") ? 0 : text.lastIndexOf("\n{") + 1;
    let summary: { top1?: unknown; wallSeconds?: unknown };
    try {
      summary = JSON.parse(text.slice(start));
    } catch {
      throw fail("no JSON summary on stdout");
    }
    if (typeof summary.top1 !== "number" || typeof summary.wallSeconds !== "number") {
      throw fail("the summary lacks top1/wallSeconds");
    }
    return { accuracy: summary.top1, wallSeconds: summary.wallSeconds };
  };
}

const DATA_SIZES: Record<string, number> = {
  mnist: 28,
  "fashion-mnist": 28,
  cifar10: 32,
  cifar100: 32,
  imagenet: 224,
};

const USAGE = `usage: deno task search --model M --data D --epochs E --stages N --candidates 16,24,…
  --tolerance T --out DIR [--budget-minutes MIN] [--mode iccv|etpp] [--image-size H]
  [--magnitudes m1,…,mN] [--seed S] [--repeats R] [--max-trials K]
  [--runner train|fake:<formula>] [--train-args="<deno task train flags>"]`;

function bad(flag: string, value: unknown, reason: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument: `--${flag}`, value: showValue(value), reason });
}

function number(
  flag: string,
  value: string | undefined,
  options: { integer?: boolean; min?: number } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  const min = options.min ?? Number.MIN_VALUE;
  if (!Number.isFinite(v) || v < min || (options.integer && !Number.isInteger(v))) {
    throw bad(
      flag,
      value,
      `must be ${options.integer ? "an integer" : "a number"} ≥ ${options.min ?? "> 0"}`,
    );
  }
  return v;
}

function list(flag: string, value: string | undefined): number[] | undefined {
  if (value === undefined) return undefined;
  const xs = value.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x) || x < 0)) {
    throw bad(flag, value, "must be a comma-separated list of non-negative numbers");
  }
  return xs;
}

/**
 * Run the search CLI; resolves with the exit code (0 done or stopped by the budget, 2 bad
 * input) and, when it ran, the result. Wire the real trainer with `{ runner }` or
 * `{ makeRunner }`.
 *
 * @example
 * ```ts ignore
 * import { runSearchCli } from "./cli/search.ts";
 * await runSearchCli(Deno.args, { makeRunner: (flags) => trainerRunner(flags) });
 * ```
 */
export async function runSearchCli(
  args: string[],
  options: SearchCliOptions = {},
): Promise<{ code: number; result?: SearchResult }> {
  const out = options.stdout ??
    ((t: string) => void Deno.stdout.writeSync(new TextEncoder().encode(t)));
  const err = options.stderr ??
    ((t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t)));
  try {
    const { values } = parseArgs({
      args,
      options: {
        model: { type: "string" },
        data: { type: "string" },
        mode: { type: "string", default: "iccv" },
        epochs: { type: "string" },
        "image-size": { type: "string" },
        stages: { type: "string", default: "5" },
        candidates: { type: "string" },
        tolerance: { type: "string", default: "0" },
        "budget-minutes": { type: "string" },
        out: { type: "string" },
        magnitudes: { type: "string" },
        magnitude: { type: "string" },
        seed: { type: "string", default: "0" },
        repeats: { type: "string", default: "1" },
        "max-trials": { type: "string" },
        runner: { type: "string", default: "train" },
        "train-args": { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      out(USAGE + "\n");
      return { code: 0 };
    }
    const required = (flag: "model" | "data" | "epochs" | "candidates" | "out") => {
      const v = values[flag];
      if (v === undefined) throw bad(flag, "missing", `is required\n${USAGE}`);
      return v;
    };
    const mode = values.mode;
    if (mode !== "iccv" && mode !== "etpp") throw bad("mode", mode, "must be iccv or etpp");
    const data = required("data");
    const imageSize = number("image-size", values["image-size"], { integer: true, min: 2 }) ??
      DATA_SIZES[data.toLowerCase().split(":")[0]];
    if (imageSize === undefined) {
      throw bad(
        "image-size",
        "missing",
        `is required for data ${data} (known: ${Object.keys(DATA_SIZES).join(", ")})`,
      );
    }
    const flags: SearchCliFlags = {
      model: required("model"),
      data,
      mode,
      epochs: number("epochs", required("epochs"))!,
      imageSize,
      stages: number("stages", values.stages, { integer: true, min: 1 })!,
      candidates: list("candidates", required("candidates"))!,
      tolerance: number("tolerance", values.tolerance, { min: 0 })!,
      out: required("out"),
    };
    if ((listModels() as string[]).includes(flags.model)) {
      // Candidates the model cannot take would be silently rounded by the trainer.
      const rule = modelInfo(flags.model).inputRule;
      for (const c of flags.candidates) {
        if (!acceptsSize(rule, c)) {
          throw bad(
            "candidates",
            c,
            `${flags.model} accepts multiples of ${rule.step} that are ≥ ${rule.min}`,
          );
        }
      }
    }
    let runner: TrialRunner;
    if (values.runner.startsWith("fake:")) {
      runner = fakeRunner(parseFakeRunnerSpec(values.runner));
    } else if (values.runner !== "train") {
      throw bad("runner", values.runner, "must be train or fake:<formula>");
    } else if (options.runner !== undefined) {
      runner = options.runner;
    } else if (options.makeRunner !== undefined) {
      runner = await options.makeRunner(flags);
    } else {
      const trainArgs = values["train-args"]?.split(/\s+/).filter((a) => a !== "") ?? [];
      runner = trainProcessRunner(flags, { trainArgs, command: options.trainCommand });
    }
    const budgetMinutes = number("budget-minutes", values["budget-minutes"]);
    await Deno.mkdir(flags.out, { recursive: true });
    const result = await greedySearch(runner, {
      mode: flags.mode,
      stages: flags.stages,
      candidates: flags.candidates,
      epochs: flags.epochs,
      imageSize: flags.imageSize,
      tolerance: flags.tolerance,
      magnitudes: list("magnitudes", values.magnitudes),
      magnitude: number("magnitude", values.magnitude, { min: 0 }),
      budgetSeconds: budgetMinutes === undefined ? undefined : budgetMinutes * 60,
      maxTrials: number("max-trials", values["max-trials"], { integer: true, min: 1 }),
      seed: number("seed", values.seed, { integer: true, min: 0 }),
      repeats: number("repeats", values.repeats, { integer: true, min: 1 }),
      statePath: `${flags.out}/state.json`,
      name: `search-${flags.model}-${flags.data}`,
      log: (line) => out(line + "\n"),
    });
    await writeSearchOutputs(result, flags.out);
    out(
      `found B = ${
        result.sizes.join(",")
      } (${result.stopReason}); wrote ${flags.out}/curriculum.json, ` +
        `report.md, search.svg\n`,
    );
    return { code: 0, result };
  } catch (e) {
    if (
      e instanceof InvalidArgumentError || e instanceof FileError ||
      e instanceof TrialFailedError ||
      (e instanceof TypeError && "code" in e && String(e.code).startsWith("ERR_PARSE_ARGS"))
    ) {
      err(`error: ${(e as Error).message}\n`);
      return { code: 2 };
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit((await runSearchCli(Deno.args)).code);
