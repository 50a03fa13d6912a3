/**
 * The shape sweep (see `kernel_sweep.ts`) on the native backend against tfjs-cpu, with the
 * size threshold at 0 so even a 1-element tensor goes through oneDNN, and a check that every
 * kernel the native backend overrides ran at least once. Skips when oneDNN is not installed.
 */
import * as tf from "@tensorflow/tfjs";
import assert from "node:assert/strict";
import { Rng } from "@efficienttrain/core";
import {
  NATIVE_BACKEND_NAME,
  probeNative,
  registerNativeBackend,
  setNativeMinElements,
} from "@efficienttrain/backend-native";
import { fusedCases, sweep, sweepCases, sweepScale } from "./kernel_sweep.ts";

const probe = probeNative();
if (!probe.available) console.warn(`native sweep skipped: ${probe.reason}`);

Deno.test({
  name: "native: every overridden kernel matches tfjs-cpu over the shape sweep",
  ignore: !probe.available,
  fn: async () => {
    await registerNativeBackend();
    const cpuKernels = new Map(tf.getKernelsForBackend("cpu").map((k) => [k.kernelName, k]));
    const overridden = tf.getKernelsForBackend(NATIVE_BACKEND_NAME)
      .filter((k) => cpuKernels.get(k.kernelName)?.kernelFunc !== k.kernelFunc)
      .map((k) => k.kernelName);
    const previous = setNativeMinElements(0);
    try {
      const cases = [
        ...sweepCases(12),
        ...fusedCases(new Rng(13), 3 * sweepScale()),
      ];
      const report = await sweep(cases, NATIVE_BACKEND_NAME, {
        tolerance: 1e-4,
        activate: async (name) => {
          await tf.setBackend(name);
        },
      });
      const missed = overridden.filter((k) => !report.kernels.has(k));
      console.log(
        `native sweep: ${report.cases} cases, ${report.shapes} shape lists, ` +
          `${overridden.length - missed.length}/${overridden.length} overridden kernels ran, ` +
          `worst rel err ${report.worst.toExponential(2)}`,
      );
      assert.deepEqual(report.failures, [], report.failures.slice(0, 20).join("\n"));
      assert.deepEqual(missed, [], `overridden kernels the sweep never ran: ${missed}`);
    } finally {
      setNativeMinElements(previous);
      await tf.setBackend("cpu");
    }
  },
});
