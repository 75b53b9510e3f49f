import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { analyze, termCounts } from "../text/analyzer.js";
import { BM25_DEFAULTS, bm25TermScore } from "../text/bm25.js";
import { contextualText, readableText } from "../text/contextual-text.js";
import { CorpusStats } from "../text/corpus-stats.js";
import { BoundedCache } from "../util/bounded-cache.js";
import { questionWeights, sentenceEvidence, splitSentences, type Sentence } from "../text/sentences.js";
import { rerankDocuments, type RerankOptions, type RerankResult } from "./rerank-function.js";
import { DEFAULT_MIN_SCORES, type WithDefaultMinScore } from "./cut-off.js";

export interface Bm25RerankerOptions {
  /** Corpus statistics of the whole index; without them, the candidates' own are used. */
  stats?: CorpusStats | null;
  /** Term-frequency saturation (0.9 is BEIR's tuned value). */
  k1?: number;
  /** Length normalisation (0.4 is BEIR's tuned value). */
  b?: number;
  /** Keep only the best N (all when unset). */
  topN?: number;
  /**
   * Weight of the first stage's similarity (`metadata.retrievalScore`) next to BM25, both
   * scaled to 0–1 over the candidates. The dense stage knows the topic, BM25 the exact terms;
   * 0 is pure BM25.
   */
  firstStageWeight?: number;
}

/** Tuned on SciFact's train split (docs/results.md). */
export const DEFAULT_FIRST_STAGE_WEIGHT = 0.2;

/**
 * The offline re-ranker: BM25 over the first-stage candidates, using the index's corpus
 * statistics, optionally fused with the first stage's similarity. Each document also gets an
 * `evidenceScore`: the IDF-weighted share of the question's content terms held by its best
 * sentence (or two adjacent ones, headings counting in part; see sentenceEvidence), which, unlike
 * the relative BM25 score, can be held against a cut-off (see cut-off.ts).
 */
export class Bm25Reranker extends BaseDocumentCompressor implements WithDefaultMinScore {
  readonly defaultMinScore = DEFAULT_MIN_SCORES.bm25;
  readonly k1: number;
  readonly b: number;
  readonly topN?: number;
  readonly firstStageWeight: number;
  private readonly stats: CorpusStats | null;
  /** Each candidate's terms, by its text: a server re-ranks the same chunks again and again. */
  private readonly analyzed = new BoundedCache<string, { counts: Map<string, number>; length: number }>(2048);
  /** Each candidate's sentences, by its text, for the same reason. */
  private readonly sentences = new BoundedCache<string, Sentence[]>(2048);

  constructor({ stats = null, k1 = BM25_DEFAULTS.k1, b = BM25_DEFAULTS.b, topN, firstStageWeight = DEFAULT_FIRST_STAGE_WEIGHT }: Bm25RerankerOptions = {}) {
    super();
    this.firstStageWeight = firstStageWeight;
    this.stats = stats;
    this.k1 = k1;
    this.b = b;
    this.topN = topN;
  }

  /** BM25 alone, or BM25 and first-stage similarity each min–max scaled over the candidates, summed. */
  private fuse(bm25: number[], documents: DocumentInterface[]): number[] {
    const similarity = documents.map((d): unknown => d.metadata.retrievalScore);
    if (this.firstStageWeight === 0 || similarity.some((s) => typeof s !== "number")) return bm25;
    const scale = (values: number[]) => {
      const min = Math.min(...values);
      const span = Math.max(...values) - min;
      return values.map((v) => (span > 0 ? (v - min) / span : 0));
    };
    const lexical = scale(bm25);
    const dense = scale(similarity as number[]);
    return lexical.map((l, i) => l + this.firstStageWeight * dense[i]!);
  }

  /** Scores texts or documents: `{ index, score, document }` best first (see rerankDocuments). */
  rerank<D extends string | DocumentInterface>(query: string, documents: readonly D[], options?: RerankOptions): Promise<Array<RerankResult<D>>> {
    return rerankDocuments(this, query, documents, options);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- BaseDocumentCompressor's contract is async; `async` keeps a throw a rejection.
  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const texts = documents.map((doc) => contextualText(doc));
    const stats = this.stats ?? CorpusStats.fromTexts(texts);
    const queryTerms = termCounts(analyze(query));
    const weights = questionWeights(query, (term) => stats.idf(term));
    const scored = texts.map((text, index) => {
      const { counts, length } = this.analyzed.get(text, () => {
        const terms = analyze(text);
        return { counts: termCounts(terms), length: terms.length };
      });
      let score = 0;
      for (const [term, queryCount] of queryTerms) {
        const tf = counts.get(term);
        if (tf) score += bm25TermScore(queryCount, stats.idf(term), tf, length, stats.averageLength, this);
      }
      return { index, score };
    });
    const fused = this.fuse(
      scored.map((s) => s.score),
      documents,
    );
    scored.forEach((s, i) => (s.score = fused[i]!));
    // Stable: ties keep first-stage order.
    scored.sort((l, r) => r.score - l.score || l.index - r.index);
    const kept = this.topN === undefined ? scored : scored.slice(0, this.topN);
    // Evidence only for what is kept: splitting sentences is the dearest part, and the gate reads the kept.
    return kept.map(({ index, score }) => {
      const doc = documents[index]!;
      const evidence = evidenceOf(weights, doc, this.sentences.get(readableText(doc), splitSentences));
      return new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, rerankScore: score, evidenceScore: evidence }, id: doc.id });
    });
  }
}

/** A document's evidence score for a question's weighted terms (see Bm25Reranker). */
function evidenceOf(weights: ReadonlyMap<string, number>, doc: DocumentInterface, sentences: readonly Sentence[] = splitSentences(readableText(doc))): number {
  return sentenceEvidence(weights, sentences, headingTerms(doc));
}

/**
 * The documents with BM25's evidence score and cut-off, order unchanged: what the evidence gate
 * judges by when no re-ranker scored them (re-ranking off for a call, or skipped by "auto"), so
 * turning re-ranking off does not turn the gate off. `candidates` give the term statistics when
 * the index's are unknown.
 */
export function withLexicalEvidence(
  query: string,
  documents: readonly DocumentInterface[],
  stats: CorpusStats | null,
  candidates: readonly DocumentInterface[] = documents,
): DocumentInterface[] {
  const known = stats ?? CorpusStats.fromTexts(candidates.map((doc) => contextualText(doc)));
  const weights = questionWeights(query, (term) => known.idf(term));
  return documents.map(
    (doc) =>
      new Document({
        pageContent: doc.pageContent,
        metadata: { ...doc.metadata, evidenceScore: evidenceOf(weights, doc), rerankCutOff: DEFAULT_MIN_SCORES.bm25 },
        id: doc.id,
      }),
  );
}

/** The terms of a chunk's title and heading path: context for each of its sentences. */
function headingTerms(doc: DocumentInterface): Set<string> {
  const { title, heading, headings } = doc.metadata as { title?: unknown; heading?: unknown; headings?: unknown };
  const parts = [title, heading, ...(Array.isArray(headings) ? (headings as unknown[]) : [])].filter((p): p is string => typeof p === "string");
  return new Set(analyze(parts.join(" ")));
}
