/**
 * WGSL kernels for separable image operators y = Σ_s L_s · x · R_sᵀ, the same factors as
 * `@efficienttrain/backend-tfjs`'s separable.ts: L is [parts·outH, H] with real and imaginary
 * rows interleaved, R is [outW, parts·W] holding [Re | −Im], but uploaded transposed
 * ([parts·W, outW], see {@link transposeFactor}). Two compute passes,
 * four output elements per thread, reading NHWC or NCHW input directly (no transposes).
 *
 * @module
 */
import type { ImageGeometry } from "@efficienttrain/core";
import { WebGPUError } from "./device.ts";

const WORKGROUP = 64;

const HEADER = /* wgsl */ `
struct Dims {
  planes: u32, c: u32, h: u32, w: u32,
  outH: u32, outW: u32, parts: u32, nhwc: u32,
  total: u32, nyquist: u32, pad1: u32, pad2: u32,
};
@group(0) @binding(0) var<uniform> d: Dims;
fn linearId(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WORKGROUP}u; }
`;

// Each thread computes four neighbouring outputs along the fastest axis (vec4 accumulators),
// which halves the loads per multiply-add; the loop-invariant index arithmetic is hoisted.

// pass 1: t[p, r, w] = Σ_h L[r, h] · x[p, h, w],  r < parts·outH
const PASS_H = HEADER + /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> lhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> t: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearId(gid, nwg);
  if (i >= d.total) { return; }
  let rows = d.parts * d.outH;
  let quads = (d.w + 3u) / 4u;
  let col = (i % quads) * 4u;
  let row = (i / quads) % rows;
  let p = i / (quads * rows);
  // x[p, y, col + q] = x[base + y * strideY + q * strideX] in either layout
  var base = p * d.h * d.w + col;
  var strideY = d.w;
  var strideX = 1u;
  if (d.nhwc == 1u) {
    base = ((p / d.c) * d.h * d.w + col) * d.c + p % d.c;
    strideY = d.w * d.c;
    strideX = d.c;
  }
  let last = min(d.w - col, 4u) - 1u;
  let o1 = min(1u, last) * strideX;
  let o2 = min(2u, last) * strideX;
  let o3 = min(3u, last) * strideX;
  var acc = vec4f(0.0);
  var xi = base;
  let li = row * d.h;
  for (var y = 0u; y < d.h; y++) {
    acc = acc + lhs[li + y] * vec4f(x[xi], x[xi + o1], x[xi + o2], x[xi + o3]);
    xi = xi + strideY;
  }
  let ti = (p * rows + row) * d.w + col;
  t[ti] = acc.x;
  if (last >= 1u) { t[ti + 1u] = acc.y; }
  if (last >= 2u) { t[ti + 2u] = acc.z; }
  if (last >= 3u) { t[ti + 3u] = acc.w; }
}
`;

// pass 2: y[p, k, l] = Σ_j t[p, k, j] · Rᵀ[j, l],  j < parts·W (t viewed as [P, outH, parts·W]);
// R is stored transposed so the four outputs of a thread read four neighbouring words
const PASS_W = HEADER + /* wgsl */ `
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> rhs: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read> nyq: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearId(gid, nwg);
  if (i >= d.total) { return; }
  let len = d.parts * d.w;
  let quads = (d.outW + 3u) / 4u;
  let l = (i % quads) * 4u;
  let k = (i / quads) % d.outH;
  let p = i / (quads * d.outH);
  let last = min(d.outW - l, 4u) - 1u;
  let o1 = min(1u, last);
  let o2 = min(2u, last);
  let o3 = min(3u, last);
  let base = (p * d.outH + k) * len;
  var acc = vec4f(0.0);
  var ri = l;
  for (var j = 0u; j < len; j++) {
    acc = acc + t[base + j] * vec4f(rhs[ri], rhs[ri + o1], rhs[ri + o2], rhs[ri + o3]);
    ri = ri + d.outW;
  }
  if (d.nyquist == 1u) {
    // − s_p·(−1)^(k+l)/(H·W); l is a multiple of 4, so the signs along l are +, −, +, −
    var c = nyq[p] / f32(d.h * d.w);
    if ((k & 1u) == 1u) { c = -c; }
    acc = acc - c * vec4f(1.0, -1.0, 1.0, -1.0);
  }
  var yi = (p * d.outH + k) * d.outW + l;
  var step = 1u;
  if (d.nhwc == 1u) {
    yi = (((p / d.c) * d.outH + k) * d.outW + l) * d.c + p % d.c;
    step = d.c;
  }
  y[yi] = acc.x;
  if (last >= 1u) { y[yi + step] = acc.y; }
  if (last >= 2u) { y[yi + 2u * step] = acc.z; }
  if (last >= 3u) { y[yi + 3u * step] = acc.w; }
}
`;

// paper-mode correction: s[p] = Σ_{h,w} x[p, h, w] · v_h[h]·v_w[w], one thread per plane
const PASS_S = HEADER + /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wts: array<f32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let p = linearId(gid, nwg);
  if (p >= d.total) { return; }
  var base = p * d.h * d.w;
  var stride = 1u;
  if (d.nhwc == 1u) {
    base = (p / d.c) * d.h * d.w * d.c + p % d.c;
    stride = d.c;
  }
  var acc = 0.0;
  for (var i = 0u; i < d.h * d.w; i++) { acc = acc + x[base + i * stride] * wts[i]; }
  s[p] = acc;
}
`;

interface Pipelines {
  readonly passH: GPUComputePipeline;
  readonly passW: GPUComputePipeline;
  readonly passS: GPUComputePipeline;
  readonly matrices: Map<string, GPUBuffer>;
}

const perDevice = new WeakMap<GPUDevice, Pipelines>();

function pipelines(device: GPUDevice): Pipelines {
  let p = perDevice.get(device);
  if (!p) {
    const make = (code: string): GPUComputePipeline =>
      device.createComputePipeline({
        layout: "auto",
        compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
      });
    p = { passH: make(PASS_H), passW: make(PASS_W), passS: make(PASS_S), matrices: new Map() };
    perDevice.set(device, p);
  }
  return p;
}

function upload(device: GPUDevice, data: Float32Array | Uint32Array, usage: number): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(4, data.byteLength),
    usage: usage | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data as unknown as BufferSource);
  return buffer;
}

/**
 * A storage buffer holding a constant matrix, uploaded once per (device, key).
 *
 * @example
 * ```ts ignore
 * import { cachedGPUMatrix, getWebGPUDevice } from "@efficienttrain/backend-webgpu";
 * const { device } = (await getWebGPUDevice())!;
 * const eye = cachedGPUMatrix(device, "eye2", () => new Float32Array([1, 0, 0, 1]));
 * ```
 */
export function cachedGPUMatrix(
  device: GPUDevice,
  key: string,
  build: () => Float32Array,
): GPUBuffer {
  const cache = pipelines(device).matrices;
  let b = cache.get(key);
  if (!b) {
    b = upload(device, build(), GPUBufferUsage.STORAGE);
    cache.set(key, b);
  }
  return b;
}

/**
 * Transpose a row-major rows×cols matrix (the right factor is stored as Rᵀ on the GPU).
 *
 * @example
 * ```ts
 * import { transposeFactor } from "@efficienttrain/backend-webgpu";
 * console.assert(transposeFactor(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3).join() === "1,4,2,5,3,6");
 * ```
 */
export function transposeFactor(m: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]!;
  }
  return out;
}

/** The factors of a separable operator as GPU buffers (see the module notes for layout). */
export interface GPUSeparableFactors {
  /** L, [parts·outH, H] row-major. */
  readonly left: GPUBuffer;
  /** Rᵀ, [parts·W, outW] row-major. */
  readonly right: GPUBuffer;
  /**
   * Optional rank-one correction y −= s·(−1)^(k+l)/(H·W), s = Σ x·weights ([H·W]): the
   * paper-mode Nyquist term of the low-frequency crop.
   */
  readonly nyquistWeights?: GPUBuffer;
  readonly parts: 1 | 2;
  readonly outH: number;
  readonly outW: number;
}

function dispatch(pass: GPUComputePassEncoder, total: number): void {
  const groups = Math.ceil(total / WORKGROUP);
  const x = Math.min(groups, 65535);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
}

/**
 * Encode y = Σ_s L_s x R_sᵀ over every plane of `input` (a GPU storage buffer in the
 * geometry's layout) and return the output buffer (STORAGE | COPY_SRC | COPY_DST, owned by the caller).
 * Nothing is read back; this is the entry point for sharing buffers with tfjs-webgpu.
 *
 * @example
 * ```ts ignore
 * const out = applySeparableGPU(device, input, { geometry, factors });
 * ```
 */
export function applySeparableGPU(
  device: GPUDevice,
  input: GPUBuffer,
  options: { readonly geometry: ImageGeometry; readonly factors: GPUSeparableFactors },
): GPUBuffer {
  const g = options.geometry;
  const { left, right, parts, outH, outW } = options.factors;
  const p = pipelines(device);
  const planes = g.n * g.c;
  const totalH = planes * parts * outH * g.w;
  const totalW = planes * outH * outW;
  const threadsH = planes * parts * outH * Math.ceil(g.w / 4);
  const threadsW = planes * outH * Math.ceil(outW / 4);
  const limit = device.limits.maxStorageBufferBindingSize;
  if (4 * Math.max(totalH, totalW, planes * g.h * g.w) > limit) {
    throw new WebGPUError({
      reason: `batch too large for one dispatch: ${4 * totalH} bytes > ` +
        `maxStorageBufferBindingSize ${limit}; split the batch`,
    });
  }
  const nyquist = options.factors.nyquistWeights;
  const dims = (total: number): Uint32Array =>
    new Uint32Array([
      planes,
      g.c,
      g.h,
      g.w,
      outH,
      outW,
      parts,
      g.layout === "NHWC" ? 1 : 0,
      total,
      nyquist ? 1 : 0,
      0,
      0,
    ]);
  const uniH = upload(device, dims(threadsH), GPUBufferUsage.UNIFORM);
  const uniW = upload(device, dims(threadsW), GPUBufferUsage.UNIFORM);
  const tmp = device.createBuffer({ size: 4 * Math.max(1, totalH), usage: GPUBufferUsage.STORAGE });
  // COPY_DST too: tfjs-webgpu's createTensorFromGPUData copies into a pooled buffer of the
  // *same usage* as the source, and a copy into a buffer without COPY_DST silently yields zeros
  const out = device.createBuffer({
    size: 4 * Math.max(1, totalW),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  const bind = (pipe: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup =>
    device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  const uniS = upload(device, dims(planes), GPUBufferUsage.UNIFORM);
  const sums = device.createBuffer({
    size: 4 * Math.max(1, planes),
    usage: GPUBufferUsage.STORAGE,
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  if (nyquist) {
    pass.setPipeline(p.passS);
    pass.setBindGroup(0, bind(p.passS, [uniS, input, nyquist, sums]));
    dispatch(pass, planes);
  }
  pass.setPipeline(p.passH);
  pass.setBindGroup(0, bind(p.passH, [uniH, input, left, tmp]));
  dispatch(pass, threadsH);
  pass.setPipeline(p.passW);
  pass.setBindGroup(0, bind(p.passW, [uniW, tmp, right, out, sums]));
  dispatch(pass, threadsW);
  pass.end();
  device.queue.submit([encoder.finish()]);
  // destroy() is deferred by WebGPU until the submitted work that uses them has completed
  uniH.destroy();
  uniW.destroy();
  uniS.destroy();
  sums.destroy();
  tmp.destroy();
  return out;
}

/**
 * Run {@link applySeparableGPU} on host data and read the result back.
 *
 * @example
 * ```ts ignore
 * const y = await applySeparableHost(device, x, { geometry, factors });
 * ```
 */
export async function applySeparableHost(
  device: GPUDevice,
  data: Float32Array,
  options: { readonly geometry: ImageGeometry; readonly factors: GPUSeparableFactors },
): Promise<Float32Array> {
  const input = upload(device, data, GPUBufferUsage.STORAGE);
  const out = applySeparableGPU(device, input, options);
  const read = device.createBuffer({
    size: out.size,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(out, 0, read, 0, out.size);
  device.queue.submit([encoder.finish()]);
  try {
    await read.mapAsync(GPUMapMode.READ);
    const { geometry: g, factors: f } = options;
    return new Float32Array(read.getMappedRange().slice(0, 4 * g.n * g.c * f.outH * f.outW));
  } finally {
    read.unmap();
    read.destroy();
    input.destroy();
    out.destroy();
  }
}
