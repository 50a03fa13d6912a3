/**
 * The model registry: one literal keyed by timm-style names (no registration by import side
 * effects), `createModel`, and `modelInfo`, which answers parameter count, FLOPs and legal
 * sizes from the same spec code that allocates, without allocating.
 *
 * Small-image variants (28–32 px data):
 * - `resnet8_cifar`, `resnet20_cifar`: He et al.'s CIFAR ResNets (3 stages, widths 16/32/64,
 *   n = 1 / 3 BasicBlocks, projection shortcuts); `resnet18_cifar`: ResNet-18 with a 3×3
 *   stride-1 stem and no max-pool. Any side ≥ 4 (resp. 8) works.
 * - `convnext_atto_patch2_32`, `convnext_atto_patch1_32`: ConvNeXt-Atto widths/depths
 *   (40–320, 2/2/6/2) with a 2×2 or 1×1 patchify stem.
 * - `deit_tiny_patch4_32`, `deit_tiny_patch2_32`: DeiT-Tiny with 4×4 or 2×2 patches.
 * - `swin_tiny_patch2_window4_32`: Swin-T with 2×2 patches, window = side/8 (4 at 32).
 *
 * Imagenette at 128 px (the 224-px models run there too, through `setInputSize`):
 * - `resnet18_half`: ResNet-18 at half width (32–256 channels), ImageNet stem.
 * - `convnext_atto`: timm's ConvNeXt-Atto (40–320, 2/2/6/2, 4×4 patchify stem).
 * - `swin_micro_patch4_window4_128`: the CIFAR Swin-micro's widths and depths (48–384,
 *   1/1/3/1) with 4×4 patches and window = side/32 (4 at 128, 3 at 96, 2 at 64).
 *
 * @module
 */
import {
  InvalidArgumentError,
  type Model,
  taggedError,
  type TaggedErrorClass,
} from "@efficienttrain/core";
import {
  acceptsSize,
  type CreateModelOptions,
  type FamilyName,
  type InputRule,
  type ModelFamily,
  resolveCreateOptions,
  type ResolvedOptions,
  type VariantConfig,
} from "./base.ts";
import { type CONVNEXT_CONFIGS, convnextFamily } from "./convnext.ts";
import { type RESNET_CONFIGS, resnetFamily } from "./resnet.ts";
import { type SWIN_CONFIGS, swinFamily } from "./swin.ts";
import { type VIT_CONFIGS, vitFamily } from "./vit.ts";

/** The families the registry is built from, in listing order. A new family goes here. */
const FAMILIES: readonly ModelFamily[] = [resnetFamily, convnextFamily, vitFamily, swinFamily];

/** A registry entry: the variant's family and its configuration (which carries its defaults). */
export interface ModelEntry {
  readonly family: ModelFamily;
  readonly cfg: VariantConfig;
}

/** Every registered variant name. */
export type ModelName =
  | keyof typeof RESNET_CONFIGS
  | keyof typeof CONVNEXT_CONFIGS
  | keyof typeof VIT_CONFIGS
  | keyof typeof SWIN_CONFIGS;

function build(): Record<ModelName, ModelEntry> {
  const out: Record<string, ModelEntry> = {};
  for (const family of FAMILIES) {
    for (const [name, cfg] of Object.entries(family.configs)) {
      if (name in out) throw new Error(`model registry: ${name} is defined twice`);
      out[name] = { family, cfg };
    }
  }
  return out as Record<ModelName, ModelEntry>;
}

/**
 * The registry literal, keyed by variant name.
 *
 * @example
 * ```ts
 * import { MODEL_REGISTRY } from "@efficienttrain/models";
 * console.assert(MODEL_REGISTRY.resnet50.family.name === "resnet");
 * ```
 */
export const MODEL_REGISTRY: Readonly<Record<ModelName, ModelEntry>> = build();

type UnknownModelFields = { model: string; known: string };
const UnknownModelBase: TaggedErrorClass<"UnknownModelError", UnknownModelFields> = taggedError(
  "UnknownModelError",
);

/**
 * A model name that is not in the registry.
 *
 * @example
 * ```ts
 * import { UnknownModelError } from "@efficienttrain/models";
 * console.assert(new UnknownModelError({ model: "x", known: "a, b" }).message.includes("x"));
 * ```
 */
export class UnknownModelError extends UnknownModelBase {
  /** Names the model and lists the known ones. */
  override get message(): string {
    return `unknown model ${JSON.stringify(this.model)}; known: ${this.known}`;
  }
}

/**
 * All registered names, in registry order.
 *
 * @example
 * ```ts
 * import { listModels } from "@efficienttrain/models";
 * console.assert(listModels().includes("resnet20_cifar"));
 * ```
 */
export function listModels(): ModelName[] {
  return Object.keys(MODEL_REGISTRY) as ModelName[];
}

function entry(name: string): ModelEntry {
  const e = (MODEL_REGISTRY as Record<string, ModelEntry | undefined>)[name];
  if (e === undefined) throw new UnknownModelError({ model: name, known: listModels().join(", ") });
  return e;
}

/** What `modelInfo` reports. */
export interface ModelInfo {
  readonly name: string;
  readonly family: FamilyName;
  /** Input side the variant is built for by default. */
  readonly defaultSize: number;
  readonly numClasses: number;
  readonly inChans: number;
  /** Legal input sides: multiples of `step` that are ≥ `min`. */
  readonly inputRule: InputRule;
  /** Trainable parameters at `imgSize`. */
  readonly params: number;
  /** Forward FLOPs per image at `imgSize`. */
  readonly flops: number;
}

function resolve(name: string, e: ModelEntry, options: CreateModelOptions): ResolvedOptions {
  const r = resolveCreateOptions(e.cfg, options);
  const int = (arg: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) {
      throw new InvalidArgumentError({
        argument: arg,
        value: String(v),
        reason: `must be an integer ≥ ${min}`,
      });
    }
  };
  int("numClasses", r.numClasses, 0);
  int("inChans", r.inChans, 1);
  const rule = inputRule(e);
  if (!acceptsSize(rule, r.imgSize)) {
    throw new InvalidArgumentError({
      argument: "imgSize",
      value: String(r.imgSize),
      reason: `${name} accepts multiples of ${rule.step} that are ≥ ${rule.min}`,
    });
  }
  if (!(r.dropPathRate >= 0 && r.dropPathRate < 1)) {
    throw new InvalidArgumentError({
      argument: "dropPathRate",
      value: String(r.dropPathRate),
      reason: "must be in [0, 1)",
    });
  }
  return r;
}

function inputRule(e: ModelEntry): InputRule {
  return e.family.inputRule(e.cfg);
}

/**
 * Parameter count, FLOPs and legal sizes of a variant, computed from its specs without
 * allocating any tensor.
 *
 * @example
 * ```ts
 * import { modelInfo } from "@efficienttrain/models";
 * console.assert(modelInfo("swin_tiny_patch4_window7_224").params === 28288354);
 * ```
 */
export function modelInfo(
  name: ModelName | (string & Record<never, never>),
  options: CreateModelOptions = {},
): ModelInfo {
  const e = entry(name);
  const r = resolve(name, e, options);
  const params = e.family.specs(e.cfg, r).countParams();
  const flops = e.family.flops(e.cfg, r.imgSize, r);
  return {
    name,
    family: e.family.name,
    defaultSize: e.cfg.defaultSize,
    numClasses: r.numClasses,
    inChans: r.inChans,
    inputRule: inputRule(e),
    params,
    flops,
  };
}

/**
 * Build a registered model with initialised parameters. Throws `UnknownModelError` for an
 * unknown name and `InvalidArgumentError` for an illegal option.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { createModel } from "@efficienttrain/models";
 * const m = createModel("resnet8_cifar", { inChans: 1, imgSize: 28 });
 * console.assert(m.forward(tf.zeros([2, 28, 28, 1]), { training: false }).shape.join() === "2,10");
 * m.dispose();
 * ```
 */
export function createModel(
  name: ModelName | (string & Record<never, never>),
  options: CreateModelOptions = {},
): Model {
  const e = entry(name);
  return e.family.create(name, e.cfg, { ...options, ...resolve(name, e, options) });
}
