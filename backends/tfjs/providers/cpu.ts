/**
 * tfjs-cpu: plain JavaScript kernels. Always available; the reference every other backend is
 * tested against, and too slow to train on.
 *
 * @module
 */
import "@tensorflow/tfjs-backend-cpu";
import type { BackendProvider } from "./provider.ts";

/** The `cpu` backend. */
export const cpuProvider: BackendProvider = {
  name: "cpu",
  tfjsName: "cpu",
  auto: false,
  probe: () =>
    Promise.resolve({ available: true, reason: "plain JavaScript kernels (slow for training)" }),
  register: () => Promise.resolve(),
  // the kernels run on the JS thread
  threads: () => 1,
};
