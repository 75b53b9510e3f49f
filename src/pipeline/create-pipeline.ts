import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { Runnable } from "@langchain/core/runnables";
import { createAnswerChain, type AnswerInput, type AnswerOutput } from "../../chains/answer-chain.js";
import { createRerankingRetriever, type RerankingRetriever } from "../../chains/reranking-retriever.js";
import type { RagConfig } from "../config/index.js";
import { createLlm, resolveLlm } from "../llms/registry.js";
import { CrossEncoderReranker } from "../rerankers/cross-encoder-reranker.js";
import { createReranker, resolveReranker } from "../rerankers/registry.js";
import { HybridRetriever } from "../retrievers/hybrid-retriever.js";
import { openIndex, type OpenIndex } from "../store/open-index.js";

export interface Pipeline {
  index: OpenIndex;
  retriever: RerankingRetriever;
  llm: BaseChatModel;
  chain: Runnable<AnswerInput, AnswerOutput>;
  /** The resolved pipeline in one line, e.g. `embeddings=offline-lsa (256-d) → HNSW top 50 → rerank=bm25 → top 5 → llm=extractive`. */
  description: string;
  /** Notes about fallbacks `auto` made (one line each). */
  notes: string[];
}

/** Opens the configured index and assembles retriever, re-ranker, LLM and answer chain. */
export async function createPipeline(config: RagConfig): Promise<Pipeline> {
  const index = await openIndex(config);
  const reranker = resolveReranker(config);
  const compressor = await createReranker(reranker.name, { config, stats: index.stats });
  // Load a local model now, so a missing one fails before the answer starts streaming.
  if (compressor instanceof CrossEncoderReranker) await compressor.load();
  const hybrid = config.RAG_FIRST_STAGE === "hybrid";
  const retriever = createRerankingRetriever({
    ...(hybrid ? { retriever: new HybridRetriever({ store: index.vectorStore, k: config.RAG_FETCH_K }) } : { vectorStore: index.vectorStore }),
    reranker: compressor ?? "none",
    fetchK: config.RAG_FETCH_K,
    topN: config.RAG_TOP_N,
  });
  const llm = await createLlm(config);
  const { name: llmName, model: llmModel } = resolveLlm(config);
  const { embedder } = index.manifest;
  const description = [
    `embeddings=${embedder.id} (${embedder.dimensions}-d)`,
    `${hybrid ? "HNSW+BM25" : "HNSW"} top ${config.RAG_FETCH_K}`,
    `rerank=${reranker.name}`,
    `top ${config.RAG_TOP_N}`,
    `llm=${llmName}${llmModel ? `:${llmModel}` : ""}`,
  ].join(" → ");
  return {
    index,
    retriever,
    llm,
    chain: createAnswerChain({ retriever, llm }),
    description,
    notes: reranker.note ? [reranker.note] : [],
  };
}
