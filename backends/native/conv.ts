/**
 * Convolutions (regular, grouped and depthwise) forward and backward through oneDNN, on NHWC
 * tensors with tfjs's HWIO / HWCM filter layouts. One primitive per geometry, cached; the
 * filter is reordered into oneDNN's preferred blocked layout on each call (filters are small).
 *
 * @module
 */
import type { backend_util } from "@tensorflow/tfjs-core";
import {
  D,
  dims,
  type DnnlContext,
  type Md,
  mdSize,
  mdStrides,
  mdTag,
  opDesc,
  Primitive,
  primitiveDesc,
  queryMd,
  reorder,
  scratch,
} from "./dnnl.ts";

/** The geometry of one convolution, in tfjs's terms (NHWC activations). */
export interface ConvGeometry {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly outH: number;
  readonly outW: number;
  readonly outC: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilH: number;
  readonly dilW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly padBottom: number;
  readonly padRight: number;
  /** 1 for a regular convolution, `inC` for a depthwise one. */
  readonly groups: number;
}

/** Geometry from tfjs's conv info (`backend_util.computeConv2DInfo`). */
export function geometryOf(info: backend_util.Conv2DInfo, depthwise: boolean): ConvGeometry {
  const p = info.padInfo;
  // tfjs reports negative/odd pads for VALID when the window does not tile the input; oneDNN
  // wants the right/bottom pad that makes its own output size formula agree.
  const padBottom = (info.outHeight - 1) * info.strideHeight +
    (info.filterHeight - 1) * info.dilationHeight + 1 - info.inHeight - p.top;
  const padRight = (info.outWidth - 1) * info.strideWidth +
    (info.filterWidth - 1) * info.dilationWidth + 1 - info.inWidth - p.left;
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilH: info.dilationHeight,
    dilW: info.dilationWidth,
    padTop: p.top,
    padLeft: p.left,
    padBottom,
    padRight,
    groups: depthwise ? info.inChannels : 1,
  };
}

function key(g: ConvGeometry): string {
  return [
    g.batch,
    g.inH,
    g.inW,
    g.inC,
    g.outH,
    g.outW,
    g.outC,
    g.kH,
    g.kW,
    g.strideH,
    g.strideW,
    g.dilH,
    g.dilW,
    g.padTop,
    g.padLeft,
    g.padBottom,
    g.padRight,
    g.groups,
  ].join(",");
}

interface Descs {
  readonly src: Md;
  readonly dst: Md;
  readonly userWeights: Md;
  readonly anyWeights: Md;
  readonly bias: Md;
  readonly strides: BigInt64Array;
  readonly dilates: BigInt64Array;
  readonly padL: BigInt64Array;
  readonly padR: BigInt64Array;
}

function descs(ctx: DnnlContext, g: ConvGeometry): Descs {
  const src = mdTag(ctx, [g.batch, g.inC, g.inH, g.inW], D.nhwc);
  const dst = mdTag(ctx, [g.batch, g.outC, g.outH, g.outW], D.nhwc);
  let userWeights: Md;
  let anyWeights: Md;
  if (g.groups === 1) {
    // tfjs HWIO [kh, kw, in, out] seen as oneDNN's logical OIHW.
    userWeights = mdTag(ctx, [g.outC, g.inC, g.kH, g.kW], D.hwio);
    anyWeights = mdTag(ctx, [g.outC, g.inC, g.kH, g.kW], D.tagAny);
  } else {
    // tfjs depthwise filter [kh, kw, C, mult] seen as oneDNN's grouped GOIHW with G = C.
    const mult = g.outC / g.groups;
    const wdims = [g.groups, mult, g.inC / g.groups, g.kH, g.kW];
    userWeights = mdStrides(ctx, wdims, [
      mult,
      1,
      g.outC,
      g.kW * g.outC,
      g.outC,
    ]);
    anyWeights = mdTag(ctx, wdims, D.tagAny);
  }
  return {
    src,
    dst,
    userWeights,
    anyWeights,
    bias: mdTag(ctx, [g.outC], D.a),
    strides: dims([g.strideH, g.strideW]),
    dilates: dims([g.dilH - 1, g.dilW - 1]),
    padL: dims([g.padTop, g.padLeft]),
    padR: dims([g.padBottom, g.padRight]),
  };
}

function forwardPd(
  ctx: DnnlContext,
  d: Descs,
  opts: { bias: boolean; relu: boolean; prop: number },
): Deno.PointerValue {
  const desc = opDesc();
  const status = ctx.lib.dnnl_dilated_convolution_forward_desc_init(
    desc,
    opts.prop,
    D.convDirect,
    d.src.bytes as Uint8Array<ArrayBuffer>,
    d.anyWeights.bytes as Uint8Array<ArrayBuffer>,
    (opts.bias ? d.bias.bytes : new Uint8Array(696)) as Uint8Array<ArrayBuffer>,
    d.dst.bytes as Uint8Array<ArrayBuffer>,
    d.strides,
    d.dilates,
    d.padL,
    d.padR,
  );
  if (status !== 0) throw new Error(`oneDNN convolution_forward_desc_init failed (${status})`);
  let attr: Deno.PointerValue = null;
  if (opts.relu) {
    const out = new BigUint64Array(1);
    ctx.lib.dnnl_primitive_attr_create(out);
    attr = Deno.UnsafePointer.create(out[0]);
    ctx.lib.dnnl_post_ops_create(out);
    const ops = Deno.UnsafePointer.create(out[0]);
    ctx.lib.dnnl_post_ops_append_eltwise(ops, 1, D.eltwiseRelu, 0, 0);
    ctx.lib.dnnl_primitive_attr_set_post_ops(attr, ops);
  }
  const pd = primitiveDesc(ctx, desc, null, attr);
  if (pd === null) throw new Error("oneDNN has no convolution forward implementation");
  return pd;
}

/** A prepared forward convolution. */
interface Forward {
  readonly prim: Primitive;
  readonly toBlocked: Primitive | null;
  readonly blocked: Float32Array | null;
  readonly bias: boolean;
}

/** A prepared backward-data convolution. */
interface BackwardData {
  readonly prim: Primitive;
  readonly toBlocked: Primitive | null;
  readonly blocked: Float32Array | null;
}

/** A prepared backward-weights convolution. */
interface BackwardWeights {
  readonly prim: Primitive;
  readonly fromBlocked: Primitive | null;
  readonly blocked: Float32Array | null;
}

const forwards = new Map<string, Forward>();
const backwardDatas = new Map<string, BackwardData>();
const backwardWeights = new Map<string, BackwardWeights>();
const hints = new Map<string, Deno.PointerValue>();

function hint(ctx: DnnlContext, g: ConvGeometry, d: Descs): Deno.PointerValue {
  const k = key(g);
  let pd = hints.get(k);
  if (pd === undefined) {
    pd = forwardPd(ctx, d, { bias: false, relu: false, prop: D.forwardTraining });
    hints.set(k, pd);
  }
  return pd;
}

function weightsIn(
  ctx: DnnlContext,
  user: Md,
  chosen: Md,
): { toBlocked: Primitive | null; blocked: Float32Array | null } {
  const toBlocked = reorder(ctx, user, chosen);
  return { toBlocked, blocked: toBlocked ? scratch(mdSize(ctx, chosen)) : null };
}

/**
 * y = conv(x, w) (+ bias) (then ReLU), x NHWC, w HWIO (or HWCM when depthwise), y NHWC.
 *
 * @example
 * ```ts ignore
 * convForward(ctx, geometry, { x, w, y, bias: null, relu: false });
 * ```
 */
export function convForward(
  ctx: DnnlContext,
  g: ConvGeometry,
  io: {
    x: Float32Array;
    w: Float32Array;
    y: Float32Array;
    bias: Float32Array | null;
    relu: boolean;
  },
): void {
  const k = `${key(g)}|${io.bias !== null}|${io.relu}`;
  let f = forwards.get(k);
  if (f === undefined) {
    const d = descs(ctx, g);
    const pd = forwardPd(ctx, d, {
      bias: io.bias !== null,
      relu: io.relu,
      prop: D.forwardTraining,
    });
    const w = queryMd(ctx, pd, D.queryWeights);
    const args: [number, Md][] = [[D.argSrc, d.src], [D.argWeights, w]];
    if (io.bias !== null) args.push([D.argBias, d.bias]);
    args.push([D.argDst, d.dst]);
    f = {
      prim: new Primitive(ctx, pd, args),
      ...weightsIn(ctx, d.userWeights, w),
      bias: io.bias !== null,
    };
    forwards.set(k, f);
  }
  let w = io.w;
  if (f.toBlocked && f.blocked) {
    f.toBlocked.exec([io.w, f.blocked]);
    w = f.blocked;
  }
  if (io.bias !== null) f.prim.exec([io.x, w, io.bias, io.y]);
  else f.prim.exec([io.x, w, io.y]);
}

/**
 * dx = conv_backward_data(dy, w).
 *
 * @example
 * ```ts ignore
 * convBackwardData(ctx, geometry, { dy, w, dx });
 * ```
 */
export function convBackwardData(
  ctx: DnnlContext,
  g: ConvGeometry,
  io: { dy: Float32Array; w: Float32Array; dx: Float32Array },
): void {
  const k = key(g);
  let b = backwardDatas.get(k);
  if (b === undefined) {
    const d = descs(ctx, g);
    const desc = opDesc();
    const status = ctx.lib.dnnl_dilated_convolution_backward_data_desc_init(
      desc,
      D.convDirect,
      d.src.bytes as Uint8Array<ArrayBuffer>,
      d.anyWeights.bytes as Uint8Array<ArrayBuffer>,
      d.dst.bytes as Uint8Array<ArrayBuffer>,
      d.strides,
      d.dilates,
      d.padL,
      d.padR,
    );
    if (status !== 0) throw new Error(`oneDNN convolution_backward_data_desc_init (${status})`);
    const pd = primitiveDesc(ctx, desc, hint(ctx, g, d));
    if (pd === null) throw new Error("oneDNN has no convolution backward-data implementation");
    const w = queryMd(ctx, pd, D.queryWeights);
    b = {
      prim: new Primitive(ctx, pd, [[D.argDiffDst, d.dst], [D.argWeights, w], [
        D.argDiffSrc,
        d.src,
      ]]),
      ...weightsIn(ctx, d.userWeights, w),
    };
    backwardDatas.set(k, b);
  }
  let w = io.w;
  if (b.toBlocked && b.blocked) {
    b.toBlocked.exec([io.w, b.blocked]);
    w = b.blocked;
  }
  b.prim.exec([io.dy, w, io.dx]);
}

/**
 * dw = conv_backward_weights(x, dy), written in tfjs's filter layout.
 *
 * @example
 * ```ts ignore
 * convBackwardWeights(ctx, geometry, { x, dy, dw });
 * ```
 */
export function convBackwardWeights(
  ctx: DnnlContext,
  g: ConvGeometry,
  io: { x: Float32Array; dy: Float32Array; dw: Float32Array },
): void {
  const k = key(g);
  let b = backwardWeights.get(k);
  if (b === undefined) {
    const d = descs(ctx, g);
    const desc = opDesc();
    const status = ctx.lib.dnnl_dilated_convolution_backward_weights_desc_init(
      desc,
      D.convDirect,
      d.src.bytes as Uint8Array<ArrayBuffer>,
      d.anyWeights.bytes as Uint8Array<ArrayBuffer>,
      new Uint8Array(696),
      d.dst.bytes as Uint8Array<ArrayBuffer>,
      d.strides,
      d.dilates,
      d.padL,
      d.padR,
    );
    if (status !== 0) throw new Error(`oneDNN convolution_backward_weights_desc_init (${status})`);
    const pd = primitiveDesc(ctx, desc, hint(ctx, g, d));
    if (pd === null) throw new Error("oneDNN has no convolution backward-weights implementation");
    const w = queryMd(ctx, pd, D.queryDiffWeights);
    const fromBlocked = reorder(ctx, w, d.userWeights);
    b = {
      prim: new Primitive(ctx, pd, [[D.argSrc, d.src], [D.argDiffDst, d.dst], [
        D.argDiffWeights,
        w,
      ]]),
      fromBlocked,
      blocked: fromBlocked ? scratch(mdSize(ctx, w)) : null,
    };
    backwardWeights.set(k, b);
  }
  if (b.fromBlocked && b.blocked) {
    b.prim.exec([io.x, io.dy, b.blocked]);
    b.fromBlocked.exec([b.blocked, io.dw]);
  } else {
    b.prim.exec([io.x, io.dy, io.dw]);
  }
}

/** Implementations oneDNN chose per cached primitive, for the bench report. */
export function convImplementations(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, f] of forwards) out[`fwd ${k}`] = f.prim.impl;
  for (const [k, b] of backwardDatas) out[`bwd_data ${k}`] = b.prim.impl;
  for (const [k, b] of backwardWeights) out[`bwd_weights ${k}`] = b.prim.impl;
  return out;
}
