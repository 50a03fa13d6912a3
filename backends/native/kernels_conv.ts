/**
 * tfjs kernels for convolutions on the native backend: Conv2D, FusedConv2D, both Conv2D
 * gradients, DepthwiseConv2dNative (+ fused) and both of its gradients, all through oneDNN.
 * NCHW and non-float32 inputs go to the tfjs-cpu kernels.
 *
 * @module
 */
import { backend_util, type KernelConfig, type TensorInfo } from "@tensorflow/tfjs-core";
import { convBackwardData, convBackwardWeights, convForward, geometryOf } from "./conv.ts";
import type { DnnlContext } from "./dnnl.ts";
import {
  allFloat32,
  cpuKernel,
  f32,
  type KernelArgs,
  type NativeKernelFunc,
  output,
  sizeOf,
} from "./kernel_util.ts";
import { take } from "./pool.ts";

type Pad = "valid" | "same" | number | backend_util.ExplicitPadding;
type Rounding = "floor" | "round" | "ceil" | undefined;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dilations?: [number, number] | number;
  dimRoundingMode?: Rounding;
  activation?: string;
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

function attrsOf(args: KernelArgs): ConvAttrs {
  return args.attrs as unknown as ConvAttrs;
}

function nhwc(a: ConvAttrs): boolean {
  return a.dataFormat === undefined || a.dataFormat === "NHWC";
}

function activationWith(
  backend: KernelArgs["backend"],
  x: TensorInfo,
  args: KernelArgs,
): TensorInfo {
  const a = attrsOf(args) as ConvAttrs & { leakyreluAlpha?: number };
  const kernel = {
    linear: "Identity",
    relu: "Relu",
    relu6: "Relu6",
    elu: "Elu",
    sigmoid: "Sigmoid",
    leakyrelu: "LeakyRelu",
    prelu: "Prelu",
  }[a.activation ?? "linear"];
  if (!kernel) throw new Error(`native backend: unknown fused activation ${a.activation}`);
  const inputs = kernel === "Prelu"
    ? { x, alpha: args.inputs.preluActivationWeights as TensorInfo }
    : { x };
  const attrs: Record<string, number> = kernel === "LeakyRelu"
    ? { alpha: a.leakyreluAlpha ?? 0.2 }
    : {};
  const r = cpuKernel(kernel)({ inputs, backend, attrs }) as TensorInfo;
  return r;
}

function makeConvKernels(ctx: DnnlContext): Record<string, NativeKernelFunc> {
  const conv2d = (args: KernelArgs, fused: boolean): TensorInfo => {
    const { x, filter, bias } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = attrsOf(args);
    const activation = fused ? (a.activation ?? "linear") : "linear";
    // A bias that is not one value per output channel (a scalar, say) and NCHW go to tfjs-cpu.
    const biasOk = !bias || (bias.shape.length === 1 && bias.shape[0] === filter!.shape[3]);
    if (!nhwc(a) || !allFloat32(x, filter, bias) || !biasOk) {
      return cpuKernel(fused ? "FusedConv2D" : "Conv2D")(args) as TensorInfo;
    }
    const info = backend_util.computeConv2DInfo(
      x!.shape as [number, number, number, number],
      filter!.shape as [number, number, number, number],
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
      false,
      "channelsLast",
    );
    const g = geometryOf(info, false);
    const y = take(args.backend, sizeOf(info.outShape));
    const relu = activation === "relu";
    convForward(ctx, g, {
      x: f32(args.backend, x!),
      w: f32(args.backend, filter!),
      y,
      bias: bias ? f32(args.backend, bias) : null,
      relu,
    });
    const out = output(args.backend, info.outShape, y);
    if (activation === "linear" || relu) return out;
    const activated = activationWith(args.backend, out, args);
    args.backend.disposeData(out.dataId);
    return activated;
  };

  const depthwise = (args: KernelArgs, fused: boolean): TensorInfo => {
    const { x, filter, bias } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = attrsOf(args);
    const activation = fused ? (a.activation ?? "linear") : "linear";
    const outC = filter!.shape[2] * filter!.shape[3];
    const biasOk = !bias || (bias.shape.length === 1 && bias.shape[0] === outC);
    if (!nhwc(a) || !allFloat32(x, filter, bias) || !biasOk) {
      return cpuKernel(fused ? "FusedDepthwiseConv2D" : "DepthwiseConv2dNative")(
        args,
      ) as TensorInfo;
    }
    const info = backend_util.computeConv2DInfo(
      x!.shape as [number, number, number, number],
      filter!.shape as [number, number, number, number],
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
      true,
    );
    const g = geometryOf(info, true);
    const y = take(args.backend, sizeOf(info.outShape));
    const relu = activation === "relu";
    convForward(ctx, g, {
      x: f32(args.backend, x!),
      w: f32(args.backend, filter!),
      y,
      bias: bias ? f32(args.backend, bias) : null,
      relu,
    });
    const out = output(args.backend, info.outShape, y);
    if (activation === "linear" || relu) return out;
    const activated = activationWith(args.backend, out, args);
    args.backend.disposeData(out.dataId);
    return activated;
  };

  return {
    Conv2D: (args) => conv2d(args, false),
    FusedConv2D: (args) => conv2d(args, true),
    DepthwiseConv2dNative: (args) => depthwise(args, false),
    FusedDepthwiseConv2D: (args) => depthwise(args, true),
    Conv2DBackpropInput: (args) => {
      const { dy, filter } = args.inputs as Record<string, TensorInfo>;
      const a = attrsOf(args);
      if (!nhwc(a) || !allFloat32(dy, filter)) return cpuKernel("Conv2DBackpropInput")(args);
      const info = backend_util.computeConv2DInfo(
        a.inputShape!,
        filter.shape as [number, number, number, number],
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
        false,
        "channelsLast",
      );
      const dx = take(args.backend, sizeOf(info.inShape));
      convBackwardData(ctx, geometryOf(info, false), {
        dy: f32(args.backend, dy),
        w: f32(args.backend, filter),
        dx,
      });
      return output(args.backend, info.inShape, dx);
    },
    Conv2DBackpropFilter: (args) => {
      const { x, dy } = args.inputs as Record<string, TensorInfo>;
      const a = attrsOf(args);
      if (!nhwc(a) || !allFloat32(x, dy)) return cpuKernel("Conv2DBackpropFilter")(args);
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape!,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
        false,
        "channelsLast",
      );
      const dw = take(args.backend, sizeOf(a.filterShape!));
      convBackwardWeights(ctx, geometryOf(info, false), {
        x: f32(args.backend, x),
        dy: f32(args.backend, dy),
        dw,
      });
      return output(args.backend, a.filterShape!, dw);
    },
    DepthwiseConv2dNativeBackpropInput: (args) => {
      const { dy, filter } = args.inputs as Record<string, TensorInfo>;
      const a = attrsOf(args);
      if (!allFloat32(dy, filter)) return cpuKernel("DepthwiseConv2dNativeBackpropInput")(args);
      const info = backend_util.computeConv2DInfo(
        a.inputShape!,
        filter.shape as [number, number, number, number],
        a.strides,
        a.dilations ?? 1,
        a.pad,
        a.dimRoundingMode,
        true,
      );
      const dx = take(args.backend, sizeOf(info.inShape));
      convBackwardData(ctx, geometryOf(info, true), {
        dy: f32(args.backend, dy),
        w: f32(args.backend, filter),
        dx,
      });
      return output(args.backend, info.inShape, dx);
    },
    DepthwiseConv2dNativeBackpropFilter: (args) => {
      const { x, dy } = args.inputs as Record<string, TensorInfo>;
      const a = attrsOf(args);
      if (!allFloat32(x, dy)) return cpuKernel("DepthwiseConv2dNativeBackpropFilter")(args);
      const info = backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape!,
        a.strides,
        a.dilations ?? 1,
        a.pad,
        a.dimRoundingMode,
        true,
      );
      const dw = take(args.backend, sizeOf(a.filterShape!));
      convBackwardWeights(ctx, geometryOf(info, true), {
        x: f32(args.backend, x),
        dy: f32(args.backend, dy),
        dw,
      });
      return output(args.backend, a.filterShape!, dw);
    },
  };
}

/**
 * Kernel configs for the native backend's convolutions.
 *
 * @example
 * ```ts ignore
 * for (const k of convKernels(ctx, "native")) tf.registerKernel(k);
 * ```
 */
export function convKernels(ctx: DnnlContext, backendName: string): KernelConfig[] {
  return Object.entries(makeConvKernels(ctx)).map(([kernelName, kernelFunc]) => ({
    kernelName,
    backendName,
    kernelFunc: kernelFunc as unknown as KernelConfig["kernelFunc"],
  }));
}
