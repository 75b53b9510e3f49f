import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { Runnable } from "@langchain/core/runnables";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { createAnswerChain, type AnswerInput, type AnswerOutput } from "../../chains/answer-chain.js";
import { createRerankingRetriever, type RerankingRetriever } from "../../chains/reranking-retriever.js";
import type { RagConfig } from "../config/index.js";
import { createLlm, resolveLlm } from "../llms/registry.js";
import type { CorpusStats } from "../text/corpus-stats.js";
import { CrossEncoderReranker } from "../rerankers/cross-encoder-reranker.js";
import { createReranker, resolveReranker } from "../rerankers/registry.js";
import { HybridRetriever } from "../retrievers/hybrid-retriever.js";
import { UsageError } from "../errors/index.js";
import { openIndex, type OpenIndex } from "../store/open-index.js";
import type { PgvectorIndex } from "../store/pgvector.js";

export interface Pipeline {
  /** Where the index lives (RAG_STORE). */
  store: "hnsw" | "pgvector";
  /** The local HNSW index (RAG_STORE=hnsw); with pgvector, reading it throws: use `pgvector`. */
  index: OpenIndex;
  /** The Postgres index (RAG_STORE=pgvector). */
  pgvector?: PgvectorIndex;
  retriever: RerankingRetriever;
  llm: BaseChatModel;
  chain: Runnable<AnswerInput, AnswerOutput>;
  /** The resolved pipeline in one line, e.g. `embeddings=offline-lsa (256-d) → HNSW top 50 → rerank=bm25 → top 5 → llm=extractive`. */
  description: string;
  /** Notes about fallbacks `auto` made (one line each). */
  notes: string[];
  /** Releases what the pipeline holds open (the Postgres pool with RAG_STORE=pgvector). */
  close(): Promise<void>;
}

/** Opens the configured index and assembles retriever, re-ranker, LLM and answer chain. */
export async function createPipeline(config: RagConfig): Promise<Pipeline> {
  if (config.RAG_STORE === "pgvector") {
    const { openPgvectorIndex } = await import("../store/pgvector.js");
    const pgvector = await openPgvectorIndex(config);
    try {
      // Postgres does the first stage (pgvector similarity search); hybrid BM25 needs the local index.
      const parts = await assemble(config, pgvector.stats, pgvector.vectorStore, "pgvector", pgvector.meta.embedder);
      const pipeline = { ...parts, store: "pgvector" as const, pgvector, close: pgvector.close };
      return Object.defineProperty(pipeline, "index", {
        enumerable: false,
        get: () => {
          throw new UsageError("pipeline.index is the local HNSW index; this pipeline uses RAG_STORE=pgvector: read pipeline.pgvector.");
        },
      }) as Pipeline;
    } catch (error) {
      await pgvector.close();
      throw error;
    }
  }
  const index = await openIndex(config);
  const hybrid = config.RAG_FIRST_STAGE === "hybrid";
  const firstStage = hybrid ? new HybridRetriever({ store: index.vectorStore, k: config.RAG_FETCH_K, bm25: index.keywords ?? undefined }) : index.vectorStore;
  const parts = await assemble(config, index.stats, firstStage, hybrid ? "HNSW+BM25" : "HNSW", index.manifest.embedder);
  return { ...parts, store: "hnsw", index, close: async () => undefined };
}

/** Re-ranker, retriever, LLM and chain over a first stage. */
async function assemble(
  config: RagConfig,
  stats: CorpusStats | null,
  firstStage: HybridRetriever | VectorStoreInterface,
  firstStageName: string,
  embedder: { id: string; dimensions: number },
): Promise<Pick<Pipeline, "retriever" | "llm" | "chain" | "description" | "notes">> {
  const reranker = resolveReranker(config);
  const compressor = await createReranker(reranker.name, { config, stats });
  // Load a local model now, so a missing one fails before the answer starts streaming.
  if (compressor instanceof CrossEncoderReranker) await compressor.load();
  const retriever = createRerankingRetriever({
    ...(firstStage instanceof HybridRetriever ? { retriever: firstStage } : { vectorStore: firstStage }),
    reranker: compressor ?? "none",
    fetchK: config.RAG_FETCH_K,
    topN: config.RAG_TOP_N,
  });
  const llm = await createLlm(config);
  const { name: llmName, model: llmModel } = resolveLlm(config);
  const description = [
    `embeddings=${embedder.id} (${embedder.dimensions}-d)`,
    `${firstStageName} top ${config.RAG_FETCH_K}`,
    `rerank=${reranker.name}`,
    `top ${config.RAG_TOP_N}`,
    `llm=${llmName}${llmModel ? `:${llmModel}` : ""}`,
  ].join(" → ");
  return { retriever, llm, chain: createAnswerChain({ retriever, llm }), description, notes: reranker.note ? [reranker.note] : [] };
}
