import assert from "node:assert/strict";
import { Effect, Exit } from "effect";
import { Dataset, DatasetError, datasetLayer } from "@efficienttrain/data";
import { idxBytes } from "./data_fixtures.ts";

Deno.test("Dataset layer provides a loaded dataset; bad sources fail with DatasetError", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(
    `${dir}/train-images-idx3-ubyte`,
    idxBytes([2, 3, 3], new Uint8Array(18).fill(9)),
  );
  await Deno.writeFile(`${dir}/train-labels-idx1-ubyte`, idxBytes([2], new Uint8Array([0, 1])));
  await Deno.writeFile(`${dir}/t10k-images-idx3-ubyte`, idxBytes([1, 3, 3], new Uint8Array(9)));
  await Deno.writeFile(`${dir}/t10k-labels-idx1-ubyte`, idxBytes([1], new Uint8Array([1])));
  const program = Effect.gen(function* () {
    const ds = yield* Dataset;
    return ds.info;
  });
  const info = await Effect.runPromise(program.pipe(Effect.provide(datasetLayer(`mnist:${dir}`))));
  assert.deepEqual(info.splits, { train: 2, test: 1 });
  assert.deepEqual(info.imageShape, [3, 3, 1]);
  await Deno.remove(`${dir}/t10k-labels-idx1-ubyte`);
  const exit = await Effect.runPromiseExit(
    program.pipe(Effect.provide(datasetLayer(`mnist:${dir}`))),
  );
  assert.ok(Exit.isFailure(exit));
  const bad = await Effect.runPromiseExit(program.pipe(Effect.provide(datasetLayer("nosuch:/x"))));
  assert.ok(Exit.isFailure(bad));
  const err = await Effect.runPromise(
    Effect.flip(program.pipe(Effect.provide(datasetLayer(`mnist:${dir}`)))),
  );
  assert.ok(err instanceof DatasetError);
  assert.match(err.reason, /missing IDX file t10k-labels/);
  await Deno.remove(dir, { recursive: true });
});
