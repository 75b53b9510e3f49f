import fs from "node:fs/promises";
import path from "node:path";
import type { DocumentInterface } from "@langchain/core/documents";
import { z } from "zod";
import { IndexError } from "../errors/index.js";
import { analyze, termCounts } from "../text/analyzer.js";
import { BM25_DEFAULTS, bm25Idf, bm25TermScore, type Bm25Params } from "../text/bm25.js";
import { contextualText } from "../text/contextual-text.js";
import { CorpusStats } from "../text/corpus-stats.js";
import type { ChunkFilter } from "./chunk-filter.js";

const TERMS_FILE = "bm25-terms.json";
const POSTINGS_FILE = "bm25-postings.bin";
const FORMAT_VERSION = 1;

/** bm25-terms.json: the parameters and each term's posting count; the postings are in POSTINGS_FILE. */
const headerSchema = z.object({
  version: z.number(),
  k1: z.number(),
  b: z.number(),
  documentCount: z.number(),
  terms: z.array(z.string()),
  counts: z.array(z.number().int().nonnegative()),
});

type Postings = Map<string, { docs: Int32Array; tfs: Float32Array }>;

/**
 * An inverted index scored with BM25, for full-corpus keyword retrieval. Written by hand:
 * LangChain's BM25Retriever rescans every document with a regular expression per query
 * term, matches substrings, and splits on whitespace only, which neither scales past a
 * few thousand chunks nor matches our analyzer.
 */
export class Bm25Index {
  private readonly averageLength: number;

  private constructor(
    readonly documents: readonly DocumentInterface[],
    private readonly postings: Postings,
    private readonly lengths: Float32Array,
    private readonly params: Bm25Params,
  ) {
    this.averageLength = documents.length ? lengths.reduce((a, c) => a + c, 0) / documents.length : 0;
  }

  static fromDocuments(documents: readonly DocumentInterface[], params: Bm25Params = BM25_DEFAULTS): Bm25Index {
    const lists = new Map<string, { docs: number[]; tfs: number[] }>();
    const lengths = new Float32Array(documents.length);
    documents.forEach((doc, index) => {
      const terms = analyze(contextualText(doc));
      lengths[index] = terms.length;
      for (const [term, tf] of termCounts(terms)) {
        let list = lists.get(term);
        if (!list) lists.set(term, (list = { docs: [], tfs: [] }));
        list.docs.push(index);
        list.tfs.push(tf);
      }
    });
    const postings: Postings = new Map();
    for (const [term, list] of lists) postings.set(term, { docs: Int32Array.from(list.docs), tfs: Float32Array.from(list.tfs) });
    return new Bm25Index(documents, postings, lengths, params);
  }

  /** The document frequencies and lengths the BM25 re-ranker needs, without analysing the texts again. */
  corpusStats(): CorpusStats {
    return new CorpusStats(this.documents.length, this.averageLength, new Map([...this.postings].map(([term, list]) => [term, list.docs.length])));
  }

  /**
   * Writes the postings next to an index, so opening it skips analysing every chunk
   * (the bulk of a cold start on a large corpus): terms as JSON, numbers as one binary file.
   */
  async save(directory: string): Promise<void> {
    const terms = [...this.postings.keys()];
    const counts = terms.map((t) => this.postings.get(t)!.docs.length);
    const total = counts.reduce((a, c) => a + c, 0);
    const docs = new Int32Array(total);
    const tfs = new Float32Array(total);
    let offset = 0;
    for (const term of terms) {
      const list = this.postings.get(term)!;
      docs.set(list.docs, offset);
      tfs.set(list.tfs, offset);
      offset += list.docs.length;
    }
    const header = { version: FORMAT_VERSION, k1: this.params.k1, b: this.params.b, documentCount: this.documents.length, terms, counts };
    await fs.writeFile(path.join(directory, TERMS_FILE), JSON.stringify(header), { mode: 0o600 });
    await fs.writeFile(
      path.join(directory, POSTINGS_FILE),
      Buffer.concat([new Uint8Array(this.lengths.buffer), new Uint8Array(docs.buffer), new Uint8Array(tfs.buffer)]),
      { mode: 0o600 },
    );
  }

  /** Postings saved with an index, for these documents in label order; null for indexes that have none. */
  static async load(directory: string, documents: readonly DocumentInterface[]): Promise<Bm25Index | null> {
    let headerText: string;
    try {
      headerText = await fs.readFile(path.join(directory, TERMS_FILE), "utf8");
    } catch {
      return null;
    }
    const damaged = (why: string) =>
      new IndexError(`The keyword index in ${directory} is damaged: ${why}.`, { hint: "Rebuild the index with `rerank-rag ingest --rebuild <paths…>`." });
    let header: z.infer<typeof headerSchema>;
    try {
      header = headerSchema.parse(JSON.parse(headerText));
    } catch (error) {
      throw damaged(error instanceof z.ZodError ? `${TERMS_FILE} is malformed: ${z.prettifyError(error)}` : (error as Error).message);
    }
    if (header.version !== FORMAT_VERSION || header.documentCount !== documents.length || header.terms.length !== header.counts.length) {
      throw damaged(`it lists ${header.documentCount} chunks in format ${header.version}, the index holds ${documents.length}`);
    }
    const bytes = await fs.readFile(path.join(directory, POSTINGS_FILE)).catch((error: Error) => {
      throw damaged(error.message);
    });
    const total = header.counts.reduce((a, c) => a + c, 0);
    const n = documents.length;
    if (bytes.byteLength !== 4 * (n + 2 * total)) throw damaged(`${POSTINGS_FILE} has ${bytes.byteLength} bytes, expected ${4 * (n + 2 * total)}`);
    const buffer = new Uint8Array(bytes).buffer; // a copy at offset 0, so 4-byte views are aligned
    const lengths = new Float32Array(buffer, 0, n);
    const docs = new Int32Array(buffer, 4 * n, total);
    const tfs = new Float32Array(buffer, 4 * (n + total), total);
    const postings: Postings = new Map();
    let offset = 0;
    header.terms.forEach((term, i) => {
      const count = header.counts[i]!;
      postings.set(term, { docs: docs.subarray(offset, offset + count), tfs: tfs.subarray(offset, offset + count) });
      offset += count;
    });
    return new Bm25Index(documents, postings, lengths, { k1: header.k1, b: header.b });
  }

  /**
   * The k best documents for a query, as indexes into `documents` with their BM25 scores; with a
   * filter, postings of chunks it rejects are skipped, so k passing chunks come back when k match.
   */
  search(query: string, k: number, filter?: ChunkFilter | null): Array<{ index: number; score: number }> {
    const n = this.documents.length;
    const allowed = filter ? this.documents.map((doc) => filter.matches(doc.metadata)) : null;
    const scores = new Map<number, number>();
    for (const [term, queryCount] of termCounts(analyze(query))) {
      const list = this.postings.get(term);
      if (!list) continue;
      // IDF stays the whole corpus's: a filter narrows what is returned, not how terms are weighed.
      const idf = bm25Idf(n, list.docs.length);
      for (let p = 0; p < list.docs.length; p++) {
        const doc = list.docs[p]!;
        if (allowed && !allowed[doc]) continue;
        const score = bm25TermScore(queryCount, idf, list.tfs[p]!, this.lengths[doc]!, this.averageLength, this.params);
        scores.set(doc, (scores.get(doc) ?? 0) + score);
      }
    }
    return [...scores]
      .map(([index, score]) => ({ index, score }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, k);
  }
}
