/**
 * Helpers for the tests that run `cli/train.ts` as a user would: the command, and its JSON
 * summary (asserting a zero exit status).
 *
 * @module
 */
import assert from "node:assert/strict";

/** The repository root. */
export const root: string = new URL("..", import.meta.url).pathname;

/** Bytes as UTF-8 text. */
export const decode = (b: Uint8Array): string => new TextDecoder().decode(b);

/** `deno run -A cli/train.ts <flags> <args>`, run from the repository root. */
export function trainCommand(flags: readonly string[], args: readonly string[]): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${root}cli/train.ts`, ...flags, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  });
}

/** The `--json` summary a finished run printed (fails the test on a non-zero exit). */
export function summaryOf(output: Deno.CommandOutput): Record<string, unknown> {
  const text = decode(output.stdout);
  assert.equal(output.code, 0, decode(output.stderr).slice(-2000));
  return JSON.parse(text.slice(text.indexOf("{")));
}
