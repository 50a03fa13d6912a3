/**
 * The optimizers, with PyTorch's semantics: AdamW (decoupled weight decay, bias correction) and
 * SGD with momentum (L2 weight decay added to the gradient, optionally Nesterov). Both take
 * per-parameter weight-decay masks and keep their state keyed by parameter name, so it can be
 * checkpointed and resampled when the model's input size changes.
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

/**
 * Serialisable optimizer state: the update count and the per-parameter slots as tensors, keyed
 * `<slot>.<parameter name>` (AdamW: `m.`, `v.`; SGD: `momentum.`).
 */
export interface OptimizerState {
  readonly step: number;
  readonly tensors: Map<string, tf.Tensor>;
}

/** What the training loop needs of an optimizer. */
export interface Optimizer {
  /** Number of updates applied so far. */
  readonly step: number;
  /** Apply one update with learning rate `lr`. Gradients are not disposed. */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
  ): void;
  /** Resample the slots the way the model resampled its parameters at an input-size change. */
  resample(transforms: ReadonlyMap<string, ParamResample>): void;
  /** Snapshot the state (copies; the caller disposes the tensors). */
  state(): OptimizerState;
  /** Restore a snapshot made by {@link Optimizer.state}. */
  load(state: OptimizerState): void;
  /** Release the slots. */
  dispose(): void;
}

/**
 * One AdamW update of one parameter: the new parameter and both moments. A backend that
 * registers the fused kernel ({@link FUSED_KERNELS}`.adamW`: native and webgpu do) runs it in
 * one kernel; elsewhere the formula runs as fifteen element-wise ops. Both kernels agree with
 * the formula to float32 rounding (native computes in float64 and rounds each output once).
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
 * What AdamW and SGD share: the update count and the per-parameter slots (moments, momentum
 * buffers), created as zeros on first use, recreated when a parameter changes shape, resampled
 * with the parameters and snapshotted under `<slot>.<name>` keys. A subclass names its slots and
 * writes `apply`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { SlotOptimizer } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * class PlainSgd extends SlotOptimizer {
 *   constructor() {
 *     super([]);
 *   }
 *   apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
 *     this.countStep();
 *     for (const [name, p] of params) p.assign(tf.tidy(() => tf.sub(p, tf.mul(grads.get(name)!, lr))));
 *   }
 * }
 * const w = tf.variable(tf.scalar(1));
 * const opt = new PlainSgd();
 * opt.apply(new Map([["w", w]]), new Map([["w", tf.scalar(1)]]), 0.1);
 * console.assert(opt.step === 1 && Math.abs(w.dataSync()[0] - 0.9) < 1e-6);
 * ```
 */
export abstract class SlotOptimizer implements Optimizer {
  #step = 0;
  readonly #stores: ReadonlyMap<string, Map<string, tf.Variable>>;
  readonly #nonNegative: ReadonlySet<string>;

  /** `nonNegative` slots are clamped at zero after resampling (interpolation can undershoot). */
  constructor(slots: readonly string[], nonNegative: readonly string[] = []) {
    this.#stores = new Map(slots.map((slot) => [slot, new Map()]));
    this.#nonNegative = new Set(nonNegative);
  }

  /** Number of updates applied so far. */
  get step(): number {
    return this.#step;
  }

  /** Apply one update with learning rate `lr`. Gradients are not disposed. */
  abstract apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
  ): void;

  /** Resample the slots the way the model resampled its parameters at an input-size change. */
  resample(transforms: ReadonlyMap<string, ParamResample>): void {
    for (const [name, transform] of transforms) {
      for (const [slot, store] of this.#stores) {
        const old = store.get(name);
        if (!old) continue;
        const next = tf.tidy(() => {
          const r = transform(old);
          return this.#nonNegative.has(slot) ? tf.relu(r) : r;
        });
        old.dispose();
        store.set(name, tf.variable(next, false));
        next.dispose();
      }
    }
  }

  /** Snapshot the state (copies; the caller disposes the tensors). */
  state(): OptimizerState {
    const tensors = new Map<string, tf.Tensor>();
    for (const [slot, store] of this.#stores) {
      for (const [name, t] of store) tensors.set(`${slot}.${name}`, tf.clone(t));
    }
    return { step: this.#step, tensors };
  }

  /**
   * Restore a snapshot made by {@link SlotOptimizer.state}. Keys of other slots (another
   * optimizer's state) are ignored.
   */
  load(state: OptimizerState): void {
    this.dispose();
    this.#step = state.step;
    for (const [key, value] of state.tensors) {
      const dot = key.indexOf(".");
      const store = dot > 0 ? this.#stores.get(key.slice(0, dot)) : undefined;
      store?.set(key.slice(dot + 1), tf.variable(value, false));
    }
  }

  /** Release the slots. */
  dispose(): void {
    for (const store of this.#stores.values()) {
      for (const t of store.values()) t.dispose();
      store.clear();
    }
  }

  /** Count one update; returns its number (1 for the first). */
  protected countStep(): number {
    return ++this.#step;
  }

  /** Parameter `name`'s `slot`, zeros like `param` when new or when its shape changed. */
  protected slot(slot: string, name: string, param: tf.Tensor): tf.Variable {
    const store = this.#stores.get(slot)!;
    let t = store.get(name);
    if (!t || !sameShape(t.shape, param.shape)) {
      t?.dispose();
      t = tf.variable(tf.zerosLike(param), false);
      store.set(name, t);
    }
    return t;
  }
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
export class AdamW extends SlotOptimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  readonly #noWeightDecay: (name: string) => boolean;

  /** Slots `m` and `v`; `v` is clamped at zero after resampling (interpolation can undershoot). */
  constructor(options: AdamWOptions = {}) {
    super(["m", "v"], ["v"]);
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.05;
    this.#noWeightDecay = options.noWeightDecay ?? (() => false);
  }

  /** Apply one update with learning rate `lr`. Gradients are not disposed. */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
  ): void {
    const t = this.countStep();
    const b1 = this.beta1, b2 = this.beta2;
    const stepSize = lr / (1 - Math.pow(b1, t));
    const vCorrection = 1 / (1 - Math.pow(b2, t));
    tf.tidy(() => {
      for (const [name, param] of params) {
        const g = grads.get(name);
        if (!g) continue;
        const m = this.slot("m", name, param);
        const v = this.slot("v", name, param);
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
}

/** Options of {@link Sgd}. */
export interface SgdOptions {
  /** Momentum factor (PyTorch's `momentum`, no dampening); 0 is plain SGD. */
  readonly momentum?: number;
  /** Nesterov momentum (PyTorch's `nesterov=True`). */
  readonly nesterov?: boolean;
  /** L2 weight decay, added to the gradient before momentum (PyTorch's `weight_decay`). */
  readonly weightDecay?: number;
  /** Names that get no weight decay (norms, biases, position tables). */
  readonly noWeightDecay?: (name: string) => boolean;
}

/**
 * SGD with momentum over named variables, PyTorch's update: d = g + λ·p; b = μ·b + d;
 * p −= lr·(d + μ·b) with Nesterov, p −= lr·b without.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { Sgd } from "@efficienttrain/train";
 * await tf.setBackend("cpu");
 * const w = tf.variable(tf.scalar(1));
 * const opt = new Sgd({ momentum: 0.9, nesterov: true, weightDecay: 0 });
 * opt.apply(new Map([["w", w]]), new Map([["w", tf.scalar(1)]]), 0.1);
 * // the first step: b = 1, p −= 0.1·(1 + 0.9·1)
 * console.assert(Math.abs(w.dataSync()[0] - 0.81) < 1e-6);
 * ```
 */
export class Sgd extends SlotOptimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  readonly #noWeightDecay: (name: string) => boolean;

  /** One slot, `momentum` (the buffer b). */
  constructor(options: SgdOptions = {}) {
    super(["momentum"]);
    this.momentum = options.momentum ?? 0.9;
    this.nesterov = options.nesterov ?? true;
    this.weightDecay = options.weightDecay ?? 5e-4;
    this.#noWeightDecay = options.noWeightDecay ?? (() => false);
  }

  /** Apply one update with learning rate `lr`. Gradients are not disposed. */
  apply(
    params: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
  ): void {
    this.countStep();
    const mu = this.momentum;
    tf.tidy(() => {
      for (const [name, param] of params) {
        const g = grads.get(name);
        if (!g) continue;
        const decay = this.#noWeightDecay(name) ? 0 : this.weightDecay;
        const d = decay > 0 ? tf.add(g, tf.mul(param, decay)) : g;
        let update = d;
        if (mu > 0) {
          const buffer = this.slot("momentum", name, param);
          const next = tf.add(tf.mul(buffer, mu), d);
          buffer.assign(next);
          update = this.nesterov ? tf.add(d, tf.mul(next, mu)) : next;
        }
        param.assign(tf.sub(param, tf.mul(update, lr)));
      }
    });
  }
}

/** The optimizers `--opt` names. */
export const OPTIMIZER_NAMES = ["adamw", "sgd"] as const;
/** One of {@link OPTIMIZER_NAMES}. */
export type OptimizerName = typeof OPTIMIZER_NAMES[number];

/**
 * The run's optimizer from its settings: AdamW, or Nesterov SGD at `momentum`.
 *
 * @example
 * ```ts
 * import { createOptimizer, Sgd } from "@efficienttrain/train";
 * const opt = createOptimizer("sgd", { weightDecay: 5e-4, momentum: 0.9 });
 * console.assert(opt instanceof Sgd);
 * ```
 */
export function createOptimizer(
  name: OptimizerName,
  options: {
    readonly weightDecay: number;
    readonly momentum?: number;
    readonly noWeightDecay?: (name: string) => boolean;
  },
): Optimizer {
  return name === "sgd" ? new Sgd({ ...options, nesterov: true }) : new AdamW(options);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
