/**
 * The one error type of the data package: every bad input (truncated file, wrong magic,
 * corrupt image, empty class folder, unreadable archive, stale cache) becomes a
 * `DatasetError` naming the file and the problem.
 *
 * @module
 */
import { taggedError, type TaggedErrorClass } from "@efficienttrain/core";

type DatasetErrorFields = { path: string; reason: string };
const DatasetErrorBase: TaggedErrorClass<"DatasetError", DatasetErrorFields> = taggedError(
  "DatasetError",
);

/**
 * A dataset file, folder, archive or cache entry that cannot be used.
 *
 * @example
 * ```ts
 * import { DatasetError } from "@efficienttrain/data";
 * const err = new DatasetError({ path: "train-images-idx3-ubyte", reason: "truncated" });
 * console.assert(err._tag === "DatasetError" && err.message.includes("truncated"));
 * ```
 */
export class DatasetError extends DatasetErrorBase {
  /** Human-readable description naming the file. */
  override get message(): string {
    return `${this.path}: ${this.reason}`;
  }
}
