import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { input, trainStep, useCpu } from "../tests/models_util.ts";
import {
  createModel,
  decodeSafetensors,
  encodeSafetensors,
  type HostTensor,
  loadModel,
  loadStateDict,
  saveModel,
  stateDict,
} from "./mod.ts";

function bits(v: tf.Tensor): number[] {
  return [...new Uint32Array(Float32Array.from(v.dataSync() as Float32Array).buffer)];
}

for (const name of ["test_resnet", "test_convnext", "test_deit", "test_swin"]) {
  Deno.test(`${name}: save → load round trip is bit-exact (params and buffers)`, async () => {
    await useCpu();
    const dir = await Deno.makeTempDir();
    const a = createModel(name, { seed: 1, dropPathRate: 0.1 });
    const b = createModel(name, { seed: 2 });
    try {
      if (name === "test_swin") a.setInputSize(24);
      if (name === "test_deit") a.setInputSize(12);
      const x = input(2, a.inputSize);
      const { grads } = trainStep(a, x); // moves BN running stats away from their init
      tf.dispose([...grads.values(), x]);
      const path = `${dir}/w.safetensors`;
      await saveModel(a, path);
      const meta = await loadModel(b, path);
      assert.equal(meta.model, name);
      assert.equal(b.inputSize, a.inputSize, "adopts the checkpoint's input size");
      for (const [k, v] of [...a.params, ...a.buffers]) {
        const w = b.params.get(k) ?? b.buffers.get(k)!;
        assert.deepEqual(w.shape, v.shape, k);
        assert.deepEqual(bits(w), bits(v), k);
      }
      const files = [...Deno.readDirSync(dir)].map((e) => e.name);
      assert.deepEqual(files, ["w.safetensors"], "no temp files left behind");
    } finally {
      a.dispose();
      b.dispose();
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("files hold PyTorch layouts: OIHW conv, [C,1,k,k] depthwise, [out,in] linear", async () => {
  await useCpu();
  const r = createModel("test_resnet", { numClasses: 7 });
  const c = createModel("test_convnext");
  try {
    const sr = stateDict(r), sc = stateDict(c);
    assert.deepEqual(sr.get("conv1.weight")!.shape, [8, 3, 3, 3]);
    assert.deepEqual(sr.get("fc.weight")!.shape, [7, 32]);
    assert.deepEqual(sr.get("layer1.0.bn1.running_var")!.shape, [4]);
    assert.deepEqual(sc.get("stages.0.blocks.0.conv_dw.weight")!.shape, [8, 1, 7, 7]);
    assert.deepEqual(sc.get("stem.0.weight")!.shape, [8, 3, 2, 2]);
    // element [o, i, y, x] of the file is element [y, x, i, o] of the internal weight
    const w = r.params.get("conv1.weight")!.arraySync() as number[][][][];
    const f = sr.get("conv1.weight")!.data;
    assert.equal(f[((5 * 3 + 2) * 3 + 1) * 3 + 0], Math.fround(w[1][0][2][5]));
  } finally {
    r.dispose();
    c.dispose();
  }
});

Deno.test("loader errors name the missing, unexpected or mis-shaped tensor", async () => {
  await useCpu();
  const m = createModel("test_resnet");
  try {
    const good = stateDict(m);
    const without = new Map(good);
    without.delete("layer2.0.conv2.weight");
    assert.throws(
      () => loadStateDict(m, { tensors: without, metadata: {} }, "a.safetensors"),
      {
        name: "SafetensorsError",
        message: /a\.safetensors: tensor "layer2\.0\.conv2\.weight": missing/,
      },
    );
    const extra = new Map(good).set("head.weight", { shape: [1], data: new Float32Array(1) });
    assert.throws(
      () => loadStateDict(m, { tensors: extra, metadata: {} }),
      /"head\.weight": unexpected/,
    );
    const bad = new Map<string, HostTensor>(good).set("fc.bias", {
      shape: [3],
      data: new Float32Array(3),
    });
    assert.throws(
      () => loadStateDict(m, { tensors: bad, metadata: {} }),
      /"fc\.bias": shape \[3\] but .* expects \[10\]/,
    );
    // derived buffers of reference checkpoints are ignored
    const torchy = new Map(good).set("bn1.num_batches_tracked", {
      shape: [],
      data: new Float32Array(1),
    });
    loadStateDict(m, { tensors: torchy, metadata: {} });
  } finally {
    m.dispose();
  }
});

Deno.test("decoder rejects truncated and malformed files and reads F16/BF16/F64", () => {
  const bytes = encodeSafetensors(
    new Map([["a", { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }]]),
    { k: "v" },
  );
  assert.equal((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8, 0);
  const ok = decodeSafetensors(bytes);
  assert.deepEqual([...ok.tensors.get("a")!.data], [1, 2, 3, 4]);
  assert.deepEqual(ok.metadata, { k: "v" });
  assert.throws(
    () => decodeSafetensors(bytes.subarray(0, bytes.length - 4), "t.st"),
    /t\.st: tensor "a": bad data_offsets/,
  );
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 5), "t.st"), /shorter than/);
  const junk = new Uint8Array(16);
  new DataView(junk.buffer).setBigUint64(0, 8n, true);
  junk.set(new TextEncoder().encode("{notjson"), 8);
  assert.throws(() => decodeSafetensors(junk, "j.st"), /j\.st: header is not JSON/);
  // other dtypes, built by hand: F16 1.5 = 0x3e00, BF16 -2 = 0xc000, F64 0.1
  const header = JSON.stringify({
    h: { dtype: "F16", shape: [1], data_offsets: [0, 2] },
    b: { dtype: "BF16", shape: [1], data_offsets: [2, 4] },
    d: { dtype: "F64", shape: [1], data_offsets: [8, 16] },
  });
  const head = new TextEncoder().encode(header);
  const file = new Uint8Array(8 + head.length + 16);
  const dv = new DataView(file.buffer);
  dv.setBigUint64(0, BigInt(head.length), true);
  file.set(head, 8);
  dv.setUint16(8 + head.length, 0x3e00, true);
  dv.setUint16(8 + head.length + 2, 0xc000, true);
  dv.setFloat64(8 + head.length + 8, 0.1, true);
  const t = decodeSafetensors(file).tensors;
  assert.equal(t.get("h")!.data[0], 1.5);
  assert.equal(t.get("b")!.data[0], -2);
  assert.equal(t.get("d")!.data[0], Math.fround(0.1));
  const unsupported = header.replace('"F16"', '"I64"');
  const u = new Uint8Array(8 + unsupported.length + 16);
  new DataView(u.buffer).setBigUint64(0, BigInt(unsupported.length), true);
  u.set(new TextEncoder().encode(unsupported), 8);
  assert.throws(() => decodeSafetensors(u, "u.st"), /tensor "h": unsupported dtype "I64"/);
});

Deno.test("loadModel on a missing file is a SafetensorsError naming the path", async () => {
  await useCpu();
  const m = createModel("test_deit");
  try {
    await assert.rejects(() => loadModel(m, "/nonexistent/w.safetensors"), {
      name: "SafetensorsError",
      message: /\/nonexistent\/w\.safetensors: cannot read/,
    });
  } finally {
    m.dispose();
  }
});
