export * from "./names.js";
export * from "./schema.js";
