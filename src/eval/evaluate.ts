import crypto from "node:crypto";
import path from "node:path";
import type { DocumentInterface } from "@langchain/core/documents";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { firstStageDocuments, similarityFor } from "../../chains/reranking-retriever.js";
import type { RagConfig } from "../config/index.js";
import { UsageError } from "../errors/index.js";
import { embedderId, resolveEmbedder } from "../embeddings/registry.js";
import { ingest } from "../ingest/ingest.js";
import { ExtractiveChatModel, NO_ANSWER, quotedWords } from "../llms/extractive-chat-model.js";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../llms/prompt.js";
import type { RerankerSpec } from "../config/index.js";
import { adaptiveRule, decideRerank, rerankSignals, type AdaptiveRule, type RerankSignals } from "../rerankers/adaptive.js";
import { DEFAULT_MIN_SCORES, defaultMinScoreOf, judgeEvidence, type MinScoreSetting } from "../rerankers/cut-off.js";
import { withLexicalEvidence } from "../rerankers/bm25-reranker.js";
import { createRerankerFromSpec, resolveReranker, type ConcreteReranker } from "../rerankers/registry.js";
import { HybridRetriever } from "../retrievers/hybrid-retriever.js";
import { openIndex } from "../store/open-index.js";
import { analyze } from "../text/analyzer.js";
import type { CorpusStats } from "../text/corpus-stats.js";
import { disposeOf } from "../util/dispose.js";
import { listed, normalizeText, type EvalDataset, type EvalQuery } from "./datasets.js";
import { dedupe, mean, mrrAt, ndcgAt, pairedComparison, percentile, precisionAt, recallAt, tokenF1, type PairedComparison } from "./metrics.js";

export interface EvaluateOptions {
  dataset: EvalDataset;
  config: RagConfig;
  /**
   * Re-rankers to compare: names, cascades ("bm25:20,cross-encoder"), adaptive ones
   * ("adaptive:bm25": re-rank only when the first stage is unsure) or named compressors; the
   * first stage is always the baseline. Default: every available one.
   */
  variants?: Array<string | CustomVariant>;
  /** The rule adaptive variants decide by (default: DEFAULT_ADAPTIVE_RULE). */
  adaptive?: Partial<AdaptiveRule>;
  /** Where cached indexes live (keyed by corpus + embedder + splitter). */
  cacheDir: string;
  /** Evaluate only the first N queries (quick runs). */
  limit?: number;
  /** The evidence gate's cut-off for QA sets (default "auto": each re-ranker's calibrated one). */
  minScore?: MinScoreSetting;
  onProgress?: (done: number, total: number) => void;
}

/** A re-ranker under test that is not a provider name (e.g. one with other settings). */
export interface CustomVariant {
  name: string;
  compressor: BaseDocumentCompressor;
}

export interface StageLatency {
  p50: number;
  p95: number;
}

export interface VariantResult {
  name: string;
  metrics: Record<"recall@5" | "recall@10" | "recall@50" | "precision@5" | "mrr@10" | "ndcg@10", number>;
  /** Milliseconds per query and stage. */
  latency: Record<"embed" | "search" | "rerank" | "total", StageLatency>;
  /** nDCG@10 against the first stage, paired per query. */
  vsFirstStage?: PairedComparison;
  /** QA sets only: does the gold passage reach the answer, how good is the extractive answer, and does the evidence gate decline the right questions. */
  answers?: AnswerSummary;
  /** Adaptive variants: share of queries that skipped the re-ranker, and nDCG@10 against always re-ranking (when that variant ran too). */
  adaptive?: { skipped: number; vsAlways?: PairedComparison };
}

export interface AnswerSummary {
  goldInTopN: number;
  tokenF1: number;
  /** Share of answerable answers that hold the gold quote's sentence. */
  goldSentence: number;
  /** Share of unanswerable questions declined (by the gate or the answerer): abstention recall (null when there is no unanswerable question). */
  noAnswerCorrect: number | null;
  /** Share of declined questions that were unanswerable: abstention precision (null when none was declined: it is undefined). */
  abstentionPrecision: number | null;
  /** Share of answerable questions declined. */
  wronglyDeclined: number;
  unanswerable: number;
  answerableCount: number;
  /** The cut-off the gate applied (undefined: the re-ranker has none). */
  minScore?: number;
  /** The gate at other cut-offs: how many questions of each kind it would decline. */
  sweep: Array<{ minScore: number; unanswerableDeclined: number; answerableDeclined: number }>;
}

export interface QueryResult {
  id: string;
  text: string;
  gold: string[];
  /** Per variant: rank (1-based) of the first relevant unit, or null beyond fetchK. */
  firstRelevantRank: Record<string, number | null>;
  ndcg: Record<string, number>;
  /** What the first stage said about its certainty (adaptive re-ranking decides on it). */
  signals: RerankSignals;
  /** Adaptive variants that skipped the re-ranker on this query. */
  skipped: string[];
  /** QA sets, per variant: the answer a person would read, and how it scored. */
  answers?: Record<string, QueryAnswer>;
}

export interface QueryAnswer {
  text: string;
  answered: boolean;
  /** The best source's evidence score (undefined: the re-ranker gives none). */
  bestScore?: number;
  goldSentence: boolean;
  f1: number;
}

export interface EvalResult {
  dataset: {
    name: string;
    kind: string;
    queries: number;
    /** Queries in the averages: all but those left out. */
    scoredQueries: number;
    /** Scored queries with relevance judgments (a QA set's answerable questions). */
    judgedQueries: number;
    /** Queries that cannot be scored (their gold is not in the corpus), left out of every average: why, and the kinds of reason (values of UNSCORABLE). */
    leftOut: Array<{ id: string; reason: string; causes: string[] }>;
  };
  settings: { firstStage: string; fetchK: number; topN: number; embedder: string; chunkSize: number; chunkOverlap: number; indexDir: string };
  ingest: { seconds: number; reusedIndex: boolean };
  variants: VariantResult[];
  queries: QueryResult[];
}

/** Every re-ranker that can run here without being asked for: BM25, plus neural ones that are set up. */
export function availableVariants(config: RagConfig): ConcreteReranker[] {
  const auto = resolveReranker(config, "auto").name;
  return ["none", "bm25", ...(auto !== "bm25" ? [auto] : [])];
}

/**
 * Runs every query through the first stage once, then through each re-ranker on the same
 * candidates, side by side: retrieval metrics, per-stage latency and a paired test against
 * the first stage. Indexes are cached by corpus, embedder and splitter.
 */
export async function evaluate(options: EvaluateOptions): Promise<EvalResult> {
  const { dataset, config } = options;
  const selection = selectQueries(dataset, options.limit);
  const requested = (options.variants ?? availableVariants(config)).filter((v) => v !== "none");
  const spec = resolveEmbedder(config);
  const key = crypto
    .createHash("sha256")
    .update([dataset.corpusHash, embedderId(spec), config.RAG_CHUNK_SIZE, config.RAG_CHUNK_OVERLAP].join("\0"))
    .digest("hex")
    .slice(0, 16);
  // With RAG_STORE=pgvector the index is the configured table (ingest keeps it in line with the corpus).
  const indexConfig: RagConfig = { ...config, RAG_INDEX_DIR: path.join(options.cacheDir, "indexes", key), RAG_EMBEDDINGS: spec.provider };
  const started = performance.now();
  const report = await ingest({ paths: dataset.paths, config: indexConfig });
  const ingestSeconds = (performance.now() - started) / 1000;
  const index = await openEvalIndex(indexConfig);
  try {
    return await evaluateOn(index, selection, options, requested, { seconds: ingestSeconds, reusedIndex: !report.written });
  } finally {
    await index.close();
  }
}

/** What the evaluation needs from an index, whichever store holds it. */
interface EvalIndex {
  location: string;
  embedder: string;
  embeddings: EmbeddingsInterface;
  stats: CorpusStats | null;
  /** The configured first stage's top k for a query and its vector. */
  firstStage(query: string, vector: number[], k: number): Promise<DocumentInterface[]>;
  close(): Promise<void>;
}

async function openEvalIndex(config: RagConfig): Promise<EvalIndex> {
  const hybrid = config.RAG_FIRST_STAGE === "hybrid";
  if (config.RAG_STORE === "pgvector") {
    const { openPgvectorIndex } = await import("../store/pgvector.js");
    const { PgvectorHybridRetriever } = await import("../retrievers/pgvector-hybrid-retriever.js");
    const pg = await openPgvectorIndex(config);
    const retriever = new PgvectorHybridRetriever({ search: pg.search, embeddings: pg.embeddings });
    const toSimilarity = similarityFor(pg.vectorStore);
    return {
      location: `pgvector ${pg.location}`,
      embedder: pg.meta.embedder.id,
      embeddings: pg.embeddings,
      stats: pg.stats,
      firstStage: async (query, vector, k) =>
        hybrid ? retriever.search(query, k, vector) : firstStageDocuments(await pg.vectorStore.similaritySearchVectorWithScore(vector, k), toSimilarity),
      close: () => pg.close(),
    };
  }
  const index = await openIndex(config);
  const toSimilarity = similarityFor(index.vectorStore);
  const retriever = hybrid ? new HybridRetriever({ store: index.vectorStore, k: config.RAG_FETCH_K, bm25: index.keywords ?? undefined }) : null;
  return {
    location: config.RAG_INDEX_DIR,
    embedder: index.manifest.embedder.id,
    embeddings: index.embeddings,
    stats: index.stats,
    firstStage: async (query, vector, k) =>
      retriever ? retriever.search(query, k, vector) : firstStageDocuments(await index.vectorStore.similaritySearchVectorWithScore(vector, k), toSimilarity),
    close: () => disposeOf(index.embeddings),
  };
}

/** The queries to run (the first `limit`), those that can be scored, and the rest with their reasons. */
interface QuerySelection {
  queries: EvalQuery[];
  scored: EvalQuery[];
  leftOut: EvalResult["dataset"]["leftOut"];
}

/** Checked before indexing, which can take minutes: nothing to score is an error, not a table of zeros after the wait. */
function selectQueries(dataset: EvalDataset, limit: number | undefined): QuerySelection {
  const queries = dataset.queries.slice(0, limit ?? dataset.queries.length);
  if (queries.length === 0) throw new UsageError(`The dataset ${dataset.name} has no queries.`);
  // A question whose gold is not in the corpus would score 0 whatever the ranking: averaged in, it hides the real figure.
  const scored = queries.filter((q) => q.unscorable === undefined);
  const leftOut = queries.flatMap((q) => (q.unscorable === undefined ? [] : [{ id: q.id, reason: q.unscorable, causes: q.unscorableCauses ?? [] }]));
  if (scored.length === 0) {
    throw new UsageError(`None of the ${queries.length} queries of ${dataset.name} can be scored (${listed(leftOut.map((q) => `${q.id}: ${q.reason}`))}).`, {
      hint: "Fix the gold entries named, or evaluate more of the set (--limit, --split).",
    });
  }
  return { queries, scored, leftOut };
}

async function evaluateOn(
  index: EvalIndex,
  selection: QuerySelection,
  options: EvaluateOptions,
  requested: Array<string | CustomVariant>,
  ingestTiming: EvalResult["ingest"],
): Promise<EvalResult> {
  const { dataset, config } = options;
  const compressors = new Map<string, BaseDocumentCompressor | null>([["none", null]]);
  const built = new Map<string, BaseDocumentCompressor | null>();
  for (const variant of requested) {
    if (typeof variant !== "string") {
      compressors.set(variant.name, variant.compressor);
      continue;
    }
    // "bm25" and "adaptive:bm25" share one re-ranker (one model load).
    const spec = variant.startsWith(ADAPTIVE) ? variant.slice(ADAPTIVE.length) : variant;
    if (!built.has(spec)) built.set(spec, (await createRerankerFromSpec(spec as RerankerSpec, { config, stats: index.stats })).compressor);
    compressors.set(variant, built.get(spec)!);
  }
  const rule = adaptiveRule(options.adaptive);
  const variants = [...compressors.keys()];

  const fetchK = config.RAG_FETCH_K;
  const topN = config.RAG_TOP_N;
  const { queries, scored, leftOut } = selection;
  const perVariant = new Map(
    variants.map((v) => [
      v,
      { ndcg: [] as number[], rows: [] as Record<string, number>[], times: [] as Record<string, number>[], answers: [] as AnswerCheck[], skipped: 0 },
    ]),
  );
  const queryResults: QueryResult[] = [];
  const answerer = new ExtractiveChatModel({ stats: index.stats });

  for (const [done, query] of scored.entries()) {
    options.onProgress?.(done, scored.length);
    const t0 = performance.now();
    const vector = await index.embeddings.embedQuery(query.text);
    const t1 = performance.now();
    const candidates = await index.firstStage(query.text, vector, fetchK);
    const t2 = performance.now();
    const signals = rerankSignals(query.text, candidates, rule.depth);
    const result: QueryResult = { id: query.id, text: query.text, gold: [...query.judgments.keys()], firstRelevantRank: {}, ndcg: {}, signals, skipped: [] };
    for (const variant of variants) {
      const state = perVariant.get(variant)!;
      const r0 = performance.now();
      // An adaptive variant pays for its decision (signals included), not for the skipped re-ranker.
      const skip = variant.startsWith(ADAPTIVE) && !decideRerank(rerankSignals(query.text, candidates, rule.depth), rule).rerank;
      if (skip) {
        state.skipped += 1;
        result.skipped.push(variant);
      }
      const compressor = skip ? null : compressors.get(variant);
      const ranked = compressor ? await compressor.compressDocuments(candidates, query.text) : candidates;
      const rerankMs = performance.now() - r0;
      state.times.push({ embed: t1 - t0, search: t2 - t1, rerank: rerankMs, total: t2 - t0 + rerankMs });
      const units = dedupe(ranked.map((doc) => dataset.unitOf(query, doc)));
      if (query.judgments.size > 0) {
        const metrics = scoreRanking(units, query.judgments);
        state.rows.push(metrics);
        state.ndcg.push(metrics["ndcg@10"]!);
        result.ndcg[variant] = metrics["ndcg@10"]!;
        const rank = units.findIndex((u) => (query.judgments.get(u) ?? 0) > 0);
        result.firstRelevantRank[variant] = rank < 0 ? null : rank + 1;
      }
      // "auto" is the re-ranker's calibrated cut-off, as the retriever records it for the answer chain;
      // sources no re-ranker scored are judged by BM25's evidence, as the retriever does.
      const setting = options.minScore ?? "auto";
      const minScore = setting === "auto" ? (defaultMinScoreOf(compressor) ?? (compressor ? undefined : DEFAULT_MIN_SCORES.bm25)) : (setting ?? undefined);
      if (dataset.kind === "qa") {
        const top = compressor ? ranked.slice(0, topN) : withLexicalEvidence(query.text, ranked.slice(0, topN), index.stats, candidates);
        const check = await checkAnswer(answerer, query, top, dataset, minScore);
        state.answers.push(check);
        (result.answers ??= {})[variant] = {
          text: check.answer,
          answered: !check.saidNoAnswer,
          ...(check.bestScore !== undefined ? { bestScore: check.bestScore } : {}),
          goldSentence: check.goldSentence,
          f1: check.f1,
        };
      }
    }
    queryResults.push(result);
  }
  options.onProgress?.(scored.length, scored.length);

  const baseline = perVariant.get("none")!.ndcg;
  return {
    dataset: { name: dataset.name, kind: dataset.kind, queries: queries.length, scoredQueries: scored.length, judgedQueries: baseline.length, leftOut },
    settings: {
      firstStage: config.RAG_FIRST_STAGE,
      fetchK,
      topN,
      embedder: index.embedder,
      chunkSize: config.RAG_CHUNK_SIZE,
      chunkOverlap: config.RAG_CHUNK_OVERLAP,
      indexDir: index.location,
    },
    ingest: ingestTiming,
    variants: variants.map((name) => {
      const state = perVariant.get(name)!;
      const metricNames = ["recall@5", "recall@10", "recall@50", "precision@5", "mrr@10", "ndcg@10"] as const;
      const stage = (s: string): StageLatency => {
        const values = state.times.map((t) => t[s]!);
        return { p50: percentile(values, 50), p95: percentile(values, 95) };
      };
      return {
        name: name === "none" ? "first-stage" : name,
        metrics: Object.fromEntries(metricNames.map((m) => [m, mean(state.rows.map((r) => r[m]!))])) as VariantResult["metrics"],
        latency: { embed: stage("embed"), search: stage("search"), rerank: stage("rerank"), total: stage("total") },
        ...(name === "none" ? {} : { vsFirstStage: pairedComparison(state.ndcg, baseline) }),
        ...(dataset.kind === "qa" ? { answers: summariseAnswers(state.answers) } : {}),
        ...(name.startsWith(ADAPTIVE) ? { adaptive: adaptiveSummary(state, perVariant.get(name.slice(ADAPTIVE.length))?.ndcg, scored.length) } : {}),
      };
    }),
    queries: queryResults.map((q) => ({
      ...q,
      firstRelevantRank: publicNames(q.firstRelevantRank),
      ndcg: publicNames(q.ndcg),
      ...(q.answers ? { answers: publicNames(q.answers) } : {}),
    })),
  };
}

/** Per-variant values keyed as the report names variants ("none" is the first stage). */
function publicNames<T>(byVariant: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(byVariant).map(([k, v]) => [k === "none" ? "first-stage" : k, v]));
}

/** Prefix of an adaptive variant: `adaptive:bm25` re-ranks with bm25 only when the first stage is unsure. */
export const ADAPTIVE = "adaptive:";

function adaptiveSummary(state: { ndcg: number[]; skipped: number }, always: number[] | undefined, queries: number): NonNullable<VariantResult["adaptive"]> {
  return { skipped: state.skipped / queries, ...(always ? { vsAlways: pairedComparison(state.ndcg, always) } : {}) };
}

function scoreRanking(units: string[], judgments: Map<string, number>): Record<string, number> {
  return {
    "recall@5": recallAt(units, judgments, 5),
    "recall@10": recallAt(units, judgments, 10),
    "recall@50": recallAt(units, judgments, 50),
    "precision@5": precisionAt(units, judgments, 5),
    "mrr@10": mrrAt(units, judgments, 10),
    "ndcg@10": ndcgAt(units, judgments, 10),
  };
}

interface AnswerCheck {
  answer: string;
  answerable: boolean;
  goldInTopN: boolean;
  f1: number;
  goldSentence: boolean;
  saidNoAnswer: boolean;
  /** The best source's evidence score, and the cut-off the gate held it against. */
  bestScore?: number;
  minScore?: number;
}

/**
 * What the answer step would get from this ranking: the evidence gate first (as in the answer
 * chain), then what the extractive answerer makes of the sources.
 */
async function checkAnswer(
  answerer: ExtractiveChatModel,
  query: EvalQuery,
  top: DocumentInterface[],
  dataset: EvalDataset,
  minScore: number | undefined,
): Promise<AnswerCheck> {
  const { answered, bestScore } = judgeEvidence(top, minScore ?? null);
  const gated = !answered;
  const messages = await ANSWER_PROMPT.formatMessages({ question: formatQuestion(query.text), sources: formatSources(top) });
  const answer = gated ? NO_ANSWER : answerer.answerFor(messages);
  const saidNoAnswer = answer === NO_ANSWER;
  const body = quotedWords(answer);
  const shown = normalizeText(body);
  return {
    answer,
    answerable: query.judgments.size > 0,
    goldInTopN: top.some((doc) => query.judgments.has(dataset.unitOf(query, doc))),
    f1: saidNoAnswer ? 0 : tokenF1(body, query.reference ?? "", analyze),
    goldSentence: !saidNoAnswer && (query.quotes ?? []).some((quote) => shown.includes(quote)),
    saidNoAnswer,
    ...(bestScore !== undefined ? { bestScore } : {}),
    ...(minScore !== undefined ? { minScore } : {}),
  };
}

const SWEEP = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

function summariseAnswers(checks: AnswerCheck[]): AnswerSummary {
  const answerable = checks.filter((c) => c.answerable);
  const unanswerable = checks.filter((c) => !c.answerable);
  const declined = checks.filter((c) => c.saidNoAnswer);
  const below = (c: AnswerCheck, cut: number) => c.bestScore !== undefined && c.bestScore < cut;
  return {
    goldInTopN: mean(answerable.map((c) => (c.goldInTopN ? 1 : 0))),
    tokenF1: mean(answerable.map((c) => c.f1)),
    goldSentence: mean(answerable.map((c) => (c.goldSentence ? 1 : 0))),
    noAnswerCorrect: unanswerable.length ? mean(unanswerable.map((c) => (c.saidNoAnswer ? 1 : 0))) : null,
    abstentionPrecision: declined.length ? declined.filter((c) => !c.answerable).length / declined.length : null,
    wronglyDeclined: mean(answerable.map((c) => (c.saidNoAnswer ? 1 : 0))),
    unanswerable: unanswerable.length,
    answerableCount: answerable.length,
    ...(checks[0]?.minScore !== undefined ? { minScore: checks[0].minScore } : {}),
    sweep: checks.some((c) => c.bestScore !== undefined)
      ? SWEEP.map((cut) => ({
          minScore: cut,
          unanswerableDeclined: unanswerable.filter((c) => below(c, cut)).length,
          answerableDeclined: answerable.filter((c) => below(c, cut)).length,
        }))
      : [],
  };
}
