import assert from "node:assert/strict";
import { FileError, InvalidArgumentError } from "@efficienttrain/core";
import { decodeTrainSettings, DEFAULT_TRAIN_SETTINGS } from "./settings.ts";
import { parseTrainArgs } from "./flags.ts";
import { planResume } from "./resume.ts";

async function recordedRun(settings: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "et-resume-" });
  const config = { settings: decodeTrainSettings(settings) };
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
  return dir;
}

Deno.test("--resume DIR alone continues with every recorded setting", async () => {
  const dir = await recordedRun({ lr: 0.002, data: "fashion-mnist", epochs: 6 });
  const plan = await planResume(dir, parseTrainArgs(["--resume", dir]));
  assert.equal(plan.settings.lr, 0.002);
  assert.equal(plan.settings.data, "fashion-mnist");
  assert.equal(plan.settings.epochs, 6);
  assert.deepEqual(plan.overrides, {});
});

Deno.test("--resume refuses a flag that differs from the recorded run, naming it", async () => {
  const dir = await recordedRun({ lr: 0.002 });
  const given = parseTrainArgs(["--resume", dir, "--lr", "0.004"]);
  await assert.rejects(
    () => planResume(dir, given),
    (e: unknown) =>
      e instanceof InvalidArgumentError && e.argument === "--lr" &&
      e.message.includes("recorded with --lr 0.002") && e.message.includes(`${dir}/config.json`),
  );
  // The same value as recorded is not a change.
  const same = await planResume(dir, parseTrainArgs(["--resume", dir, "--lr", "0.002"]));
  assert.equal(same.settings.lr, 0.002);
});

Deno.test("--resume may extend --epochs (recorded as an override) but not shorten it", async () => {
  const dir = await recordedRun({ epochs: 4 });
  const longer = await planResume(dir, parseTrainArgs(["--resume", dir, "--epochs", "6"]));
  assert.equal(longer.settings.epochs, 6);
  assert.deepEqual(longer.overrides, { epochs: [4, 6] });
  await assert.rejects(
    () => planResume(dir, parseTrainArgs(["--resume", dir, "--epochs", "2"])),
    (e: unknown) => e instanceof InvalidArgumentError && /may only extend/.test(e.message),
  );
});

Deno.test("--resume of a missing directory, or one without config.json, is an error naming it", async () => {
  const missing = `${await Deno.makeTempDir()}/no-such-run`;
  await assert.rejects(
    () => planResume(missing, parseTrainArgs([])),
    (e: unknown) => e instanceof FileError && e.path === missing && /no such run/.test(e.message),
  );
  const empty = await Deno.makeTempDir();
  await assert.rejects(
    () => planResume(empty, parseTrainArgs([])),
    (e: unknown) => e instanceof FileError && /no config.json/.test(e.message),
  );
  assert.equal(DEFAULT_TRAIN_SETTINGS.lr, 4e-3);
});
