import assert from "node:assert/strict";
import { cubicKernel, Rng } from "@efficienttrain/core";
import { affine } from "./image_ops.ts";
import type { HWC } from "./resize.ts";

/** The bicubic warp as its definition reads: every tap and weight per channel, no reuse. */
function bicubicByDefinition(
  src: Uint8Array,
  shape: HWC,
  matrix: readonly number[],
  fill: readonly number[],
): Uint8Array {
  const { height: h, width: w, channels: c } = shape;
  const [a, b, cc, d, e, f] = matrix;
  const out = new Uint8Array(h * w * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * c;
      const xin = a * (x + 0.5) + b * (y + 0.5) + cc;
      const yin = d * (x + 0.5) + e * (y + 0.5) + f;
      if (!(xin >= 0 && xin < w && yin >= 0 && yin < h)) {
        for (let k = 0; k < c; k++) out[o + k] = fill[k];
        continue;
      }
      const x0 = Math.floor(xin - 0.5), y0 = Math.floor(yin - 0.5);
      const dx = xin - 0.5 - x0, dy = yin - 0.5 - y0;
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let j = -1; j <= 2; j++) {
          const yy = Math.min(Math.max(y0 + j, 0), h - 1);
          let row = 0;
          for (let i = -1; i <= 2; i++) {
            const xx = Math.min(Math.max(x0 + i, 0), w - 1);
            row += cubicKernel(dx - i, -0.5) * src[(yy * w + xx) * c + k];
          }
          acc += cubicKernel(dy - j, -0.5) * row;
        }
        const v = Math.round(acc);
        out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

Deno.test("affine, bicubic: bit for bit its definition over shapes, channels and warps", () => {
  const rng = new Rng(5);
  const shapes: HWC[] = [
    { height: 1, width: 1, channels: 3 },
    { height: 1, width: 7, channels: 1 },
    { height: 9, width: 5, channels: 3 },
    { height: 16, width: 16, channels: 3 },
    { height: 13, width: 11, channels: 4 },
  ];
  const warps: (readonly [number, number, number, number, number, number])[] = [
    [1, 0.27, 0, 0, 1, 0], // shear x
    [1, 0, 0, -0.3, 1, 0], // shear y
    [1, 0, 2.6, 0, 1, -1.3], // translate
    [0.94, 0.34, -1.1, -0.34, 0.94, 2.2], // rotation about a corner
  ];
  for (const shape of shapes) {
    const n = shape.height * shape.width * shape.channels;
    const src = Uint8Array.from({ length: n }, () => Math.floor(rng.next() * 256));
    const fill = [7, 99, 200, 31].slice(0, shape.channels);
    for (const m of warps) {
      const got = affine(src, shape, m, { fill, interpolation: "bicubic" });
      assert.deepEqual(
        got,
        bicubicByDefinition(src, shape, m, fill),
        `${JSON.stringify(shape)} ${m}`,
      );
    }
  }
});
