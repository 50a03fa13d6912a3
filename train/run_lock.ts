/**
 * One writer per run directory: an exclusive lock file (`DIR/.lock`, the owner's PID and
 * process start time) taken before anything in DIR is written, refused while its owner lives,
 * and taken over when the owner is gone (killed with -9, machine rebooted). Plus
 * {@link exitWithParent}: `deno task train` runs the trainer as a child process, and a
 * kill -9 of the task must not leave that child writing on.
 *
 * @module
 */
import { FileError } from "@efficienttrain/core";

const LOCK = ".lock";

interface LockRecord {
  readonly pid: number;
  /** Kernel start time of the process (ticks since boot), so a reused PID is not mistaken. */
  readonly started: string | null;
  readonly since: string;
}

function procStat(pid: number): string[] | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name, which sits in parentheses and may contain spaces.
    return text.slice(text.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** Start time of `pid` (field 22 of /proc/PID/stat), or null where /proc is not available. */
function startTime(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

function alive(lock: LockRecord): boolean {
  if (Deno.build.os !== "linux") return true; // no /proc: never take over a lock
  const started = startTime(lock.pid);
  return started !== null && (lock.started === null || started === lock.started);
}

/** A held lock; `release` removes it (idempotent). */
export interface RunLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Take DIR's lock (creating DIR), or fail with a {@link FileError} naming the live owner.
 *
 * @example
 * ```ts
 * import { lockRunDirectory } from "@efficienttrain/train";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockRunDirectory(dir);
 * await lock.release();
 * ```
 */
export async function lockRunDirectory(runDir: string): Promise<RunLock> {
  await Deno.mkdir(runDir, { recursive: true });
  const path = `${runDir}/${LOCK}`;
  const record: LockRecord = {
    pid: Deno.pid,
    started: startTime(Deno.pid),
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await Deno.writeTextFile(path, JSON.stringify(record), { createNew: true });
      let released = false;
      return {
        path,
        release: async () => {
          if (released) return;
          released = true;
          await Deno.remove(path).catch(() => {});
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    let owner: LockRecord | null = null;
    try {
      owner = JSON.parse(await Deno.readTextFile(path));
    } catch {
      // Unreadable or half-written: its writer died between create and write.
    }
    if (owner !== null && alive(owner)) {
      throw new FileError({
        path: runDir,
        reason: `run directory in use by process ${owner.pid} (since ${owner.since}); ` +
          `wait for it to finish or stop it (lock: ${path})`,
      });
    }
    // The owner is gone: take the lock over.
    await Deno.remove(path).catch(() => {});
  }
  throw new FileError({ path: runDir, reason: `could not take the lock ${path}` });
}

/**
 * Exit when the parent process dies (checked once a second, without keeping the process
 * alive). `deno task` starts the trainer as its child; without this a kill -9 of the task
 * leaves the trainer running, writing the run directory. Linux only (elsewhere a no-op).
 *
 * @example
 * ```ts
 * import { exitWithParent } from "@efficienttrain/train";
 * const stop = exitWithParent();
 * stop();
 * ```
 */
export function exitWithParent(): () => void {
  const parent = procStat(Deno.pid)?.[1];
  if (Deno.build.os !== "linux" || parent === undefined) return () => {};
  const timer = setInterval(() => {
    if (procStat(Deno.pid)?.[1] !== parent) {
      console.error(`error: parent process ${parent} is gone; stopping`);
      Deno.exit(137);
    }
  }, 1000);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
