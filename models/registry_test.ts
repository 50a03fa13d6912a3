import assert from "node:assert/strict";
import { Effect } from "effect";
import { useCpu } from "../tests/models_util.ts";
import { createModel, layer, listModels, modelInfo, ModelRegistry } from "./mod.ts";

Deno.test("parameter counts at 224² / 1000 classes equal the reference architectures", () => {
  const reference: Record<string, number> = {
    resnet50: 25_557_032,
    convnext_tiny: 28_589_128,
    deit_tiny_patch16_224: 5_717_416,
    deit_small_patch16_224: 22_050_664,
    swin_tiny_patch4_window7_224: 28_288_354,
    // further timm/torchvision references
    resnet18: 11_689_512,
    resnet34: 21_797_672,
    convnext_small: 50_223_688,
    convnext_base: 88_591_464,
    deit_base_patch16_224: 86_567_656,
    swin_small_patch4_window7_224: 49_606_258,
    swin_base_patch4_window7_224: 87_768_224,
  };
  for (const [name, n] of Object.entries(reference)) {
    assert.equal(modelInfo(name, { imgSize: 224, numClasses: 1000 }).params, n, name);
  }
});

Deno.test("FLOPs at 224² are within 2% of the published multiply-add counts ×2", () => {
  // fvcore/timm GMACs: resnet50 4.11, convnext_tiny 4.47, deit_tiny 1.26, deit_small 4.61, swin_tiny 4.51
  const gmacs: Record<string, number> = {
    resnet50: 4.11,
    convnext_tiny: 4.47,
    deit_tiny_patch16_224: 1.26,
    deit_small_patch16_224: 4.61,
    swin_tiny_patch4_window7_224: 4.51,
  };
  for (const [name, g] of Object.entries(gmacs)) {
    const f = modelInfo(name).flops / 2e9;
    assert.ok(Math.abs(f - g) / g < 0.02, `${name}: ${f.toFixed(3)} GMACs vs ${g}`);
  }
});

Deno.test("the CIFAR ResNets have the classic sizes and accept every side ≥ 4", () => {
  // He et al. report 0.27M for ResNet-20 with option-A shortcuts; projections add 2 convs+BNs
  const r20 = modelInfo("resnet20_cifar");
  assert.ok(r20.params > 270_000 && r20.params < 280_000, String(r20.params));
  assert.deepEqual(r20.inputRule, { min: 4, step: 1 });
  assert.equal(modelInfo("resnet8_cifar", { inChans: 1 }).inChans, 1);
});

Deno.test("every registered variant answers modelInfo; unknown names and bad options fail", () => {
  for (const name of listModels()) {
    const info = modelInfo(name);
    assert.ok(info.params > 0 && info.flops > 0, name);
    assert.ok(
      info.defaultSize % info.inputRule.step === 0 && info.defaultSize >= info.inputRule.min,
    );
  }
  assert.throws(() => createModel("resnet51"), { name: "UnknownModelError", message: /resnet51/ });
  assert.throws(() => modelInfo("deit_tiny_patch16_224", { imgSize: 100 }), /imgSize = 100/);
  assert.throws(() => modelInfo("resnet50", { numClasses: -1 }), /numClasses/);
  assert.throws(() => modelInfo("resnet50", { dropPathRate: 1 }), /dropPathRate/);
});

Deno.test("the swin window follows the input (5, 6, 7 at 160, 192, 224)", () => {
  for (const [size, w] of [[160, 5], [192, 6], [224, 7]]) {
    const params = modelInfo("swin_tiny_patch4_window7_224", { imgSize: size }).params;
    const tables = (2 * w - 1) ** 2 * (3 + 6) * 2 + (2 * w - 1) ** 2 * (12 * 6 + 24 * 2);
    const at224 = 28_288_354 - 169 * (3 * 2 + 6 * 2 + 12 * 6 + 24 * 2);
    assert.equal(params, at224 + tables);
  }
});

Deno.test("ModelRegistry layer: info and create, typed failures", async () => {
  await useCpu();
  const program = Effect.gen(function* () {
    const reg = yield* ModelRegistry;
    const info = yield* reg.info("resnet50");
    const m = yield* reg.create("test_deit", { numClasses: 3 });
    const err = yield* Effect.flip(reg.create("nope"));
    return { info, m, err };
  });
  const { info, m, err } = await Effect.runPromise(Effect.provide(program, layer));
  assert.equal(info.params, 25_557_032);
  assert.equal(m.name, "test_deit");
  assert.equal(err._tag, "UnknownModelError");
  m.dispose();
});
