/**
 * The error a backend that cannot run here is reported with.
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "@efficienttrain/core";

type BackendErrorFields = { backend: string; reason: string };
const BackendErrorBase: TaggedErrorClass<"BackendError", BackendErrorFields> = taggedError(
  "BackendError",
);

/**
 * A backend that was asked for but cannot run here; `reason` says why and how to fix it.
 *
 * @example
 * ```ts
 * import { BackendError } from "@efficienttrain/backend-tfjs";
 * const err = new BackendError({ backend: "native", reason: "libopenblas.so.0 not found" });
 * console.assert(err.message.includes("native"));
 * ```
 */
export class BackendError extends BackendErrorBase {
  /** Human-readable description naming the backend. */
  override get message(): string {
    return `backend ${this.backend} unavailable: ${this.reason}`;
  }
}
