/**
 * A fake trainer for testing searches: final accuracy is a known function of the input size
 * of every stage, so the optimum is known in advance.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "@efficienttrain/core";
import { resolveCurriculum } from "./resolve.ts";
import { specToPixels } from "./size_spec.ts";
import type { Curriculum } from "./types.ts";
import type { TrialContext, TrialResult, TrialRunner } from "./search.ts";

/** Parameters of {@link fakeRunner}. */
export interface FakeRunnerSpec {
  /** Smallest harmless side per stage. */
  readonly thresholds: ReadonlyArray<number>;
  /** Accuracy of the full-size baseline (default 0.8). */
  readonly base?: number;
  /** Accuracy lost per stage below its threshold (default 0.05). */
  readonly drop?: number;
  /** Accuracy gained per stage at or above its threshold, × (H/B − 1) (default 0.01). */
  readonly gain?: number;
  /** Wall seconds per full-size epoch (default 1); trials cost ∝ compute. */
  readonly secondsPerEpoch?: number;
}

/**
 * A {@link TrialRunner} whose accuracy is
 * `base + Σₖ (Bₖ ≥ tₖ ? gain·(H/Bₖ − 1) : −drop)` and whose wall time is
 * `secondsPerEpoch · epochs · relative compute`. With `gain` > 0 the smallest harmless side
 * of every stage is also the most accurate, so both search procedures must find the
 * thresholds.
 *
 * @example
 * ```ts
 * import { fakeRunner, searchCurriculum } from "@efficienttrain/curricula";
 * const run = fakeRunner({ thresholds: [16, 32] });
 * const c = searchCurriculum([8, 32], { mode: "iccv", imageSize: 32, magnitudes: [9, 9] });
 * const r = await run(c, { seed: 0, epochs: 2, imageSize: 32, trial: 0 });
 * console.assert(Math.abs(r.accuracy - 0.75) < 1e-12);
 * ```
 */
export function fakeRunner(spec: FakeRunnerSpec): TrialRunner {
  const base = spec.base ?? 0.8;
  const drop = spec.drop ?? 0.05;
  const gain = spec.gain ?? 0.01;
  const secondsPerEpoch = spec.secondsPerEpoch ?? 1;
  return (curriculum: Curriculum, context: TrialContext): Promise<TrialResult> => {
    const H = context.imageSize;
    const sizes = curriculum.segments.map((s) =>
      s.kind === "stage" ? specToPixels(s.size, H, { refSize: curriculum.imageSize }) : H
    );
    if (sizes.length !== spec.thresholds.length) {
      throw new InvalidArgumentError({
        argument: "fake thresholds",
        value: showValue(spec.thresholds),
        reason: `the curriculum has ${sizes.length} stages`,
      });
    }
    let accuracy = base;
    sizes.forEach((b, k) => {
      accuracy += b >= spec.thresholds[k] - 1e-9 ? gain * (H / b - 1) : -drop;
    });
    const resolved = resolveCurriculum(curriculum, {
      epochs: context.epochs,
      imageSize: H,
      multipleOf: 1,
    });
    const wallSeconds = secondsPerEpoch * resolved.equivalentEpochs;
    return Promise.resolve({ accuracy, wallSeconds });
  };
}

/**
 * Parse a `fake:` runner formula: `thresholds=96,160,224[;base=0.8][;drop=0.05][;gain=0.01]
 * [;seconds=1]` (the `fake:` prefix is optional).
 *
 * @example
 * ```ts
 * import { parseFakeRunnerSpec } from "@efficienttrain/curricula";
 * console.assert(parseFakeRunnerSpec("fake:thresholds=16,32;gain=0").gain === 0);
 * ```
 */
export function parseFakeRunnerSpec(formula: string): FakeRunnerSpec {
  const text = formula.startsWith("fake:") ? formula.slice(5) : formula;
  const fail = (reason: string) =>
    new InvalidArgumentError({ argument: "--runner", value: showValue(formula), reason });
  const out: { -readonly [K in keyof FakeRunnerSpec]?: FakeRunnerSpec[K] } = {};
  for (const part of text.split(";").filter((p) => p.trim() !== "")) {
    const [key, value] = part.split("=").map((s) => s.trim());
    if (value === undefined) throw fail(`"${part}" is not key=value`);
    if (key === "thresholds") {
      const ts = value.split(",").map(Number);
      if (ts.length === 0 || ts.some((t) => !Number.isFinite(t) || t <= 0)) {
        throw fail("thresholds must be positive numbers");
      }
      out.thresholds = ts;
      continue;
    }
    const v = Number(value);
    if (!Number.isFinite(v)) throw fail(`${key} must be a number`);
    if (key === "base") out.base = v;
    else if (key === "drop") out.drop = v;
    else if (key === "gain") out.gain = v;
    else if (key === "seconds") out.secondsPerEpoch = v;
    else throw fail(`unknown key "${key}" (thresholds, base, drop, gain, seconds)`);
  }
  if (out.thresholds === undefined) throw fail("needs thresholds=…");
  return out as FakeRunnerSpec;
}
