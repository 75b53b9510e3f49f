import type { CallbackManagerForRetrieverRun } from "@langchain/core/callbacks/manager";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseRetriever, type BaseRetrieverInput } from "@langchain/core/retrievers";
import { Bm25Index } from "../store/bm25-index.js";
import type { ChunkFilter } from "../store/chunk-filter.js";
import type { HnswStore } from "../store/hnsw-store.js";

/** Weighted reciprocal-rank fusion: each list adds weight / (c + rank) to an item's score. */
export function reciprocalRankFusion<T>(lists: T[][], key: (item: T) => string, { weights = lists.map(() => 1), c = 60 } = {}) {
  const fused = new Map<string, { item: T; score: number }>();
  lists.forEach((list, l) =>
    list.forEach((item, rank) => {
      const id = key(item);
      const entry = fused.get(id) ?? { item, score: 0 };
      entry.score += weights[l]! / (c + rank + 1);
      fused.set(id, entry);
    }),
  );
  return [...fused.values()].sort((a, b) => b.score - a.score);
}

/**
 * The top k of a vector and a keyword ranking fused by reciprocal rank, as new documents with the
 * fused score as `retrievalScore` and `retrievalRank`, and each list's own rank (`vectorRank`,
 * `keywordRank`: what adaptive re-ranking reads). Every hybrid first stage (local, Postgres) fuses here.
 */
export function fuseRanked(dense: readonly DocumentInterface[], sparse: readonly DocumentInterface[], k: number): Document[] {
  const key = (doc: DocumentInterface) => String(doc.metadata.chunkId ?? doc.pageContent);
  const rankIn = (list: readonly DocumentInterface[]) => new Map(list.map((doc, i) => [key(doc), i + 1]));
  const [vectorRanks, keywordRanks] = [rankIn(dense), rankIn(sparse)];
  return reciprocalRankFusion([[...dense], [...sparse]], key)
    .slice(0, k)
    .map(({ item, score }, i) => {
      const ranks = { vectorRank: vectorRanks.get(key(item)), keywordRank: keywordRanks.get(key(item)) };
      const metadata = { ...item.metadata, retrievalScore: score, retrievalRank: i + 1, ...ranks };
      return new Document({ pageContent: item.pageContent, metadata, id: item.id });
    });
}

/**
 * The hybrid first stage: HNSW over embeddings (finds the topic, even in other words) and
 * BM25 over the whole index (finds exact terms), fused by reciprocal rank. On SciFact's
 * train split it lifts recall@50 from 0.81 (offline embedder alone) to 0.90.
 */
export class HybridRetriever extends BaseRetriever {
  override lc_namespace = ["rerank_rag", "retrievers"];
  static override lc_name() {
    return "HybridRetriever";
  }
  readonly k: number;
  /** Only chunks passing it are searched, on both sides; null searches all. */
  readonly filter: ChunkFilter | null;
  private readonly store: HnswStore;
  private readonly bm25: Bm25Index;

  constructor({
    store,
    k = 50,
    bm25,
    filter = null,
    ...fields
  }: BaseRetrieverInput & { store: HnswStore; k?: number; bm25?: Bm25Index; filter?: ChunkFilter | null }) {
    super(fields);
    this.store = store;
    this.k = k;
    this.filter = filter;
    this.bm25 = bm25 ?? Bm25Index.fromDocuments(store.entries().map((e) => e.document));
  }

  /** A copy returning k (the re-ranking retriever's fetchK), sharing the indexes and callbacks. */
  withK(k: number): HybridRetriever {
    return this.copy({ k, filter: this.filter });
  }

  /** A copy searching only the chunks that pass the filter (a call's `filter`). */
  withFilter(filter: ChunkFilter | null): HybridRetriever {
    return this.copy({ k: this.k, filter });
  }

  private copy({ k, filter }: { k: number; filter: ChunkFilter | null }): HybridRetriever {
    const { store, bm25, callbacks, tags, metadata, verbose } = this;
    return new HybridRetriever({ store, k, bm25, filter, callbacks, tags, metadata, verbose });
  }

  /**
   * Top k by fused rank, with the fused score as `retrievalScore` and `retrievalRank`, and the
   * rank in each list as `vectorRank`/`keywordRank` (absent when not in that list's top k: how far
   * the two lists agree tells adaptive re-ranking how sure the first stage is); `vector` skips
   * re-embedding the query.
   */
  async search(query: string, k: number, vector?: number[]): Promise<Document[]> {
    const { filter } = this;
    const queryVector = vector ?? (await this.store.embeddings.embedQuery(query));
    const dense = (await this.store.similaritySearchVectorWithScore(queryVector, k, filter ?? undefined)).map(([doc]) => doc);
    const sparse = this.bm25.search(query, k, filter).map((hit) => this.bm25.documents[hit.index]!);
    return fuseRanked(dense, sparse, k);
  }

  override async _getRelevantDocuments(query: string, _runManager?: CallbackManagerForRetrieverRun): Promise<DocumentInterface[]> {
    return this.search(query, this.k);
  }
}
