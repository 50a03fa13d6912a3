import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import {
  D,
  dnnlContext,
  mdDense,
  mdStrides,
  opDesc,
  Primitive,
  primitiveDesc,
  reorder,
} from "./dnnl.ts";
import { gemmFromEnv, loadNativeLibs, type NativeLibs } from "./ffi.ts";

Deno.test("ET_NATIVE_GEMM accepts onednn or openblas and names itself otherwise", () => {
  assert.equal(gemmFromEnv(undefined), "onednn");
  assert.equal(gemmFromEnv(""), "onednn");
  assert.equal(gemmFromEnv("onednn"), "onednn");
  assert.equal(gemmFromEnv("openblas"), "openblas");
  for (const bad of ["openblass", "OpenBLAS", "mkl"]) {
    assert.throws(() => gemmFromEnv(bad), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.argument, "ET_NATIVE_GEMM");
      assert.equal(e.value, bad);
      return true;
    });
  }
});

const libs = loadNativeLibs();
const noNative = typeof libs === "string";

Deno.test({
  name: "sgemm refuses an operand its array cannot hold, before the library runs",
  ignore: noNative,
}, () => {
  const { gemm } = libs as NativeLibs;
  const a = new Float32Array(2 * 3).fill(1), b = new Float32Array(3 * 4).fill(1);
  const c = new Float32Array(2 * 4);
  gemm.sgemm(false, false, { m: 2, n: 4, k: 3 }, { data: a, ld: 3 }, { data: b, ld: 4 }, {
    data: c,
    ld: 4,
    alpha: 1,
    beta: 0,
  });
  assert.deepEqual([...c], new Array(8).fill(3));
  const tooShort = (name: string, call: () => void): void => {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof RangeError);
      assert.match(e.message, new RegExp(`operand ${name}`));
      return true;
    });
  };
  const out = { data: c, ld: 4, alpha: 1, beta: 0 };
  // C one row short: the library would write 4 floats past the end
  tooShort(
    "C",
    () =>
      gemm.sgemm(false, false, { m: 3, n: 4, k: 3 }, { data: new Float32Array(9), ld: 3 }, {
        data: b,
        ld: 4,
      }, out),
  );
  // transposed A read as k × m: 3 × 3 needs 9, not 6
  tooShort(
    "A",
    () =>
      gemm.sgemm(true, false, { m: 3, n: 4, k: 3 }, { data: a, ld: 3 }, { data: b, ld: 4 }, {
        ...out,
        data: new Float32Array(12),
      }),
  );
  // a leading dimension under the row length
  tooShort(
    "B",
    () =>
      gemm.sgemm(false, false, { m: 2, n: 4, k: 3 }, { data: a, ld: 3 }, { data: b, ld: 3 }, out),
  );
  // the last row needs only its own length, not ld: a view ending there is legal
  const wide = new Float32Array(2 * 8).fill(1);
  gemm.sgemm(false, false, { m: 2, n: 4, k: 3 }, { data: wide.subarray(0, 8 + 3), ld: 8 }, {
    data: b,
    ld: 4,
  }, out);
  assert.deepEqual([...c], new Array(8).fill(3));
});

Deno.test({
  name: "a oneDNN primitive refuses a buffer shorter than its layout reaches",
  ignore: noNative,
}, () => {
  const ctx = dnnlContext((libs as NativeLibs).dnnl);
  const md = mdDense(ctx, [6]);
  const desc = opDesc() as Uint8Array<ArrayBuffer>;
  assert.equal(
    ctx.lib.dnnl_eltwise_forward_desc_init(
      desc,
      D.forwardInference,
      D.eltwiseRelu,
      md.bytes as Uint8Array<ArrayBuffer>,
      0,
      0,
    ),
    0,
  );
  const prim = new Primitive(ctx, primitiveDesc(ctx, desc, null), [[D.argSrc, md], [
    D.argDst,
    md,
  ]]);
  const x = new Float32Array([-1, 2, -3, 4, -5, 6]), y = new Float32Array(6);
  prim.exec([x, y]);
  assert.deepEqual([...y], [0, 2, 0, 4, 0, 6]);
  assert.throws(
    () => prim.exec([x, new Float32Array(5)]),
    /argument 1 reaches 24 bytes, its buffer holds 20/,
  );
  assert.throws(() => prim.exec([x.subarray(1), y]), /argument 0 reaches 24 bytes/);
  assert.throws(() => prim.exec([x]), /2 arguments, called with 1 buffers/);
});

Deno.test({
  name:
    "a strided view is checked against the elements its layout reaches, not the whole array's size",
  ignore: noNative,
}, () => {
  const ctx = dnnlContext((libs as NativeLibs).dnnl);
  // the right half of a 2 × 4 array, as a split hands it over: a view from its first element
  const copy = reorder(ctx, mdStrides(ctx, [2, 2], [4, 1]), mdDense(ctx, [2, 2]))!;
  const x = new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]), y = new Float32Array(4);
  copy.exec([x.subarray(2), y]);
  assert.deepEqual([...y], [2, 3, 6, 7]);
  assert.throws(
    () => copy.exec([x.subarray(2, 7), y]),
    /argument 0 reaches 24 bytes, its buffer holds 20/,
  );
});
