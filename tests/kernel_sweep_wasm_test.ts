/**
 * The shape sweep (see `kernel_sweep.ts`) on tfjs-wasm with the project's kernels of
 * `backends/tfjs/wasm_kernels/` against tfjs-cpu, and a check that every one of those kernels
 * ran at least once.
 */
import assert from "node:assert/strict";
import { Rng } from "@efficienttrain/core";
import { initBackend, WASM_KERNELS } from "@efficienttrain/backend-tfjs";
import { fusedCases, sweep, sweepCases, sweepScale } from "./kernel_sweep.ts";

Deno.test("wasm: every project kernel matches tfjs-cpu over the shape sweep", async () => {
  const ours = Object.keys(WASM_KERNELS);
  const cases = [
    ...sweepCases(22),
    ...fusedCases(new Rng(23), 3 * sweepScale()),
  ];
  try {
    const report = await sweep(cases, "wasm", {
      tolerance: 1e-4,
      activate: async (name) => {
        await initBackend(name as "cpu" | "wasm");
      },
    });
    const missed = ours.filter((k) => !report.kernels.has(k));
    console.log(
      `wasm sweep: ${report.cases} cases, ${report.shapes} shape lists, ` +
        `${ours.length - missed.length}/${ours.length} project kernels ran, ` +
        `worst rel err ${report.worst.toExponential(2)}`,
    );
    assert.deepEqual(report.failures, [], report.failures.slice(0, 20).join("\n"));
    assert.deepEqual(missed, [], `project wasm kernels the sweep never ran: ${missed}`);
  } finally {
    await initBackend("cpu");
  }
});
