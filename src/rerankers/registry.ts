import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { RagConfig, RerankerProviderName } from "../config/index.js";
import { isModelPresent } from "../models/transformers-env.js";
import { Bm25Reranker } from "./bm25-reranker.js";
import type { CorpusStats } from "../text/corpus-stats.js";
import { DEFAULT_CROSS_ENCODER } from "./cross-encoder-reranker.js";

export type ConcreteReranker = Exclude<RerankerProviderName, "auto">;

export interface RerankerContext {
  config: RagConfig;
  /** Corpus statistics of the index, for the BM25 re-ranker. */
  stats?: CorpusStats | null;
}

export interface ResolvedReranker {
  name: ConcreteReranker;
  /** Why `auto` did not pick a neural re-ranker, in one line for the user. */
  note?: string;
}

const crossEncoderModel = (config: RagConfig) => config.RAG_RERANKER_MODEL ?? DEFAULT_CROSS_ENCODER;

/**
 * Resolves `auto` without touching the network: a Cohere key, else a cross-encoder
 * present on disk, else the offline BM25 re-ranker (saying why in one line).
 */
export function resolveReranker(config: RagConfig, requested: RerankerProviderName = config.RAG_RERANKER): ResolvedReranker {
  if (requested !== "auto") return { name: requested };
  if (config.COHERE_API_KEY) return { name: "cohere" };
  const model = crossEncoderModel(config);
  if (isModelPresent(config.RAG_MODELS_DIR, model)) return { name: "cross-encoder" };
  return {
    name: "bm25",
    note: `rerank=bm25 (offline): no cross-encoder ${model} in ${config.RAG_MODELS_DIR}; \`rerank-rag models pull ${model}\` or \`models import\` adds one.`,
  };
}

/** A re-ranker by provider name; null for "none". */
export async function createReranker(name: ConcreteReranker, { config, stats }: RerankerContext): Promise<BaseDocumentCompressor | null> {
  switch (name) {
    case "none":
      return null;
    case "bm25":
      return new Bm25Reranker({ stats });
    case "cross-encoder": {
      const { CrossEncoderReranker } = await import("./cross-encoder-reranker.js");
      const model = crossEncoderModel(config);
      const modelsDir = config.RAG_MODELS_DIR;
      // A local copy never needs the network; otherwise the first use downloads it.
      return new CrossEncoderReranker({
        model,
        modelsDir,
        localFilesOnly: isModelPresent(modelsDir, model),
        maxLength: config.RAG_RERANKER_MAX_LENGTH,
        batchSize: config.RAG_RERANKER_BATCH_SIZE,
        batchTokens: config.RAG_RERANKER_BATCH_TOKENS,
        workers: config.RAG_RERANKER_WORKERS || undefined,
        dtype: config.RAG_RERANKER_DTYPE,
      });
    }
    case "cohere": {
      const { createCohereReranker } = await import("./cohere-reranker.js");
      return createCohereReranker(config, { onError: config.RAG_RERANK_ON_ERROR });
    }
  }
}
