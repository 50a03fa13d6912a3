/**
 * End-to-end tests of `deno task train` as a user runs it: a run killed with SIGKILL mid-epoch
 * and resumed reaches the same final metrics as an uninterrupted run with the same seed; bad
 * flags exit 1 with a message naming the flag.
 */
import assert from "node:assert/strict";
import { root, summaryOf, trainCommand as trainCli } from "./train_cli_util.ts";

const common = [
  "--model=test_resnet",
  "--data=mnist",
  "--curriculum=efficienttrain",
  "--epochs=2",
  "--batch-size=32",
  "--limit-train=320",
  "--limit-test=200",
  "--backend=wasm",
  "--workers=0",
  "--checkpoint-steps=2",
  "--log-every=1",
  "--json",
];

function trainCommand(args: string[]): Deno.Command {
  return trainCli(common, args);
}

Deno.test({
  name: "train CLI: kill -9 mid-epoch, --resume, same final metrics as an uninterrupted run",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
    const reference = await summaryOf(
      await trainCommand([`--out=${out}`, "--run-name=reference"]).output(),
    );

    const runDir = `${out}/killed`;
    const child = trainCommand([`--out=${out}`, "--run-name=killed"]).spawn();
    // wait until the run is past its first mid-epoch checkpoint, then kill it hard
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const metrics = await Deno.readTextFile(`${runDir}/metrics.jsonl`).catch(() => "");
      const steps = metrics.split("\n").filter((l) => l.includes('"kind":"step"')).length;
      if (steps >= 5) break;
    }
    child.kill("SIGKILL");
    const killed = await child.output();
    assert.notEqual(killed.code, 0, "the run was killed before it finished");
    await Deno.stat(`${runDir}/checkpoint.safetensors`);

    const resumed = await summaryOf(await trainCommand([`--resume=${runDir}`]).output());
    assert.ok(Number(resumed.resumedFromStep) > 0, "resumed from a checkpoint");
    assert.equal(resumed.top1, reference.top1);
    assert.equal(resumed.top5, reference.top5);
    assert.equal(resumed.testLoss, reference.testLoss);
    const metrics = (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).trim().split("\n")
      .map((l) => JSON.parse(l));
    const steps = metrics.filter((m) => m.kind === "step").map((m) => m.step);
    assert.deepEqual(steps, [...new Set(steps)], "no duplicate step records after the resume");
    for (const file of ["config.json", "summary.json", "accuracy_vs_time.svg", "curriculum.svg"]) {
      await Deno.stat(`${runDir}/${file}`);
    }
  },
});

Deno.test("train CLI: a bad flag value exits 1 naming the flag", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli/train.ts`, "--batch-size=0"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 1);
  assert.match(new TextDecoder().decode(output.stderr), /--batch-size/);
});

Deno.test("train CLI: --max-hours refuses a run predicted to take longer, before writing anything", async () => {
  const out = await Deno.makeTempDir();
  try {
    const output = await trainCommand([`--out=${out}`, "--max-hours=0.00001"]).output();
    assert.equal(output.code, 1);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.match(stderr, /invalid --max-hours = 0\.00001: this run is predicted to take \d/);
    // with --json the progress lines go to stderr, stdout is kept for the summary
    assert.match(stderr, /budget: predicted .* \(training /);
    assert.deepEqual([...Deno.readDirSync(out)], [], "no run directory");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("train CLI: --min-image-size floors the curriculum's sides and --size-multiple rounds them; a floor above the final side is refused", async () => {
  const out = await Deno.makeTempDir();
  try {
    const sides = async (extra: string[]): Promise<number[]> => {
      const output = await trainCommand([
        `--out=${out}`,
        "--max-hours=0.00001",
        "--epochs=5",
        ...extra,
      ])
        .output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 1, stderr);
      return [...stderr.matchAll(/ stage \d+: epochs .* B=(\d+) /g)].map((m) => Number(m[1]));
    };
    // EfficientTrain at 28 px: 160/224 and 192/224 of 28 are sides 20 and 24
    assert.deepEqual([...new Set(await sides([]))], [20, 24, 28]);
    assert.deepEqual([...new Set(await sides(["--min-image-size=24"]))], [24, 28]);
    // 20 lies midway between 16 and 24, the multiples of 8 around it: the tie goes to the larger;
    // of 12's multiples 24 is the nearer, of 5's 20 itself and then 25 for 24
    assert.deepEqual([...new Set(await sides(["--size-multiple=8"]))], [24, 28]);
    assert.deepEqual([...new Set(await sides(["--size-multiple=12"]))], [24, 28]);
    assert.deepEqual([...new Set(await sides(["--size-multiple=5"]))], [20, 25, 28]);
    const above = await trainCommand([`--out=${out}`, "--min-image-size=30"]).output();
    assert.equal(above.code, 1);
    assert.match(
      new TextDecoder().decode(above.stderr),
      /invalid --min-image-size = 30: exceeds the run's final side 28/,
    );
    assert.deepEqual([...Deno.readDirSync(out)], [], "no run directory");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "train CLI: efficienttrain++-replay replays its first two stages and takes as many steps as efficienttrain++",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      const run = async (curriculum: string) => {
        const output = await trainCommand([
          `--out=${out}`,
          `--run-name=${curriculum}`,
          `--curriculum=${curriculum}`,
          "--checkpoint-steps=0",
        ]).output();
        return { summary: summaryOf(output), log: new TextDecoder().decode(output.stderr) };
      };
      const plain = await run("efficienttrain++");
      const replayed = await run("efficienttrain++-replay");
      assert.match(replayed.log, /replay: stages 1 \(×2\), 2 \(×2\) train each loaded image/);
      assert.doesNotMatch(plain.log, /replay:/);
      assert.equal(replayed.summary.steps, plain.summary.steps);
      assert.equal(typeof replayed.summary.top1, "number");
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
