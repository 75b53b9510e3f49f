// The public API of rerank-rag.
export * from "../chains/index.js";
export { createPipeline, type Pipeline, type HnswPipeline, type PgvectorPipeline } from "./pipeline/create-pipeline.js";
export { loadConfig, configSchema, type RagConfig, type ConfigOverrides } from "./config/index.js";
export { ingest, type IngestOptions, type IngestReport, type IngestEvent } from "./ingest/ingest.js";
export { openIndex, type OpenIndex } from "./store/open-index.js";
export { HnswStore, DEFAULT_HNSW, type HnswParams } from "./store/hnsw-store.js";
export type { Manifest } from "./store/manifest.js";
// Postgres + pgvector is its own entry point, `rerank-rag/pgvector`: importing this one never loads `pg`.
export { LsaEmbeddings } from "./embeddings/lsa/lsa-embeddings.js";
export { resolveEmbedder, createPretrainedEmbeddings, EMBEDDERS, type EmbedderSpec } from "./embeddings/registry.js";
export { Bm25Reranker, type Bm25RerankerOptions } from "./rerankers/bm25-reranker.js";
export { CorpusStats } from "./text/corpus-stats.js";
export { createReranker, resolveReranker, RERANKERS } from "./rerankers/registry.js";
export { ExtractiveChatModel } from "./llms/extractive-chat-model.js";
export { createLlm, resolveLlm, LLMS } from "./llms/registry.js";
export { ANSWER_PROMPT, QUESTION_FIRST_PROMPT, SOURCES_SLOT, SYSTEM_PROMPT } from "./llms/prompt.js";
export { RagError, UsageError, IndexError, NothingToIngestError, IngestAbortedError, ProviderError, type ProviderFailure } from "./errors/index.js";
export { createServer, type ServerOptions, type RagServer } from "./server/create-server.js";
export type { RequestLimits } from "./server/server-context.js";
