/**
 * The one shape every backend has: a name, a probe (can it run here, and why not), an
 * activation (register with tfjs and select it) and its thread count. `initBackend`,
 * `listBackends` and `--backend auto` only walk {@link PROVIDERS}; adding a backend is one
 * provider file and one line there.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BackendName } from "@efficienttrain/core";
import { BackendError } from "../errors.ts";

/** A backend a user can name (every {@link BackendName} but `auto`). */
export type ConcreteBackend = Exclude<BackendName, "auto">;

/** Whether a backend can run here. */
export interface ProviderProbe {
  readonly available: boolean;
  /** Why not, or what it found (an adapter, a library). One line. */
  readonly reason: string;
  /** A software stand-in (WebGPU on a fallback adapter): `auto` passes over it. */
  readonly fallback?: boolean;
}

/** Options the probes and activations take. */
export interface ProviderOptions {
  /** Let `auto` take a fallback (software) adapter. */
  readonly allowFallbackAdapter?: boolean;
}

/** One backend. */
export interface BackendProvider {
  readonly name: ConcreteBackend;
  /** The name tfjs registers it under. */
  readonly tfjsName: string;
  /** Whether `auto` may choose it (cpu: never; it is the slowest). */
  readonly auto: boolean;
  probe(): Promise<ProviderProbe>;
  /** Register it with tfjs if needed; `selectTfjs` then makes it current. */
  register(): Promise<void>;
  threads(): number;
}

/**
 * Select `provider` in tfjs (after registering it), or fail with a {@link BackendError}.
 *
 * @example
 * ```ts ignore
 * await selectTfjs(cpuProvider);
 * ```
 */
export async function selectTfjs(provider: BackendProvider): Promise<void> {
  await provider.register();
  let ok: boolean;
  try {
    ok = await tf.setBackend(provider.tfjsName);
  } catch (e) {
    throw new BackendError({
      backend: provider.name,
      reason: `tfjs failed to initialise it: ${String(e)}`,
    });
  }
  if (!ok || tf.getBackend() !== provider.tfjsName) {
    throw new BackendError({ backend: provider.name, reason: "tfjs failed to initialise it" });
  }
  // tfjs-cpu (and backends built on it) print an "install tfjs-node" banner on first write.
  const active = tf.backend() as unknown as { firstUse?: boolean };
  if (active.firstUse === true) active.firstUse = false;
}

/** Reasons are shown on one line (`--help`, logs). */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
