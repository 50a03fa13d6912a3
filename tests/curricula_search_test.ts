import assert from "node:assert/strict";
import { FileError, InvalidArgumentError, Rng } from "@efficienttrain/core";
import { type Curriculum } from "@efficienttrain/curricula";
import {
  fakeRunner,
  greedySearch,
  parseFakeRunnerSpec,
  readSearchState,
  type SearchOptions,
  type TrialRunner,
} from "@efficienttrain/curricula";
import { runSearchCli } from "../cli/search.ts";

const CANDIDATES = [12, 16, 20, 24, 28];

function counting(runner: TrialRunner): TrialRunner & { calls: number } {
  const f = (async (c: Curriculum, ctx: Parameters<TrialRunner>[1]) => {
    f.calls++;
    return await runner(c, ctx);
  }) as TrialRunner & { calls: number };
  f.calls = 0;
  return f;
}

const iccv = (extra: Partial<SearchOptions> = {}): SearchOptions => ({
  mode: "iccv",
  stages: 5,
  candidates: CANDIDATES,
  epochs: 30,
  imageSize: 32,
  tolerance: 0.001,
  ...extra,
});

Deno.test("ICCV search finds the known optimum of a fake trainer", async () => {
  for (
    const thresholds of [[16, 16, 20, 24, 32], [12, 12, 12, 12, 12], [32, 32, 32, 32, 32], [
      12,
      20,
      20,
      28,
      28,
    ]]
  ) {
    const r = await greedySearch(fakeRunner({ thresholds, gain: 0 }), iccv());
    // Running stages 0…k at B must keep every stage ≥ its threshold: the optimum is the
    // smallest candidate ≥ the running maximum of the thresholds from the end.
    const expected = thresholds.map((_, k) => {
      const need = Math.max(...thresholds.slice(0, k + 1));
      return [...CANDIDATES, 32].find((c) => c >= need)!;
    });
    assert.deepEqual(r.sizes, expected, `thresholds ${thresholds}`);
    assert.equal(r.stopReason, "done");
    assert.ok(r.accuracy >= r.baselineAccuracy - 0.001);
    assert.equal(r.curriculum.progress, "epochs");
  }
});

Deno.test("ICCV search on random non-decreasing thresholds (gain > 0) finds them", async () => {
  const rng = new Rng(7);
  const all = [...CANDIDATES, 32];
  for (let t = 0; t < 20; t++) {
    const thresholds = Array.from({ length: 4 }, () => all[Math.floor(rng.next() * all.length)])
      .sort((a, b) => a - b);
    const run = fakeRunner({ thresholds, gain: 0.01 });
    const r = await greedySearch(run, iccv({ stages: 4 }));
    assert.deepEqual(r.sizes, thresholds, `thresholds ${thresholds}`);
  }
});

Deno.test("ET++ sequential search under a fixed compute budget finds the known optimum", async () => {
  for (const thresholds of [[12, 16, 20, 28], [16, 16, 32, 32], [12, 12, 12, 12]]) {
    const run = counting(fakeRunner({ thresholds, gain: 0.01 }));
    const r = await greedySearch(run, {
      mode: "etpp",
      stages: 4,
      candidates: CANDIDATES,
      epochs: 20,
      imageSize: 32,
    });
    assert.deepEqual(r.sizes, thresholds);
    assert.equal(r.curriculum.progress, "compute");
    assert.equal(r.curriculum.lrProgress, "compute");
    assert.equal(run.calls, r.trials.length);
  }
});

Deno.test("a killed search resumes from its state file and runs no trial twice", async () => {
  const dir = await Deno.makeTempDir();
  const statePath = `${dir}/state.json`;
  const thresholds = [16, 16, 20, 24, 32];
  const reference = counting(fakeRunner({ thresholds }));
  const full = await greedySearch(reference, iccv());

  // Kill after 6 trials: the runner throws like a crashed process would.
  const inner = fakeRunner({ thresholds });
  let calls = 0;
  const dying: TrialRunner = (c, ctx) => {
    if (++calls > 6) throw new Error("killed");
    return inner(c, ctx);
  };
  await assert.rejects(greedySearch(dying, iccv({ statePath })), /killed/);
  const saved = await readSearchState(statePath);
  assert.equal(saved?.trials.length, 6);

  const resumed = counting(fakeRunner({ thresholds }));
  const lines: string[] = [];
  const r = await greedySearch(resumed, iccv({ statePath, log: (l) => lines.push(l) }));
  assert.equal(resumed.calls, reference.calls - 6);
  assert.deepEqual(r.sizes, full.sizes);
  assert.deepEqual(r.trials.map((t) => t.sizes), full.trials.map((t) => t.sizes));
  assert.deepEqual(r.trials.map((t) => t.trial), full.trials.map((_, i) => i));
  assert.match(lines[0], /resuming: 6 trial/);

  // Re-running a finished search runs nothing.
  const again = counting(fakeRunner({ thresholds }));
  assert.deepEqual((await greedySearch(again, iccv({ statePath }))).sizes, full.sizes);
  assert.equal(again.calls, 0);

  // A state file of another search is refused, naming the differing option.
  await assert.rejects(greedySearch(again, iccv({ statePath, tolerance: 0.5 })), (e: unknown) => {
    assert.ok(e instanceof FileError);
    assert.match(e.message, /tolerance/);
    return true;
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("budget and trial limits stop the search with the last accepted curriculum", async () => {
  const run = fakeRunner({ thresholds: [16, 16, 20, 24, 32], secondsPerEpoch: 1 });
  // Baseline costs 30 s; the next trials cost less. A 60 s budget allows a few.
  const r = await greedySearch(run, iccv({ budgetSeconds: 60 }));
  assert.equal(r.stopReason, "budget");
  assert.ok(r.trials.reduce((a, t) => a + t.wallSeconds, 0) >= 60);
  assert.deepEqual(r.sizes, [32, 32, 32, 32, 32]); // no stage decided below full size yet
  const m = await greedySearch(run, iccv({ maxTrials: 1 }));
  assert.equal(m.stopReason, "max-trials");
  assert.equal(m.trials.length, 1);
});

Deno.test("repeats average over seeds", async () => {
  const seeds: number[] = [];
  const run: TrialRunner = (_c, ctx) => {
    seeds.push(ctx.seed);
    return Promise.resolve({ accuracy: ctx.seed, wallSeconds: 0 });
  };
  const r = await greedySearch(run, iccv({ stages: 1, candidates: [16], repeats: 3, seed: 10 }));
  assert.equal(r.baselineAccuracy, 11);
  assert.deepEqual(seeds.slice(0, 3), [10, 11, 12]);
});

Deno.test("bad search options are InvalidArgumentErrors", async () => {
  const run = fakeRunner({ thresholds: [16] });
  await assert.rejects(greedySearch(run, iccv({ candidates: [40] })), InvalidArgumentError);
  await assert.rejects(greedySearch(run, iccv({ stages: 0 })), InvalidArgumentError);
  await assert.rejects(greedySearch(run, iccv({ magnitudes: [1, 2] })), InvalidArgumentError);
  assert.throws(() => parseFakeRunnerSpec("fake:gain=1"), InvalidArgumentError);
  assert.throws(() => parseFakeRunnerSpec("fake:thresholds=16;colour=red"), /colour/);
});

Deno.test("deno task search with a fake runner writes curriculum, report and plot; resumes", async () => {
  const dir = await Deno.makeTempDir();
  const args = [
    "--model",
    "resnet18_cifar",
    "--data",
    "cifar10",
    "--epochs",
    "20",
    "--stages",
    "4",
    "--candidates",
    "16,20,24",
    "--tolerance",
    "0.001",
    "--out",
    dir,
    "--runner",
    "fake:thresholds=16,20,24,32;gain=0",
  ];
  let out = "";
  const first = await runSearchCli([...args, "--max-trials", "3"], { stdout: (t) => (out += t) });
  assert.equal(first.code, 0);
  assert.equal(first.result?.stopReason, "max-trials");
  const second = await runSearchCli(args, { stdout: (t) => (out += t) });
  assert.equal(second.code, 0);
  assert.deepEqual(second.result?.sizes, [16, 20, 24, 32]);
  assert.match(out, /resuming: 3 trial/);
  const curriculum = JSON.parse(await Deno.readTextFile(`${dir}/curriculum.json`));
  assert.deepEqual(curriculum.segments.map((s: { size: number }) => s.size), [16, 20, 24, 32]);
  const report = await Deno.readTextFile(`${dir}/report.md`);
  assert.match(report, /\| trial \| stage \| B per stage/);
  assert.equal(
    report.split("\n").filter((l) => /^\| \d+ \|/.test(l)).length,
    second.result?.trials.length,
  );
  const svg = await Deno.readTextFile(`${dir}/search.svg`);
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal(svg.match(/<circle [^>]*r="4"/g)?.length, second.result?.trials.length);
  let err = "";
  assert.equal(
    (await runSearchCli([...args, "--runner", "magic"], { stderr: (t) => (err += t) })).code,
    2,
  );
  assert.match(err, /--runner = "magic"/);
  err = "";
  assert.equal(
    (await runSearchCli([...args, "--mode", "annealing"], { stderr: (t) => (err += t) })).code,
    2,
  );
  assert.match(err, /--mode = "annealing"/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the default runner trains each trial in a `deno task train` subprocess", async () => {
  const dir = await Deno.makeTempDir();
  // A stand-in for cli/train.ts: accuracy is known from the trial's curriculum file; it logs
  // its arguments and prints a progress line before the JSON summary, as a trainer may.
  const stub = `${dir}/train_stub.ts`;
  await Deno.writeTextFile(
    stub,
    `const args = Deno.args;
const get = (f: string) => args[args.indexOf(f) + 1];
const c = JSON.parse(await Deno.readTextFile(get("--curriculum")));
const sizes = c.segments.map((s: { size: number }) => s.size);
const thresholds = [16, 24, 32];
const ok = sizes.every((b: number, k: number) => b >= thresholds[k]);
await Deno.writeTextFile("${dir}/calls.txt", args.join(" ") + "\\n", { append: true });
if (get("--batch-size") !== "7") Deno.exit(3);
console.log("epoch 1/2 ...");
console.log(JSON.stringify({ top1: ok ? 0.9 : 0.6, wallSeconds: 2, extra: { nested: true } }, null, 2));
`,
  );
  const out = `${dir}/search`;
  const args = [
    "--model",
    "resnet18_cifar",
    "--data",
    "cifar10",
    "--epochs",
    "2",
    "--stages",
    "3",
    "--candidates",
    "16,24",
    "--tolerance",
    "0.01",
    "--out",
    out,
    "--seed",
    "5",
    "--train-args=--batch-size 7",
  ];
  const trainCommand = [Deno.execPath(), "run", "-A", stub];
  const r = await runSearchCli(args, { trainCommand, stdout: () => {} });
  assert.equal(r.code, 0);
  assert.deepEqual(r.result?.sizes, [16, 24, 32]);
  const calls = (await Deno.readTextFile(`${dir}/calls.txt`)).trim().split("\n");
  assert.equal(calls.length, r.result?.trials.length);
  assert.match(
    calls[0],
    new RegExp(
      `--model resnet18_cifar --data cifar10 --curriculum ${out}/trials/trial-0\\.json --epochs 2 --seed 5 --out ${out}/runs --run-name trial-0-seed5 --json --batch-size 7`,
    ),
  );
  const trial0 = JSON.parse(await Deno.readTextFile(`${out}/trials/trial-0.json`));
  assert.deepEqual(trial0.segments.map((s: { size: number }) => s.size), [32, 32, 32]);
  // A failing trainer is a TrialFailedError naming the trial; the search can be re-run.
  let err = "";
  const bad = await runSearchCli(
    [...args.slice(0, -1), "--out", `${dir}/search2`, "--train-args=--batch-size 8"],
    { trainCommand, stderr: (t) => (err += t), stdout: () => {} },
  );
  assert.equal(bad.code, 2);
  assert.match(err, /trial 0 failed \(exit code 3\)/);
  await Deno.remove(dir, { recursive: true });
});
