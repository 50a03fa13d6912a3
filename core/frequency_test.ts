import assert from "node:assert/strict";
import {
  applySeparableReference,
  cropBand,
  fftReference,
  imageGeometry,
  InvalidArgumentError,
  lowFrequencyCropMatrix,
  lowFrequencyCropReference,
  nyquistSineVector,
  Rng,
  validateCropOptions,
} from "./mod.ts";

function naiveDft(re: Float64Array, im: Float64Array, sign: number): [Float64Array, Float64Array] {
  const n = re.length;
  const oRe = new Float64Array(n), oIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      oRe[k]! += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      oIm[k]! += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  }
  return [oRe, oIm];
}

function randomArray(rng: Rng, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => rng.next() * 2 - 1);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

Deno.test("fftReference matches a naive DFT for composite and prime lengths", () => {
  const rng = new Rng(1);
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 14, 15, 16, 28, 49]) {
    const re = randomArray(rng, n), im = randomArray(rng, n);
    const f = fftReference(re, im);
    const [nr, ni] = naiveDft(re, im, -1);
    assert.ok(maxAbsDiff(f.re, nr) < 1e-10 && maxAbsDiff(f.im, ni) < 1e-10, `n=${n}`);
    const back = fftReference(f.re, f.im, { inverse: true });
    assert.ok(maxAbsDiff(back.re, re) < 1e-12 && maxAbsDiff(back.im, im) < 1e-12, `inverse n=${n}`);
  }
});

Deno.test("cropBand keeps −B/2…B/2−1 in paper mode and splits the Nyquist bin in hermitian", () => {
  assert.deepEqual(cropBand(10, 6, "paper").map((e) => e.from), [-3, -2, -1, 0, 1, 2]);
  const h = cropBand(10, 6, "hermitian");
  assert.deepEqual(h.map((e) => [e.from, e.to, e.weight]), [
    [-3, -3, 0.5],
    [-2, -2, 1],
    [-1, -1, 1],
    [0, 0, 1],
    [1, 1, 1],
    [2, 2, 1],
    [3, -3, 0.5],
  ]);
  assert.deepEqual(cropBand(10, 5, "hermitian").map((e) => e.from), [-2, -1, 0, 1, 2]);
  assert.equal(cropBand(8, 8, "hermitian").reduce((s, e) => s + e.weight, 0), 8);
});

Deno.test("crop matrices: identity at B = H, real in hermitian mode, complex in paper mode", () => {
  for (const mode of ["paper", "hermitian"] as const) {
    const a = lowFrequencyCropMatrix(6, 6, mode);
    for (let k = 0; k < 6; k++) {
      for (let n = 0; n < 6; n++) {
        assert.ok(Math.abs(a.re[k * 6 + n]! - (k === n ? 1 : 0)) < 1e-12, `${mode} ${k},${n}`);
        assert.ok(a.im === undefined || Math.abs(a.im[k * 6 + n]!) < 1e-12);
      }
    }
  }
  assert.equal(lowFrequencyCropMatrix(8, 4, "hermitian").im, undefined);
  const p = lowFrequencyCropMatrix(8, 4, "paper");
  assert.ok(p.im !== undefined && p.im.some((v) => Math.abs(v) > 1e-3));
  // rows of A sum to B/H·(B/H)^-1·... : A·1 = 1 because only the DC bin survives a constant
  for (
    const [h, b, mode] of [[8, 4, "paper"], [9, 5, "hermitian"], [12, 6, "hermitian"]] as const
  ) {
    const a = lowFrequencyCropMatrix(h, b, mode);
    for (let k = 0; k < b; k++) {
      let s = 0;
      for (let n = 0; n < h; n++) s += a.re[k * h + n]!;
      assert.ok(Math.abs(s - 1) < 1e-12);
    }
  }
});

Deno.test("the FFT reference equals Re(A_h x A_wᵀ) built from the crop matrices", () => {
  const rng = new Rng(7);
  const cases = [
    {
      shape: [2, 8, 10, 3],
      size: [4, 6] as [number, number],
      mode: "paper" as const,
      layout: "NHWC" as const,
    },
    {
      shape: [1, 2, 9, 7],
      size: [5, 3] as [number, number],
      mode: "hermitian" as const,
      layout: "NCHW" as const,
    },
    { shape: [1, 1, 12, 12], size: 8, mode: "hermitian" as const, layout: "NCHW" as const },
  ];
  for (const c of cases) {
    const x = randomArray(rng, c.shape.reduce((a, b) => a * b));
    const y = lowFrequencyCropReference(x, c.shape, c);
    const r = validateCropOptions(c.shape, c);
    const ah = lowFrequencyCropMatrix(r.h, r.outH, c.mode);
    const aw = lowFrequencyCropMatrix(r.w, r.outW, c.mode);
    const g = imageGeometry(c.shape, c.layout);
    let viaMatrix = applySeparableReference(x, g, {
      mh: ah.re,
      mw: aw.re,
      outH: r.outH,
      outW: r.outW,
    });
    if (ah.im && aw.im) {
      const imPart = applySeparableReference(x, g, {
        mh: ah.im,
        mw: aw.im,
        outH: r.outH,
        outW: r.outW,
      });
      viaMatrix = viaMatrix.map((v, i) => v - imPart[i]!);
    }
    assert.ok(maxAbsDiff(y, viaMatrix) < 1e-12, JSON.stringify(c));
  }
});

Deno.test("reference crop preserves the mean and returns the input at B = H", () => {
  const rng = new Rng(3);
  const x = randomArray(rng, 2 * 3 * 10 * 10);
  for (const mode of ["paper", "hermitian"] as const) {
    const same = lowFrequencyCropReference(x, [2, 3, 10, 10], { size: 10, mode, layout: "NCHW" });
    assert.ok(maxAbsDiff(same, x) < 1e-12);
    const y = lowFrequencyCropReference(x, [2, 3, 10, 10], { size: 6, mode, layout: "NCHW" });
    for (let p = 0; p < 6; p++) {
      const mx = x.subarray(p * 100, (p + 1) * 100).reduce((s, v) => s + v, 0) / 100;
      const my = y.subarray(p * 36, (p + 1) * 36).reduce((s, v) => s + v, 0) / 36;
      assert.ok(Math.abs(mx - my) < 1e-12);
    }
  }
});

Deno.test("validateCropOptions names the offending value", () => {
  const bad: Array<[readonly number[], Parameters<typeof validateCropOptions>[1], string, RegExp]> =
    [
      [[1, 8, 8, 1], { size: 0 }, "size", /must be > 0/],
      [[1, 8, 8, 1], { size: -4 }, "size", /-4/],
      [[1, 8, 8, 1], { size: 10 }, "size", /exceed the input H = 8/],
      [[1, 8, 6, 1], { size: [4, 8] }, "size", /exceed the input W = 6/],
      [[1, 8, 8, 1], { size: 5 }, "size", /even B/],
      [[1, 8, 8, 1], { size: 2.5 }, "size", /integer/],
      [[8, 8, 1], { size: 4 }, "images.shape", /rank 4/],
      [[1, 8, 8, 1], { size: 4, dtype: "int32" }, "images.dtype", /"int32"/],
      [[1, 8, 8, 1], { size: 4, layout: "HWC" as "NHWC" }, "layout", /"HWC"/],
      [[1, 8, 8, 1], { size: 4, mode: "exact" as "paper" }, "mode", /"exact"/],
    ];
  for (const [shape, options, argument, pattern] of bad) {
    assert.throws(() => validateCropOptions(shape, options), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e._tag, "InvalidArgumentError");
      assert.equal(e.argument, argument);
      assert.match(e.message, pattern);
      return true;
    });
  }
  assert.equal(validateCropOptions([1, 8, 8, 1], { size: 5, mode: "hermitian" }).outH, 5);
  const x = new Float64Array(16);
  x[5] = NaN;
  assert.throws(
    () => lowFrequencyCropReference(x, [1, 4, 4, 1], { size: 2, checkFinite: true }),
    /NaN at flat index 5/,
  );
});

Deno.test("paper mode: Im A is the rank-one Nyquist term (−1)^k·sin(πBn/H)/H", () => {
  for (const [h, b] of [[8, 4], [12, 6], [9, 4], [32, 24], [10, 10]] as const) {
    const a = lowFrequencyCropMatrix(h, b, "paper");
    const v = nyquistSineVector(h, b);
    for (let k = 0; k < b; k++) {
      for (let n = 0; n < h; n++) {
        const want = ((-1) ** k * v[n]!) / h;
        assert.ok(Math.abs((a.im?.[k * h + n] ?? 0) - want) < 1e-12, `${h}→${b} ${k},${n}`);
      }
    }
  }
  assert.ok(nyquistSineVector(9, 5).every((x) => x === 0));
});
