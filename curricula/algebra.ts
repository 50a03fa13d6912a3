/**
 * Constructors and combinators of curricula. Every function is pure and returns plain,
 * JSON-serialisable {@link Curriculum} values.
 *
 * @module
 */
import { type CropMethod, InvalidArgumentError, showValue } from "@efficienttrain/core";
import type { Curriculum, RampSegment, Segment, SizeSpec, StageSegment } from "./types.ts";
import { legalSize, type SizeRules, specToPixels } from "./size_spec.ts";

/** A stage as a constructor argument: `length` defaults to 1. */
export type StageSpec = Omit<StageSegment, "kind" | "length"> & { readonly length?: number };

/** A ramp as a constructor argument: `length` defaults to 1. */
export type RampSpec = Omit<RampSegment, "kind" | "shape" | "length"> & {
  readonly length?: number;
};

/** Curriculum-level options shared by the constructors. */
export interface CurriculumOptions {
  /** Registry name or a user label. */
  readonly name?: string;
  /** One-line description (shown by `curriculum list`). */
  readonly description?: string;
  /** Full size H that absolute sizes refer to. */
  readonly imageSize?: number;
  /** Crop method: `fft` or `resize:<method>`. */
  readonly cropMethod?: CropMethod;
  /** What the learning-rate schedule follows: epochs or compute. */
  readonly lrProgress?: "epochs" | "compute";
  /** Boundary placement: `floor` (whole units) or `exact`. */
  readonly boundaries?: "floor" | "exact";
}

function bad(argument: string, value: unknown, reason: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument, value: showValue(value), reason });
}

function header(
  progress: "epochs" | "compute",
  o: CurriculumOptions,
): Omit<Curriculum, "segments"> {
  const h: { -readonly [K in keyof Curriculum]?: Curriculum[K] } = {};
  if (o.name !== undefined) h.name = o.name;
  if (o.description !== undefined) h.description = o.description;
  h.progress = progress;
  if (o.lrProgress !== undefined) h.lrProgress = o.lrProgress;
  if (o.boundaries !== undefined) h.boundaries = o.boundaries;
  if (o.imageSize !== undefined) h.imageSize = o.imageSize;
  if (o.cropMethod !== undefined) h.cropMethod = o.cropMethod;
  return h as Omit<Curriculum, "segments">;
}

function toStage(spec: StageSpec): StageSegment {
  const { length, ...rest } = spec;
  return { kind: "stage", ...rest, length: length ?? 1 };
}

/**
 * A size as a ratio of the full size: `ratio(160, 224)` is 160/224 of H.
 *
 * @example
 * ```ts
 * import { ratio } from "@efficienttrain/curricula";
 * console.assert(ratio(112, 224).ratio === 0.5);
 * ```
 */
export function ratio(size: number, of: number): { readonly ratio: number } {
  if (!(size > 0) || !(of > 0) || size > of) {
    throw bad("ratio", `${size}/${of}`, "must be in (0, 1]");
  }
  return { ratio: size / of };
}

/**
 * One stage for the whole run (the baseline is `constant({ size: { ratio: 1 }, magnitude: 9 })`).
 * `length` (default 1) matters only once the stage is combined with others.
 *
 * @example
 * ```ts
 * import { constant } from "@efficienttrain/curricula";
 * console.assert(constant({ size: { ratio: 1 }, magnitude: 9 }).segments.length === 1);
 * ```
 */
export function constant(spec: StageSpec, options: CurriculumOptions = {}): Curriculum {
  return { ...header("epochs", options), segments: [toStage(spec)] };
}

/**
 * Stages of equal epochs (EfficientTrain). Boundaries are whole epochs `floor(E·k/N)`.
 *
 * @example
 * ```ts
 * import { equalEpochStages, resolveCurriculum } from "@efficienttrain/curricula";
 * const c = equalEpochStages([{ size: 16, magnitude: 1 }, { size: 32, magnitude: 9 }]);
 * console.assert(resolveCurriculum(c, { epochs: 7, imageSize: 32 }).stages[0].endEpoch === 3);
 * ```
 */
export function equalEpochStages(
  specs: ReadonlyArray<StageSpec>,
  options: CurriculumOptions = {},
): Curriculum {
  if (specs.length === 0) throw bad("stages", specs, "needs at least one stage");
  return { ...header("epochs", options), segments: specs.map((s) => toStage({ ...s, length: 1 })) };
}

/**
 * Stages of equal compute (EfficientTrain++): each gets budget/N H²-equivalent epochs, so a
 * stage at B runs (H/B)² times as many real epochs. The LR follows compute unless overridden.
 *
 * @example
 * ```ts
 * import { equalComputeStages, resolveCurriculum } from "@efficienttrain/curricula";
 * const c = equalComputeStages([{ size: 16, magnitude: 0 }, { size: 32, magnitude: 9 }]);
 * const r = resolveCurriculum(c, { epochs: 10, imageSize: 32 });
 * console.assert(r.stages[0].endEpoch === 20 && r.totalEpochs === 25);
 * ```
 */
export function equalComputeStages(
  specs: ReadonlyArray<StageSpec>,
  options: CurriculumOptions = {},
): Curriculum {
  if (specs.length === 0) throw bad("stages", specs, "needs at least one stage");
  return {
    ...header("compute", { lrProgress: "compute", ...options }),
    segments: specs.map((s) => toStage({ ...s, length: 1 })),
  };
}

/**
 * A ramp of the input size (a one-segment curriculum; combine with {@link sequence}).
 *
 * @example
 * ```ts
 * import { ramp, resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum(ramp("linear", { from: 16, to: 32, step: 8, magnitude: 9 }), { epochs: 4, imageSize: 32 });
 * console.assert(r.stages.map((s) => s.imageSize).join() === "16,24,32");
 * ```
 */
export function ramp(
  shape: "linear" | "cosine",
  spec: RampSpec,
  options: CurriculumOptions & { progress?: "epochs" | "compute" } = {},
): Curriculum {
  const { length, ...rest } = spec;
  const segment: RampSegment = { kind: "ramp", shape, ...rest, length: length ?? 1 };
  return { ...header(options.progress ?? "epochs", options), segments: [segment] };
}

/**
 * A linear ramp of the input size, discretised to legal sizes.
 *
 * @example
 * ```ts
 * import { linearRamp } from "@efficienttrain/curricula";
 * console.assert(linearRamp({ from: 16, to: 32, magnitude: 9 }).segments[0].kind === "ramp");
 * ```
 */
export function linearRamp(spec: RampSpec, options: CurriculumOptions = {}): Curriculum {
  return ramp("linear", spec, options);
}

/**
 * A cosine ramp of the input size (slow at both ends), discretised to legal sizes.
 *
 * @example
 * ```ts
 * import { cosineRamp } from "@efficienttrain/curricula";
 * console.assert(cosineRamp({ from: 16, to: 32, magnitude: 9 }).segments[0].kind === "ramp");
 * ```
 */
export function cosineRamp(spec: RampSpec, options: CurriculumOptions = {}): Curriculum {
  return ramp("cosine", spec, options);
}

/**
 * Segments starting at given fractions of progress: `[[0, a], [0.5, b], [0.8, c]]` runs a
 * for the first half, b until 80 %, c to the end. Segment lengths are replaced.
 *
 * @example
 * ```ts
 * import { piecewise, resolveCurriculum } from "@efficienttrain/curricula";
 * const c = piecewise([
 *   [0, { kind: "stage", size: 16, magnitude: 5, length: 1 }],
 *   [0.8, { kind: "stage", size: 32, magnitude: 9, length: 1 }],
 * ]);
 * console.assert(resolveCurriculum(c, { epochs: 10, imageSize: 32 }).stages[1].startEpoch === 8);
 * ```
 */
export function piecewise(
  breaks: ReadonlyArray<readonly [number, Segment]>,
  options: CurriculumOptions & { progress?: "epochs" | "compute" } = {},
): Curriculum {
  if (breaks.length === 0 || breaks[0][0] !== 0) {
    throw bad("piecewise", breaks.map((b) => b[0]), "the first segment must start at 0");
  }
  const segments = breaks.map(([start, seg], i) => {
    const end = i + 1 < breaks.length ? breaks[i + 1][0] : 1;
    if (!(end > start) || end > 1) {
      throw bad(
        "piecewise",
        breaks.map((b) => b[0]),
        "starts must increase strictly within [0, 1)",
      );
    }
    return { ...seg, length: end - start };
  });
  return { ...header(options.progress ?? "epochs", options), segments };
}

function totalLength(c: Curriculum): number {
  return c.segments.reduce((s, x) => s + x.length, 0);
}

/**
 * Concatenate curricula of the same progress kind. Each part keeps its own proportions and
 * gets `weights[i]` units (default: its own total length). Per-family sizes are merged, a
 * part without a family keeping its own sizes there.
 *
 * @example
 * ```ts
 * import { constant, sequence } from "@efficienttrain/curricula";
 * const s = sequence([constant({ size: 16, magnitude: 1 }), constant({ size: 32, magnitude: 9 })], { weights: [3, 1] });
 * console.assert(s.segments[0].length === 3 && s.segments[1].length === 1);
 * ```
 */
export function sequence(
  parts: ReadonlyArray<Curriculum>,
  options: CurriculumOptions & { weights?: ReadonlyArray<number> } = {},
): Curriculum {
  if (parts.length === 0) throw bad("sequence", parts, "needs at least one curriculum");
  const progress = parts[0].progress;
  const imageSize = parts.find((p) => p.imageSize !== undefined)?.imageSize;
  for (const [i, p] of parts.entries()) {
    if (p.progress !== progress) {
      throw bad(`sequence[${i}].progress`, p.progress, `differs from the first part's ${progress}`);
    }
    const absolute = p.segments.some((s) =>
      s.kind === "stage"
        ? typeof s.size === "number"
        : typeof s.from === "number" || typeof s.to === "number"
    );
    if (absolute && p.imageSize !== imageSize) {
      throw bad(
        `sequence[${i}].imageSize`,
        p.imageSize,
        `absolute sizes need the same reference size (${imageSize})`,
      );
    }
  }
  if (options.weights !== undefined && options.weights.length !== parts.length) {
    throw bad("weights", options.weights, `needs one weight per part (${parts.length})`);
  }
  const segments: Segment[] = [];
  const familyNames = new Set(parts.flatMap((p) => Object.keys(p.families ?? {})));
  const families: Record<string, (SizeSpec | null)[]> = {};
  for (const f of familyNames) families[f] = [];
  parts.forEach((p, i) => {
    const total = totalLength(p);
    const scale = options.weights === undefined ? 1 : options.weights[i] / total;
    if (!(scale > 0)) throw bad(`weights[${i}]`, options.weights?.[i], "must be > 0");
    const crop = p.cropMethod;
    for (const s of p.segments) {
      const withCrop =
        crop !== undefined && s.cropMethod === undefined && crop !== options.cropMethod
          ? { ...s, cropMethod: crop }
          : s;
      segments.push({ ...withCrop, length: s.length * scale });
    }
    for (const f of familyNames) {
      const own = p.families?.[f];
      families[f].push(...(own ?? p.segments.map(() => null)));
    }
  });
  const lrProgress = options.lrProgress ?? parts[0].lrProgress;
  const c: Curriculum = {
    ...header(progress, { ...options, lrProgress, imageSize: options.imageSize ?? imageSize }),
    segments,
  };
  return familyNames.size > 0 ? { ...c, families } : c;
}

/**
 * Repeat a curriculum `times` times (each copy with the original's length).
 *
 * @example
 * ```ts
 * import { equalEpochStages, repeat } from "@efficienttrain/curricula";
 * const c = repeat(equalEpochStages([{ size: 16, magnitude: 1 }, { size: 32, magnitude: 9 }]), 3);
 * console.assert(c.segments.length === 6);
 * ```
 */
export function repeat(curriculum: Curriculum, times: number): Curriculum {
  if (!Number.isInteger(times) || times < 1) {
    throw bad("times", times, "must be a positive integer");
  }
  const { name: _name, description: _description, ...rest } = curriculum;
  const out = sequence(Array.from({ length: times }, () => curriculum), rest);
  return {
    ...out,
    ...(curriculum.name === undefined ? {} : { name: `${curriculum.name}×${times}` }),
  };
}

/**
 * Scale segment lengths so they sum to `epochs` (epochs or H²-equivalent epochs); resolving
 * without an explicit budget then runs exactly that long.
 *
 * @example
 * ```ts
 * import { equalEpochStages, scaleToEpochs } from "@efficienttrain/curricula";
 * const c = scaleToEpochs(equalEpochStages([{ size: 16, magnitude: 1 }, { size: 32, magnitude: 9 }]), 300);
 * console.assert(c.segments[0].length === 150);
 * ```
 */
export function scaleToEpochs(curriculum: Curriculum, epochs: number): Curriculum {
  if (!(epochs > 0) || !Number.isFinite(epochs)) throw bad("epochs", epochs, "must be > 0");
  const total = totalLength(curriculum);
  return {
    ...curriculum,
    segments: curriculum.segments.map((s) => ({ ...s, length: (s.length * epochs) / total })),
  };
}

/**
 * Re-express every size as a legal absolute side at full size H, keeping the ratios: a size
 * of ratio r becomes {@link legalSize}(r·H) (nearest multiple of `multipleOf` that `accepts`
 * allows, ties up; r = 1 gives H). Ramp steps become the nearest multiple of `multipleOf`.
 *
 * @example
 * ```ts
 * import { equalEpochStages, ratio, scaleToImageSize } from "@efficienttrain/curricula";
 * const et = equalEpochStages([160, 160, 160, 192, 224].map((b, k) => ({ size: ratio(b, 224), magnitude: 2 * k + 1 })));
 * const mnist = scaleToImageSize(et, 28, { multipleOf: 2 });
 * console.assert(mnist.segments.map((s) => s.kind === "stage" ? s.size : 0).join() === "20,20,20,24,28");
 * ```
 */
export function scaleToImageSize(
  curriculum: Curriculum,
  imageSize: number,
  rules: SizeRules = {},
): Curriculum {
  const exact = (s: SizeSpec) => specToPixels(s, imageSize, { refSize: curriculum.imageSize });
  const legal = (s: SizeSpec) => legalSize(exact(s), imageSize, rules);
  const multiple = rules.multipleOf ?? 2;
  const segments = curriculum.segments.map((s): Segment => {
    if (s.kind === "stage") return { ...s, size: legal(s.size) };
    const step = s.step === undefined
      ? undefined
      : Math.max(multiple, Math.round(exact(s.step) / multiple) * multiple);
    return { ...s, from: legal(s.from), to: legal(s.to), ...(step === undefined ? {} : { step }) };
  });
  const out: Curriculum = { ...curriculum, imageSize, segments };
  if (curriculum.families === undefined) return out;
  const families: Record<string, (SizeSpec | null)[]> = {};
  for (const [f, sizes] of Object.entries(curriculum.families)) {
    families[f] = sizes.map((s) => (s === null ? null : legal(s)));
  }
  return { ...out, families };
}
