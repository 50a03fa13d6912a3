/**
 * Shared entry-point wrapper: run a command, print a one-line error for the project's
 * tagged errors (they name the flag, file or value), and exit with a status code.
 *
 * @module
 */

const KNOWN_TAGS = /Error$/;

/** Run `main(Deno.args)`; exit 0 on success, 1 with a clear message on a known error. */
export async function runCli(main: (args: string[]) => Promise<number>): Promise<never> {
  let code: number;
  try {
    code = await main(Deno.args);
  } catch (e) {
    code = 1;
    const error = unwrap(e);
    const tag = (error as { _tag?: string })?._tag;
    if (tag && KNOWN_TAGS.test(tag)) {
      console.error(`error: ${(error as Error).message}`);
    } else {
      console.error(error instanceof Error ? error.stack ?? error.message : String(error));
    }
  }
  Deno.exit(code);
}

/** Effect's runPromise wraps failures; find the tagged error inside. */
function unwrap(e: unknown): unknown {
  let current = e;
  for (let i = 0; i < 5 && current && typeof current === "object"; i++) {
    if ((current as { _tag?: string })._tag) return current;
    const next = (current as { cause?: unknown }).cause;
    if (next === undefined) break;
    current = next;
  }
  return current;
}
