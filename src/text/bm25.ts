/** BM25's two knobs: term-frequency saturation `k1` and length normalisation `b`. */
export interface Bm25Params {
  k1: number;
  b: number;
}

/**
 * BEIR's tuned values, shared by the keyword index and the BM25 re-ranker so the first
 * stage and the re-ranker score a chunk alike (docs/results.md was measured with them).
 */
export const BM25_DEFAULTS: Readonly<Bm25Params> = Object.freeze({ k1: 0.9, b: 0.4 });

/** BM25's idf, the Lucene variant: never negative, even for a term in every document. */
export function bm25Idf(documentCount: number, documentFrequency: number): number {
  return Math.log(1 + (documentCount - documentFrequency + 0.5) / (documentFrequency + 0.5));
}

/**
 * What one query term adds to a document's BM25 score: `queryCount` occurrences in the
 * query, `tf` in a document of `length` terms, in a corpus averaging `averageLength`.
 */
export function bm25TermScore(queryCount: number, idf: number, tf: number, length: number, averageLength: number, { k1, b }: Bm25Params): number {
  const norm = k1 * (1 - b + b * (length / (averageLength || 1)));
  return queryCount * idf * ((tf * (k1 + 1)) / (tf + norm));
}
