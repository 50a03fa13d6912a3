import assert from "node:assert/strict";
import {
  cosineRamp,
  type Curriculum,
  CurriculumDecodeError,
  curriculumJsonSchema,
  curriculumToJson,
  decodeCurriculum,
  equalComputeStages,
  parseCurriculumJson,
  piecewise,
  repeat,
  scaleToImageSize,
  sequence,
} from "@efficienttrain/curricula";
import { presets } from "@efficienttrain/curricula";

function decodeError(value: unknown): CurriculumDecodeError {
  try {
    decodeCurriculum(value, { source: "test.json" });
  } catch (e) {
    assert.ok(e instanceof CurriculumDecodeError, String(e));
    return e;
  }
  assert.fail("decoded an invalid curriculum");
}

const stage = { kind: "stage", size: 16, magnitude: 1, length: 1 };

Deno.test("JSON round trip of every preset and of combinator outputs", () => {
  const built: Curriculum[] = [
    ...Object.values(presets),
    repeat(presets.efficienttrain, 2),
    scaleToImageSize(presets["efficienttrain++"], 32),
    sequence([
      presets["composer-progressive"],
      cosineRamp({ from: { ratio: 0.5 }, to: { ratio: 1 }, magnitude: { from: 1, to: 9 } }),
    ]),
    piecewise([[0, {
      kind: "stage",
      size: { ratio: 0.5 },
      magnitude: 0,
      length: 1,
      mixupScale: 0.5,
      batchSize: 64,
      replay: 3,
    }], [0.5, { kind: "stage", size: { ratio: 1 }, magnitude: 9, length: 1 }]]),
    equalComputeStages([{ size: 96, magnitude: 0, cropMethod: "resize:lanczos" }], {
      imageSize: 224,
      boundaries: "floor",
    }),
  ];
  for (const c of built) {
    const text = curriculumToJson(c);
    const back = parseCurriculumJson(text, { source: c.name });
    assert.deepEqual(back, c);
    assert.equal(curriculumToJson(back), text);
  }
});

Deno.test("errors name the field path and the value", () => {
  let e = decodeError({ progress: "epochs", segments: [{ ...stage, size: -3 }] });
  assert.match(e.message, /test\.json/);
  assert.ok(e.issues.some((l) => l.startsWith("segments[0].size") && l.includes("-3")), e.message);

  e = decodeError({ progress: "epoch", segments: [stage] });
  assert.deepEqual(e.issues, ['progress: Expected "epochs" | "compute" (got "epoch")']);

  e = decodeError({ progress: "epochs", segments: [{ ...stage, magnitude: "high" }] });
  assert.deepEqual(e.issues, ['segments[0].magnitude: Expected number (got "high")']);

  e = decodeError({ progress: "epochs", segments: [{ ...stage, cropMethod: "resize:nearest" }] });
  assert.ok(
    e.issues[0].startsWith("segments[0].cropMethod") && e.issues[0].includes('"resize:nearest"'),
    e.message,
  );

  e = decodeError({ progress: "epochs", segments: [{ ...stage, size: { ratio: 1.5 } }] });
  assert.ok(
    e.issues.some((l) => l.startsWith("segments[0].size.ratio") && l.includes("1.5")),
    e.message,
  );

  e = decodeError({
    progress: "epochs",
    segments: [{ ...stage, length: 0 }, { ...stage, batchSize: 2.5 }],
  });
  assert.ok(
    e.issues.some((l) => l.startsWith("segments[0].length") && l.includes("got 0")),
    e.message,
  );
  assert.ok(
    e.issues.some((l) => l.startsWith("segments[1].batchSize") && l.includes("2.5")),
    e.message,
  );

  // Misspelt keys are errors, not silently ignored.
  e = decodeError({ progress: "epochs", segments: [{ ...stage, cropmethod: "fft" }], extra: 1 });
  assert.deepEqual(e.issues, [
    "extra: Expected no excess property (got 1)",
    'segments[0].cropmethod: Expected no excess property (got "fft")',
  ]);

  e = decodeError({ progress: "epochs" });
  assert.deepEqual(e.issues, ["segments: Missing key (missing)"]);

  e = decodeError({ progress: "epochs", segments: [] });
  assert.ok(e.issues[0].startsWith("segments"), e.message);

  e = decodeError({
    progress: "epochs",
    segments: [{ ...stage, kind: "ramp", shape: "cubic", from: 8, to: 16 }],
  });
  assert.ok(
    e.issues.some((l) => l.startsWith("segments[0].shape") && l.includes('"cubic"')),
    e.message,
  );
});

Deno.test("cross-field rules: family lists need one entry per segment, null at ramps", () => {
  let e = decodeError({
    progress: "epochs",
    segments: [stage, stage],
    families: { convnext: [16] },
  });
  assert.deepEqual(e.issues, ["families.convnext: needs one size per segment (2), got 1 sizes"]);
  e = decodeError({
    progress: "epochs",
    segments: [stage, { kind: "ramp", shape: "linear", from: 8, to: 16, magnitude: 1, length: 1 }],
    families: { swin: [16, 16] },
  });
  assert.match(e.issues[0], /families\.swin\[1\]: segment 1 is a ramp.*got 16/);
});

Deno.test("parseCurriculumJson: invalid JSON names the source", () => {
  assert.throws(() => parseCurriculumJson("{", { source: "x.json" }), (e: unknown) => {
    assert.ok(e instanceof CurriculumDecodeError);
    assert.match(e.message, /x\.json/);
    assert.match(e.issues[0], /^not JSON/);
    return true;
  });
});

Deno.test("the JSON Schema describes the file format", () => {
  const schema = curriculumJsonSchema() as {
    $schema: string;
    type: string;
    required: string[];
    properties: Record<string, unknown>;
  };
  assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.equal(schema.type, "object");
  assert.deepEqual(schema.required.sort(), ["progress", "segments"]);
  assert.ok("families" in schema.properties && "segments" in schema.properties);
  assert.match(JSON.stringify(schema), /\^resize:\(\?:bilinear\|bicubic\|area\|lanczos\)\$/);
});
