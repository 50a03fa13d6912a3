/**
 * Terminal progress: a one-line bar redrawn in place on a TTY, plain periodic lines when
 * stdout is a pipe or a file (CI logs stay readable).
 *
 * @module
 */
import { formatMagnitude } from "@efficienttrain/curricula";

/** What the progress line shows. */
export interface ProgressState {
  readonly epoch: number;
  readonly epochs: number;
  readonly stage: number;
  readonly stages: number;
  readonly imageSize: number;
  readonly magnitude: number;
  readonly loss: number;
  readonly imagesPerSecond: number;
  /** Fraction of the whole run done, in [0, 1]. */
  readonly fraction: number;
  /** Estimated seconds remaining. */
  readonly etaSeconds: number;
}

/** Options of {@link ProgressDisplay}. */
export interface ProgressOptions {
  /** Force TTY mode on or off (defaults to `Deno.stdout.isTerminal()`). */
  readonly tty?: boolean;
  /** Seconds between plain lines when not a TTY. */
  readonly plainIntervalSeconds?: number;
  /** Where text goes (defaults to stdout). */
  readonly write?: (text: string) => void;
}

/**
 * Progress display.
 *
 * @example
 * ```ts
 * import { ProgressDisplay } from "@efficienttrain/train";
 * const lines: string[] = [];
 * const p = new ProgressDisplay({ tty: false, plainIntervalSeconds: 0, write: (t) => lines.push(t) });
 * p.update({ epoch: 1, epochs: 2, stage: 1, stages: 5, imageSize: 20, magnitude: 1, loss: 0.5,
 *   imagesPerSecond: 100, fraction: 0.5, etaSeconds: 30 });
 * console.assert(lines[0].includes("B=20"));
 * ```
 */
export class ProgressDisplay {
  readonly #tty: boolean;
  readonly #interval: number;
  readonly #write: (text: string) => void;
  #lastPlain = -Infinity;
  #drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.#tty = options.tty ?? Deno.stdout.isTerminal();
    this.#interval = options.plainIntervalSeconds ?? 10;
    const encoder = new TextEncoder();
    this.#write = options.write ?? ((t) => Deno.stdout.writeSync(encoder.encode(t)));
  }

  /** Redraw (TTY) or print a line if the interval has passed (plain). */
  update(state: ProgressState): void {
    const text = describe(state);
    if (this.#tty) {
      const width = 24, filled = Math.round(state.fraction * width);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      this.#write(`\r\x1b[2K${bar} ${text}`);
      this.#drawn = true;
      return;
    }
    const now = performance.now() / 1000;
    if (now - this.#lastPlain >= this.#interval) {
      this.#lastPlain = now;
      this.#write(`${text}\n`);
    }
  }

  /** Print a message on its own line without garbling the bar. */
  log(message: string): void {
    if (this.#tty && this.#drawn) this.#write("\r\x1b[2K");
    this.#drawn = false;
    this.#write(`${message}\n`);
  }

  /** End the bar line. */
  done(): void {
    if (this.#tty && this.#drawn) this.#write("\n");
    this.#drawn = false;
  }
}

/**
 * Format seconds as `1h02m`, `3m05s` or `42s`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "@efficienttrain/train";
 * console.assert(formatDuration(125) === "2m05s");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

function describe(s: ProgressState): string {
  return `epoch ${s.epoch}/${s.epochs} stage ${s.stage}/${s.stages} B=${s.imageSize} m=${
    formatMagnitude(s.magnitude)
  } ` +
    `loss ${s.loss.toFixed(4)} ${s.imagesPerSecond.toFixed(0)} img/s ` +
    `${(s.fraction * 100).toFixed(1)}% ETA ${formatDuration(s.etaSeconds)}`;
}
