/**
 * Exponential moving average of the weights (timm's ModelEmaV2), kept as named tensors so
 * it can be checkpointed, evaluated by swapping into the model, and resampled at stage changes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ParamResample } from "@efficienttrain/core";

/**
 * EMA of a set of named variables (parameters and buffers).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { ModelEma } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.scalar(0));
 * const ema = new ModelEma(new Map([["w", w]]), { decay: 0.5 });
 * w.assign(tf.scalar(2));
 * ema.update(new Map([["w", w]]));
 * console.assert(ema.weights.get("w")!.dataSync()[0] === 1);
 * ```
 */
export class ModelEma {
  readonly decay: number;
  readonly weights: Map<string, tf.Variable> = new Map();

  constructor(source: ReadonlyMap<string, tf.Tensor>, options: { decay: number }) {
    this.decay = options.decay;
    for (const [name, t] of source) {
      // the variable takes its own reference to the copy's data; the copy itself is released
      const copy = tf.clone(t);
      this.weights.set(name, tf.variable(copy, false));
      copy.dispose();
    }
  }

  /** ema ← decay·ema + (1 − decay)·source. */
  update(source: ReadonlyMap<string, tf.Tensor>): void {
    tf.tidy(() => {
      for (const [name, w] of this.weights) {
        const s = source.get(name);
        if (!s) continue;
        if (s.shape.length !== w.shape.length || s.shape.some((d, i) => d !== w.shape[i])) {
          continue;
        }
        w.assign(tf.add(tf.mul(w, this.decay), tf.mul(s, 1 - this.decay)));
      }
    });
  }

  /** Apply the model's input-size transforms to the averaged copies. */
  resample(transforms: ReadonlyMap<string, ParamResample>): void {
    for (const [name, transform] of transforms) {
      const old = this.weights.get(name);
      if (!old) continue;
      const next = tf.tidy(() => transform(old));
      old.dispose();
      this.weights.set(name, tf.variable(next, false));
      next.dispose();
    }
  }

  /** Temporarily copy the EMA weights into `target`, run `fn`, then restore. */
  async withWeights<T>(
    target: ReadonlyMap<string, tf.Variable>,
    fn: () => Promise<T>,
  ): Promise<T> {
    const saved = new Map<string, tf.Tensor>();
    for (const [name, v] of target) {
      const w = this.weights.get(name);
      if (!w) continue;
      saved.set(name, tf.clone(v));
      v.assign(w);
    }
    try {
      return await fn();
    } finally {
      for (const [name, t] of saved) {
        target.get(name)!.assign(t);
        t.dispose();
      }
    }
  }

  /** Release the averaged copies. */
  dispose(): void {
    for (const w of this.weights.values()) w.dispose();
    this.weights.clear();
  }
}
