/**
 * Resolution: turn a symbolic {@link Curriculum} into the concrete per-stage schedule the
 * trainer follows (real epoch ranges, legal input sizes, magnitudes, crop methods), plus the
 * two queries the training loop makes every step: {@link stageAt} and {@link lrProgress}.
 *
 * @module
 */
import { InvalidArgumentError, showValue } from "@efficienttrain/core";
import type { CropMethod } from "@efficienttrain/core";
import type { Curriculum, RampSegment, SizeSpec, StageKnobs } from "./types.ts";
import { legalSize, type SizeRules, specToPixels } from "./size_spec.ts";
import { relativeCompute as relativeComputeOf } from "./cost.ts";

/** Options of {@link resolveCurriculum}. */
export interface ResolveOptions extends SizeRules {
  /** Full input side H (the baseline's size). */
  readonly imageSize: number;
  /**
   * Budget in progress units: epochs, or H²-equivalent epochs for compute-progress curricula.
   * Default: the sum of the segment lengths as written.
   */
  readonly epochs?: number;
  /** Model name or family; selects a per-family size list (longest matching prefix). */
  readonly modelFamily?: string;
  /** Epochs of the full-size baseline that `relativeCompute` compares against (default `epochs`). */
  readonly baselineEpochs?: number;
  /** FLOPs of one image at a side (e.g. `model.flops`), for `relativeCompute`; default ∝ B². */
  readonly flops?: (size: number) => number;
  /**
   * Scale every RandAugment magnitude so that the curriculum's largest becomes this one (timm's
   * `rand-mM` for the final stage; the presets end at 9). A short schedule on a small dataset
   * may under-fit m = 9; scaling keeps each curriculum's weak-to-strong shape.
   */
  readonly maxMagnitude?: number;
}

/** One concrete stage: constant size, magnitude and knobs over a range of real epochs. */
export interface ResolvedStage {
  /** Position in `stages` (0-based). */
  readonly index: number;
  /** The curriculum segment this stage came from (a ramp yields several stages). */
  readonly segment: number;
  /** First real epoch of the stage (inclusive; fractional for compute-progress curricula). */
  readonly startEpoch: number;
  /** End real epoch (exclusive). */
  readonly endEpoch: number;
  /** Start in H²-equivalent epochs (cumulative compute at full size, B² cost). */
  readonly startEquivalent: number;
  /** End in H²-equivalent epochs. */
  readonly endEquivalent: number;
  /** Input side B (a legal size ≤ H). */
  readonly imageSize: number;
  /** RandAugment magnitude m. */
  readonly magnitude: number;
  /** `none` when B = H: such a stage is exactly the baseline. */
  readonly cropMethod: CropMethod | "none";
  /** Mixup/CutMix multiplier, when the stage sets one. */
  readonly mixupScale?: number;
  /** Batch size, when the stage sets one. */
  readonly batchSize?: number;
  /** Replay factor, when the stage sets one. */
  readonly replay?: number;
}

/** A curriculum resolved for a budget, image size and model. Plain data (JSON-serialisable). */
export interface ResolvedCurriculum {
  /** The curriculum's name (`custom` when it has none). */
  readonly name: string;
  /** What progress counts: epochs or H²-equivalent epochs. */
  readonly progress: "epochs" | "compute";
  /** What the learning-rate schedule follows: epochs or compute. */
  readonly lrProgress: "epochs" | "compute";
  /** Full side H. */
  readonly imageSize: number;
  /** Budget in progress units (epochs or H²-equivalent epochs). */
  readonly budget: number;
  /** Real epochs in total (what the data loader runs). */
  readonly totalEpochs: number;
  /** Compute in H²-equivalent epochs (B² cost). */
  readonly equivalentEpochs: number;
  /** Epochs of the baseline that `relativeCompute` refers to. */
  readonly baselineEpochs: number;
  /** Compute relative to `baselineEpochs` at full size (model FLOPs when given, else B²). */
  readonly relativeCompute: number;
  /** Per-stage entries, in order. */
  readonly stages: ReadonlyArray<ResolvedStage>;
}

const EPS = 1e-9;

function bad(argument: string, value: unknown, reason: string): InvalidArgumentError {
  return new InvalidArgumentError({ argument, value: showValue(value), reason });
}

interface Piece extends StageKnobs {
  segment: number;
  u0: number;
  u1: number;
  size: number;
  magnitude: number;
}

function familyKey(c: Curriculum, modelFamily: string | undefined): string | undefined {
  if (modelFamily === undefined || c.families === undefined) return undefined;
  const name = modelFamily.toLowerCase();
  let best: string | undefined;
  for (const key of Object.keys(c.families)) {
    if (name.startsWith(key.toLowerCase()) && (best === undefined || key.length > best.length)) {
      best = key;
    }
  }
  return best;
}

function shapeOf(
  shape: RampSegment["shape"],
): { f: (p: number) => number; inv: (y: number) => number } {
  return shape === "linear"
    ? { f: (p) => p, inv: (y) => y }
    : { f: (p) => (1 - Math.cos(Math.PI * p)) / 2, inv: (y) => Math.acos(1 - 2 * y) / Math.PI };
}

function knobsOf(s: StageKnobs): StageKnobs {
  const k: { -readonly [K in keyof StageKnobs]: StageKnobs[K] } = {};
  if (s.cropMethod !== undefined) k.cropMethod = s.cropMethod;
  if (s.mixupScale !== undefined) k.mixupScale = s.mixupScale;
  if (s.batchSize !== undefined) k.batchSize = s.batchSize;
  if (s.replay !== undefined) k.replay = s.replay;
  return k;
}

function rampPieces(
  seg: RampSegment,
  index: number,
  u0: number,
  u1: number,
  px: (s: SizeSpec) => number,
  rules: SizeRules & { imageSize: number },
): Piece[] {
  const legal = (v: number) => legalSize(v, rules.imageSize, rules);
  const a = legal(px(seg.from));
  const b = legal(px(seg.to));
  const mFrom = typeof seg.magnitude === "number" ? seg.magnitude : seg.magnitude.from;
  const mTo = typeof seg.magnitude === "number" ? seg.magnitude : seg.magnitude.to;
  const magnitudeAt = (p: number) => mFrom + (mTo - mFrom) * p;
  const knobs = knobsOf(seg);
  if (a === b) return [{ segment: index, u0, u1, size: a, magnitude: mFrom, ...knobs }];
  const multiple = rules.multipleOf ?? 2;
  const rawStep = seg.step === undefined ? multiple : px(seg.step);
  const step = Math.max(multiple, Math.round(rawStep / multiple) * multiple);
  const dir = Math.sign(b - a);
  const grid: number[] = [a];
  for (let g = a + dir * step; dir * (b - g) > EPS; g += dir * step) {
    const l = legal(g);
    if (l !== grid[grid.length - 1] && dir * (b - l) > 0) grid.push(l);
  }
  grid.push(b);
  const { inv } = shapeOf(seg.shape);
  const snap = seg.snap ?? "continuous";
  // Progress at which the size leaves grid[k] for grid[k+1]: where the curve crosses their midpoint.
  const cuts: number[] = [u0];
  for (let k = 0; k + 1 < grid.length; k++) {
    const mid = (grid[k] + grid[k + 1]) / 2;
    const p = inv((mid - a) / (b - a));
    let u = u0 + p * (u1 - u0);
    if (snap === "unit") u = dir > 0 ? Math.ceil(u - EPS) : Math.floor(u + EPS) + 1;
    cuts.push(Math.min(u1, Math.max(cuts[cuts.length - 1], u)));
  }
  cuts.push(u1);
  const pieces: Piece[] = [];
  for (let k = 0; k < grid.length; k++) {
    const p = (cuts[k] - u0) / (u1 - u0);
    pieces.push({
      segment: index,
      u0: cuts[k],
      u1: cuts[k + 1],
      size: grid[k],
      magnitude: magnitudeAt(p),
      ...knobs,
    });
  }
  return pieces;
}

// Every magnitude × target / the largest. A curriculum without any RandAugment strength to
// scale (all 0) is left as written rather than divided by zero.
function scaleMagnitudes(pieces: Piece[], target: number): void {
  const largest = Math.max(0, ...pieces.filter((p) => p.u1 - p.u0 > EPS).map((p) => p.magnitude));
  if (!(largest > 0)) return;
  for (const p of pieces) p.magnitude = (p.magnitude * target) / largest;
}

function samePiece(a: Piece, b: Piece): boolean {
  return a.size === b.size && a.magnitude === b.magnitude && a.cropMethod === b.cropMethod &&
    a.mixupScale === b.mixupScale && a.batchSize === b.batchSize && a.replay === b.replay;
}

// Empty pieces go; neighbours that agree on everything become one stage (a ramp's first
// piece usually continues the stage before it).
function mergePieces(pieces: Piece[]): Piece[] {
  const out: Piece[] = [];
  for (const p of pieces) {
    if (!(p.u1 - p.u0 > EPS)) continue;
    const last = out[out.length - 1];
    if (last !== undefined && samePiece(last, p)) out[out.length - 1] = { ...last, u1: p.u1 };
    else out.push({ ...p });
  }
  return out;
}

/**
 * Resolve a curriculum for a budget, full image size and model into concrete stages.
 *
 * Boundaries: segment lengths are scaled to `epochs`; with `floor` boundaries each cumulative
 * boundary is `floor(E·cum/total)` (the authors' `int(E/5·(k+1))`). Compute progress: a unit
 * of progress at side B lasts (H/B)² real epochs. Sizes are rounded by {@link legalSize}.
 * Stages of zero length are dropped; consecutive stages equal in every field are merged.
 *
 * @example
 * ```ts
 * import { resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({
 *   progress: "epochs",
 *   imageSize: 224,
 *   segments: [
 *     { kind: "stage", size: 160, magnitude: 1, length: 3 },
 *     { kind: "stage", size: 224, magnitude: 9, length: 2 },
 *   ],
 * }, { epochs: 100, imageSize: 224 });
 * console.assert(r.stages[0].endEpoch === 60 && r.stages[1].cropMethod === "none");
 * ```
 */
export function resolveCurriculum(
  curriculum: Curriculum,
  options: ResolveOptions,
): ResolvedCurriculum {
  const H = options.imageSize;
  if (!Number.isInteger(H) || H < 1) throw bad("imageSize", H, "must be a positive integer");
  const total = curriculum.segments.reduce((s, x) => s + x.length, 0);
  const budget = options.epochs ?? total;
  if (!(budget > 0) || !Number.isFinite(budget)) throw bad("epochs", budget, "must be > 0");
  const floor =
    (curriculum.boundaries ?? (curriculum.progress === "epochs" ? "floor" : "exact")) === "floor";
  const family = familyKey(curriculum, options.modelFamily);
  const familySizes = family === undefined ? undefined : curriculum.families![family];
  const px = (s: SizeSpec) => specToPixels(s, H, { refSize: curriculum.imageSize });
  const rules = { ...options, imageSize: H };
  const maxMagnitude = options.maxMagnitude;
  if (maxMagnitude !== undefined && !(maxMagnitude >= 0 && Number.isFinite(maxMagnitude))) {
    throw bad("maxMagnitude", maxMagnitude, "must be a finite number ≥ 0");
  }

  const pieces: Piece[] = [];
  let cum = 0;
  let start = 0;
  curriculum.segments.forEach((seg, i) => {
    cum += seg.length;
    let end = (budget * cum) / total;
    if (floor) end = Math.floor(end + EPS);
    if (i === curriculum.segments.length - 1) end = budget; // a fractional budget is kept whole
    if (seg.kind === "stage") {
      const spec = familySizes?.[i] ?? seg.size;
      pieces.push({
        segment: i,
        u0: start,
        u1: end,
        size: legalSize(px(spec), H, options),
        magnitude: seg.magnitude,
        ...knobsOf(seg),
      });
    } else if (end > start) {
      pieces.push(...rampPieces(seg, i, start, end, px, rules));
    }
    start = end;
  });
  if (maxMagnitude !== undefined) scaleMagnitudes(pieces, maxMagnitude);

  const stages: ResolvedStage[] = [];
  let epoch = 0;
  let equivalent = 0;
  for (const p of mergePieces(pieces)) {
    const units = p.u1 - p.u0;
    const area = (p.size / H) ** 2;
    const epochs = curriculum.progress === "epochs" ? units : units / area;
    const eq = curriculum.progress === "epochs" ? units * area : units;
    const { u0: _u0, u1: _u1, size, segment, magnitude, cropMethod, ...rest } = p;
    stages.push({
      index: stages.length,
      segment,
      startEpoch: epoch,
      endEpoch: curriculum.progress === "epochs" ? p.u1 : epoch + epochs,
      startEquivalent: equivalent,
      endEquivalent: equivalent + eq,
      imageSize: size,
      magnitude,
      cropMethod: size === H ? "none" : cropMethod ?? curriculum.cropMethod ?? "fft",
      ...rest,
    });
    epoch = stages[stages.length - 1].endEpoch;
    equivalent += eq;
  }
  if (stages.length === 0) throw bad("epochs", budget, "leaves every stage empty");
  const baselineEpochs = options.baselineEpochs ?? budget;
  const partial = {
    name: curriculum.name ?? "custom",
    progress: curriculum.progress,
    lrProgress: curriculum.lrProgress ?? curriculum.progress,
    imageSize: H,
    budget,
    totalEpochs: epoch,
    equivalentEpochs: equivalent,
    baselineEpochs,
    relativeCompute: 0,
    stages,
  };
  return { ...partial, relativeCompute: relativeComputeOf(partial, { flops: options.flops }) };
}

/**
 * The stage in force at a (fractional) real epoch: the one with `startEpoch ≤ epoch <
 * endEpoch`; epochs before the start give the first stage, at or past the end the last.
 * O(log stages); call it every step with `epoch = e + step / stepsPerEpoch`.
 *
 * @example
 * ```ts
 * import { resolveCurriculum, stageAt } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({
 *   progress: "epochs",
 *   segments: [{ kind: "stage", size: 16, magnitude: 1, length: 1 }, { kind: "stage", size: 32, magnitude: 9, length: 1 }],
 * }, { epochs: 10, imageSize: 32 });
 * console.assert(stageAt(r, 4.99).imageSize === 16 && stageAt(r, 5).imageSize === 32);
 * ```
 */
export function stageAt(resolved: ResolvedCurriculum, epoch: number): ResolvedStage {
  const stages = resolved.stages;
  let lo = 0;
  let hi = stages.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (epoch < stages[mid].endEpoch) hi = mid;
    else lo = mid + 1;
  }
  return stages[lo];
}

/**
 * Fraction of training done at a (fractional) real epoch, in [0, 1], for the learning-rate
 * schedule: the epoch fraction, or the fraction of H²-equivalent compute spent (B² cost) when
 * the curriculum's `lrProgress` is `compute` (EfficientTrain++). Feed it to a cosine schedule
 * in place of `epoch / totalEpochs`.
 *
 * @example
 * ```ts
 * import { lrProgress, resolveCurriculum } from "@efficienttrain/curricula";
 * const r = resolveCurriculum({
 *   progress: "compute",
 *   segments: [{ kind: "stage", size: 16, magnitude: 1, length: 1 }, { kind: "stage", size: 32, magnitude: 9, length: 1 }],
 * }, { epochs: 10, imageSize: 32 });
 * // 5 equivalent epochs at 16 px are 20 real epochs and carry half the compute.
 * console.assert(Math.abs(lrProgress(r, 20) - 0.5) < 1e-12);
 * ```
 */
export function lrProgress(resolved: ResolvedCurriculum, epoch: number): number {
  if (!(epoch > 0)) return 0;
  if (epoch >= resolved.totalEpochs) return 1;
  if (resolved.lrProgress === "epochs") return epoch / resolved.totalEpochs;
  const s = stageAt(resolved, epoch);
  const within = (epoch - s.startEpoch) / (s.endEpoch - s.startEpoch);
  const eq = s.startEquivalent + within * (s.endEquivalent - s.startEquivalent);
  return Math.min(1, Math.max(0, eq / resolved.equivalentEpochs));
}
