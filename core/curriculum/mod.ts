/**
 * The curriculum algebra: serialisable curricula (stages and ramps of input size and
 * RandAugment magnitude over epochs or compute), their JSON Schema, combinators, resolution
 * into the concrete schedule the trainer follows, and the cost model.
 *
 * @module
 */
export * from "./types.ts";
export * from "./sizes.ts";
export * from "./resolve.ts";
export * from "./algebra.ts";
export * from "./cost.ts";
export * from "./table.ts";
