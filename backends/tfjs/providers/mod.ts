/**
 * Every backend, in the order `--backend auto` tries them: a real GPU first, then the native
 * CPU engine, then tfjs-wasm (always there); tfjs-cpu only when named.
 *
 * @module
 */
import type { BackendProvider, ConcreteBackend } from "./provider.ts";
import { webgpuProvider } from "./webgpu.ts";
import { nativeProvider } from "./native.ts";
import { wasmProvider } from "./wasm.ts";
import { cpuProvider } from "./cpu.ts";

export type { BackendProvider, ConcreteBackend, ProviderProbe } from "./provider.ts";
export { oneLine, selectTfjs } from "./provider.ts";

/** The providers, in `auto`'s order of preference. */
export const PROVIDERS: readonly BackendProvider[] = [
  webgpuProvider,
  nativeProvider,
  wasmProvider,
  cpuProvider,
];

/** The provider of a backend name. */
export function providerOf(name: ConcreteBackend): BackendProvider {
  const p = PROVIDERS.find((q) => q.name === name);
  if (p === undefined) throw new Error(`no provider for backend ${name}`);
  return p;
}
