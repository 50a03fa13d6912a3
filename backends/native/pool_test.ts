import assert from "node:assert/strict";
import { InvalidArgumentError } from "@efficienttrain/core";
import { NativeBackendCPU, poolCapFromEnv } from "./pool.ts";

const LENGTH = 16384; // the smallest pooled length
const BYTES = LENGTH * 4;

/** A buffer from the pool, written into a tensor's data and released again. */
function cycle(backend: NativeBackendCPU, length: number): Float32Array {
  const buffer = backend.take(length);
  backend.disposeData(backend.write(buffer, [length], "float32"));
  return buffer;
}

Deno.test("native pool: a released buffer is handed to the next request of its length", () => {
  const backend = new NativeBackendCPU();
  const first = cycle(backend, LENGTH);
  assert.equal(backend.pooledBytes, BYTES);
  assert.equal(backend.take(LENGTH), first);
  assert.equal(backend.pooledBytes, 0);
  backend.dispose();
});

Deno.test("native pool: at the cap, lengths gone stale (a past stage's side) make room for the current ones", () => {
  const backend = new NativeBackendCPU({ maxPooledBytes: 4 * BYTES, staleTakes: 8 });
  // four buffers of a side the run has left fill the pool
  const old = [0, 1, 2, 3].map(() => backend.take(LENGTH));
  for (const b of old) backend.disposeData(backend.write(b, [LENGTH], "float32"));
  assert.equal(backend.pooledBytes, 4 * BYTES);
  // the new side's buffers: the first do not fit while the old length is recent ...
  const fresh = () => cycle(backend, 2 * LENGTH);
  fresh();
  assert.equal(backend.pooledBytes, 4 * BYTES, "the old length is not stale yet");
  // ... and once it has not been asked for in 8 allocations it is dropped for them
  for (let i = 0; i < 8; i++) fresh();
  const kept = fresh();
  assert.equal(backend.pooledBytes, 2 * BYTES);
  assert.equal(backend.take(2 * LENGTH), kept, "the current length is pooled");
  backend.dispose();
});

Deno.test("native pool: releasePooled empties the pool at once, so a new side's buffers pool from its first step", () => {
  const backend = new NativeBackendCPU({ maxPooledBytes: 4 * BYTES });
  const old = [0, 1, 2, 3].map(() => backend.take(LENGTH));
  for (const b of old) backend.disposeData(backend.write(b, [LENGTH], "float32"));
  const inUse = backend.take(2 * LENGTH);
  assert.equal(backend.releasePooled(), 4 * BYTES);
  assert.equal(backend.pooledBytes, 0);
  assert.ok(!old.includes(backend.take(LENGTH)), "a dropped buffer is not handed out again");
  // the buffer in use when the pool was dropped still pools when it is released
  backend.disposeData(backend.write(inUse, [2 * LENGTH], "float32"));
  assert.equal(backend.take(2 * LENGTH), inUse);
  // and the first buffer of the new side pools at once
  const first = cycle(backend, 2 * LENGTH);
  assert.equal(backend.take(2 * LENGTH), first);
  backend.dispose();
});

Deno.test("native pool: a length asked for every step is never dropped as stale", () => {
  const backend = new NativeBackendCPU({ maxPooledBytes: 2 * BYTES, staleTakes: 4 });
  const hot = backend.take(LENGTH);
  backend.disposeData(backend.write(hot, [LENGTH], "float32"));
  for (let step = 0; step < 20; step++) {
    // the step's own length, then a bigger one that does not fit beside it
    assert.equal(cycle(backend, LENGTH), hot, `step ${step}`);
    cycle(backend, 2 * LENGTH);
  }
  backend.dispose();
});

Deno.test("native pool: ET_NATIVE_POOL_MB sets the cap, and a bad value names the variable", () => {
  assert.equal(poolCapFromEnv(undefined), undefined);
  assert.equal(poolCapFromEnv("0"), 0);
  assert.equal(poolCapFromEnv("4096"), 4096 * 2 ** 20);
  for (const bad of ["lots", "-1", "Infinity"]) {
    assert.throws(() => poolCapFromEnv(bad), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.argument, "ET_NATIVE_POOL_MB");
      assert.equal(e.value, bad);
      return true;
    });
  }
  // a cap of 0 pools nothing
  const off = new NativeBackendCPU({ maxPooledBytes: 0 });
  cycle(off, LENGTH);
  assert.equal(off.pooledBytes, 0);
  off.dispose();
});
