import assert from "node:assert/strict";
import { cubicKernel, Rng } from "@efficienttrain/core";
import { affine, sharpness } from "./image_ops.ts";
import type { HWC } from "./resize.ts";

/**
 * A warp as its definition reads: every output pixel maps back to the input, outside it takes the
 * fill, inside it weighs the 2×2 (bilinear) or 4×4 (bicubic) neighbourhood, clamped at the edges,
 * every tap and weight computed afresh per channel.
 */
function warpByDefinition(
  src: Uint8Array,
  shape: HWC,
  matrix: readonly number[],
  fill: readonly number[],
  interpolation: "bilinear" | "bicubic",
): Uint8Array {
  const { height: h, width: w, channels: c } = shape;
  const [a, b, cc, d, e, f] = matrix;
  const out = new Uint8Array(h * w * c);
  const at = (yy: number, xx: number, k: number) =>
    src[(Math.min(Math.max(yy, 0), h - 1) * w + Math.min(Math.max(xx, 0), w - 1)) * c + k];
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
        if (interpolation === "bilinear") {
          const top = at(y0, x0, k) * (1 - dx) + at(y0, x0 + 1, k) * dx;
          const bottom = at(y0 + 1, x0, k) * (1 - dx) + at(y0 + 1, x0 + 1, k) * dx;
          acc = top * (1 - dy) + bottom * dy;
        } else {
          for (let j = -1; j <= 2; j++) {
            let row = 0;
            for (let i = -1; i <= 2; i++) row += cubicKernel(dx - i, -0.5) * at(y0 + j, x0 + i, k);
            acc += cubicKernel(dy - j, -0.5) * row;
          }
        }
        const v = Math.round(acc);
        out[o + k] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

Deno.test("affine, bilinear and bicubic: bit for bit their definitions over shapes, channels and warps", () => {
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
      assert.deepEqual(
        affine(src, shape, m, { fill, interpolation: "bicubic" }),
        warpByDefinition(src, shape, m, fill, "bicubic"),
        `bicubic ${JSON.stringify(shape)} ${m}`,
      );
      assert.deepEqual(
        affine(src, shape, m, { fill, interpolation: "bilinear" }),
        warpByDefinition(src, shape, m, fill, "bilinear"),
        `bilinear ${JSON.stringify(shape)} ${m}`,
      );
    }
  }
});

Deno.test("sharpness: PIL's 3×3 smooth (centre weight 5, borders kept) blended, over shapes", () => {
  const rng = new Rng(9);
  for (const [h, w, c] of [[1, 1, 3], [2, 5, 1], [3, 3, 1], [5, 4, 3], [9, 12, 4]]) {
    const shape = { height: h, width: w, channels: c };
    const src = Uint8Array.from({ length: h * w * c }, () => Math.floor(rng.next() * 256));
    const smooth = src.slice();
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        for (let k = 0; k < c; k++) {
          let s = 0;
          for (let j = -1; j <= 1; j++) {
            for (let i = -1; i <= 1; i++) {
              s += src[((y + j) * w + x + i) * c + k] * (i === 0 && j === 0 ? 5 : 1);
            }
          }
          smooth[(y * w + x) * c + k] = Math.min(255, Math.round(s / 13));
        }
      }
    }
    for (const factor of [0, 0.4, 1.9]) {
      const want = src.map((v, i) => {
        const blended = smooth[i] + factor * (v - smooth[i]);
        return blended <= 0 ? 0 : blended >= 255 ? 255 : Math.trunc(blended);
      });
      assert.deepEqual(sharpness(src, shape, factor), want, `${h}×${w}×${c} at ${factor}`);
    }
  }
});
