/**
 * `--resume DIR` continues the run DIR records, not the one today's flags describe: the
 * settings come from DIR/config.json, and a flag given on the command line must agree with
 * the recorded value, except the few that cannot change a run's result (`--epochs` may only
 * extend it, and is recorded in config.json's `resumes` history). Validated before anything
 * in DIR is written.
 *
 * @module
 */
import { FileError, InvalidArgumentError } from "@efficienttrain/core";
import { decodeTrainSettings, type TrainSettings } from "./settings.ts";
import { TRAIN_FLAGS } from "./flags.ts";

/** Settings a resume may change: how often to log and checkpoint, and extending `--epochs`. */
export const RESUME_OVERRIDABLE: readonly (keyof TrainSettings)[] = [
  "epochs",
  "logEverySteps",
  "checkpointMinutes",
  "checkpointSteps",
];

/** What a resume continues with. */
export interface ResumePlan {
  readonly settings: TrainSettings;
  /** Recorded → new value of each overridden setting. */
  readonly overrides: Readonly<Record<string, readonly [unknown, unknown]>>;
}

function flagOf(key: keyof TrainSettings): string {
  return `--${TRAIN_FLAGS.find((f) => f.key === key)?.flag ?? key}`;
}

/**
 * Read DIR's recorded settings and merge the explicitly given flags into them, refusing any
 * that would change the run.
 *
 * @example
 * ```ts ignore
 * const plan = await planResume("runs/a", { settings, explicit: ["epochs"] });
 * ```
 */
export async function planResume(
  runDir: string,
  given: { readonly settings: TrainSettings; readonly explicit: readonly (keyof TrainSettings)[] },
): Promise<ResumePlan> {
  const configPath = `${runDir}/config.json`;
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(runDir);
  } catch {
    throw new FileError({ path: runDir, reason: "--resume: no such run directory" });
  }
  if (!stat.isDirectory) {
    throw new FileError({ path: runDir, reason: "--resume: not a directory" });
  }
  let recorded: TrainSettings;
  try {
    const config = JSON.parse(await Deno.readTextFile(configPath));
    recorded = decodeTrainSettings(config.settings ?? {});
  } catch (e) {
    const reason = e instanceof Deno.errors.NotFound
      ? "--resume: the run directory has no config.json (not a run of `deno task train`)"
      : `--resume: unreadable recorded settings (${(e as Error).message.split("\n")[0]})`;
    throw new FileError({ path: e instanceof Deno.errors.NotFound ? runDir : configPath, reason });
  }
  const merged: Record<string, unknown> = { ...recorded };
  const overrides: Record<string, readonly [unknown, unknown]> = {};
  for (const key of given.explicit) {
    const was = recorded[key], now = given.settings[key];
    if (was === now) continue;
    const allowed = RESUME_OVERRIDABLE.includes(key) &&
      (key !== "epochs" || (now as number) >= (was as number));
    if (!allowed) {
      throw new InvalidArgumentError({
        argument: flagOf(key),
        value: String(now),
        reason: `the run in ${runDir} was recorded with ${flagOf(key)} ${was} ` +
          `(${configPath}); drop the flag to continue it` +
          (key === "epochs" ? " (--epochs may only extend a run)" : ""),
      });
    }
    merged[key] = now;
    overrides[key] = [was, now];
  }
  return { settings: decodeTrainSettings(merged), overrides };
}
