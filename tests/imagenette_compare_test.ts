/**
 * `bench/experiments/imagenette/imagenette_compare.sh`'s pairing, with a stand-in `deno` first
 * on PATH that logs each call and sleeps in place of training: the two queues start together,
 * a queue that ends first puts a ballast on its core until the other ends (none when a queue
 * is empty), and a failed run ends its queue, is reported, and fails the script without
 * leaving the ballast running. Order of events only, no timings.
 */
import assert from "node:assert/strict";

const SCRIPT = new URL("../bench/experiments/imagenette/imagenette_compare.sh", import.meta.url)
  .pathname;

const FAKE_DENO = `#!/usr/bin/env bash
log="$FAKE_LOG"
case "$*" in
  *checkpoint_step.ts*)
    echo "ballast start" >> "$log"
    trap 'echo "ballast killed" >> "$log"; exit 143' TERM
    sleep 600 & wait ;;
  *--table-only*) echo "table" >> "$log" ;;
  *headline.ts*) echo "headline" >> "$log" ;;
  *"--seeds 1 "*) echo "seed 1: $*" >> "$log" ;;
  *"--curricula baseline "*) sleep 3; echo "baseline done" >> "$log" ;;
  *"--curricula efficienttrain "*)
    sleep 1
    if [ -n "$FAKE_FAIL" ]; then echo "efficienttrain failed" >> "$log"; exit 3; fi
    echo "efficienttrain done" >> "$log" ;;
  *"--curricula "*) echo "other run: $*" >> "$log" ;;
esac
`;

function toolsPresent(): boolean {
  try {
    for (const tool of ["bash", "python3"]) {
      new Deno.Command(tool, { args: ["-c", tool === "bash" ? "true" : "pass"] }).outputSync();
    }
    return true;
  } catch {
    return false;
  }
}

async function runScript(
  env: Record<string, string>,
  families: readonly string[] = ["resnet"],
): Promise<{ code: number; events: string[]; out: string }> {
  const dir = await Deno.makeTempDir({ prefix: "et_compare_" });
  try {
    const bin = `${dir}/bin`, log = `${dir}/calls.log`;
    await Deno.mkdir(bin);
    await Deno.writeTextFile(`${bin}/deno`, FAKE_DENO, { mode: 0o755 });
    await Deno.writeTextFile(log, "");
    const result = await new Deno.Command("bash", {
      args: [SCRIPT, ...families],
      env: {
        ...env,
        PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`,
        OUT: `${dir}/out`,
        FAKE_LOG: log,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    const events = (await Deno.readTextFile(log)).trim().split("\n").filter((l) => l !== "");
    return { code: result.code, events, out };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function before(events: readonly string[], first: string, second: string): void {
  const a = events.indexOf(first), b = events.indexOf(second);
  assert.ok(a >= 0 && b >= 0 && a < b, `"${first}" before "${second}" in ${events.join(" | ")}`);
}

const ignore = !toolsPresent();

Deno.test({
  name: "imagenette_compare.sh: the queue that ends first runs a ballast until its partner ends",
  ignore,
  async fn() {
    const { code, events, out } = await runScript({
      QUEUE1: "baseline",
      QUEUE2: "efficienttrain",
    });
    assert.equal(code, 0, out);
    before(events, "efficienttrain done", "ballast start");
    before(events, "ballast start", "baseline done");
    before(events, "baseline done", "ballast killed");
    before(events, "ballast killed", "table");
    assert.equal(events.filter((e) => e === "ballast start").length, 1);
    assert.equal(events.at(-1), "headline");
  },
});

Deno.test({
  name: "imagenette_compare.sh: no ballast when one queue is empty",
  ignore,
  async fn() {
    const { code, events, out } = await runScript({ QUEUE1: "baseline", QUEUE2: "" });
    assert.equal(code, 0, out);
    assert.deepEqual(events, ["baseline done", "table", "headline"]);
  },
});

Deno.test({
  name: "imagenette_compare.sh: a failed run ends its queue, is reported, and fails the script",
  ignore,
  async fn() {
    const { code, events, out } = await runScript({
      QUEUE1: "baseline",
      QUEUE2: "efficienttrain efficienttrain-resize",
      FAKE_FAIL: "1",
    });
    assert.notEqual(code, 0);
    assert.match(out, /FAILED resnet efficienttrain seed 0 \(exit 3/);
    assert.ok(!events.some((e) => e.startsWith("other run")), "the resize control did not start");
    before(events, "efficienttrain failed", "ballast start");
    before(events, "baseline done", "ballast killed");
    assert.ok(!events.includes("headline"), "no headline after a failure");
  },
});

Deno.test({
  name:
    "imagenette_compare.sh: <family>-seed<N> pairs that family's baseline and EfficientTrain at seed N",
  ignore,
  async fn() {
    const { code, events, out } = await runScript({}, ["convnext-seed1"]);
    assert.equal(code, 0, out);
    const runs = events.filter((e) => e.startsWith("seed 1: "));
    assert.equal(runs.length, 2, events.join(" | "));
    for (const curriculum of ["baseline", "efficienttrain"]) {
      const run = runs.find((r) => r.includes(`--curricula ${curriculum} `));
      assert.ok(run, `${curriculum} at seed 1 in ${events.join(" | ")}`);
      assert.match(run, /--models convnext_atto /);
      assert.match(run, /--compare-out \S+\/out\/convnext /);
    }
  },
});

Deno.test({
  name:
    "imagenette_compare.sh: an EfficientTrain++ budget other than 1/2 needs a TAG and goes to its variant folder",
  ignore,
  async fn() {
    const untagged = await runScript({
      ETPP_FRACTION: "3/4",
      QUEUE1: "",
      QUEUE2: "efficienttrain++",
    });
    assert.equal(untagged.code, 2);
    assert.match(untagged.out, /ETPP_FRACTION=3\/4 need a TAG/);
    assert.deepEqual(untagged.events, []);
    const tagged = await runScript({
      ETPP_FRACTION: "3/4",
      TAG: "etpp34",
      QUEUE1: "",
      QUEUE2: "efficienttrain++",
    });
    assert.equal(tagged.code, 0, tagged.out);
    const run = tagged.events.find((e) => e.startsWith("other run"));
    assert.ok(run, tagged.events.join(" | "));
    // ResNet's runs of record are 25 epochs long: 3/4 of them is 18.75 equivalent epochs
    assert.match(run, /--epochs 25 /);
    assert.match(
      run,
      /--epochs-by-curriculum efficienttrain\+\+=18\.75,efficienttrain\+\+-replay=18\.75 /,
    );
    assert.match(run, /--compare-out \S+\/out\/variants\/resnet-etpp34 /);
  },
});

Deno.test({
  name: "imagenette_compare.sh: a length other than the family's record needs a TAG",
  ignore,
  async fn() {
    const env = { EPOCHS: "20", QUEUE1: "", QUEUE2: "efficienttrain++" };
    const untagged = await runScript(env);
    assert.equal(untagged.code, 2);
    assert.match(untagged.out, /EPOCHS=20 for resnet \(its runs of record: 25\) needs a TAG/);
    assert.deepEqual(untagged.events, []);
    // the same length as the record's needs none; DeiT's record is 20 epochs
    const deit = await runScript(env, ["deit"]);
    assert.equal(deit.code, 0, deit.out);
    const tagged = await runScript({ ...env, TAG: "e20" });
    assert.equal(tagged.code, 0, tagged.out);
    const run = tagged.events.find((e) => e.startsWith("other run"));
    assert.ok(run, tagged.events.join(" | "));
    assert.match(run, /--epochs 20 .*efficienttrain\+\+=10(\.0)?,/);
    assert.match(run, /--compare-out \S+\/out\/variants\/resnet-e20 /);
  },
});
