/**
 * The contract every model in `@efficienttrain/models` satisfies and the trainer relies on.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** Options for a forward pass. */
export interface ForwardOptions {
  /** Training mode: batch-norm uses batch statistics and updates running stats, drop-path is active. */
  readonly training: boolean;
  /** Seed for stochastic depth / dropout in this pass (deterministic runs). */
  readonly seed?: number;
}

/**
 * A transform applied to a named parameter when the input size changes (position-embedding
 * or relative-position-bias resampling). The trainer applies the same transform to the
 * optimizer moments and the EMA copy of that parameter.
 */
export type ParamResample = (t: tf.Tensor) => tf.Tensor;

/** A classification backbone that accepts any legal input size. */
export interface Model {
  /** Registry name, e.g. `resnet18` or `test_resnet`. */
  readonly name: string;
  /** Current input side (square inputs; H = W). */
  readonly inputSize: number;
  /** Smallest accepted input side. */
  readonly minInputSize: number;
  /** Trainable parameters keyed by reference state-dict names (`layer1.0.conv1.weight`). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Non-trainable state (batch-norm running stats), also keyed by state-dict names. */
  readonly buffers: ReadonlyMap<string, tf.Variable>;
  /** True for parameters that get no weight decay (norms, biases, position embeddings, …). */
  noWeightDecay(name: string): boolean;
  /** Whether `size` is a legal input side. */
  acceptsInputSize(size: number): boolean;
  /** The legal input side nearest to `size` (ties round up). */
  nearestInputSize(size: number): number;
  /**
   * Switch to a new input side. Returns the transforms it applied to its own parameters,
   * keyed by parameter name, so the caller can resample optimizer state the same way.
   * A parameter whose shape changes (position embedding, bias table) is replaced by a new
   * variable under the same name: callers that keep a list of variables (for
   * `tf.variableGrads`) must re-read `params` afterwards.
   */
  setInputSize(size: number): ReadonlyMap<string, ParamResample>;
  /** NHWC images → pooled features [N, D]. */
  forwardFeatures(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D;
  /** Features → logits [N, numClasses]. */
  forwardHead(features: tf.Tensor2D): tf.Tensor2D;
  /** NHWC images → logits. */
  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D;
  /** Forward FLOPs (multiply–adds × 2) for one image at `size` (defaults to the current size). */
  flops(size?: number): number;
  /**
   * Side of every stage's feature map at input side `size` (default: the current size),
   * computed for any positive side, legal or not, so a caller can see a map that would
   * vanish (0) or collapse to 1×1 before training at that size.
   */
  featureMapSides(size?: number): number[];
  /** Release all variables. */
  dispose(): void;
}
