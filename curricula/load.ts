/**
 * Load a curriculum by preset name or from a JSON file.
 *
 * @module
 */
import { FileError } from "@efficienttrain/core";
import { type Curriculum, parseCurriculumJson } from "./types.ts";
import { getPreset, presets } from "./presets.ts";

/**
 * A preset by name, or a curriculum JSON file by path. An unknown name that is not a file is
 * an `InvalidArgumentError` listing the presets; an unreadable file a `FileError`; an invalid
 * one a `CurriculumDecodeError` naming each bad field and value.
 *
 * @example
 * ```ts
 * import { loadCurriculum } from "@efficienttrain/curricula";
 * const c = await loadCurriculum("efficienttrain");
 * console.assert(c.segments.length === 5);
 * ```
 */
export async function loadCurriculum(ref: string): Promise<Curriculum> {
  if (Object.hasOwn(presets, ref)) return getPreset(ref);
  let text: string;
  try {
    text = await Deno.readTextFile(ref);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound && !ref.endsWith(".json")) return getPreset(ref);
    throw new FileError({ path: ref, reason: (e as Error).message });
  }
  return parseCurriculumJson(text, { source: ref });
}
