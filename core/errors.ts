/**
 * Tagged errors shared by every package. Each names the offending flag, file or value so
 * that a user can fix the input without reading the source.
 *
 * @module
 */
import { type Cause, Data } from "effect";

/**
 * The constructor type of a tagged error class with the fields `A`. Declared explicitly so
 * that JSR's fast type check can read the superclass of every error without inference.
 */
export type TaggedErrorClass<Tag extends string, A extends Record<string, unknown>> = new (
  args: A,
) => Cause.YieldableError & { readonly _tag: Tag } & Readonly<A>;

/**
 * Make the base class of a tagged error. Use it as
 * `const FooBase: TaggedErrorClass<"Foo", F> = taggedError("Foo"); class Foo extends FooBase {}`.
 *
 * @example
 * ```ts
 * import { taggedError, type TaggedErrorClass } from "@efficienttrain/core";
 * const OopsBase: TaggedErrorClass<"Oops", { what: string }> = taggedError("Oops");
 * class Oops extends OopsBase {}
 * console.assert(new Oops({ what: "x" })._tag === "Oops");
 * ```
 */
export function taggedError<Tag extends string, A extends Record<string, unknown>>(
  tag: Tag,
): TaggedErrorClass<Tag, A> {
  return Data.TaggedError(tag) as unknown as TaggedErrorClass<Tag, A>;
}

type InvalidArgumentFields = { argument: string; value: string; reason: string };
const InvalidArgumentBase: TaggedErrorClass<"InvalidArgumentError", InvalidArgumentFields> =
  taggedError("InvalidArgumentError");

type FileFields = { path: string; reason: string };
const FileErrorBase: TaggedErrorClass<"FileError", FileFields> = taggedError("FileError");

/**
 * A value (option, flag, argument) that is out of its legal range or of the wrong kind.
 *
 * @example
 * ```ts
 * import { InvalidArgumentError } from "@efficienttrain/core";
 * const err = new InvalidArgumentError({ argument: "size", value: "-1", reason: "must be > 0" });
 * console.assert(err.message.includes("size"));
 * ```
 */
export class InvalidArgumentError extends InvalidArgumentBase {
  /** Human-readable description naming the argument and value. */
  override get message(): string {
    return `invalid ${this.argument} = ${this.value}: ${this.reason}`;
  }
}

/**
 * A file that could not be read, parsed or written.
 *
 * @example
 * ```ts
 * import { FileError } from "@efficienttrain/core";
 * const err = new FileError({ path: "x.npy", reason: "truncated header" });
 * console.assert(err.message.includes("x.npy"));
 * ```
 */
export class FileError extends FileErrorBase {
  /** Human-readable description naming the file. */
  override get message(): string {
    return `${this.path}: ${this.reason}`;
  }
}

/**
 * Render any value as a short string for error messages (arrays stay readable).
 *
 * @example
 * ```ts
 * import { showValue } from "@efficienttrain/core";
 * console.assert(showValue([1, 2]) === "[1,2]");
 * ```
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json;
  } catch {
    return String(value);
  }
}
