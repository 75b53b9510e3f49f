export * from "./names.js";
export * from "./schema.js";
export * from "./reranker-spec.js";
