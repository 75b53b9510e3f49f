import type { CallbackManagerForRetrieverRun } from "@langchain/core/callbacks/manager";
import type { Document, DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import { BaseRetriever, type BaseRetrieverInput } from "@langchain/core/retrievers";
import type { ChunkFilter } from "../store/chunk-filter.js";
import { chunkFilterCondition, type PgvectorSearch, type SqlCondition } from "../store/pgvector.js";
import { fuseRanked } from "./hybrid-retriever.js";

export interface PgvectorHybridRetrieverInput extends BaseRetrieverInput {
  search: PgvectorSearch;
  embeddings: EmbeddingsInterface;
  k?: number;
  /** Extra SQL conditions both searches apply before their limit (e.g. a metadata filter). */
  where?: SqlCondition;
}

/**
 * The hybrid first stage inside Postgres: pgvector's HNSW search and BM25 over the postings
 * tables, both in one statement, fused by reciprocal rank exactly as the local hybrid
 * retriever fuses HNSW and its keyword index.
 */
export class PgvectorHybridRetriever extends BaseRetriever {
  override lc_namespace = ["rerank_rag", "retrievers"];
  static override lc_name() {
    return "PgvectorHybridRetriever";
  }
  readonly k: number;
  private readonly input: PgvectorHybridRetrieverInput;

  constructor(input: PgvectorHybridRetrieverInput) {
    const { search: _search, embeddings: _embeddings, k = 50, where: _where, ...fields } = input;
    super(fields);
    this.input = input;
    this.k = k;
  }

  /** A copy returning k (the re-ranking retriever's fetchK), sharing the connection pool and callbacks. */
  withK(k: number): PgvectorHybridRetriever {
    const { callbacks, tags, metadata, verbose } = this;
    return new PgvectorHybridRetriever({ ...this.input, k, callbacks, tags, metadata, verbose });
  }

  /** A copy whose two searches keep only the chunks passing the filter, in SQL before their limit (null: all). */
  withFilter(filter: ChunkFilter | null): PgvectorHybridRetriever {
    const { callbacks, tags, metadata, verbose } = this;
    return new PgvectorHybridRetriever({ ...this.input, where: filter ? chunkFilterCondition(filter) : undefined, callbacks, tags, metadata, verbose });
  }

  /** Top k by fused rank, with the fused score as `retrievalScore` and `retrievalRank`; `vector` skips embedding the query. */
  async search(query: string, k: number, vector?: number[]): Promise<Document[]> {
    const { search, embeddings, where } = this.input;
    const ranked = await search.search(query, async () => vector ?? embeddings.embedQuery(query), k, where);
    return fuseRanked(ranked.vector, ranked.keyword, k);
  }

  override async _getRelevantDocuments(query: string, _runManager?: CallbackManagerForRetrieverRun): Promise<DocumentInterface[]> {
    return this.search(query, this.k);
  }
}
