/**
 * tfjs-webgpu on Deno's `navigator.gpu`. A software (fallback) adapter such as Mesa llvmpipe
 * is reported as such, and `auto` passes over it unless allowed.
 *
 * @module
 */
import "@tensorflow/tfjs-backend-webgpu";
import { registerWebgpuTrainingKernels } from "@efficienttrain/backend-webgpu";
import { tmpdir } from "node:os";
import type { BackendProvider, ProviderProbe } from "./provider.ts";

let runtimeDirSet = false;

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every adapter
 * request when the variable is missing (containers, CI). Point it at a private per-user
 * directory (created once, reused by every run) so `--backend auto` prints nothing.
 */
function ensureRuntimeDir(): void {
  if (runtimeDirSet) return;
  runtimeDirSet = true;
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return;
    let user = "user";
    try {
      user = String(Deno.uid() ?? user);
    } catch { /* no sys permission: one shared name is still private enough */ }
    const dir = `${tmpdir()}/efficienttrain-xdg-${user}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch {
    // Without env/write permission the only cost is Mesa's warning.
  }
}

async function probeWebgpu(): Promise<ProviderProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (gpu === undefined) return { available: false, reason: "navigator.gpu is missing" };
  ensureRuntimeDir();
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e) {
    return { available: false, reason: `requestAdapter failed: ${String(e)}` };
  }
  if (adapter === null) return { available: false, reason: "no WebGPU adapter found" };
  // Newer WebGPU exposes the flag on `info`, older drafts on the adapter itself.
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = info?.isFallbackAdapter ??
    (adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const desc = info?.description || info?.vendor || "unknown adapter";
  return {
    available: true,
    fallback,
    reason: fallback ? `only a fallback (software) adapter: ${desc}` : `adapter: ${desc}`,
  };
}

/** The `webgpu` backend. */
export const webgpuProvider: BackendProvider = {
  name: "webgpu",
  tfjsName: "webgpu",
  auto: true,
  probe: probeWebgpu,
  register: () => {
    registerWebgpuTrainingKernels();
    return Promise.resolve();
  },
  // the host side is one thread; the kernels run on the GPU
  threads: () => 1,
};
