import assert from "node:assert/strict";
import { denormalsFromEnv, flushingDenormals, setFlushDenormals } from "./denormals.ts";
import { probeNative, registerNativeBackend } from "./mod.ts";

const supported = flushingDenormals() !== undefined;

// 1e-30 × 1e-10 is a normal double, and rounds to a float32 subnormal on the store
function storedProduct(a: number, b: number): number {
  const out = new Float32Array(1);
  out[0] = a * b;
  return out[0];
}

Deno.test({
  name: "setFlushDenormals turns FTZ/DAZ on and off for this thread",
  ignore: !supported,
  fn() {
    const before = flushingDenormals()!;
    try {
      assert.equal(setFlushDenormals(false), true);
      assert.equal(flushingDenormals(), false);
      assert.ok(storedProduct(1e-30, 1e-10) > 0, "subnormal kept without the flag");
      assert.equal(setFlushDenormals(true), true);
      assert.equal(flushingDenormals(), true);
      assert.equal(storedProduct(1e-30, 1e-10), 0, "subnormal flushed with the flag");
      assert.ok(storedProduct(1e-20, 1e-10) > 0, "a normal float32 is untouched");
    } finally {
      setFlushDenormals(before);
    }
    assert.equal(flushingDenormals(), before);
  },
});

Deno.test({
  name: "the native backend flushes denormals once registered, unless ET_NATIVE_DENORMALS=keep",
  ignore: !supported || !probeNative().available ||
    denormalsFromEnv(Deno.env.get("ET_NATIVE_DENORMALS")) === "keep",
  async fn() {
    await registerNativeBackend();
    assert.equal(flushingDenormals(), true);
  },
});

Deno.test("ET_NATIVE_DENORMALS accepts flush or keep and names itself otherwise", () => {
  assert.equal(denormalsFromEnv(undefined), "flush");
  assert.equal(denormalsFromEnv("flush"), "flush");
  assert.equal(denormalsFromEnv("keep"), "keep");
  assert.throws(
    () => denormalsFromEnv("off"),
    /ET_NATIVE_DENORMALS.*off|off.*ET_NATIVE_DENORMALS/s,
  );
});
