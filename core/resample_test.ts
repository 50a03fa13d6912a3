import assert from "node:assert/strict";
import {
  InvalidArgumentError,
  RESIZE_METHODS,
  resizeMatrix,
  resizeReference,
  Rng,
  validateResizeOptions,
} from "./mod.ts";

Deno.test("every resize matrix row sums to 1 (constants are preserved)", () => {
  for (const method of RESIZE_METHODS) {
    for (const antialias of [false, true]) {
      for (const [i, o] of [[32, 24], [224, 160], [7, 13], [5, 1], [10, 10]]) {
        const m = resizeMatrix(i!, o!, { method, antialias });
        for (let r = 0; r < o!; r++) {
          const s = m.subarray(r * i!, (r + 1) * i!).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(s - 1) < 1e-12, `${method} aa=${antialias} ${i}→${o} row ${r}: ${s}`);
        }
      }
    }
  }
});

Deno.test("bicubic (a = −0.75) matches PyTorch's worked example", () => {
  // F.interpolate(arange(4), size=2, mode="bicubic", align_corners=False) = [0.40625, 2.59375]
  const y = resizeReference(new Float64Array([0, 1, 2, 3]), [1, 1, 4, 1], {
    size: [1, 2],
    method: "bicubic",
  });
  // height 1→1 is the identity, so only the width is resized
  assert.ok(Math.abs(y[0]! - 0.40625) < 1e-12 && Math.abs(y[1]! - 2.59375) < 1e-12);
});

Deno.test("bilinear halves average neighbours; area averages windows; identity at equal size", () => {
  const rng = new Rng(5);
  const line = Float64Array.from({ length: 8 }, () => rng.next());
  const bil = resizeMatrix(8, 4, { method: "bilinear" });
  const area = resizeMatrix(8, 4, { method: "area" });
  for (let i = 0; i < 4; i++) {
    const want = (line[2 * i]! + line[2 * i + 1]!) / 2;
    let b = 0, a = 0;
    for (let j = 0; j < 8; j++) {
      b += bil[i * 8 + j]! * line[j]!;
      a += area[i * 8 + j]! * line[j]!;
    }
    assert.ok(Math.abs(b - want) < 1e-12 && Math.abs(a - want) < 1e-12);
  }
  // PyTorch adaptive pooling windows for 5 → 3: [0,2), [1,4), [3,5)
  assert.deepEqual(
    Array.from(resizeMatrix(5, 3, { method: "area" })).map((v) => Math.round(v * 6)),
    [3, 3, 0, 0, 0, 0, 2, 2, 2, 0, 0, 0, 0, 3, 3],
  );
  for (const method of ["bilinear", "bicubic"] as const) {
    const m = resizeMatrix(6, 6, { method });
    for (let i = 0; i < 36; i++) assert.ok(Math.abs(m[i]! - (i % 7 === 0 ? 1 : 0)) < 1e-12);
  }
});

Deno.test("antialiased filters stretch with the scale and lanczos is PIL's Lanczos-3", () => {
  const m = resizeMatrix(8, 2, { method: "bilinear", antialias: true });
  // scale 4: a triangle of half-width 4 centred at 2, cut at the left border (taps 0 … 5)
  const w = [0, 1, 2, 3, 4, 5].map((j) => 1 - Math.abs(j - 2 + 0.5) / 4);
  const total = w.reduce((a, b) => a + b, 0);
  for (let j = 0; j < 8; j++) assert.ok(Math.abs(m[j]! - (j < 6 ? w[j]! / total : 0)) < 1e-12);
  const l = resizeMatrix(16, 8, { method: "lanczos" });
  const sinc = (x: number) => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  // row 4: centre 9, stretch 2, taps j = 3 … 14
  const taps = Array.from({ length: 12 }, (_, t) => {
    const x = (3 + t - 9 + 0.5) / 2;
    return Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0;
  });
  const s = taps.reduce((a, b) => a + b, 0);
  for (let t = 0; t < 12; t++) assert.ok(Math.abs(l[4 * 16 + 3 + t]! - taps[t]! / s) < 1e-12);
});

Deno.test("resize layouts agree and bad options are tagged errors", () => {
  const rng = new Rng(9);
  const nchw = Float64Array.from({ length: 2 * 3 * 6 * 5 }, () => rng.next());
  const nhwc = new Float64Array(nchw.length);
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 6; y++) {
        for (let x = 0; x < 5; x++) {
          nhwc[((n * 6 + y) * 5 + x) * 3 + c] = nchw[((n * 3 + c) * 6 + y) * 5 + x]!;
        }
      }
    }
  }
  const a = resizeReference(nchw, [2, 3, 6, 5], {
    size: [4, 3],
    method: "lanczos",
    layout: "NCHW",
  });
  const b = resizeReference(nhwc, [2, 6, 5, 3], { size: [4, 3], method: "lanczos" });
  for (let n = 0; n < 2; n++) {
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 3; x++) {
          assert.ok(
            Math.abs(a[((n * 3 + c) * 4 + y) * 3 + x]! - b[((n * 4 + y) * 3 + x) * 3 + c]!) < 1e-12,
          );
        }
      }
    }
  }
  assert.throws(
    () => validateResizeOptions([1, 4, 4, 1], { size: 2, method: "nearest" as "area" }),
    (e: unknown) => e instanceof InvalidArgumentError && e.argument === "method",
  );
  assert.throws(
    () => validateResizeOptions([1, 4, 4, 1], { size: 0, method: "area" }),
    (e: unknown) => e instanceof InvalidArgumentError && e.argument === "size",
  );
});
