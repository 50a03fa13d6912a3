/**
 * Greedy curriculum search with a pluggable trainer.
 *
 * - `iccv` (EfficientTrain, ICCV 2023): N stages of equal epochs. From the last stage
 *   backwards, stage k gets the smallest candidate B (below the size already chosen for stage
 *   k+1) such that training with stages 0…k at B, the later stages as chosen, reaches the
 *   baseline's final accuracy minus the tolerance. Candidates are tried in increasing order;
 *   the first that passes is taken, so no monotonicity of accuracy in B is assumed.
 * - `etpp` (EfficientTrain++): N stages of equal compute under a fixed budget in
 *   H²-equivalent epochs. From the first stage forwards, stage k gets the candidate (≥ the
 *   size chosen for stage k−1) with the highest final accuracy, the later stages at full size;
 *   ties go to the smaller B.
 *
 * Every trial result is saved in a JSON state file (atomically, after each trial). The search
 * is deterministic given the results, so a killed search re-run with the same options replays
 * the saved trials and continues with the first missing one.
 *
 * @module
 */
import {
  FileError,
  InvalidArgumentError,
  showValue,
  writeTextFileAtomic,
} from "@efficienttrain/core";
import { equalComputeStages, equalEpochStages } from "./algebra.ts";
import { resolveCurriculum } from "./resolve.ts";
import type { Curriculum } from "./types.ts";

/** What the trainer reports for one trial. */
export interface TrialResult {
  /** Final top-1 accuracy (any unit, the same as `tolerance`). */
  readonly accuracy: number;
  /** Wall time of the trial in seconds (counts against the budget). */
  readonly wallSeconds: number;
}

/** Context passed with every trial. */
export interface TrialContext {
  /** Random seed of the run. */
  readonly seed: number;
  /** Epochs (or H²-equivalent epochs for `etpp`) of the trial. */
  readonly epochs: number;
  /** Full side H. */
  readonly imageSize: number;
  /** Trial number in the search (0 = baseline). */
  readonly trial: number;
}

/** Trains one curriculum and reports its final accuracy and wall time. */
export type TrialRunner = (curriculum: Curriculum, context: TrialContext) => Promise<TrialResult>;

/** Options of {@link greedySearch}. */
export interface SearchOptions {
  /** Search procedure: `iccv` or `etpp`. */
  readonly mode: "iccv" | "etpp";
  /** Number of stages N. */
  readonly stages: number;
  /** Candidate input sides in pixels at `imageSize` (H itself is always a candidate). */
  readonly candidates: ReadonlyArray<number>;
  /** Epochs per trial (`iccv`) or the compute budget in H²-equivalent epochs (`etpp`). */
  readonly epochs: number;
  /** Full side H. */
  readonly imageSize: number;
  /** `iccv`: accepted drop below the baseline accuracy. */
  readonly tolerance?: number;
  /** RandAugment magnitude per stage (default: `magnitude` for every stage). */
  readonly magnitudes?: ReadonlyArray<number>;
  /** Magnitude of every stage when `magnitudes` is absent (default 9, the paper's baseline). */
  readonly magnitude?: number;
  /** Stop starting trials once the trials' wall time reaches this many seconds. */
  readonly budgetSeconds?: number;
  /** Stop after this many trial runs (repeats count separately). */
  readonly maxTrials?: number;
  /** Seed of the first repeat (default 0). */
  readonly seed?: number;
  /** Runs per configuration, seeds `seed … seed+repeats−1`, accuracy averaged (default 1). */
  readonly repeats?: number;
  /** JSON state file for resuming; none when absent. */
  readonly statePath?: string;
  /** Name of the found curriculum. */
  readonly name?: string;
  /** One line per trial and decision. */
  readonly log?: (line: string) => void;
}

/** One run of the trainer. */
export interface TrialRecord {
  /** Trial number in the search (0 = baseline). */
  readonly trial: number;
  /** Input side per stage. */
  readonly sizes: ReadonlyArray<number>;
  /** Random seed of the run. */
  readonly seed: number;
  /** Final accuracy reported by the trainer. */
  readonly accuracy: number;
  /** Wall time of the run in seconds. */
  readonly wallSeconds: number;
  /** Compute relative to the full-size trial (B² cost). */
  readonly relativeCompute: number;
  /** The stage being decided (−1 for the baseline). */
  readonly stage: number;
}

/** The resumable state (the JSON state file). */
export interface SearchState {
  /** State file format version. */
  readonly version: 1;
  /** The options that determine the search. */
  readonly config: SearchConfig;
  /** Every trial run so far, in order. */
  readonly trials: ReadonlyArray<TrialRecord>;
}

/** The options that determine the search (checked on resume). */
export interface SearchConfig {
  /** Search procedure: `iccv` or `etpp`. */
  readonly mode: "iccv" | "etpp";
  /** Number of stages N. */
  readonly stages: number;
  /** Candidate input sides in pixels at H. */
  readonly candidates: ReadonlyArray<number>;
  /** Epochs per trial (`iccv`) or the compute budget in H²-equivalent epochs (`etpp`). */
  readonly epochs: number;
  /** Full side H. */
  readonly imageSize: number;
  /** Accepted drop below the baseline accuracy (`iccv`). */
  readonly tolerance: number;
  /** RandAugment magnitude per stage. */
  readonly magnitudes: ReadonlyArray<number>;
  /** Seed of the first repeat. */
  readonly seed: number;
  /** Runs per configuration (accuracy averaged). */
  readonly repeats: number;
}

/** The outcome of a search. */
export interface SearchResult {
  /** The options that determine the search. */
  readonly config: SearchConfig;
  /** The curriculum found (the best complete decision so far if the budget ran out). */
  readonly curriculum: Curriculum;
  /** Input side per stage. */
  readonly sizes: ReadonlyArray<number>;
  /** Baseline accuracy (mean over repeats). */
  readonly baselineAccuracy: number;
  /** Accuracy of the found curriculum (mean over repeats). */
  readonly accuracy: number;
  /** Every trial run, including those of earlier (resumed) invocations. */
  readonly trials: ReadonlyArray<TrialRecord>;
  /** `done`, `budget` (wall-time budget reached) or `max-trials`. */
  readonly stopReason: "done" | "budget" | "max-trials";
}

function bad(argument: string, value: unknown, reason: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument, value: showValue(value), reason });
}

class Stop {
  constructor(readonly reason: "budget" | "max-trials") {}
}

function configOf(o: SearchOptions): SearchConfig {
  const H = o.imageSize;
  if (!Number.isInteger(H) || H < 2) throw bad("imageSize", H, "must be an integer ≥ 2");
  if (!Number.isInteger(o.stages) || o.stages < 1) {
    throw bad("stages", o.stages, "must be a positive integer");
  }
  if (!(o.epochs > 0)) throw bad("epochs", o.epochs, "must be > 0");
  for (const c of o.candidates) {
    if (!Number.isInteger(c) || c < 1 || c > H) {
      throw bad("candidates", c, `must be integers in [1, ${H}]`);
    }
  }
  const candidates = [...new Set([...o.candidates, H])].sort((a, b) => a - b);
  const magnitudes = o.magnitudes ?? Array.from({ length: o.stages }, () => o.magnitude ?? 9);
  if (magnitudes.length !== o.stages) {
    throw bad("magnitudes", magnitudes, `needs one magnitude per stage (${o.stages})`);
  }
  const repeats = o.repeats ?? 1;
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw bad("repeats", repeats, "must be a positive integer");
  }
  const tolerance = o.tolerance ?? 0;
  if (!(tolerance >= 0)) throw bad("tolerance", tolerance, "must be ≥ 0");
  return {
    mode: o.mode,
    stages: o.stages,
    candidates,
    epochs: o.epochs,
    imageSize: H,
    tolerance,
    magnitudes: [...magnitudes],
    seed: o.seed ?? 0,
    repeats,
  };
}

/**
 * The curriculum a search evaluates for a list of stage sizes: equal epochs (`iccv`) or equal
 * compute (`etpp`) at absolute sizes with reference size H.
 *
 * @example
 * ```ts
 * import { searchCurriculum } from "@efficienttrain/curricula";
 * const c = searchCurriculum([16, 32], { mode: "iccv", imageSize: 32, magnitudes: [9, 9] });
 * console.assert(c.progress === "epochs" && c.segments.length === 2);
 * ```
 */
export function searchCurriculum(
  sizes: ReadonlyArray<number>,
  options: {
    mode: "iccv" | "etpp";
    imageSize: number;
    magnitudes: ReadonlyArray<number>;
    name?: string;
  },
): Curriculum {
  const specs = sizes.map((size, k) => ({ size, magnitude: options.magnitudes[k] }));
  const meta = {
    name: options.name ?? "search",
    description: `Found by the ${options.mode} greedy search: B = ${
      sizes.join(",")
    } of ${options.imageSize}.`,
    imageSize: options.imageSize,
  };
  return options.mode === "iccv" ? equalEpochStages(specs, meta) : equalComputeStages(specs, meta);
}

function sameConfig(a: SearchConfig, b: SearchConfig): string | undefined {
  for (const key of Object.keys(b) as (keyof SearchConfig)[]) {
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) {
      return `${key}: state file has ${JSON.stringify(a[key])}, options give ${
        JSON.stringify(b[key])
      }`;
    }
  }
  return undefined;
}

/**
 * Read a search state file; `undefined` when it does not exist.
 *
 * @example
 * ```ts ignore
 * import { readSearchState } from "@efficienttrain/curricula";
 * const state = await readSearchState("runs/search/state.json");
 * ```
 */
export async function readSearchState(path: string): Promise<SearchState | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new FileError({ path, reason: (e as Error).message });
  }
  try {
    const state = JSON.parse(text) as SearchState;
    if (state.version !== 1 || !Array.isArray(state.trials) || typeof state.config !== "object") {
      throw new Error("not a search state (version 1)");
    }
    return state;
  } catch (e) {
    throw new FileError({ path, reason: (e as Error).message });
  }
}

/**
 * Run the greedy curriculum search (see the module doc for both procedures).
 *
 * @example
 * ```ts
 * import { greedySearch } from "@efficienttrain/curricula";
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * // A fake trainer: accuracy drops when an early stage is below 16 px or a late one below 32.
 * const runner = (c: Parameters<typeof resolveCurriculum>[0]) => {
 *   const sizes = c.segments.map((s) => s.kind === "stage" && typeof s.size === "number" ? s.size : 0);
 *   const ok = sizes[0] >= 16 && sizes[1] >= 32;
 *   return Promise.resolve({ accuracy: ok ? 0.9 : 0.5, wallSeconds: 1 });
 * };
 * const r = await greedySearch(runner, { mode: "iccv", stages: 2, candidates: [8, 16, 24], epochs: 4, imageSize: 32 });
 * console.assert(r.sizes.join() === "16,32");
 * ```
 */
export async function greedySearch(
  runner: TrialRunner,
  options: SearchOptions,
): Promise<SearchResult> {
  const config = configOf(options);
  const log = options.log ?? (() => {});
  const H = config.imageSize;
  let saved: TrialRecord[] = [];
  if (options.statePath !== undefined) {
    const state = await readSearchState(options.statePath);
    if (state !== undefined) {
      const diff = sameConfig(state.config, config);
      if (diff !== undefined) {
        throw new FileError({
          path: options.statePath,
          reason: `belongs to another search (${diff})`,
        });
      }
      saved = [...state.trials];
      log(`resuming: ${saved.length} trial(s) in ${options.statePath}`);
    }
  }
  const savedByKey = new Map(saved.map((t) => [`${t.sizes.join(",")}@${t.seed}`, t]));
  let wall = saved.reduce((a, t) => a + t.wallSeconds, 0);
  let runs = 0;

  const relCompute = (sizes: ReadonlyArray<number>): number => {
    const c = searchCurriculum(sizes, {
      mode: config.mode,
      imageSize: H,
      magnitudes: config.magnitudes,
    });
    return resolveCurriculum(c, {
      epochs: config.epochs,
      imageSize: H,
      multipleOf: 1,
      baselineEpochs: config.epochs,
    })
      .relativeCompute;
  };

  const evaluate = async (sizes: number[], stage: number): Promise<number> => {
    let sum = 0;
    for (let r = 0; r < config.repeats; r++) {
      const seed = config.seed + r;
      const key = `${sizes.join(",")}@${seed}`;
      let record = savedByKey.get(key);
      if (record === undefined) {
        if (options.budgetSeconds !== undefined && wall >= options.budgetSeconds) {
          throw new Stop("budget");
        }
        if (options.maxTrials !== undefined && runs >= options.maxTrials) {
          throw new Stop("max-trials");
        }
        const trial = saved.length;
        const curriculum = searchCurriculum(sizes, {
          mode: config.mode,
          imageSize: H,
          magnitudes: config.magnitudes,
          name: `trial-${trial}`,
        });
        const result = await runner(curriculum, {
          seed,
          epochs: config.epochs,
          imageSize: H,
          trial,
        });
        if (!Number.isFinite(result.accuracy) || !(result.wallSeconds >= 0)) {
          throw bad("trial result", result, "accuracy must be finite and wallSeconds ≥ 0");
        }
        record = {
          trial,
          sizes: [...sizes],
          seed,
          accuracy: result.accuracy,
          wallSeconds: result.wallSeconds,
          relativeCompute: relCompute(sizes),
          stage,
        };
        runs++;
        wall += result.wallSeconds;
        saved.push(record);
        savedByKey.set(key, record);
        if (options.statePath !== undefined) {
          const state: SearchState = { version: 1, config, trials: saved };
          await writeTextFileAtomic(options.statePath, JSON.stringify(state, null, 2) + "\n");
        }
        log(
          `trial ${record.trial}: B = ${sizes.join(",")} seed ${seed} → accuracy ${
            Number(record.accuracy.toPrecision(6))
          } ` +
            `(${record.wallSeconds.toFixed(1)} s, compute ${record.relativeCompute.toFixed(3)})`,
        );
      }
      sum += record.accuracy;
    }
    return sum / config.repeats;
  };

  const N = config.stages;
  const sizes = Array.from({ length: N }, () => H);
  let baselineAccuracy = NaN;
  let accuracy = NaN;
  let stopReason: SearchResult["stopReason"] = "done";
  try {
    baselineAccuracy = await evaluate(sizes, -1);
    accuracy = baselineAccuracy;
    log(`baseline accuracy ${baselineAccuracy}`);
    if (config.mode === "iccv") {
      const threshold = baselineAccuracy - config.tolerance;
      for (let k = N - 1; k >= 0; k--) {
        for (const b of config.candidates.filter((c) => c < sizes[k])) {
          const trial = sizes.map((s, i) => (i <= k ? b : s));
          const acc = await evaluate(trial, k);
          if (acc >= threshold) {
            for (let i = 0; i <= k; i++) sizes[i] = b;
            accuracy = acc;
            break;
          }
        }
        log(`stage ${k}: B = ${sizes[k]}`);
      }
    } else {
      for (let k = 0; k < N; k++) {
        const lower = k === 0 ? 0 : sizes[k - 1];
        let best = { b: H, acc: k === 0 ? baselineAccuracy : accuracy };
        for (const b of config.candidates.filter((c) => c >= lower && c < H)) {
          const acc = await evaluate(sizes.map((s, i) => (i === k ? b : s)), k);
          if (acc > best.acc || (acc === best.acc && b < best.b)) best = { b, acc };
        }
        sizes[k] = best.b;
        accuracy = best.acc;
        log(`stage ${k}: B = ${sizes[k]}`);
      }
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    stopReason = e.reason;
    log(`stopped (${e.reason}); keeping B = ${sizes.join(",")}`);
  }
  return {
    config,
    curriculum: searchCurriculum(sizes, {
      mode: config.mode,
      imageSize: H,
      magnitudes: config.magnitudes,
      name: options.name ?? "search",
    }),
    sizes: [...sizes],
    baselineAccuracy,
    accuracy,
    trials: saved,
    stopReason,
  };
}
