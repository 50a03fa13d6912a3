/**
 * AdamW with PyTorch's semantics (decoupled weight decay, bias correction), per-parameter
 * weight-decay masks, and state keyed by parameter name so it can be checkpointed and
 * resampled when the model's input size changes.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type AdamWAttrs, FUSED_KERNELS, type ParamResample } from "@efficienttrain/core";

/** Options of {@link AdamW}. */
export interface AdamWOptions {
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
  readonly weightDecay?: number;
  /** Names that get no weight decay (norms, biases, position tables). */
  readonly noWeightDecay?: (name: string) => boolean;
}

/** Serialisable optimizer state (moments as tensors, keyed `m.<name>` / `v.<name>`). */
export interface AdamWState {
  readonly step: number;
  readonly tensors: Map<string, tf.Tensor>;
}

/**
 * One AdamW update of one parameter: the new parameter and both moments. A backend that
 * registers the fused kernel ({@link FUSED_KERNELS}`.adamW`: native and webgpu do) runs it in
 * one kernel; elsewhere the formula runs as fifteen element-wise ops. The native kernel is
 * bit-identical to the formula; the webgpu one agrees to float32 rounding.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { adamWStep } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * // the first step at lr 0.1: stepSize = lr/(1 − β₁), vCorrection = 1/(1 − β₂)
 * const [p] = adamWStep(tf.scalar(1), tf.scalar(1), tf.scalar(0), tf.scalar(0), {
 *   beta1: 0.9, beta2: 0.999, epsilon: 1e-8, stepSize: 0.1 / 0.1, vCorrection: 1 / 0.001, decay: 0,
 * });
 * console.assert(Math.abs(p.dataSync()[0] - 0.9) < 1e-5);
 * ```
 */
export function adamWStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamWAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const fused = param.dtype === "float32" && grad.dtype === "float32" &&
    tf.getKernel(FUSED_KERNELS.adamW, tf.getBackend()) !== undefined;
  if (fused) {
    const out = tf.engine().runKernel(
      FUSED_KERNELS.adamW,
      { param, grad, m, v },
      { ...attrs },
    ) as tf.Tensor[];
    return [out[0], out[1], out[2]];
  }
  return tf.tidy(() => {
    const { beta1: b1, beta2: b2 } = attrs;
    const mNew = tf.add(tf.mul(m, b1), tf.mul(grad, 1 - b1));
    const vNew = tf.add(tf.mul(v, b2), tf.mul(tf.square(grad), 1 - b2));
    const denom = tf.add(tf.sqrt(tf.mul(vNew, attrs.vCorrection)), attrs.epsilon);
    let next = tf.sub(param, tf.mul(tf.div(mNew, denom), attrs.stepSize));
    if (attrs.decay > 0) next = tf.sub(next, tf.mul(param, attrs.decay));
    return [next, mNew, vNew];
  });
}

/**
 * AdamW optimizer over named variables.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { AdamW } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.scalar(1));
 * const opt = new AdamW({ weightDecay: 0 });
 * opt.apply(new Map([["w", w]]), new Map([["w", tf.scalar(1)]]), 0.1);
 * console.assert(Math.abs(w.dataSync()[0] - 0.9) < 1e-5);
 * ```
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly #noWeightDecay: (name: string) => boolean;
  #step = 0;
  readonly #m = new Map<string, tf.Variable>();
  readonly #v = new Map<string, tf.Variable>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.05;
    this.#noWeightDecay = options.noWeightDecay ?? (() => false);
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.#step;
  }

  /** Apply one update with learning rate `lr`. Gradients are not disposed. */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
  ): void {
    this.#step++;
    const t = this.#step;
    const b1 = this.beta1, b2 = this.beta2;
    const stepSize = lr / (1 - Math.pow(b1, t));
    const vCorrection = 1 / (1 - Math.pow(b2, t));
    tf.tidy(() => {
      for (const [name, param] of params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.#moment(this.#m, name, param);
        const v = this.#moment(this.#v, name, param);
        const decay = this.#noWeightDecay(name) ? 0 : this.weightDecay;
        const [pNew, mNew, vNew] = adamWStep(param, g, m, v, {
          beta1: b1,
          beta2: b2,
          epsilon: this.epsilon,
          stepSize,
          vCorrection,
          decay: lr * decay,
        });
        m.assign(mNew);
        v.assign(vNew);
        param.assign(pNew);
      }
    });
  }

  /**
   * Resample moments the way the model resampled its parameters at an input-size change.
   * The second moment is clamped at zero because interpolation can undershoot.
   */
  resample(transforms: ReadonlyMap<string, ParamResample>): void {
    for (const [name, transform] of transforms) {
      for (const [store, clamp] of [[this.#m, false], [this.#v, true]] as const) {
        const old = store.get(name);
        if (!old) continue;
        const next = tf.tidy(() => {
          const r = transform(old);
          return clamp ? tf.relu(r) : r;
        });
        old.dispose();
        store.set(name, tf.variable(next, false));
        next.dispose();
      }
    }
  }

  /** Snapshot the state (copies; the caller disposes the tensors). */
  state(): AdamWState {
    const tensors = new Map<string, tf.Tensor>();
    for (const [name, m] of this.#m) tensors.set(`m.${name}`, tf.clone(m));
    for (const [name, v] of this.#v) tensors.set(`v.${name}`, tf.clone(v));
    return { step: this.#step, tensors };
  }

  /** Restore a snapshot made by {@link AdamW.state}. */
  load(state: AdamWState): void {
    this.dispose();
    this.#step = state.step;
    for (const [key, value] of state.tensors) {
      const store = key.startsWith("m.") ? this.#m : key.startsWith("v.") ? this.#v : undefined;
      if (store) store.set(key.slice(2), tf.variable(value, false));
    }
  }

  /** Release the moments. */
  dispose(): void {
    for (const t of this.#m.values()) t.dispose();
    for (const t of this.#v.values()) t.dispose();
    this.#m.clear();
    this.#v.clear();
  }

  #moment(store: Map<string, tf.Variable>, name: string, like: tf.Tensor): tf.Variable {
    let t = store.get(name);
    if (!t || !sameShape(t.shape, like.shape)) {
      t?.dispose();
      t = tf.variable(tf.zerosLike(like), false);
      store.set(name, t);
    }
    return t;
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
