/**
 * What every family shares: the spec-backed parameter store, input-size rules, input
 * validation and the `Model` plumbing around a family's `features`/`head` functions.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  type ForwardOptions,
  InvalidArgumentError,
  type Model,
  type ParamResample,
  Rng,
} from "@efficienttrain/core";
import {
  type BatchNormState,
  materialize,
  type ParamLayout,
  type ParamSpec,
  type SpecList,
} from "./layers.ts";

/** Options every family's constructor accepts. */
export interface CreateModelOptions {
  /** Classifier outputs (0 = no head: `forward` returns the pooled features). */
  readonly numClasses?: number;
  /** Input channels (1 for MNIST). */
  readonly inChans?: number;
  /** Initial input side; position embeddings / windows are built for it. */
  readonly imgSize?: number;
  /** Stochastic-depth rate of the last block (linearly increasing, timm style). */
  readonly dropPathRate?: number;
  /** Seed of the initialisation (and of drop-path when a forward gives no seed). */
  readonly seed?: number;
  /**
   * ResNet: zero-init the last BN gamma of every residual block. Default: true for the
   * ImageNet variants (timm), false for the small-stem ones (He et al.'s CIFAR recipe).
   */
  readonly zeroInitLast?: boolean;
  /** ConvNeXt: initial layer-scale value (timm default 1e-6). */
  readonly layerScaleInit?: number;
}

/** The options every family resolves to before building. */
export interface ResolvedOptions {
  readonly numClasses: number;
  readonly inChans: number;
  readonly imgSize: number;
  readonly dropPathRate: number;
  readonly seed: number;
}

/** The model families of the registry. */
export type FamilyName = "resnet" | "convnext" | "vit" | "swin";

/** What every variant configuration carries: the side it is built for by default. */
export interface VariantConfig {
  readonly defaultSize: number;
}

/**
 * A model family as the registry sees it: its variants (timm-style names to configurations)
 * and the functions that answer parameter count, FLOPs and legal sizes from a configuration
 * without allocating, and build a model. Each family file exports one; adding a family is a
 * new file with one of these and one entry in the registry's `FAMILIES`.
 */
export interface ModelFamily<C extends VariantConfig = VariantConfig> {
  readonly name: FamilyName;
  readonly configs: Readonly<Record<string, C>>;
  inputRule(cfg: C): InputRule;
  specs(cfg: C, options: { numClasses: number; inChans: number; imgSize: number }): SpecList;
  /** Forward FLOPs (2 × multiply-adds) of one image at `size`. */
  flops(cfg: C, size: number, options: { numClasses: number; inChans: number }): number;
  create(name: string, cfg: C, options: CreateModelOptions): Model;
}

/**
 * Classifier outputs a variant gets when none is asked for: ImageNet's 1000 for the 224-px
 * variants, 10 for the small-image ones (CIFAR-10, MNIST, Imagenette).
 *
 * @example
 * ```ts
 * import { defaultNumClasses } from "@efficienttrain/models";
 * console.assert(defaultNumClasses(224) === 1000 && defaultNumClasses(32) === 10);
 * ```
 */
export function defaultNumClasses(defaultSize: number): number {
  return defaultSize >= 224 ? 1000 : 10;
}

/**
 * The options every family's constructor takes, with the variant's defaults filled in; the
 * registry and the `create*` functions both go through here, so they cannot disagree.
 *
 * @example
 * ```ts
 * import { resolveCreateOptions } from "@efficienttrain/models";
 * console.assert(resolveCreateOptions({ defaultSize: 32 }, {}).numClasses === 10);
 * ```
 */
export function resolveCreateOptions(
  cfg: VariantConfig,
  options: CreateModelOptions,
): ResolvedOptions {
  return {
    numClasses: options.numClasses ?? defaultNumClasses(cfg.defaultSize),
    inChans: options.inChans ?? 3,
    imgSize: options.imgSize ?? cfg.defaultSize,
    dropPathRate: options.dropPathRate ?? 0,
    seed: options.seed ?? 0,
  };
}

/** Legal input sides: every multiple of `step` that is ≥ `min`. */
export interface InputRule {
  readonly min: number;
  readonly step: number;
}

/**
 * Whether `size` satisfies `rule`.
 *
 * @example
 * ```ts
 * import { acceptsSize } from "@efficienttrain/models";
 * console.assert(acceptsSize({ min: 16, step: 16 }, 32) && !acceptsSize({ min: 16, step: 16 }, 24));
 * ```
 */
export function acceptsSize(rule: InputRule, size: number): boolean {
  return Number.isInteger(size) && size >= rule.min && size % rule.step === 0;
}

/**
 * The legal size nearest to `size` (ties round up; below the minimum → the minimum).
 *
 * @example
 * ```ts
 * import { nearestSize } from "@efficienttrain/models";
 * console.assert(nearestSize({ min: 32, step: 32 }, 176) === 192);
 * ```
 */
export function nearestSize(rule: InputRule, size: number): number {
  const r = Math.floor(size / rule.step + 0.5) * rule.step;
  return Math.max(rule.min, r);
}

/**
 * Spec-backed model base: families implement `features`, `head`, `rule` and `flopsAt`.
 * Internal; exported so the family files stay small.
 */
export abstract class SpecModel implements Model {
  readonly name: string;
  readonly numClasses: number;
  readonly inChans: number;
  protected readonly store: {
    params: Map<string, tf.Variable>;
    buffers: Map<string, tf.Variable>;
  };
  protected readonly decay: Map<string, boolean>;
  /** Internal layout of every tensor, so checkpoints can convert to PyTorch's. */
  readonly layouts: Map<string, ParamLayout>;
  protected readonly rng: Rng;
  protected size: number;

  constructor(
    name: string,
    specs: readonly ParamSpec[],
    options: { numClasses: number; inChans: number; imgSize: number; seed: number },
  ) {
    this.name = name;
    this.numClasses = options.numClasses;
    this.inChans = options.inChans;
    this.size = options.imgSize;
    const rng = new Rng(options.seed);
    this.store = materialize(specs, rng.fork());
    this.rng = rng.fork();
    this.decay = new Map(specs.map((s) => [s.name, s.decay]));
    this.layouts = new Map(specs.map((s) => [s.name, s.layout]));
  }

  /** Accepted input sides. */
  abstract get rule(): InputRule;
  /** Forward FLOPs at a legal size. */
  protected abstract flopsAt(size: number): number;
  /** Stage map sides at any positive side (no legality check). */
  protected abstract mapSidesAt(size: number): number[];
  /** NHWC → pooled features; runs inside a tidy. */
  protected abstract features(x: tf.Tensor4D, training: boolean, rng?: Rng): tf.Tensor2D;
  /** Pooled features → logits; runs inside a tidy. */
  protected abstract head(features: tf.Tensor2D): tf.Tensor2D;

  /**
   * One block of `features`. At inference it runs in its own tidy, so a forward pass holds
   * one block's intermediates at a time rather than the whole network's (evaluating
   * ConvNeXt-atto on 500 images of 128 px took a process from 6.5 to 12.5 GB); training keeps
   * them all anyway for the backward pass.
   */
  protected block<T extends tf.Tensor>(training: boolean, run: () => T): T {
    return training ? run() : tf.tidy(run);
  }

  get inputSize(): number {
    return this.size;
  }
  get minInputSize(): number {
    return this.rule.min;
  }
  get params(): ReadonlyMap<string, tf.Variable> {
    return this.store.params;
  }
  get buffers(): ReadonlyMap<string, tf.Variable> {
    return this.store.buffers;
  }

  noWeightDecay(name: string): boolean {
    const d = this.decay.get(name);
    if (d === undefined) {
      throw new InvalidArgumentError({
        argument: "param",
        value: name,
        reason: "no such parameter",
      });
    }
    return !d;
  }

  acceptsInputSize(size: number): boolean {
    return acceptsSize(this.rule, size);
  }

  nearestInputSize(size: number): number {
    return nearestSize(this.rule, size);
  }

  setInputSize(size: number): ReadonlyMap<string, ParamResample> {
    this.checkSize(size, "size");
    this.size = size;
    return new Map();
  }

  forwardFeatures(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
    this.checkInput(x);
    const rng = options.training
      ? options.seed === undefined ? this.rng.fork() : new Rng(options.seed)
      : undefined;
    return tf.tidy(() => this.features(x, options.training, rng));
  }

  forwardHead(features: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.head(features));
  }

  forward(x: tf.Tensor4D, options: ForwardOptions): tf.Tensor2D {
    this.checkInput(x);
    const rng = options.training
      ? options.seed === undefined ? this.rng.fork() : new Rng(options.seed)
      : undefined;
    return tf.tidy(() => this.head(this.features(x, options.training, rng)));
  }

  flops(size?: number): number {
    const s = size ?? this.size;
    this.checkSize(s, "size");
    return this.flopsAt(s);
  }

  featureMapSides(size?: number): number[] {
    const s = size ?? this.size;
    if (!Number.isInteger(s) || s < 1) {
      throw new InvalidArgumentError({
        argument: "size",
        value: String(s),
        reason: "must be a positive integer",
      });
    }
    return this.mapSidesAt(s);
  }

  dispose(): void {
    for (const v of this.store.params.values()) v.dispose();
    for (const v of this.store.buffers.values()) v.dispose();
    this.store.params.clear();
    this.store.buffers.clear();
  }

  /** A parameter by state-dict name. */
  protected p(name: string): tf.Variable {
    const v = this.store.params.get(name);
    if (v === undefined) throw new Error(`${this.name}: missing parameter ${name}`);
    return v;
  }

  /** The four variables of a BatchNorm layer. */
  protected bn(name: string): BatchNormState {
    const b = (k: string): tf.Variable => {
      const v = this.store.buffers.get(`${name}.${k}`);
      if (v === undefined) throw new Error(`${this.name}: missing buffer ${name}.${k}`);
      return v;
    };
    return {
      weight: this.p(`${name}.weight`),
      bias: this.p(`${name}.bias`),
      runningMean: b("running_mean"),
      runningVar: b("running_var"),
    };
  }

  /**
   * Replace a parameter's variable (its shape changed); returns the new one. Takes `value`
   * over: the variable holds its own reference to the data, so `value` itself is released
   * (kept, it would pin every replaced table's memory for the life of the run).
   */
  protected replaceParam(name: string, value: tf.Tensor): tf.Variable {
    const old = this.p(name);
    const v = tf.variable(value, true);
    value.dispose();
    old.dispose();
    this.store.params.set(name, v);
    return v;
  }

  protected checkSize(size: number, argument: string): void {
    if (!this.acceptsInputSize(size)) {
      const r = this.rule;
      throw new InvalidArgumentError({
        argument,
        value: String(size),
        reason: `${this.name} accepts multiples of ${r.step} that are ≥ ${r.min}` +
          ` (nearest legal: ${this.nearestInputSize(size)})`,
      });
    }
  }

  protected checkInput(x: tf.Tensor4D): void {
    const [, h, w, c] = x.shape;
    if (x.rank !== 4 || h !== w || c !== this.inChans) {
      throw new InvalidArgumentError({
        argument: "input shape",
        value: `[${x.shape}]`,
        reason: `${this.name} expects NHWC [N, S, S, ${this.inChans}]`,
      });
    }
    this.checkSize(h, "input size");
  }
}
