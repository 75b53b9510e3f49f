/**
 * The layers of rerank-rag, bottom first. A folder imports only folders on the lines
 * above its own; folders on one line don't import each other. Every import so points
 * down, which rules out cycles between folders as well as between modules.
 *
 *   util                                   small pure helpers (seeded random)
 *   errors                                 RagError and its kinds
 *   config                                 one zod schema for flags + environment
 *   text  models  providers                analyzer, contextual text, corpus stats, BM25;
 *                                          transformers.js setup; provider API clients
 *   embeddings  rerankers  llms            LangChain building blocks: embedders, compressors, chat models
 *   store                                  the index: snapshots, HNSW, BM25 postings, pgvector; opening it
 *   retrievers                             reading an index (the hybrid first stage)
 *   ingest  chains                         writing an index; what users compose (`rerank-rag/chains`)
 *   pipeline  eval                         assemble an index and the chains; measure them
 *   server                                 the pipeline over HTTP (`rerank-rag serve`, createServer)
 *   cli                                    the `rerank-rag` command
 *   src/index.ts  src/pgvector.ts          the package entries (`rerank-rag`, `rerank-rag/pgvector`, `rerank-rag/cohere`, `rerank-rag/llama-cpp`
 *   src/cohere.ts  src/llama-cpp.ts        from src/cohere.ts and src/llama-cpp.ts), imported by nothing inside
 *
 * chains/ sits outside src/ only because users import it as `rerank-rag/chains`; for
 * layering it is one more folder, above the building blocks it composes and below
 * pipeline and eval, which assemble it; beside ingest, as composing a chain never
 * writes an index. Nothing in chains/ reaches ingest, pipeline, eval or cli.
 */
const LAYERS = [
  ["util"],
  ["errors"],
  ["config"],
  ["text", "models", "providers"],
  ["embeddings", "rerankers", "llms"],
  ["store"],
  ["retrievers"],
  ["ingest", "chains"],
  ["pipeline", "eval"],
  ["server"],
  ["cli"],
  ["entries"],
];

const where = (folder) => (folder === "chains" ? "^chains/" : folder === "entries" ? "^src/(index|pgvector|cohere|llama-cpp)\\.ts$" : `^src/${folder}/`);
const anyOf = (folders) => folders.map(where).join("|");
const all = LAYERS.flat();

const layerRules = LAYERS.flatMap((line, level) =>
  line.map((folder) => {
    const below = LAYERS.slice(0, level).flat();
    const forbidden = all.filter((other) => other !== folder && !below.includes(other));
    return {
      name: `layer-${folder}`,
      severity: "error",
      comment: `${folder} may import only ${below.join(", ") || "its own modules"} (.dependency-cruiser.cjs lists the layers).`,
      from: { path: where(folder) },
      to: { path: anyOf(forbidden) },
    };
  }),
).filter((rule) => rule.to.path);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules that import each other, directly or through others, cannot be understood or loaded one at a time.",
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: "not-in-a-layer",
      severity: "error",
      comment: "Every folder of src/ has a place in the layers: add a new one to LAYERS in .dependency-cruiser.cjs.",
      from: { path: "^(src|chains)/", pathNot: anyOf(all) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports couple folders too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
