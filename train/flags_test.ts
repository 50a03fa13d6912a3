import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import { parseTrainArgs, TRAIN_FLAGS, trainHelp } from "./flags.ts";
import { DEFAULT_TRAIN_SETTINGS } from "./settings.ts";

Deno.test("flags: defaults when nothing is given, values when given", () => {
  assert.deepEqual(parseTrainArgs([]).settings, DEFAULT_TRAIN_SETTINGS);
  const { settings, resume } = parseTrainArgs([
    "--model=resnet20_cifar",
    "--epochs",
    "1.5",
    "--ema",
    "--boundaries=exact",
    "--rrc-scale=0.35",
    "--min-image-size=64",
    "--size-multiple=32",
    "--max-magnitude=4.5",
    "--resume",
    "runs/a",
  ]);
  assert.equal(settings.model, "resnet20_cifar");
  assert.equal(settings.epochs, 1.5);
  assert.equal(settings.ema, true);
  assert.equal(settings.boundaries, "exact");
  assert.equal(settings.rrcScale, 0.35);
  assert.equal(settings.minImageSize, 64);
  assert.equal(settings.sizeMultiple, 32);
  assert.equal(settings.maxMagnitude, 4.5);
  assert.equal(resume, "runs/a");
});

Deno.test("flags: bad values are errors naming the flag and value", () => {
  const cases: Array<[string[], string, string]> = [
    [["--epochs", "abc"], "--epochs", "abc"],
    [["--batch-size", "1.5"], "--batch-size", "1.5"],
    [["--epochs", "-2"], "--epochs", "-2"],
    [["--backend", "tpu"], "--backend", "tpu"],
    [["--random-erasing", "2"], "--random-erasing", "2"],
    [["--boundaries", "round"], "--boundaries", "round"],
    [["--rrc-scale", "0"], "--rrc-scale", "0"],
    [["--rrc-scale", "1.5"], "--rrc-scale", "1.5"],
    [["--min-image-size", "-1"], "--min-image-size", "-1"],
    [["--size-multiple", "0"], "--size-multiple", "0"],
    [["--size-multiple", "2.5"], "--size-multiple", "2.5"],
    [["--max-magnitude", "-3"], "--max-magnitude", "-3"],
    [["--max-magnitude", "x"], "--max-magnitude", "x"],
  ];
  for (const [args, flag, value] of cases) {
    assert.throws(() => parseTrainArgs(args), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      assert.equal(e.argument, flag);
      // The value alone, not the whole command line.
      assert.equal(e.value, value, e.message);
      return true;
    });
  }
  assert.throws(() => parseTrainArgs(["--no-such-flag"]), /no-such-flag/);
});

Deno.test("flags: an unknown flag or a negative value is named alone, with a hint", () => {
  const args = ["--epochs", "3", "--batch-size", "-3", "--lr", "0.1"];
  assert.throws(() => parseTrainArgs(args), (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.equal(e.argument, "--batch-size");
    assert.equal(e.value, "-3");
    return true;
  });
  assert.throws(() => parseTrainArgs(["--epochs", "3", "--batch-sise", "64"]), (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.equal(e.value, "--batch-sise");
    assert.match(e.message, /did you mean --batch-size\?/);
    return true;
  });
  assert.throws(() => parseTrainArgs(["--epochs"]), (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError);
    assert.equal(e.argument, "--epochs");
    assert.equal(e.value, "(missing)");
    return true;
  });
});

Deno.test("flags: --help lists every flag with its default", () => {
  const help = trainHelp("train");
  for (const f of TRAIN_FLAGS) assert.ok(help.includes(`--${f.flag}`), f.flag);
  assert.ok(help.includes("(default: mnist)"));
});
