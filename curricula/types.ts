/**
 * The serialisable form of a curriculum: what a JSON file holds, its Effect `Schema`, and
 * the decoder that turns an unknown value into a validated {@link Curriculum} (or a
 * {@link CurriculumDecodeError} naming every bad field path and value).
 *
 * @module
 */
import { Schema, SchemaIssue } from "effect";
import { showValue, taggedError, type TaggedErrorClass } from "@efficienttrain/core";
import { type CropMethod, RESIZE_METHODS } from "@efficienttrain/core";

/**
 * An input side: absolute pixels, or a ratio of the full size H. Absolute sizes are relative
 * to the curriculum's `imageSize` when it has one (then they scale with H), else literal.
 */
export type SizeSpec = number | { readonly ratio: number };

/** Optional per-stage knobs beyond size and magnitude. */
export interface StageKnobs {
  /** Overrides the curriculum's default crop method for this stage. */
  readonly cropMethod?: CropMethod;
  /** Multiplier on the trainer's Mixup and CutMix alphas (1 = unchanged). */
  readonly mixupScale?: number;
  /** Batch size for this stage (absolute); the trainer's own batch size when absent. */
  readonly batchSize?: number;
  /** Replay factor: each loaded sample is reused this many times (EfficientTrain++). */
  readonly replay?: number;
}

/** A stage of constant input size B and RandAugment magnitude m. */
export interface StageSegment extends StageKnobs {
  /** Segment kind. */
  readonly kind: "stage";
  /** Input side B. */
  readonly size: SizeSpec;
  /** RandAugment magnitude m. */
  readonly magnitude: number;
  /** Length in progress units (relative: the curriculum is scaled to the requested budget). */
  readonly length: number;
}

/** A magnitude that is constant or moves linearly across a ramp. */
export type MagnitudeSpec = number | { readonly from: number; readonly to: number };

/**
 * A ramp of the input size from `from` to `to` with a linear or cosine shape, discretised at
 * resolution time to a grid of legal sizes (`step` apart, anchored at `from`).
 */
export interface RampSegment extends StageKnobs {
  /** Segment kind. */
  readonly kind: "ramp";
  /** Shape of the size curve between the ends. */
  readonly shape: "linear" | "cosine";
  /** Size at the start of the ramp. */
  readonly from: SizeSpec;
  /** Size at the end of the ramp. */
  readonly to: SizeSpec;
  /** Grid spacing of the discretised sizes; the legal-size multiple when absent. */
  readonly step?: SizeSpec;
  /**
   * `continuous`: a size changes at the exact (fractional) progress where the curve crosses
   * the midpoint between grid sizes (Composer, per batch). `unit`: changes happen at whole
   * progress units, the size of a unit being the curve's value at its start (FFCV, per epoch).
   */
  readonly snap?: "continuous" | "unit";
  /** Magnitude, evaluated at the start of each discretised piece. */
  readonly magnitude: MagnitudeSpec;
  /** Length in progress units (relative: scaled to the budget). */
  readonly length: number;
}

/** One element of a curriculum. */
export type Segment = StageSegment | RampSegment;

/**
 * A curriculum: a sequence of segments over training progress. Lengths are relative; the
 * curriculum is stretched to the requested epochs (or equivalent epochs) when resolved.
 */
export interface Curriculum {
  /** Registry name or a user label. */
  readonly name?: string;
  /** One-line description (shown by `curriculum list`). */
  readonly description?: string;
  /**
   * What segment lengths measure: `epochs` (every epoch costs the same to the schedule) or
   * `compute` (H²-equivalent epochs: a stage at B runs (H/B)² real epochs per unit, as in
   * EfficientTrain++).
   */
  readonly progress: "epochs" | "compute";
  /** What the learning-rate schedule follows; `progress` when absent. */
  readonly lrProgress?: "epochs" | "compute";
  /**
   * How segment boundaries are placed: `floor` rounds each cumulative boundary down to a whole
   * unit (the authors' `int(E/5·(k+1))`), `exact` keeps fractions. Default: `floor` for epoch
   * progress, `exact` for compute progress.
   */
  readonly boundaries?: "floor" | "exact";
  /** Full size H that absolute sizes refer to (e.g. 224 for the paper's numbers). */
  readonly imageSize?: number;
  /** Default crop method of the stages (`fft`, the paper's low-frequency crop, when absent). */
  readonly cropMethod?: CropMethod;
  /** The segments, in order. */
  readonly segments: ReadonlyArray<Segment>;
  /**
   * Per-model-family size overrides: one entry per segment (`null` keeps the segment's own
   * size and is required for ramps), chosen when the model name starts with the key (the
   * longest matching key wins).
   */
  readonly families?: { readonly [family: string]: ReadonlyArray<SizeSpec | null> };
}

// ---------------------------------------------------------------------------------------
// Schema

const Positive = Schema.Finite.check(Schema.isGreaterThan(0));
const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0));
const NonNegative = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0));

const SizeSpecSchema = Schema.Union([
  PositiveInt,
  Schema.Struct({
    ratio: Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)),
  }),
]);

const CropMethodSchema = Schema.Union([
  Schema.Literal("fft"),
  Schema.TemplateLiteral(["resize:", Schema.Literals(RESIZE_METHODS)]),
]);

const knobFields = {
  cropMethod: Schema.optionalKey(CropMethodSchema),
  mixupScale: Schema.optionalKey(NonNegative),
  batchSize: Schema.optionalKey(PositiveInt),
  replay: Schema.optionalKey(PositiveInt),
};

const StageSegmentSchema = Schema.Struct({
  kind: Schema.Literal("stage"),
  size: SizeSpecSchema,
  magnitude: NonNegative,
  length: Positive,
  ...knobFields,
});

const RampSegmentSchema = Schema.Struct({
  kind: Schema.Literal("ramp"),
  shape: Schema.Literals(["linear", "cosine"]),
  from: SizeSpecSchema,
  to: SizeSpecSchema,
  step: Schema.optionalKey(SizeSpecSchema),
  snap: Schema.optionalKey(Schema.Literals(["continuous", "unit"])),
  magnitude: Schema.Union([NonNegative, Schema.Struct({ from: NonNegative, to: NonNegative })]),
  length: Positive,
  ...knobFields,
});

/**
 * The Effect Schema of a curriculum's JSON form. Decoding checks types and ranges; the
 * cross-field rules (family list lengths, ratios with absolute sizes) are checked by
 * {@link decodeCurriculum}.
 *
 * @example
 * ```ts
 * import { CurriculumSchema } from "@efficienttrain/curricula";
 * import { Schema } from "effect";
 * const c = Schema.decodeUnknownSync(CurriculumSchema)({
 *   progress: "epochs",
 *   segments: [{ kind: "stage", size: 160, magnitude: 1, length: 1 }],
 * });
 * console.assert(c.segments.length === 1);
 * ```
 */
export const CurriculumSchema: Schema.Codec<Curriculum> = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  description: Schema.optionalKey(Schema.String),
  progress: Schema.Literals(["epochs", "compute"]),
  lrProgress: Schema.optionalKey(Schema.Literals(["epochs", "compute"])),
  boundaries: Schema.optionalKey(Schema.Literals(["floor", "exact"])),
  imageSize: Schema.optionalKey(PositiveInt),
  cropMethod: Schema.optionalKey(CropMethodSchema),
  segments: Schema.NonEmptyArray(Schema.Union([StageSegmentSchema, RampSegmentSchema])),
  families: Schema.optionalKey(
    Schema.Record(Schema.String, Schema.Array(Schema.NullOr(SizeSpecSchema))),
  ),
});

type CurriculumDecodeFields = { source: string; issues: ReadonlyArray<string> };
const CurriculumDecodeBase: TaggedErrorClass<"CurriculumDecodeError", CurriculumDecodeFields> =
  taggedError("CurriculumDecodeError");

/**
 * A curriculum file or value that does not validate. `issues` holds one line per problem,
 * each naming the field path and the offending value.
 *
 * @example
 * ```ts
 * import { CurriculumDecodeError } from "@efficienttrain/curricula";
 * const e = new CurriculumDecodeError({ source: "a.json", issues: ["segments[0].size: bad"] });
 * console.assert(e.message.includes("segments[0].size"));
 * ```
 */
export class CurriculumDecodeError extends CurriculumDecodeBase {
  /** Human-readable description naming the source and every bad field. */
  override get message(): string {
    return `invalid curriculum ${this.source}:\n  ${this.issues.join("\n  ")}`;
  }
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "<root>" : out;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

/**
 * Validate an unknown value (parsed JSON) as a curriculum. Throws a
 * {@link CurriculumDecodeError} listing each bad field as `path: message (got value)`.
 *
 * @example
 * ```ts
 * import { CurriculumDecodeError, decodeCurriculum } from "@efficienttrain/curricula";
 * try {
 *   decodeCurriculum({ progress: "epochs", segments: [{ kind: "stage", size: -3, magnitude: 1, length: 1 }] });
 * } catch (e) {
 *   console.assert(e instanceof CurriculumDecodeError && e.message.includes("segments[0].size"));
 * }
 * ```
 */
export function decodeCurriculum(value: unknown, options: { source?: string } = {}): Curriculum {
  const source = options.source ?? "<value>";
  let decoded: Curriculum;
  try {
    decoded = Schema.decodeUnknownSync(CurriculumSchema)(value, {
      errors: "all",
      onExcessProperty: "error",
    });
  } catch (e) {
    if (!Schema.isSchemaError(e)) throw e;
    const lines = formatter(e.issue).issues.map((issue) => {
      const path = (issue.path ?? []).map((p) => typeof p === "object" && p !== null ? p.key : p);
      const at = valueAt(value, path);
      const got = at === undefined ? "missing" : `got ${showValue(at)}`;
      return `${formatPath(path)}: ${issue.message} (${got})`;
    });
    throw new CurriculumDecodeError({ source, issues: [...new Set(lines)] });
  }
  const issues = crossFieldIssues(decoded);
  if (issues.length > 0) throw new CurriculumDecodeError({ source, issues });
  return decoded;
}

function crossFieldIssues(c: Curriculum): string[] {
  const issues: string[] = [];
  for (const [family, sizes] of Object.entries(c.families ?? {})) {
    if (sizes.length !== c.segments.length) {
      issues.push(
        `families.${family}: needs one size per segment (${c.segments.length}), got ${sizes.length} sizes`,
      );
    }
    c.segments.forEach((s, i) => {
      if (s.kind === "ramp" && sizes[i] !== null && sizes[i] !== undefined) {
        issues.push(
          `families.${family}[${i}]: segment ${i} is a ramp, its family entry must be null (got ${
            showValue(sizes[i])
          })`,
        );
      }
    });
  }
  return issues;
}

/**
 * Parse curriculum JSON text (the contents of a file) and validate it.
 *
 * @example
 * ```ts
 * import { parseCurriculumJson } from "@efficienttrain/curricula";
 * const c = parseCurriculumJson('{"progress":"epochs","segments":[{"kind":"stage","size":32,"magnitude":9,"length":1}]}');
 * console.assert(c.progress === "epochs");
 * ```
 */
export function parseCurriculumJson(text: string, options: { source?: string } = {}): Curriculum {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CurriculumDecodeError({
      source: options.source ?? "<text>",
      issues: [`not JSON: ${(e as Error).message}`],
    });
  }
  return decodeCurriculum(value, options);
}

/**
 * The JSON text of a curriculum (stable key order as constructed, two-space indent).
 *
 * @example
 * ```ts
 * import { curriculumToJson, parseCurriculumJson } from "@efficienttrain/curricula";
 * const c = { progress: "epochs" as const, segments: [{ kind: "stage" as const, size: 24, magnitude: 3, length: 2 }] };
 * console.assert(parseCurriculumJson(curriculumToJson(c)).segments[0].length === 2);
 * ```
 */
export function curriculumToJson(curriculum: Curriculum): string {
  return JSON.stringify(Schema.encodeSync(CurriculumSchema)(curriculum), null, 2) + "\n";
}

/**
 * The JSON Schema (draft 2020-12) of the curriculum file format, for editors and other tools.
 *
 * @example
 * ```ts
 * import { curriculumJsonSchema } from "@efficienttrain/curricula";
 * console.assert(typeof curriculumJsonSchema() === "object");
 * ```
 */
export function curriculumJsonSchema(): Record<string, unknown> {
  const doc = Schema.toJsonSchemaDocument(CurriculumSchema);
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    ...doc.schema,
    $defs: doc.definitions,
  };
}
