/**
 * A small, fast, seedable random number generator whose whole state is one serialisable
 * array, so checkpoints can store it and a resumed run continues the identical stream.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic PRNG): 128 bits of
 * state, passes PractRand, and is cheap in JavaScript because it only uses 32-bit ops.
 *
 * @module
 */

/** Serialisable generator state. */
export type RngState = readonly [number, number, number, number];

/**
 * Seeded random source. `fork` derives an independent stream (for workers, layers, …)
 * without disturbing the parent's sequence more than one draw.
 *
 * @example
 * ```ts
 * import { Rng } from "@efficienttrain/core";
 * const a = new Rng(42), b = new Rng(42);
 * console.assert(a.next() === b.next());
 * const saved = a.state();
 * const x = a.next();
 * console.assert(Rng.fromState(saved).next() === x);
 * ```
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spareNormal: number | undefined = undefined;

  /** Seed from any 32-bit integer (or a string, hashed). */
  constructor(seed: number | string = 0) {
    const s = typeof seed === "string" ? hashString(seed) : seed >>> 0;
    // splitmix32 expands one seed word into four decorrelated state words
    let x = s;
    const mix = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = mix();
    this.#b = mix();
    this.#c = mix();
    this.#d = mix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Rebuild a generator from {@link Rng.state}. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    [r.#a, r.#b, r.#c, r.#d] = state.map((v) => v >>> 0) as unknown as [
      number,
      number,
      number,
      number,
    ];
    return r;
  }

  /** The full state, for checkpoints. */
  state(): RngState {
    return [this.#a, this.#b, this.#c, this.#d];
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Uniform integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(mean = 0, std = 1): number {
    if (this.#spareNormal !== undefined) {
      const v = this.#spareNormal;
      this.#spareNormal = undefined;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** Beta(α, α)-style draws need Gamma; Marsaglia–Tsang for shape ≥ 1, boosted below. */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.next() || 1e-300, 1 / shape);
    const d = shape - 1 / 3, c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a), y = this.gamma(b);
    return x / (x + y);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** An independent child stream, derived deterministically from this one. */
  fork(): Rng {
    return Rng.fromState([this.nextUint32(), this.nextUint32(), this.nextUint32(), 1]);
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
