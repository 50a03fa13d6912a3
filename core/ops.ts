/**
 * The tensor-op interface that models, curricula and the trainer are written against.
 *
 * Every backend in this project is a tfjs kernel backend (`cpu`, `wasm`, `webgpu`, and our
 * own `native`), so the interface is the tfjs op surface the library actually uses; the
 * backend is chosen by kernel registration, not by swapping this object. Keeping the list
 * explicit documents what a new backend must make fast and differentiable.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** Names of the tfjs ops the library relies on. */
export type TensorOpName =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "neg"
  | "square"
  | "sqrt"
  | "rsqrt"
  | "exp"
  | "log"
  | "abs"
  | "pow"
  | "maximum"
  | "minimum"
  | "relu"
  | "sigmoid"
  | "tanh"
  | "erf"
  | "softmax"
  | "logSoftmax"
  | "matMul"
  | "conv2d"
  | "depthwiseConv2d"
  | "maxPool"
  | "avgPool"
  | "mean"
  | "sum"
  | "max"
  | "moments"
  | "reshape"
  | "transpose"
  | "concat"
  | "slice"
  | "pad"
  | "gather"
  | "tile"
  | "expandDims"
  | "squeeze"
  | "stack"
  | "oneHot"
  | "argMax"
  | "where"
  | "zeros"
  | "ones"
  | "zerosLike"
  | "onesLike"
  | "scalar"
  | "tensor"
  | "tensor1d"
  | "tensor2d"
  | "tensor4d"
  | "cast"
  | "clipByValue"
  | "tidy"
  | "dispose"
  | "keep"
  | "variable"
  | "variableGrads"
  | "customGrad";

/**
 * The op surface: a typed view of the tfjs namespace restricted to {@link TensorOpName}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { TensorOps } from "@efficienttrain/core";
 * const ops: TensorOps = tf;
 * console.assert(typeof ops.conv2d === "function");
 * ```
 */
export type TensorOps = Pick<typeof tf, TensorOpName>;

/** Tensor type used throughout the library. */
export type Tensor = tf.Tensor;
