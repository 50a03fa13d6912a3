/**
 * Training on `--backend webgpu`. tfjs-webgpu under Deno has no synchronous reads, so these
 * runs fail on any `dataSync()` left on the training path: the loop itself (loss reads,
 * gradient clipping, evaluation, checkpoints, a stage change that resamples DeiT's position
 * embedding on the device) and the CLI (step-time profile, crop pipeline, model.safetensors).
 *
 * Runs on whatever adapter exists, llvmpipe included (a software rasteriser: every shape is
 * tiny); skipped when Deno has no `navigator.gpu`, no adapter, or tfjs cannot start on it.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  bicubicMatrix2d,
  createModel,
  decodeSafetensors,
  resamplePosEmbed,
} from "@efficienttrain/models";
import {
  decodeTrainSettings,
  loadCheckpoint,
  type MetricRecord,
  train,
} from "@efficienttrain/train";
import { syntheticParts } from "@efficienttrain/train/testing";
import { startWebgpu } from "./webgpu_util.ts";

const ignore = !(await startWebgpu());
const root = new URL("..", import.meta.url).pathname;

function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}

Deno.test({
  name: "webgpu: test_resnet and test_deit train through a stage change and checkpoint",
  ignore,
  async fn() {
    assert.equal(tf.getBackend(), "webgpu");
    for (const [name, small] of [["test_resnet", 8], ["test_deit", 8]] as const) {
      // 12 px, 1 channel, 3 classes: the synthetic task's shape; stage 1 trains at `small`
      const model = createModel(name, { numClasses: 3, inChans: 1, imgSize: 12, seed: 2 });
      const parts = syntheticParts({ seed: 4, epochs: 2, small, trainCount: 64, model });
      const dir = await Deno.makeTempDir();
      const metrics: MetricRecord[] = [];
      const logs: string[] = [];
      try {
        const result = await train(parts, {
          settings: decodeTrainSettings({
            epochs: 2,
            batchSize: 16,
            lr: 0.01,
            warmupEpochs: 0.5,
            weightDecay: 0.01,
            evalBatchSize: 24,
            logEverySteps: 1,
            clipGrad: 1,
            ema: true,
          }),
          runDir: dir,
          log: (l) => logs.push(l),
          onMetric: (r) => metrics.push(r),
        });
        const losses = metrics.filter((m) => m.kind === "step").map((m) => Number(m.loss));
        assert.equal(losses.length, 8, `${name}: one record per step`);
        assert.ok(allFinite(losses), `${name}: step losses ${losses}`);
        assert.ok(logs.some((l) => l.includes("B=12")), `${name}: the stage changed`);
        assert.equal(result.steps, 8);
        assert.ok(Number.isFinite(result.final.loss), `${name}: test loss ${result.final.loss}`);
        assert.ok(result.finalEma && Number.isFinite(result.finalEma.loss));

        const ckpt = await loadCheckpoint(`${dir}/checkpoint.safetensors`);
        try {
          assert.equal(ckpt.state.step, 8);
          assert.equal(ckpt.state.inputSize, 12);
          for (const [k, v] of model.params) {
            const saved = ckpt.params.get(k);
            assert.ok(saved, `${name}: checkpoint holds ${k}`);
            const [a, b] = [await saved.data(), await v.data()];
            assert.ok(allFinite(a), `${name}: ${k} is finite`);
            assert.deepEqual([...a], [...b], `${name}: ${k} is the trained value`);
          }
          assert.ok(ckpt.optimizer.size > 0 && ckpt.ema.size > 0);
        } finally {
          tf.dispose([
            ...ckpt.params.values(),
            ...ckpt.buffers.values(),
            ...ckpt.optimizer.values(),
            ...ckpt.ema.values(),
          ]);
        }
      } finally {
        model.dispose();
        await Deno.remove(dir, { recursive: true });
      }
    }
  },
});

Deno.test({
  name: "webgpu: position-embedding resampling runs on the device and matches float64",
  ignore,
  async fn() {
    const [g0, g1, dim] = [4, 6, 3];
    const host = Float32Array.from({ length: (1 + g0 * g0) * dim }, (_, i) => Math.sin(i));
    const pos = tf.tensor3d(host, [1, 1 + g0 * g0, dim]);
    const out = resamplePosEmbed(g0, g1, { prefixTokens: 1 })(pos);
    const got = await out.data();
    tf.dispose([pos, out]);
    const m = bicubicMatrix2d(g0, g1, { antialias: true });
    let err = 0;
    for (let c = 0; c < dim; c++) err = Math.max(err, Math.abs(got[c] - host[c]));
    for (let r = 0; r < g1 * g1; r++) {
      for (let c = 0; c < dim; c++) {
        let want = 0;
        for (let s = 0; s < g0 * g0; s++) want += m[r * g0 * g0 + s] * host[(1 + s) * dim + c];
        err = Math.max(err, Math.abs(got[(1 + r) * dim + c] - want));
      }
    }
    assert.ok(err < 1e-5, `max |Δ| ${err}`);
  },
});

Deno.test({
  name: "webgpu: `train --backend webgpu` runs end to end and writes its checkpoint",
  ignore,
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${root}cli/train.ts`,
          "--backend=webgpu",
          "--model=test_resnet",
          "--data=mnist",
          "--curriculum=efficienttrain",
          "--epochs=2",
          "--batch-size=16",
          "--limit-train=64",
          "--limit-test=32",
          "--workers=0",
          `--out=${out}`,
          "--run-name=gpu",
          "--json",
        ],
        cwd: root,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assert.equal(output.code, 0, stderr.slice(-2000));
      const text = new TextDecoder().decode(output.stdout);
      const summary = JSON.parse(text.slice(text.indexOf("{")));
      assert.equal(summary.backend, "webgpu");
      assert.equal(summary.steps, 8);
      assert.ok(Number.isFinite(summary.testLoss), `test loss ${summary.testLoss}`);
      assert.ok(Object.values(summary.stepProfile).every((s) => Number(s) > 0));
      for (const file of ["checkpoint.safetensors", "model.safetensors"]) {
        const { tensors } = decodeSafetensors(await Deno.readFile(`${out}/gpu/${file}`), file);
        assert.ok(tensors.size > 0, `${file} holds tensors`);
        for (const [k, t] of tensors) assert.ok(allFinite(t.data), `${file}: ${k} is finite`);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
