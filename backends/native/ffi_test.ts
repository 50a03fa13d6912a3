import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import { gemmFromEnv } from "./ffi.ts";

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
