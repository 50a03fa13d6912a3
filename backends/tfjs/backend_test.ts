import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect, Exit } from "effect";
import { Backend, InvalidArgumentError } from "@efficienttrain/core";
import { probeNative } from "@efficienttrain/backend-native";
import {
  BackendError,
  backendLayer,
  initBackend,
  listBackends,
  missingTrainingKernels,
  tfjsWebgpuDevice,
  WASM_KERNELS,
} from "./mod.ts";

Deno.test("initBackend('cpu') selects cpu and reports honest capabilities", async () => {
  const info = await initBackend("cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.equal(info.name, "cpu");
  assert.equal(info.tfjsName, "cpu");
  assert.equal(info.capabilities.fft, true);
  assert.equal(info.capabilities.float64, false);
  assert.equal(info.capabilities.gpu, false);
  assert.equal(info.capabilities.trainable, true);
});

Deno.test("initBackend('wasm') is idempotent and leaves wasm current", async () => {
  const a = await initBackend("wasm");
  await initBackend("cpu");
  const b = await initBackend("wasm");
  assert.equal(tf.getBackend(), "wasm");
  assert.deepEqual(a, b);
  assert.equal(b.capabilities.fft, false); // tfjs-wasm has no FFT kernel
  assert.equal(b.capabilities.threads >= 1, true);
  assert.equal(b.capabilities.trainable, true);
  assert.deepEqual(missingTrainingKernels("wasm"), []);
  const y = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
  assert.deepEqual(Array.from(await y.data()), [4, 6]);
});

Deno.test("the wasm kernels registered are the ones tfjs-wasm lacks or gets wrong", () => {
  for (
    const name of ["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter", "MaxPoolGrad"]
  ) {
    assert.ok(name in WASM_KERNELS, name);
    assert.equal(tf.getKernel(name, "wasm")?.kernelFunc, WASM_KERNELS[name]);
  }
});

Deno.test("initBackend rejects a name that is not a backend", async () => {
  await assert.rejects(
    () => initBackend("tpu" as "cpu"),
    (e) => e instanceof InvalidArgumentError && e.message.includes("tpu"),
  );
});

Deno.test("initBackend('auto') explains its choice and sets the chosen backend", async () => {
  const info = await initBackend("auto");
  assert.equal(tf.getBackend(), info.tfjsName);
  assert.ok(["webgpu", "native", "wasm"].includes(info.name));
  assert.ok(info.reason.includes(`using ${info.name}`), info.reason);
  assert.ok(!info.reason.includes("\n"));
  const rows = await listBackends();
  const gpu = rows.find((r) => r.name === "webgpu")!;
  // A software (fallback) adapter such as llvmpipe is never auto's choice.
  if (gpu.reason.startsWith("only a fallback")) assert.notEqual(info.name, "webgpu");
  if (info.name === "wasm") assert.ok(info.reason.includes("native unavailable"), info.reason);
});

Deno.test("--backend native without its libraries is a BackendError naming the fix", async () => {
  const probe = probeNative();
  if (probe.available) {
    const info = await initBackend("native");
    assert.equal(tf.getBackend(), "native");
    assert.equal(info.name, "native");
    return;
  }
  await assert.rejects(
    () => initBackend("native"),
    (e) => e instanceof BackendError && e.backend === "native" && e.message.includes(probe.reason),
  );
});

Deno.test("listBackends lists every concrete backend with a reason", async () => {
  const rows = await listBackends();
  assert.deepEqual(rows.map((r) => r.name), ["cpu", "wasm", "webgpu", "native"]);
  for (const r of rows) assert.ok(r.reason.length > 0, r.name);
  assert.equal(rows[0].available, true);
  assert.equal(rows[3].available, probeNative().available);
});

Deno.test("backendLayer provides the Backend service, and fails with a typed error", async () => {
  const name = await Effect.runPromise(
    Effect.provide(
      Backend.useSync((b) => `${b.info.name}:${b.info.tfjsName}`),
      backendLayer("cpu"),
    ),
  );
  assert.equal(name, "cpu:cpu");
  const exit = await Effect.runPromiseExit(
    Effect.provide(Backend.useSync((b) => b.info.name), backendLayer("gpu9" as "cpu")),
  );
  assert.ok(Exit.isFailure(exit));
  assert.ok(String(exit.cause).includes("gpu9"));
});

Deno.test({
  name: "initBackend('webgpu') runs an op on Deno's navigator.gpu (skipped without an adapter)",
  ignore: !(await listBackends()).find((r) => r.name === "webgpu")?.available,
  async fn() {
    const info = await initBackend("webgpu");
    assert.equal(tf.getBackend(), "webgpu");
    assert.equal(info.capabilities.gpu, true);
    assert.equal(info.capabilities.fft, true);
    assert.equal(typeof tfjsWebgpuDevice()?.createBuffer, "function");
    const y = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
    assert.deepEqual(Array.from(await y.data()), [4, 6]); // dataSync needs a canvas on webgpu
    tf.dispose(y);
    await initBackend("cpu");
  },
});

// Without --allow-ffi the native libraries cannot load, whatever is installed: the same
// situation as a machine without them, reproduced in a child process.
Deno.test("without native, auto falls back to wasm and --backend native explains why", async () => {
  const script = `
    import { initBackend } from "@efficienttrain/backend-tfjs";
    const auto = await initBackend("auto");
    let error = null;
    try { await initBackend("native"); } catch (e) { error = { tag: e._tag, message: e.message }; }
    console.log(JSON.stringify({ name: auto.name, reason: auto.reason, error }));
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "--allow-write", "--no-prompt", "--no-check", "-"],
    cwd: new URL("../..", import.meta.url),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  const result = JSON.parse(lines[lines.length - 1]);
  assert.equal(result.error.tag, "BackendError");
  assert.match(result.error.message, /^backend native unavailable: ./);
  if (result.name === "webgpu") return; // a machine with a real GPU never reaches native
  assert.equal(result.name, "wasm");
  const why = result.reason.match(/native unavailable: (.*); using wasm$/)?.[1];
  assert.equal(result.error.message, `backend native unavailable: ${why}`);
});
