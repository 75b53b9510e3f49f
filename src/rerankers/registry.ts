import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { RagConfig, RerankerProviderName } from "../config/index.js";
import { Bm25Reranker } from "./bm25-reranker.js";
import type { CorpusStats } from "./corpus-stats.js";

export type ConcreteReranker = Exclude<RerankerProviderName, "auto">;

export interface RerankerContext {
  config: RagConfig;
  /** Corpus statistics of the index, for the BM25 re-ranker. */
  stats?: CorpusStats | null;
}

export interface ResolvedReranker {
  name: ConcreteReranker;
  /** Why `auto` chose this one (shown to the user), when it fell back. */
  note?: string;
}

/** Resolves `auto`: a Cohere key first, then the offline BM25 re-ranker. */
export function resolveReranker(config: RagConfig, requested: RerankerProviderName = config.RAG_RERANKER): ResolvedReranker {
  if (requested !== "auto") return { name: requested };
  if (config.COHERE_API_KEY) return { name: "cohere" };
  return { name: "bm25" };
}

/** A re-ranker by provider name; null for "none". */
export async function createReranker(name: ConcreteReranker, { config, stats }: RerankerContext): Promise<BaseDocumentCompressor | null> {
  switch (name) {
    case "none":
      return null;
    case "bm25":
      return new Bm25Reranker({ stats });
    case "cohere":
    case "cross-encoder": {
      const { UsageError } = await import("../errors/index.js");
      throw new UsageError(`The ${name} re-ranker is not available in this version (config ${config.RAG_RERANKER}).`, {
        hint: "Use --reranker bm25 (offline) or --reranker none.",
      });
    }
  }
}
