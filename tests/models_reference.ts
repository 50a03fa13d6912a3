/**
 * A naive float64 reference of the four families, written directly from the PyTorch/timm
 * definitions (explicit index loops, PyTorch weight layouts read from the state dict, one
 * image at a time) to check the tfjs models' forward pass and the checkpoint layouts.
 *
 * @module
 */
import type {
  ConvNeXtConfig,
  HostTensor,
  ResNetConfig,
  SwinConfig,
  ViTConfig,
} from "@efficienttrain/models";
import { relativePositionIndex, shiftedWindowMask } from "@efficienttrain/models";

type SD = ReadonlyMap<string, HostTensor>;
/** Channels-last feature map. */
interface Map3 {
  h: number;
  w: number;
  c: number;
  d: Float64Array;
}

function get(sd: SD, k: string): Float32Array {
  const t = sd.get(k);
  if (!t) throw new Error(`reference: missing ${k}`);
  return t.data;
}

/** erf to ~1e-15 via its Maclaurin series / continued fraction. */
function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax, term = ax;
    for (let n = 1; n < 80; n++) {
      term *= (-ax * ax) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc continued fraction (Lentz)
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

function gelu(v: number): number {
  return 0.5 * v * (1 + erf(v / Math.SQRT2));
}

function conv(
  x: Map3,
  w: HostTensor,
  bias: Float32Array | undefined,
  stride: number,
  pad: number,
): Map3 {
  const [o, i, kh, kw] = w.shape;
  const ho = Math.floor((x.h + 2 * pad - kh) / stride) + 1,
    wo = Math.floor((x.w + 2 * pad - kw) / stride) + 1;
  const d = new Float64Array(ho * wo * o);
  for (let y = 0; y < ho; y++) {
    for (let xx = 0; xx < wo; xx++) {
      for (let oc = 0; oc < o; oc++) {
        let s = bias ? bias[oc] : 0;
        for (let ic = 0; ic < i; ic++) {
          for (let a = 0; a < kh; a++) {
            const sy = y * stride + a - pad;
            if (sy < 0 || sy >= x.h) continue;
            for (let b = 0; b < kw; b++) {
              const sx = xx * stride + b - pad;
              if (sx < 0 || sx >= x.w) continue;
              s += w.data[((oc * i + ic) * kh + a) * kw + b] * x.d[(sy * x.w + sx) * x.c + ic];
            }
          }
        }
        d[(y * wo + xx) * o + oc] = s;
      }
    }
  }
  return { h: ho, w: wo, c: o, d };
}

function dwconv(x: Map3, w: HostTensor, bias: Float32Array, pad: number): Map3 {
  const k = w.shape[2];
  const d = new Float64Array(x.d.length);
  for (let y = 0; y < x.h; y++) {
    for (let xx = 0; xx < x.w; xx++) {
      for (let c = 0; c < x.c; c++) {
        let s = bias[c];
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const sy = y + a - pad, sx = xx + b - pad;
            if (sy < 0 || sy >= x.h || sx < 0 || sx >= x.w) continue;
            s += w.data[(c * k + a) * k + b] * x.d[(sy * x.w + sx) * x.c + c];
          }
        }
        d[(y * x.w + xx) * x.c + c] = s;
      }
    }
  }
  return { ...x, d };
}

/** Rows of `rows × in` through a PyTorch `[out, in]` linear. */
function linear(x: Float64Array, inF: number, sd: SD, name: string, bias = true): Float64Array {
  const w = sd.get(`${name}.weight`)!;
  const out = w.shape[0], rows = x.length / inF;
  const b = bias ? get(sd, `${name}.bias`) : undefined;
  const y = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += w.data[o * inF + i] * x[r * inF + i];
      y[r * out + o] = s;
    }
  }
  return y;
}

function layerNorm(x: Float64Array, c: number, sd: SD, name: string, eps: number): Float64Array {
  const w = get(sd, `${name}.weight`), b = get(sd, `${name}.bias`);
  const y = new Float64Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    let m = 0, v = 0;
    for (let i = 0; i < c; i++) m += x[r * c + i];
    m /= c;
    for (let i = 0; i < c; i++) v += (x[r * c + i] - m) ** 2;
    v /= c;
    for (let i = 0; i < c; i++) {
      y[r * c + i] = ((x[r * c + i] - m) / Math.sqrt(v + eps)) * w[i] + b[i];
    }
  }
  return y;
}

function bnEval(x: Map3, sd: SD, name: string): Map3 {
  const g = get(sd, `${name}.weight`), b = get(sd, `${name}.bias`);
  const m = get(sd, `${name}.running_mean`), v = get(sd, `${name}.running_var`);
  const d = x.d.map((val, i) => {
    const c = i % x.c;
    return ((val - m[c]) / Math.sqrt(v[c] + 1e-5)) * g[c] + b[c];
  });
  return { ...x, d };
}

const relu = (x: Map3): Map3 => ({ ...x, d: x.d.map((v) => Math.max(v, 0)) });
const add = (a: Map3, b: Map3): Map3 => ({ ...a, d: a.d.map((v, i) => v + b.d[i]) });

function meanPool(x: Map3): Float64Array {
  const out = new Float64Array(x.c);
  for (let p = 0; p < x.h * x.w; p++) for (let c = 0; c < x.c; c++) out[c] += x.d[p * x.c + c];
  return out.map((v) => v / (x.h * x.w));
}

function maxPool3s2(x: Map3): Map3 {
  const ho = Math.floor((x.h + 2 - 3) / 2) + 1, wo = Math.floor((x.w + 2 - 3) / 2) + 1;
  const d = new Float64Array(ho * wo * x.c).fill(-Infinity);
  for (let y = 0; y < ho; y++) {
    for (let xx = 0; xx < wo; xx++) {
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 3; b++) {
          const sy = 2 * y + a - 1, sx = 2 * xx + b - 1;
          if (sy < 0 || sy >= x.h || sx < 0 || sx >= x.w) continue;
          for (let c = 0; c < x.c; c++) {
            const i = (y * wo + xx) * x.c + c;
            d[i] = Math.max(d[i], x.d[(sy * x.w + sx) * x.c + c]);
          }
        }
      }
    }
  }
  return { h: ho, w: wo, c: x.c, d };
}

/** torchvision ResNet forward (eval mode). */
export function resnetReference(sd: SD, cfg: ResNetConfig, x: Map3): Float64Array {
  const cv = (y: Map3, n: string, s: number, p: number) =>
    conv(y, sd.get(`${n}.weight`)!, undefined, s, p);
  let h = cfg.stem === "imagenet"
    ? maxPool3s2(relu(bnEval(cv(x, "conv1", 2, 3), sd, "bn1")))
    : relu(bnEval(cv(x, "conv1", 1, 1), sd, "bn1"));
  cfg.layers.forEach((n, s) => {
    for (let j = 0; j < n; j++) {
      const p = `layer${s + 1}.${j}`, stride = j === 0 && s > 0 ? 2 : 1;
      let y: Map3;
      if (cfg.block === "basic") {
        y = relu(bnEval(cv(h, `${p}.conv1`, stride, 1), sd, `${p}.bn1`));
        y = bnEval(cv(y, `${p}.conv2`, 1, 1), sd, `${p}.bn2`);
      } else {
        y = relu(bnEval(cv(h, `${p}.conv1`, 1, 0), sd, `${p}.bn1`));
        y = relu(bnEval(cv(y, `${p}.conv2`, stride, 1), sd, `${p}.bn2`));
        y = bnEval(cv(y, `${p}.conv3`, 1, 0), sd, `${p}.bn3`);
      }
      const sc = sd.has(`${p}.downsample.0.weight`)
        ? bnEval(cv(h, `${p}.downsample.0`, stride, 0), sd, `${p}.downsample.1`)
        : h;
      h = relu(add(y, sc));
    }
  });
  const f = meanPool(h);
  return linear(f, f.length, sd, "fc");
}

/** timm ConvNeXt forward. */
export function convnextReference(sd: SD, cfg: ConvNeXtConfig, x: Map3): Float64Array {
  let h = conv(x, sd.get("stem.0.weight")!, get(sd, "stem.0.bias"), cfg.patch, 0);
  h = { ...h, d: layerNorm(h.d, h.c, sd, "stem.1", 1e-6) };
  cfg.depths.forEach((depth, i) => {
    if (i > 0) {
      const n = layerNorm(h.d, h.c, sd, `stages.${i}.downsample.0`, 1e-6);
      h = conv(
        { ...h, d: n },
        sd.get(`stages.${i}.downsample.1.weight`)!,
        get(sd, `stages.${i}.downsample.1.bias`),
        2,
        0,
      );
    }
    for (let j = 0; j < depth; j++) {
      const p = `stages.${i}.blocks.${j}`;
      const y = dwconv(h, sd.get(`${p}.conv_dw.weight`)!, get(sd, `${p}.conv_dw.bias`), 3);
      let t = layerNorm(y.d, h.c, sd, `${p}.norm`, 1e-6);
      t = linear(t, h.c, sd, `${p}.mlp.fc1`).map(gelu);
      t = linear(t, 4 * h.c, sd, `${p}.mlp.fc2`);
      const g = get(sd, `${p}.gamma`);
      h = { ...h, d: h.d.map((v, k) => v + g[k % h.c] * t[k]) };
    }
  });
  const f = layerNorm(meanPool(h), h.c, sd, "head.norm", 1e-6);
  return linear(f, h.c, sd, "head.fc");
}

/** Multi-head attention over `n` tokens; `bias(head, a, b)` is added to the logits. */
function mhsa(
  x: Float64Array,
  n: number,
  d: number,
  heads: number,
  sd: SD,
  p: string,
  bias: (head: number, a: number, b: number) => number,
): Float64Array {
  const qkv = linear(x, d, sd, `${p}.qkv`), hd = d / heads;
  const out = new Float64Array(n * d);
  for (let hh = 0; hh < heads; hh++) {
    for (let a = 0; a < n; a++) {
      const logits = new Float64Array(n);
      for (let b = 0; b < n; b++) {
        let s = 0;
        for (let k = 0; k < hd; k++) {
          s += qkv[a * 3 * d + hh * hd + k] * qkv[b * 3 * d + d + hh * hd + k];
        }
        logits[b] = s / Math.sqrt(hd) + bias(hh, a, b);
      }
      const mx = Math.max(...logits);
      const e = logits.map((v) => Math.exp(v - mx));
      const z = e.reduce((u, v) => u + v);
      for (let b = 0; b < n; b++) {
        for (let k = 0; k < hd; k++) {
          out[a * d + hh * hd + k] += (e[b] / z) * qkv[b * 3 * d + 2 * d + hh * hd + k];
        }
      }
    }
  }
  return linear(out, d, sd, `${p}.proj`);
}

function mlp(x: Float64Array, d: number, hidden: number, sd: SD, p: string): Float64Array {
  return linear(linear(x, d, sd, `${p}.fc1`).map(gelu), hidden, sd, `${p}.fc2`);
}

/** timm VisionTransformer (DeiT) forward at the state dict's grid. */
export function vitReference(sd: SD, cfg: ViTConfig, x: Map3): Float64Array {
  const pe = conv(
    x,
    sd.get("patch_embed.proj.weight")!,
    get(sd, "patch_embed.proj.bias"),
    cfg.patch,
    0,
  );
  const d = cfg.dim, n = 1 + pe.h * pe.w, hidden = Math.round(d * cfg.mlpRatio);
  const pos = get(sd, "pos_embed"), cls = get(sd, "cls_token");
  let h = new Float64Array(n * d);
  for (let k = 0; k < d; k++) h[k] = cls[k] + pos[k];
  for (let t = 1; t < n; t++) {
    for (let k = 0; k < d; k++) h[t * d + k] = pe.d[(t - 1) * d + k] + pos[t * d + k];
  }
  for (let i = 0; i < cfg.depth; i++) {
    const p = `blocks.${i}`;
    const a = mhsa(
      layerNorm(h, d, sd, `${p}.norm1`, 1e-6),
      n,
      d,
      cfg.heads,
      sd,
      `${p}.attn`,
      () => 0,
    );
    h = h.map((v, k) => v + a[k]);
    const m = mlp(layerNorm(h, d, sd, `${p}.norm2`, 1e-6), d, hidden, sd, `${p}.mlp`);
    h = h.map((v, k) => v + m[k]);
  }
  const f = layerNorm(h, d, sd, "norm", 1e-6).subarray(0, d);
  return linear(f, d, sd, "head");
}

/** timm SwinTransformer forward at input side `size` (window rule of the models package). */
export function swinReference(sd: SD, cfg: SwinConfig, x: Map3): Float64Array {
  let h = conv(
    x,
    sd.get("patch_embed.proj.weight")!,
    get(sd, "patch_embed.proj.bias"),
    cfg.patch,
    0,
  );
  h = { ...h, d: layerNorm(h.d, h.c, sd, "patch_embed.norm", 1e-5) };
  const window = (cfg.window * x.h) / cfg.defaultSize;
  cfg.depths.forEach((depth, i) => {
    if (i > 0) {
      // x0 = x[0::2, 0::2], x1 = x[1::2, 0::2], x2 = x[0::2, 1::2], x3 = x[1::2, 1::2]
      const r = h.h / 2, c = h.c, cat = new Float64Array(r * r * 4 * c);
      const offs = [[0, 0], [1, 0], [0, 1], [1, 1]];
      for (let y = 0; y < r; y++) {
        for (let xx = 0; xx < r; xx++) {
          offs.forEach(([dy, dx], q) => {
            for (let k = 0; k < c; k++) {
              cat[(y * r + xx) * 4 * c + q * c + k] =
                h.d[((2 * y + dy) * h.w + 2 * xx + dx) * c + k];
            }
          });
        }
      }
      const n = layerNorm(cat, 4 * c, sd, `layers.${i}.downsample.norm`, 1e-5);
      h = {
        h: r,
        w: r,
        c: 2 * c,
        d: linear(n, 4 * c, sd, `layers.${i}.downsample.reduction`, false),
      };
    }
    const res = h.h,
      c = h.c,
      w = Math.min(window, res),
      shift = res <= window ? 0 : Math.floor(window / 2);
    const nTok = w * w, per = res / w, idx = relativePositionIndex(w);
    for (let j = 0; j < depth; j++) {
      const p = `layers.${i}.blocks.${j}`, s = j % 2 === 1 ? shift : 0;
      const table = get(sd, `${p}.attn.relative_position_bias_table`), heads = cfg.heads[i];
      const mask = s > 0 ? shiftedWindowMask(res, w, s) : undefined;
      const normed = layerNorm(h.d, c, sd, `${p}.norm1`, 1e-5);
      const out = new Float64Array(h.d.length);
      for (let wy = 0; wy < per; wy++) {
        for (let wx = 0; wx < per; wx++) {
          const win = wy * per + wx;
          // token t of this window is rolled position (wy·w + t/w, wx·w + t%w), i.e. the
          // original position shifted forward by s (torch.roll by −s)
          const src = (t: number) => {
            const y = (wy * w + Math.floor(t / w) + s) % res, xx = (wx * w + (t % w) + s) % res;
            return y * res + xx;
          };
          const tok = new Float64Array(nTok * c);
          for (let t = 0; t < nTok; t++) {
            tok.set(normed.subarray(src(t) * c, src(t) * c + c), t * c);
          }
          const a = mhsa(
            tok,
            nTok,
            c,
            heads,
            sd,
            `${p}.attn`,
            (hh, u, v) =>
              table[idx[u * nTok + v] * heads + hh] +
              (mask ? mask[(win * nTok + u) * nTok + v] : 0),
          );
          for (let t = 0; t < nTok; t++) out.set(a.subarray(t * c, t * c + c), src(t) * c);
        }
      }
      const x1 = h.d.map((v, k) => v + out[k]);
      const hidden = Math.round(c * cfg.mlpRatio);
      const m = mlp(layerNorm(x1, c, sd, `${p}.norm2`, 1e-5), c, hidden, sd, `${p}.mlp`);
      h = { ...h, d: x1.map((v, k) => v + m[k]) };
    }
  });
  const f = meanPool({ ...h, d: layerNorm(h.d, h.c, sd, "norm", 1e-5) });
  return linear(f, h.c, sd, "head.fc");
}
