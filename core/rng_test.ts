import assert from "node:assert/strict";
import { Rng } from "./rng.ts";

Deno.test("Rng: same seed gives the same stream, different seeds differ", () => {
  const a = new Rng(7), b = new Rng(7), c = new Rng(8);
  const xs = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
});

Deno.test("Rng: state round trip continues the identical stream", () => {
  const a = new Rng(3);
  a.next();
  const copy = Rng.fromState(a.state());
  for (let i = 0; i < 10; i++) assert.equal(copy.next(), a.next());
});

Deno.test("Rng: uniform, normal and beta moments are right", () => {
  const r = new Rng(11);
  const n = 20000;
  let su = 0, sn = 0, sn2 = 0, sb = 0;
  for (let i = 0; i < n; i++) {
    su += r.next();
    const z = r.normal();
    sn += z;
    sn2 += z * z;
    sb += r.beta(0.8, 0.8);
  }
  assert.ok(Math.abs(su / n - 0.5) < 0.01);
  assert.ok(Math.abs(sn / n) < 0.03);
  assert.ok(Math.abs(sn2 / n - 1) < 0.05);
  assert.ok(Math.abs(sb / n - 0.5) < 0.01);
});

Deno.test("Rng: permutation is a permutation", () => {
  const p = new Rng(1).permutation(100);
  assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
});
