import type { DocumentInterface } from "@langchain/core/documents";
import { contextualText } from "../ingest/chunker.js";
import { analyze, termCounts } from "../text/analyzer.js";

/**
 * An inverted index scored with BM25, for full-corpus keyword retrieval. Written by hand:
 * LangChain's BM25Retriever rescans every document with a regular expression per query
 * term, matches substrings, and splits on whitespace only, which neither scales past a
 * few thousand chunks nor matches our analyzer.
 */
export class Bm25Index {
  private readonly postings = new Map<string, { docs: Int32Array; tfs: Float32Array }>();
  private readonly lengths: Float32Array;
  private readonly averageLength: number;

  private constructor(
    readonly documents: readonly DocumentInterface[],
    private readonly k1: number,
    private readonly b: number,
  ) {
    const lists = new Map<string, { docs: number[]; tfs: number[] }>();
    this.lengths = new Float32Array(documents.length);
    documents.forEach((doc, index) => {
      const terms = analyze(contextualText(doc));
      this.lengths[index] = terms.length;
      for (const [term, tf] of termCounts(terms)) {
        let list = lists.get(term);
        if (!list) lists.set(term, (list = { docs: [], tfs: [] }));
        list.docs.push(index);
        list.tfs.push(tf);
      }
    });
    for (const [term, list] of lists) this.postings.set(term, { docs: Int32Array.from(list.docs), tfs: Float32Array.from(list.tfs) });
    this.averageLength = documents.length ? this.lengths.reduce((a, b) => a + b, 0) / documents.length : 0;
  }

  static fromDocuments(documents: readonly DocumentInterface[], { k1 = 0.9, b = 0.4 } = {}): Bm25Index {
    return new Bm25Index(documents, k1, b);
  }

  /** The k best documents for a query, as indexes into `documents` with their BM25 scores. */
  search(query: string, k: number): Array<{ index: number; score: number }> {
    const n = this.documents.length;
    const scores = new Map<number, number>();
    for (const [term, queryCount] of termCounts(analyze(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.docs.length + 0.5) / (list.docs.length + 0.5));
      for (let p = 0; p < list.docs.length; p++) {
        const doc = list.docs[p]!;
        const tf = list.tfs[p]!;
        const norm = this.k1 * (1 - this.b + (this.b * this.lengths[doc]!) / (this.averageLength || 1));
        scores.set(doc, (scores.get(doc) ?? 0) + queryCount * idf * ((tf * (this.k1 + 1)) / (tf + norm)));
      }
    }
    return [...scores]
      .map(([index, score]) => ({ index, score }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, k);
  }
}
