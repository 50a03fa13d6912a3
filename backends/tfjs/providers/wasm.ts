/**
 * tfjs-wasm (XNNPACK, SIMD) with the project's kernels of `wasm_kernels/` registered over or
 * beside its own. The binaries are read from the npm package, so nothing is fetched.
 *
 * @module
 */
import { getThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { registerWasmKernels } from "../wasm_kernels/register.ts";
import type { BackendProvider } from "./provider.ts";

let wasmPathsSet = false;

/** Point tfjs-wasm at the .wasm binaries inside its npm package. */
function useLocalWasmBinaries(): void {
  if (wasmPathsSet) return;
  const main = createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm");
  // tfjs treats Deno as Node and reads the prefix with fs, so a plain directory path works.
  setWasmPaths(`${dirname(main)}/`);
  wasmPathsSet = true;
}

/** The `wasm` backend. */
export const wasmProvider: BackendProvider = {
  name: "wasm",
  tfjsName: "wasm",
  auto: true,
  probe: () =>
    Promise.resolve(
      typeof WebAssembly === "object"
        ? { available: true, reason: "XNNPACK SIMD kernels, loaded from the npm package" }
        : { available: false, reason: "WebAssembly is missing" },
    ),
  register: () => {
    useLocalWasmBinaries();
    registerWasmKernels();
    return Promise.resolve();
  },
  threads: () => getThreadsCount(),
};
