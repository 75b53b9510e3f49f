import fs from "node:fs/promises";
import path from "node:path";
import { IndexError } from "../errors/index.js";
import { analyze } from "./analyzer.js";
import { bm25Idf } from "./bm25.js";

const FILE = "corpus-stats.json";

/**
 * Document frequencies and lengths over every chunk in the index: what BM25 needs to
 * weigh a rare term above a common one when it re-scores only 50 candidates.
 */
export class CorpusStats {
  constructor(
    readonly docCount: number,
    readonly averageLength: number,
    readonly documentFrequency: ReadonlyMap<string, number>,
  ) {}

  static fromTexts(texts: Iterable<string>): CorpusStats {
    const df = new Map<string, number>();
    let count = 0;
    let totalLength = 0;
    for (const text of texts) {
      const terms = analyze(text);
      count++;
      totalLength += terms.length;
      for (const term of new Set(terms)) df.set(term, (df.get(term) ?? 0) + 1);
    }
    return new CorpusStats(count, count ? totalLength / count : 0, df);
  }

  /** BM25's idf (the Lucene variant, never negative). */
  idf(term: string): number {
    return bm25Idf(this.docCount, this.documentFrequency.get(term) ?? 0);
  }

  async save(directory: string): Promise<void> {
    const body = { docCount: this.docCount, averageLength: this.averageLength, df: Object.fromEntries(this.documentFrequency) };
    await fs.writeFile(path.join(directory, FILE), JSON.stringify(body), { mode: 0o600 });
  }

  /** Stats saved with an index, or null for indexes that have none. */
  static async load(directory: string): Promise<CorpusStats | null> {
    let raw: string;
    try {
      raw = await fs.readFile(path.join(directory, FILE), "utf8");
    } catch {
      return null;
    }
    try {
      const body = JSON.parse(raw) as { docCount: number; averageLength: number; df: Record<string, number> };
      return new CorpusStats(body.docCount, body.averageLength, new Map(Object.entries(body.df)));
    } catch (error) {
      throw new IndexError(`The corpus statistics ${path.join(directory, FILE)} are damaged: ${(error as Error).message}`, {
        cause: error,
        hint: "Rebuild the index with `rerank-rag ingest --rebuild <paths…>`.",
      });
    }
  }
}
