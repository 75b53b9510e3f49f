import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { BaseRetriever, type BaseRetrieverInterface } from "@langchain/core/retrievers";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { createAnswerChain, type AnswerChain } from "../../chains/answer-chain.js";
import { createRerankingRetriever, type RerankingRetriever } from "../../chains/reranking-retriever.js";
import type { RagConfig } from "../config/index.js";
import { importOptional, PGVECTOR_PACKAGES, secretsOf } from "../errors/index.js";
import type { LlamaCppChatModel } from "../llms/llama-cpp-chat-model.js";
import { ANSWER_PROMPT, QUESTION_FIRST_PROMPT } from "../llms/prompt.js";
import { createLlm, resolveLlm } from "../llms/registry.js";
import { openAiWarmUp } from "../providers/openai-client.js";
import type { CorpusStats } from "../text/corpus-stats.js";
import { CrossEncoderReranker } from "../rerankers/cross-encoder-reranker.js";
import { RerankCascade } from "../rerankers/cascade.js";
import { createRerankerFromSpec } from "../rerankers/registry.js";
import { whereRuns } from "../providers/endpoint.js";
import { HybridRetriever } from "../retrievers/hybrid-retriever.js";
import { openIndex, type OpenIndex } from "../store/open-index.js";
import { disposeOf } from "../util/dispose.js";

/** What every pipeline has, whatever store holds its index. */
interface PipelineParts {
  retriever: RerankingRetriever;
  llm: BaseChatModel;
  chain: AnswerChain;
  /** An answer chain like `chain` (same LLM, prompt, warm-up, secrets and cut-off) over another retriever. */
  chainFor(retriever: RerankingRetriever): AnswerChain;
  /**
   * The resolved pipeline in one line, with where each stage runs (local, or the host that receives
   * the text), e.g. `embeddings=offline-lsa (256-d, local) → HNSW top 50 (local) → rerank=bm25 (local) → top 5 → llm=openai:gpt-4o-mini (api.openai.com)`.
   */
  description: string;
  /**
   * The pipeline line for one call's settings (a request that turns re-ranking off, picks another
   * re-ranker, or sets fetchK/topN); unset ones are the pipeline's own. `describe({})` is `description`.
   */
  describe(run: RunDescription): string;
  /** Notes about fallbacks `auto` made (one line each). */
  notes: string[];
  /**
   * Releases what the pipeline holds: a local embedder's model session, its reference to a
   * shared cross-encoder (the last pipeline out stops the workers), its reference to a local
   * GGUF model (the last one out frees it), and the Postgres pool with RAG_STORE=pgvector.
   */
  close(): Promise<void>;
}

/** What one call changes in the pipeline line: `reranker` names a single re-ranker; `rerank: false` shows none. */
export interface RunDescription {
  reranker?: string;
  rerank?: boolean | "auto";
  fetchK?: number;
  topN?: number;
}

/** A pipeline over the local HNSW index directory (RAG_STORE=hnsw). */
export interface HnswPipeline extends PipelineParts {
  store: "hnsw";
  index: OpenIndex;
}

/** A pipeline over Postgres + pgvector (RAG_STORE=pgvector). */
export interface PgvectorPipeline extends PipelineParts {
  store: "pgvector";
  /**
   * The open index, a `PgvectorIndex` of `rerank-rag/pgvector`: typed here with the parts that need
   * no optional package (that entry's types need pg).
   */
  pgvector: Pick<OpenIndex, "stats"> & {
    location: string;
    table: string;
    meta: { embedder: OpenIndex["manifest"]["embedder"] };
    vectorStore: VectorStoreInterface;
    close(): Promise<void>;
  };
}

/** Narrow on `store` to reach the index: `if (pipeline.store === "hnsw") pipeline.index…`. */
export type Pipeline = HnswPipeline | PgvectorPipeline;

/** Opens the configured index and assembles retriever, re-ranker, LLM and answer chain. */
export async function createPipeline(config: RagConfig): Promise<Pipeline> {
  if (config.RAG_STORE === "pgvector") {
    const { openPgvectorIndex } = await importOptional(PGVECTOR_PACKAGES, "RAG_STORE=pgvector", () => import("../store/pgvector.js"));
    const pgvector = await openPgvectorIndex(config);
    try {
      // Postgres does the first stage: pgvector's HNSW search, with BM25 over its postings tables when hybrid.
      const hybrid = config.RAG_FIRST_STAGE === "hybrid";
      const { PgvectorHybridRetriever } = await import("../retrievers/pgvector-hybrid-retriever.js");
      const firstStage = hybrid
        ? new PgvectorHybridRetriever({ search: pgvector.search, embeddings: pgvector.embeddings, k: config.RAG_FETCH_K })
        : pgvector.vectorStore;
      const firstStageName = (fetchK: number) =>
        `${hybrid ? "pgvector+BM25" : "pgvector"} top ${fetchK} (${config.RAG_PG_URL ? new URL(config.RAG_PG_URL).host : "postgres"})`;
      const { dispose, ...parts } = await assemble(config, pgvector.stats, firstStage, firstStageName, pgvector.meta.embedder);
      const close = () => releaseAll([dispose, () => disposeOf(pgvector.vectorStore.embeddings), () => pgvector.close()]);
      return { ...parts, store: "pgvector", pgvector, close };
    } catch (error) {
      await pgvector.close();
      throw error;
    }
  }
  const index = await openIndex(config);
  const hybrid = config.RAG_FIRST_STAGE === "hybrid";
  const firstStage = hybrid ? new HybridRetriever({ store: index.vectorStore, k: config.RAG_FETCH_K, bm25: index.keywords ?? undefined }) : index.vectorStore;
  const firstStageName = (fetchK: number) => `${hybrid ? "HNSW+BM25" : "HNSW"} top ${fetchK} (local)`;
  const { dispose, ...parts } = await assemble(config, index.stats, firstStage, firstStageName, index.manifest.embedder);
  return { ...parts, store: "hnsw", index, close: () => releaseAll([dispose, () => disposeOf(index.embeddings)]) };
}

/** Runs every release step, even after one fails, then reports the first failure. */
async function releaseAll(steps: Array<() => Promise<void>>): Promise<void> {
  const results = await Promise.allSettled(steps.map((step) => step()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/** Re-ranker, retriever, LLM and chain over a first stage. */
async function assemble(
  config: RagConfig,
  stats: CorpusStats | null,
  firstStage: BaseRetrieverInterface | VectorStoreInterface,
  /** The first stage in the pipeline line: what, how many, where. */
  firstStageName: (fetchK: number) => string,
  embedder: { id: string; provider: string; dimensions: number },
): Promise<Omit<PipelineParts, "close"> & { dispose: () => Promise<void> }> {
  const reranker = await createRerankerFromSpec(config.RAG_RERANK === "off" ? "none" : config.RAG_RERANKER, { config, stats });
  const { compressor } = reranker;
  // Load a local model now, so a missing one fails before the answer starts streaming.
  if (compressor instanceof CrossEncoderReranker || compressor instanceof RerankCascade) await compressor.load();
  const retriever = createRerankingRetriever({
    ...(firstStage instanceof BaseRetriever ? { retriever: firstStage } : { vectorStore: firstStage as VectorStoreInterface }),
    reranker: compressor ?? "none",
    rerank: config.RAG_RERANK === "auto" ? "auto" : true,
    fetchK: config.RAG_FETCH_K,
    topN: config.RAG_TOP_N,
    stats,
  });
  const llm = await createLlm(config, undefined, { stats });
  const { name: llmName, model: llmModel } = resolveLlm(config);
  const describe = (run: RunDescription) => {
    // A named re-ranker is a single provider; off is "none", as `--no-rerank` builds it.
    const name = run.rerank === false ? "none" : (run.reranker ?? reranker.name);
    const stages = name === reranker.name ? reranker.stages : [name];
    const auto = (run.rerank ?? (config.RAG_RERANK === "auto" ? "auto" : true)) === "auto" && name !== "none";
    return [
      `embeddings=${embedder.id} (${embedder.dimensions}-d, ${whereRuns(config, embedder.provider)})`,
      firstStageName(run.fetchK ?? config.RAG_FETCH_K),
      `rerank=${name} (${[...new Set(stages.map((stage) => whereRuns(config, stage)))].join(", ")}${auto ? "; auto: skipped when the first stage is sure" : ""})`,
      `top ${run.topN ?? config.RAG_TOP_N}`,
      `llm=${llmName}${llmModel ? `:${llmModel}` : ""} (${whereRuns(config, llmName)})`,
    ].join(" → ");
  };
  const dispose = () => releaseAll([() => disposeOf(compressor), () => disposeOf(llm)]);
  // The answer never shows a configured secret, whether set by flag or in the environment.
  // While re-ranking runs, a remote model's connection is opened, and a local model evaluates its prompt
  // up to the sources (which it gets last), so generation doesn't pay for either after.
  const prompt = llmName === "llama-cpp" ? QUESTION_FIRST_PROMPT : ANSWER_PROMPT;
  const warmUp = !config.RAG_LLM_WARM_UP
    ? undefined
    : llmName === "openai"
      ? openAiWarmUp(config)
      : llmName === "llama-cpp"
        ? (llm as LlamaCppChatModel).prefixWarmUp(prompt)
        : undefined;
  const chainFor = (over: RerankingRetriever) =>
    createAnswerChain({ retriever: over, llm, prompt, secrets: secretsOf(config, process.env), warmUp, minScore: config.RAG_MIN_SCORE });
  return { retriever, llm, chain: chainFor(retriever), chainFor, description: describe({}), describe, notes: reranker.notes, dispose };
}
