import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { AdamW, createOptimizer, type Optimizer, Sgd } from "./optimizer.ts";
import { decodeTrainSettings, SGD_WEIGHT_DECAY } from "./settings.ts";
import { parseTrainArgs } from "./flags.ts";
import { InvalidArgumentError } from "@efficienttrain/core";

await tf.setBackend("cpu");

/** PyTorch's SGD (dampening 0) written out per element in float64: the definition. */
function sgdReference(
  p0: readonly number[],
  grads: readonly (readonly number[])[],
  lrs: readonly number[],
  o: { momentum: number; nesterov: boolean; decay: number },
): number[] {
  const p = [...p0];
  const buffer = p.map(() => 0);
  grads.forEach((g, t) => {
    for (let i = 0; i < p.length; i++) {
      const d = g[i] + o.decay * p[i];
      buffer[i] = t === 0 ? d : o.momentum * buffer[i] + d;
      const update = o.nesterov ? d + o.momentum * buffer[i] : buffer[i];
      p[i] -= lrs[t] * update;
    }
  });
  return p;
}

const START = [0.5, -1.25, 2, 0.03, -0.7];
const GRADS = [[0.1, -0.4, 1.5, -2, 0.25], [0.3, 0.2, -0.6, 0.9, -1.1], [
  -0.5,
  0.05,
  0.4,
  1.2,
  0.6,
]];
const LRS = [0.1, 0.05, 0.2];

function runSgd(opt: Optimizer, name = "w.weight"): Float32Array {
  const w = tf.variable(tf.tensor1d(START));
  for (let t = 0; t < GRADS.length; t++) {
    const g = tf.tensor1d(GRADS[t]);
    opt.apply(new Map([[name, w]]), new Map([[name, g]]), LRS[t]);
    g.dispose();
  }
  const out = w.dataSync() as Float32Array;
  w.dispose();
  opt.dispose();
  return out;
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], label: string): void {
  for (let i = 0; i < expected.length; i++) {
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= 1e-6 * (1 + Math.abs(expected[i])),
      `${label}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

Deno.test("Sgd follows PyTorch's update: momentum, Nesterov, L2 decay and its mask", () => {
  const cases = [
    { momentum: 0.9, nesterov: true, decay: 5e-4 },
    { momentum: 0.9, nesterov: false, decay: 0.01 },
    { momentum: 0, nesterov: false, decay: 0 },
    { momentum: 0.5, nesterov: true, decay: 0 },
  ];
  for (const o of cases) {
    const label = JSON.stringify(o);
    const expected = sgdReference(START, GRADS, LRS, o);
    const actual = runSgd(
      new Sgd({ momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.decay }),
    );
    assertClose(actual, expected, label);
    // a name the mask exempts gets no decay
    const masked = runSgd(
      new Sgd({
        momentum: o.momentum,
        nesterov: o.nesterov,
        weightDecay: o.decay,
        noWeightDecay: (n) => n.endsWith(".bias"),
      }),
      "w.bias",
    );
    assertClose(masked, sgdReference(START, GRADS, LRS, { ...o, decay: 0 }), `${label} masked`);
  }
});

Deno.test("Sgd: a snapshot loaded into a fresh optimizer continues identically", () => {
  const w = tf.variable(tf.tensor1d(START));
  const apply = (opt: Optimizer, t: number) => {
    const g = tf.tensor1d(GRADS[t]);
    opt.apply(new Map([["w", w]]), new Map([["w", g]]), LRS[t]);
    g.dispose();
  };
  const first = new Sgd({ momentum: 0.9 });
  apply(first, 0);
  apply(first, 1);
  const state = first.state();
  assert.deepEqual([...state.tensors.keys()], ["momentum.w"]);
  assert.equal(state.step, 2);
  first.dispose();
  const second = new Sgd({ momentum: 0.9 });
  second.load(state);
  for (const t of state.tensors.values()) t.dispose();
  apply(second, 2);
  assert.equal(second.step, 3);
  const continued = w.dataSync();
  assertClose(
    continued,
    sgdReference(START, GRADS, LRS, { momentum: 0.9, nesterov: true, decay: 5e-4 }),
    "continued",
  );
  second.dispose();
  w.dispose();
});

Deno.test("resampling keeps SGD's momentum signed but clamps AdamW's second moment at zero", () => {
  const w = tf.variable(tf.tensor1d([1, 2]));
  const g = tf.tensor1d([1, -1]);
  const negate = new Map([["w", (t: tf.Tensor) => tf.neg(t)]]);
  const sgd = new Sgd({ momentum: 0.9, weightDecay: 0 });
  const adamw = new AdamW({ weightDecay: 0 });
  for (const opt of [sgd, adamw]) {
    opt.apply(new Map([["w", w]]), new Map([["w", g]]), 0.1);
    opt.resample(negate);
  }
  const read = (opt: Optimizer, key: string) => {
    const s = opt.state();
    const v = Array.from(s.tensors.get(key)!.dataSync());
    for (const t of s.tensors.values()) t.dispose();
    return v;
  };
  assert.deepEqual(read(sgd, "momentum.w"), [-1, 1]);
  assertClose(read(adamw, "m.w"), [-0.1, 0.1], "m");
  assert.deepEqual(read(adamw, "v.w"), [0, 0]);
  sgd.dispose();
  adamw.dispose();
  w.dispose();
  g.dispose();
});

Deno.test("--opt picks the optimizer; SGD without --weight-decay takes SGD_WEIGHT_DECAY", () => {
  assert.ok(createOptimizer("sgd", { weightDecay: 0 }) instanceof Sgd);
  assert.ok(createOptimizer("adamw", { weightDecay: 0 }) instanceof AdamW);
  assert.equal(decodeTrainSettings({}).optimizer, "adamw");
  assert.equal(decodeTrainSettings({}).weightDecay, 0.05);
  const sgd = parseTrainArgs(["--opt", "sgd", "--momentum", "0.8"]).settings;
  assert.equal(sgd.optimizer, "sgd");
  assert.equal(sgd.momentum, 0.8);
  assert.equal(sgd.weightDecay, SGD_WEIGHT_DECAY);
  assert.equal(
    parseTrainArgs(["--opt", "sgd", "--weight-decay", "1e-4"]).settings.weightDecay,
    1e-4,
  );
  assert.throws(
    () => parseTrainArgs(["--opt", "lamb"]),
    (e: unknown) =>
      e instanceof InvalidArgumentError && e.argument === "--opt" && e.value === "lamb",
  );
  assert.throws(
    () => parseTrainArgs(["--momentum", "1"]),
    (e: unknown) => e instanceof InvalidArgumentError && e.argument === "--momentum",
  );
});
