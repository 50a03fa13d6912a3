/**
 * `deno bench -A bench/micro/optimizer_bench.ts`: one AdamW update of every parameter of a
 * model on the native backend, the fused kernel (one pass per parameter) against tfjs's
 * formula (fifteen element-wise kernels per parameter), side by side in one run. The two give
 * the same bits (`tests/fused_adamw_test.ts`); this measures what the fusion saves per step.
 *
 *   BENCH_MODEL=resnet18_half deno bench -A bench/micro/optimizer_bench.ts   (default)
 */
import * as tf from "@tensorflow/tfjs-core";
import { probeNative, registerNativeBackend } from "@efficienttrain/backend-native";
import { FUSED_KERNELS } from "@efficienttrain/core";
import { createModel } from "@efficienttrain/models";
import { AdamW } from "@efficienttrain/train";

const native = probeNative();
const modelName = Deno.env.get("BENCH_MODEL") ?? "resnet18_half";
let state:
  | { params: Map<string, tf.Variable>; grads: Map<string, tf.Tensor>; opt: AdamW }
  | undefined;
let fusedKernel: tf.KernelConfig | undefined;

async function setup(): Promise<NonNullable<typeof state>> {
  if (state) return state;
  await registerNativeBackend();
  await tf.setBackend("native");
  fusedKernel = tf.getKernel(FUSED_KERNELS.adamW, "native") as tf.KernelConfig;
  const model = createModel(modelName, { numClasses: 10 });
  const params = model.params as Map<string, tf.Variable>;
  const grads = new Map([...params].map(([k, v]) => [k, tf.randomNormal(v.shape, 0, 1e-3)]));
  const opt = new AdamW({ weightDecay: 0.05, noWeightDecay: (n) => model.noWeightDecay(n) });
  opt.apply(params, grads, 1e-3); // moments allocated
  return state = { params, grads, opt };
}

function useFused(on: boolean): void {
  const registered = tf.getKernel(FUSED_KERNELS.adamW, "native") !== undefined;
  if (on && !registered && fusedKernel) tf.registerKernel(fusedKernel);
  if (!on && registered) tf.unregisterKernel(FUSED_KERNELS.adamW, "native");
}

const group = `AdamW update of every parameter of ${modelName}, native backend`;
for (const [name, fused] of [["tfjs formula", false], ["fused kernel", true]] as const) {
  Deno.bench({
    name,
    group,
    baseline: !fused,
    ignore: !native.available,
    n: 20,
    warmup: 3,
    async fn(b) {
      const s = await setup();
      useFused(fused);
      b.start();
      s.opt.apply(s.params, s.grads, 1e-3);
      b.end();
      useFused(true);
    },
  });
}
