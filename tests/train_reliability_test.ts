/**
 * Reliability of `deno task train` as a user meets it: `--resume` refuses a flag that would
 * change the run and writes nothing when it does; a second writer of a run directory is
 * refused while the first lives; a kill -9 of the `deno task` process leaves no trainer
 * running; and a fault-injection sweep that corrupts, truncates or deletes the latest
 * checkpoint at random, where every trial ends in a clear error or a fallback that reaches
 * the uninterrupted run's metrics.
 */
import assert from "node:assert/strict";
import { Rng } from "@efficienttrain/core";
import { decode, root, summaryOf, trainCommand } from "./train_cli_util.ts";

const common = [
  "--model=test_resnet",
  "--data=mnist",
  "--curriculum=efficienttrain",
  "--epochs=2",
  "--batch-size=32",
  "--limit-train=256",
  "--limit-test=200",
  "--backend=wasm",
  "--workers=0",
  "--checkpoint-steps=2",
  "--log-every=1",
  "--json",
];
function train(args: string[], extra: string[] = common): Deno.Command {
  return trainCommand(extra, args);
}

async function waitFor(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const stepsIn = async (runDir: string) =>
  (await Deno.readTextFile(`${runDir}/metrics.jsonl`).catch(() => "")).split("\n")
    .filter((l) => l.includes('"kind":"step"')).length;

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/**
 * A run killed with SIGKILL after its first checkpoints, with both latest and previous on disk.
 * A kill that lands between the two renames of a checkpoint rotation leaves only the previous
 * one (the state readers fall back from, tested below); the run is then made again.
 */
async function killedRun(out: string, name: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const runName = attempt === 0 ? name : `${name}-${attempt}`;
    const runDir = `${out}/${runName}`;
    const child = train([`--out=${out}`, `--run-name=${runName}`]).spawn();
    await waitFor(async () => (await stepsIn(runDir)) >= 6, "six steps");
    child.kill("SIGKILL");
    await child.output();
    const latest = await exists(`${runDir}/checkpoint.safetensors`);
    assert.ok(await exists(`${runDir}/checkpoint.prev.safetensors`), `${runDir}: no checkpoint`);
    if (latest) return runDir;
  }
  throw new Error(`${name}: three kills in a row landed inside a checkpoint rotation`);
}

Deno.test({
  name: "train CLI: --resume with a differing flag is refused and leaves the run untouched",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
    const runDir = await killedRun(out, "lr");
    const before = await Deno.readTextFile(`${runDir}/config.json`);
    const metricsBefore = await Deno.readTextFile(`${runDir}/metrics.jsonl`);
    const refused = await train([`--resume=${runDir}`, "--lr=0.01"]).output();
    assert.equal(refused.code, 1);
    assert.match(decode(refused.stderr), /invalid --lr = 0\.01: .*recorded with --lr 0\.004/);
    assert.doesNotMatch(decode(refused.stderr), /^\s+at /m, "no stack trace");
    assert.equal(await Deno.readTextFile(`${runDir}/config.json`), before);
    assert.equal(await Deno.readTextFile(`${runDir}/metrics.jsonl`), metricsBefore);
    // --resume alone continues with the recorded settings.
    const resumed = summaryOf(await train([`--resume=${runDir}`], ["--json"]).output());
    assert.ok(Number(resumed.resumedFromStep) > 0);
    assert.equal(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)).settings.lr, 0.004);
  },
});

Deno.test("train CLI: --resume of a directory that does not exist exits 1 naming it", async () => {
  const missing = `${await Deno.makeTempDir()}/nope`;
  const output = await train([`--resume=${missing}`]).output();
  assert.equal(output.code, 1);
  assert.match(decode(output.stderr), new RegExp(`${missing}: --resume: no such run directory`));
  await assert.rejects(() => Deno.stat(missing), Deno.errors.NotFound);
});

Deno.test({
  name: "train CLI: a second writer of a live run directory is refused; a kill -9 of " +
    "`deno task train` leaves no trainer behind",
  sanitizeResources: false,
  async fn() {
    if (Deno.build.os !== "linux") return;
    const out = await Deno.makeTempDir();
    const runDir = `${out}/locked`;
    // Through `deno task`, as a user starts it: the trainer is the task's child process.
    const task = new Deno.Command(Deno.execPath(), {
      args: ["task", "train", ...common, "--epochs=8", `--out=${out}`, "--run-name=locked"],
      cwd: root,
      stdout: "null",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    await waitFor(async () => (await stepsIn(runDir)) >= 1, "the first step");
    const owner = JSON.parse(await Deno.readTextFile(`${runDir}/.lock`)).pid as number;
    assert.notEqual(owner, task.pid, "the trainer is the task's child, not the task itself");

    const second = await train([`--resume=${runDir}`], ["--json"]).output();
    assert.equal(second.code, 1);
    assert.match(decode(second.stderr), new RegExp(`in use by process ${owner}`));

    task.kill("SIGKILL");
    await task.status;
    await waitFor(
      async () => !(await exists(`/proc/${owner}`)),
      "the orphaned trainer to exit",
    );
    // Its lock is stale now: a resume takes it over and finishes the run.
    const resumed = summaryOf(await train([`--resume=${runDir}`], ["--json"]).output());
    assert.ok(Number(resumed.resumedFromStep) > 0);
  },
});

Deno.test({
  name: "train CLI: 20 seeded checkpoint faults end in a clear error or a correct fallback",
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
    const reference = summaryOf(
      await train([`--out=${out}`, "--run-name=reference"]).output(),
    );
    const snapshot = await killedRun(out, "snapshot");
    const rng = new Rng(2026);
    const outcomes: string[] = [];
    const trials = Array.from({ length: 20 }, (_, i) => i);
    // Two trials at a time (one per core).
    for (let t = 0; t < trials.length; t += 2) {
      await Promise.all(
        trials.slice(t, t + 2).map(async (trial) => {
          const dir = `${out}/trial${trial}`;
          await Deno.mkdir(dir);
          for (const entry of Deno.readDirSync(snapshot)) {
            if (entry.isFile && entry.name !== ".lock") {
              await Deno.copyFile(`${snapshot}/${entry.name}`, `${dir}/${entry.name}`);
            }
          }
          const latest = `${dir}/checkpoint.safetensors`;
          const previous = `${dir}/checkpoint.prev.safetensors`;
          const kind = ["flip", "truncate", "delete", "header", "both"][trial % 5];
          const r = new Rng(rng.nextUint32());
          const bytes = await Deno.readFile(latest);
          const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
          const flip = (b: Uint8Array, from: number, to: number) => {
            const at = r.int(from, Math.max(from, to - 64));
            for (let i = at; i < Math.min(b.length, at + 64); i++) b[i] ^= 1 + r.int(0, 254);
            return b;
          };
          if (kind === "flip") await Deno.writeFile(latest, flip(bytes, headerEnd, bytes.length));
          if (kind === "truncate") {
            await Deno.writeFile(latest, bytes.subarray(0, r.int(0, bytes.length - 1)));
          }
          if (kind === "delete") await Deno.remove(latest);
          if (kind === "header") await Deno.writeFile(latest, flip(bytes, 0, headerEnd));
          if (kind === "both") {
            await Deno.writeFile(latest, flip(bytes, headerEnd, bytes.length));
            const prev = await Deno.readFile(previous);
            await Deno.writeFile(previous, prev.subarray(0, r.int(0, prev.length - 1)));
          }
          const output = await train([`--resume=${dir}`]).output();
          const stderr = decode(output.stderr);
          if (kind === "both") {
            assert.equal(output.code, 1, `trial ${trial} (${kind}): ${stderr.slice(-500)}`);
            assert.match(stderr, /error: .*checkpoint\.safetensors: /, `trial ${trial}`);
            assert.match(stderr, /previous checkpoint is unusable too/, `trial ${trial}`);
            assert.doesNotMatch(stderr, /^\s+at /m, `trial ${trial}: no stack trace`);
            outcomes.push(`${trial}:${kind}:error`);
          } else {
            const s = summaryOf(output);
            assert.equal(s.top1, reference.top1, `trial ${trial} (${kind}) top-1`);
            assert.equal(s.testLoss, reference.testLoss, `trial ${trial} (${kind}) loss`);
            assert.match(decode(output.stdout) + stderr, /resuming from the previous checkpoint/);
            outcomes.push(`${trial}:${kind}:fallback`);
          }
        }),
      );
    }
    console.log(`checkpoint faults: ${outcomes.join(" ")}`);
    assert.equal(outcomes.length, 20);
  },
});

Deno.test({
  name: "train CLI: --skip-bad-images trains past a corrupt JPEG and lists it in the run directory",
  sanitizeResources: false,
  async fn() {
    const { makeFolder } = await import("./data_fixtures.ts");
    const data = await Deno.makeTempDir();
    await makeFolder(data, { classes: ["a", "b"], perClass: 4, size: 8 });
    await Deno.writeFile(`${data}/train/a/bad.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2]));
    const out = await Deno.makeTempDir();
    const flags = [
      `--data=folder:${data}`,
      "--model=test_resnet",
      "--curriculum=baseline",
      "--epochs=1",
      "--batch-size=4",
      "--backend=wasm",
      "--workers=0",
      `--out=${out}`,
      "--json",
    ];
    const refused = await train(["--run-name=strict"], flags).output();
    assert.equal(refused.code, 1);
    assert.match(decode(refused.stderr), /bad\.jpg: corrupt JPEG/);
    const ok = summaryOf(await train(["--run-name=lenient", "--skip-bad-images"], flags).output());
    assert.ok(Number(ok.steps) > 0);
    const listed = await Deno.readTextFile(`${out}/lenient/skipped_images.txt`);
    assert.match(listed, /train\/a\/bad\.jpg\tcorrupt JPEG/);
  },
});

Deno.test("train CLI: a dataset smaller than one batch, and a curriculum too big for the data, say so", async () => {
  const small = await train(
    ["--limit-train=16", "--batch-size=32", `--out=${await Deno.makeTempDir()}`],
    ["--model=test_resnet", "--data=mnist", "--backend=wasm", "--workers=0"],
  ).output();
  assert.equal(small.code, 1);
  assert.match(
    decode(small.stderr),
    /invalid --batch-size = 32: the training set has 16 images, fewer than one batch of 32/,
  );
  const dir = await Deno.makeTempDir();
  // A two-stage curriculum file, run on 64 images at batch 16: the output of a refusal.
  const withCurriculum = async (name: string, first: Record<string, unknown>) => {
    const file = `${dir}/${name}.json`;
    const segments = [{ kind: "stage", magnitude: 5, length: 1, ...first }, {
      kind: "stage",
      size: 28,
      magnitude: 9,
      length: 1,
    }];
    await Deno.writeTextFile(file, JSON.stringify({ name, progress: "epochs", segments }));
    const output = await train(
      [`--curriculum=${file}`, "--epochs=2", `--out=${dir}`],
      [
        "--model=test_resnet",
        "--data=mnist",
        "--backend=wasm",
        "--workers=0",
        "--limit-train=64",
        "--batch-size=16",
      ],
    ).output();
    assert.equal(output.code, 1);
    return { file, stderr: decode(output.stderr) };
  };
  const big = await withCurriculum("big", { size: 40 });
  assert.match(big.stderr, new RegExp(`curriculum ${big.file}.*exceeds the full image size 28`));
  // A stage batch the loop would not honour is refused rather than ignored.
  const rebatched = await withCurriculum("rebatched", { size: 20, batchSize: 32 });
  assert.match(
    rebatched.stderr,
    new RegExp(
      `invalid batchSize \\(curriculum ${rebatched.file}, stage 1\\) = 32: the trainer keeps one batch size`,
    ),
  );
});

Deno.test("train CLI: a broken curriculum file fails before the backend starts or data loads", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/broken.json`;
  await Deno.writeTextFile(file, `{"progress": "epochs", "segments": [{"kind": "stage"`);
  const output = await train([`--curriculum=${file}`], ["--data=mnist"]).output();
  assert.equal(output.code, 1);
  const stderr = decode(output.stderr);
  assert.match(stderr, new RegExp(file.replaceAll("/", "\\/")));
  assert.doesNotMatch(stderr, /backend:|data: /, "nothing was started or loaded first");
});
