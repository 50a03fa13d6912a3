/** Placeholder until this package lands. @module */
export {};
