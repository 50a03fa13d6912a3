import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import { equalEpochStages, resolveCurriculum } from "@efficienttrain/curricula";
import { exportLauncher, launcherScript, presets } from "@efficienttrain/curricula";
import { runCurriculumCli } from "../cli/curriculum.ts";

function flag(args: ReadonlyArray<string>, name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

Deno.test("efficienttrain-pytorch: ET at 300 epochs gives exactly the authors' launches", () => {
  const x = exportLauncher(
    resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 }),
    {
      format: "efficienttrain-pytorch",
    },
  );
  assert.equal(x.stages.length, 5);
  // ET_training.py: --epochs E --warmup_epochs 20 --end_epoch int(E/5·(k+1)) --input_size b
  // --aa rand-m{2k+1}-mstd0.5-inc1
  x.stages.forEach((s, k) => {
    assert.equal(flag(s.args, "--epochs"), "300");
    assert.equal(flag(s.args, "--warmup_epochs"), "20");
    assert.equal(flag(s.args, "--end_epoch"), String(Math.trunc((300 / 5) * (k + 1))));
    assert.equal(flag(s.args, "--input_size"), String([160, 160, 160, 192, 224][k]));
    assert.equal(flag(s.args, "--aa"), `rand-m${2 * k + 1}-mstd0.5-inc1`);
  });
  assert.deepEqual(x.stages.map((s) => flag(s.args, "--end_epoch")), [
    "60",
    "120",
    "180",
    "240",
    "300",
  ]);
  assert.deepEqual(x.notes, []);
});

Deno.test("efficienttrain-pytorch: ET++ (Swin, replay) matches the authors' ET++ launcher formulas", () => {
  const E = 200;
  const x = exportLauncher(
    resolveCurriculum(presets["efficienttrain++-replay"], {
      epochs: E,
      imageSize: 224,
      modelFamily: "swin_tiny",
    }),
    { format: "efficienttrain-pytorch" },
  );
  const res = [96, 96, 160, 160, 160, 160, 224, 224, 224, 224];
  const replay = [2, 2, 1, 1, 1, 1, 1, 1, 1, 1];
  x.stages.forEach((s, k) => {
    const rp = Math.trunc((E * (224 * 224) / (res[k] * res[k])) / replay[k]);
    assert.equal(flag(s.args, "--epochs"), String(rp), `stage ${k}`);
    assert.equal(
      flag(s.args, "--end_epoch"),
      String(Math.trunc((rp / 10) * (k + 1))),
      `stage ${k}`,
    );
    assert.equal(flag(s.args, "--warmup_epochs"), String(Math.trunc(20 / replay[k])));
    assert.equal(flag(s.args, "--input_size"), String(res[k]));
    assert.equal(flag(s.args, "--aa"), `rand-m${k}-mstd0.5-inc1`);
    assert.equal(flag(s.args, "--replay_times"), String(replay[k]));
    assert.equal(flag(s.args, "--replay_buffer_size"), replay[k] > 1 ? "1024" : "0");
  });
  assert.match(launcherScript(x), /main_buffer\.py/);
});

Deno.test("timm: per-stage --input-size/--aa with the stage end in ET_END_EPOCH and --resume", () => {
  const x = exportLauncher(
    resolveCurriculum(presets.efficienttrain, { epochs: 100, imageSize: 224 }),
    {
      format: "timm",
      warmupEpochs: 5,
    },
  );
  assert.deepEqual(x.stages.map((s) => s.env.ET_END_EPOCH), ["20", "40", "60", "80", "100"]);
  assert.deepEqual(
    x.stages[3].args.slice(
      x.stages[3].args.indexOf("--input-size"),
      x.stages[3].args.indexOf("--input-size") + 4,
    ),
    [
      "--input-size",
      "3",
      "192",
      "192",
    ],
  );
  assert.equal(flag(x.stages[0].args, "--warmup-epochs"), "5");
  const sh = launcherScript(x);
  assert.equal(sh.match(/--resume "\$CKPT"/g)?.length, 4); // every launch but the first resumes
  assert.match(sh, /ET_END_EPOCH=20 \$LAUNCH --epochs 100/);
  assert.throws(
    () =>
      exportLauncher(
        resolveCurriculum(presets["efficienttrain++"], { epochs: 100, imageSize: 224 }),
        { format: "timm" },
      ),
    InvalidArgumentError,
  );
});

Deno.test("knobs become launcher flags; fractional ends are rounded for timm with a note", () => {
  const c = equalEpochStages([{ size: 16, magnitude: 2.5, mixupScale: 0.5, batchSize: 512 }, {
    size: 32,
    magnitude: 9,
  }]);
  const r = resolveCurriculum(c, { epochs: 10, imageSize: 32 });
  const pt = exportLauncher(r, { format: "efficienttrain-pytorch", mixup: 0.8, cutmix: 1 });
  assert.equal(flag(pt.stages[0].args, "--batch_size"), "512");
  assert.equal(flag(pt.stages[0].args, "--mixup"), "0.4");
  assert.equal(flag(pt.stages[0].args, "--cutmix"), "0.5");
  assert.equal(flag(pt.stages[0].args, "--aa"), "rand-m2.5-mstd0.5-inc1");
  assert.equal(flag(pt.stages[1].args, "--mixup"), undefined);
  const comp = resolveCurriculum(presets["composer-progressive"], { epochs: 10, imageSize: 32 });
  const timm = exportLauncher(comp, { format: "timm" });
  assert.ok(timm.notes.some((n) => n.includes("rounded")));
  for (let i = 1; i < timm.stages.length; i++) {
    assert.ok(
      Number(timm.stages[i].env.ET_END_EPOCH) > Number(timm.stages[i - 1].env.ET_END_EPOCH),
    );
  }
  assert.throws(() => exportLauncher(r, { format: "keras" as "timm" }), InvalidArgumentError);
});

Deno.test("deno task curriculum export writes a runnable bash script", async () => {
  const dir = await Deno.makeTempDir();
  let out = "";
  const code = await runCurriculumCli(
    [
      "export",
      "efficienttrain",
      "--format",
      "efficienttrain-pytorch",
      "--epochs",
      "300",
      "--out",
      `${dir}/et.sh`,
    ],
    { stdout: (t) => (out += t) },
  );
  assert.equal(code, 0);
  assert.match(out, /5 launches/);
  const sh = await Deno.readTextFile(`${dir}/et.sh`);
  // Run the script with LAUNCH=echo: it must print the five launches with the extra arguments.
  const bash = await new Deno.Command("bash", {
    args: [`${dir}/et.sh`, "--model", "resnet50"],
    env: { LAUNCH: "echo" },
    stdout: "piped",
  }).output().catch(() => undefined);
  if (bash !== undefined) {
    const lines = new TextDecoder().decode(bash.stdout).trim().split("\n");
    assert.equal(lines.length, 5);
    assert.match(
      lines[4],
      /--end_epoch 300 .*--input_size 224 --aa rand-m9-mstd0.5-inc1 --model resnet50$/,
    );
  }
  assert.match(sh, /^#!\/usr\/bin\/env bash/);
  let err = "";
  assert.equal(
    await runCurriculumCli(["export", "efficienttrain", "--format", "keras", "--epochs", "3"], {
      stderr: (t) => (err += t),
    }),
    2,
  );
  assert.match(err, /--format = "keras"/);
  await Deno.remove(dir, { recursive: true });
});

/**
 * The epochs each launch of an exported script trains, by the authors' resume arithmetic:
 * `main.py` resumes at checkpoint epoch + 1; `main_buffer.py` rescales that by the replay
 * ratio and by (B_prev / B)² (utils_buffer.auto_load_model). A launch trains
 * [start, --end_epoch).
 */
function simulateLaunches(
  stages: ReadonlyArray<{ args: ReadonlyArray<string> }>,
  entry: "main.py" | "main_buffer.py",
): { start: number; end: number; epochs: number; size: number; replay: number }[] {
  const out: { start: number; end: number; epochs: number; size: number; replay: number }[] = [];
  for (const s of stages) {
    const end = Number(flag(s.args, "--end_epoch"));
    const size = Number(flag(s.args, "--input_size"));
    const replay = Number(flag(s.args, "--replay_times") ?? 1);
    const prev = out[out.length - 1];
    let start = 0;
    if (prev !== undefined) {
      const ckptEpoch = Math.max(prev.start, prev.end) - 1; // the last epoch it saved
      start = ckptEpoch + 1;
      if (entry === "main_buffer.py") {
        if (replay !== prev.replay) start = Math.round(start * (prev.replay / replay));
        start = Math.round((start * prev.size ** 2) / size ** 2);
      }
    }
    out.push({ start, end, epochs: Number(flag(s.args, "--epochs")), size, replay });
  }
  return out;
}

Deno.test("efficienttrain-pytorch: the ET++ export runs under main_buffer.py's resume arithmetic", () => {
  const E = 200, H = 224;
  const resolved = resolveCurriculum(presets["efficienttrain++"], {
    epochs: E,
    imageSize: H,
    modelFamily: "resnet50",
  });
  const x = exportLauncher(resolved, { format: "efficienttrain-pytorch" });
  const script = launcherScript(x);
  assert.match(script, /main_buffer\.py/, "ET++ changes --epochs per launch: main_buffer.py");
  for (const s of x.stages) assert.equal(flag(s.args, "--replay_times"), "1");

  const buffered = simulateLaunches(x.stages, "main_buffer.py");
  let equivalent = 0;
  buffered.forEach((l, k) => {
    assert.ok(l.end > l.start, `launch ${k} trains ${l.end - l.start} epochs`);
    // Compute of the epochs it trains, in H²-equivalent epochs, against the curriculum's.
    equivalent += ((l.end - l.start) * l.size ** 2) / H ** 2;
    const want = resolved.stages[k].endEquivalent;
    assert.ok(Math.abs(equivalent - want) <= 2, `launch ${k}: ${equivalent} vs ${want}`);
  });
  assert.ok(Math.abs(equivalent - E) <= 1, `total ${equivalent} H²-equivalent epochs`);

  // Under main.py's arithmetic the later launches would start past their own end epoch.
  const plain = simulateLaunches(x.stages, "main.py");
  assert.ok(plain.some((l) => l.end <= l.start), "main.py would skip stages");
});

Deno.test("efficienttrain-pytorch: the ET export runs under main.py's arithmetic", () => {
  const x = exportLauncher(
    resolveCurriculum(presets.efficienttrain, { epochs: 300, imageSize: 224 }),
    {
      format: "efficienttrain-pytorch",
    },
  );
  assert.match(launcherScript(x), /\bmain\.py/);
  const launches = simulateLaunches(x.stages, "main.py");
  assert.deepEqual(launches.map((l) => l.end - l.start), [60, 60, 60, 60, 60]);
});
