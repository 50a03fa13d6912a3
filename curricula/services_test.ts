import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { FileError, InvalidArgumentError } from "@efficienttrain/core";
import { CurriculumDecodeError, curriculumToJson } from "@efficienttrain/curricula";
import { Curricula, curriculaLayer, presets } from "@efficienttrain/curricula";

const run = <A, E>(program: Effect.Effect<A, E, Curricula>) =>
  Effect.runPromiseExit(Effect.provide(program, curriculaLayer));

function failure<A, E>(exit: Exit.Exit<A, E>): E {
  assert.ok(Exit.isFailure(exit), "expected a failure");
  const found = exit.cause.reasons.find((r) => r._tag === "Fail");
  assert.ok(found !== undefined && found._tag === "Fail", String(exit.cause));
  return found.error;
}

Deno.test("Curricula service: presets, files, typed failures", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/ok.json`, curriculumToJson(presets["ffcv-progressive"]));
  await Deno.writeTextFile(
    `${dir}/bad.json`,
    '{"progress":"epochs","segments":[{"kind":"stage"}]}',
  );

  const names = await run(Effect.gen(function* () {
    return (yield* Curricula).names;
  }));
  assert.ok(Exit.isSuccess(names) && names.value.includes("efficienttrain++"));

  const fromFile = await run(Effect.gen(function* () {
    const curricula = yield* Curricula;
    const c = yield* curricula.load(`${dir}/ok.json`);
    return yield* curricula.resolve(c, { epochs: 88, imageSize: 224 });
  }));
  assert.ok(Exit.isSuccess(fromFile));
  assert.deepEqual(fromFile.value.stages.map((s) => s.imageSize), [160, 192]);

  const load = (ref: string) =>
    run(Effect.gen(function* () {
      return yield* (yield* Curricula).load(ref);
    }));
  assert.ok(failure(await load("no-such-preset")) instanceof InvalidArgumentError);
  assert.ok(failure(await load(`${dir}/missing.json`)) instanceof FileError);
  const decode = failure(await load(`${dir}/bad.json`));
  assert.ok(decode instanceof CurriculumDecodeError);
  assert.match(decode.message, /segments\[0\]\.size: Missing key/);

  const bad = failure(
    await run(Effect.gen(function* () {
      return yield* (yield* Curricula).resolve(presets.baseline, { epochs: -1, imageSize: 32 });
    })),
  );
  assert.ok(bad instanceof InvalidArgumentError);
  await Deno.remove(dir, { recursive: true });
});
