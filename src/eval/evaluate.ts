import crypto from "node:crypto";
import path from "node:path";
import type { DocumentInterface } from "@langchain/core/documents";
import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { firstStageDocuments, similarityFor } from "../../chains/reranking-retriever.js";
import type { RagConfig } from "../config/index.js";
import { UsageError } from "../errors/index.js";
import { embedderId, resolveEmbedder } from "../embeddings/registry.js";
import { ingest } from "../ingest/ingest.js";
import { ExtractiveChatModel, NO_ANSWER } from "../llms/extractive-chat-model.js";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../llms/prompt.js";
import { defaultMinScoreOf, judgeEvidence, type MinScoreSetting } from "../rerankers/cut-off.js";
import { createReranker, resolveReranker, type ConcreteReranker } from "../rerankers/registry.js";
import { HybridRetriever } from "../retrievers/hybrid-retriever.js";
import { openIndex } from "../store/open-index.js";
import { analyze } from "../text/analyzer.js";
import { normalizeText, type EvalDataset, type EvalQuery } from "./datasets.js";
import { dedupe, mean, mrrAt, ndcgAt, pairedComparison, percentile, precisionAt, recallAt, tokenF1, type PairedComparison } from "./metrics.js";

export interface EvaluateOptions {
  dataset: EvalDataset;
  config: RagConfig;
  /** Re-rankers to compare (names, or named compressors); the first stage is always the baseline. Default: every available one. */
  variants?: Array<ConcreteReranker | CustomVariant>;
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
}

export interface AnswerSummary {
  goldInTopN: number;
  tokenF1: number;
  /** Share of answerable answers that hold the gold quote's sentence. */
  goldSentence: number;
  /** Share of unanswerable questions declined (by the gate or the answerer): abstention recall. */
  noAnswerCorrect: number;
  /** Share of declined questions that were unanswerable: abstention precision (1 when none was declined). */
  abstentionPrecision: number;
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
}

export interface EvalResult {
  dataset: { name: string; kind: string; queries: number; judgedQueries: number };
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
  const requested = (options.variants ?? availableVariants(config)).filter((v) => v !== "none");
  const spec = resolveEmbedder(config);
  const key = crypto
    .createHash("sha256")
    .update([dataset.corpusHash, embedderId(spec), config.RAG_CHUNK_SIZE, config.RAG_CHUNK_OVERLAP].join("\0"))
    .digest("hex")
    .slice(0, 16);
  const indexConfig: RagConfig = { ...config, RAG_INDEX_DIR: path.join(options.cacheDir, "indexes", key), RAG_EMBEDDINGS: spec.provider };
  const started = performance.now();
  const report = await ingest({ paths: dataset.paths, config: indexConfig });
  const ingestSeconds = (performance.now() - started) / 1000;
  const index = await openIndex(indexConfig);
  const compressors = new Map<string, BaseDocumentCompressor | null>([["none", null]]);
  for (const variant of requested) {
    if (typeof variant === "string") compressors.set(variant, await createReranker(variant, { config, stats: index.stats }));
    else compressors.set(variant.name, variant.compressor);
  }
  const variants = [...compressors.keys()];
  const toSimilarity = similarityFor(index.vectorStore);
  const hybrid =
    config.RAG_FIRST_STAGE === "hybrid" ? new HybridRetriever({ store: index.vectorStore, k: config.RAG_FETCH_K, bm25: index.keywords ?? undefined }) : null;

  const fetchK = config.RAG_FETCH_K;
  const topN = config.RAG_TOP_N;
  const queries = dataset.queries.slice(0, options.limit ?? dataset.queries.length);
  if (queries.length === 0) throw new UsageError(`The dataset ${dataset.name} has no queries.`);
  const perVariant = new Map(
    variants.map((v) => [
      v,
      { ndcg: [] as number[], rows: [] as Record<string, number>[], times: [] as Record<string, number>[], answers: [] as AnswerCheck[] },
    ]),
  );
  const queryResults: QueryResult[] = [];
  const answerer = new ExtractiveChatModel();

  for (const [done, query] of queries.entries()) {
    options.onProgress?.(done, queries.length);
    const t0 = performance.now();
    const vector = await index.embeddings.embedQuery(query.text);
    const t1 = performance.now();
    const candidates = hybrid
      ? await hybrid.search(query.text, fetchK, vector)
      : firstStageDocuments(await index.vectorStore.similaritySearchVectorWithScore(vector, fetchK), toSimilarity);
    const t2 = performance.now();
    const result: QueryResult = { id: query.id, text: query.text, gold: [...query.judgments.keys()], firstRelevantRank: {}, ndcg: {} };
    for (const variant of variants) {
      const compressor = compressors.get(variant);
      const r0 = performance.now();
      const ranked = compressor ? await compressor.compressDocuments(candidates, query.text) : candidates;
      const rerankMs = performance.now() - r0;
      const state = perVariant.get(variant)!;
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
      // "auto" is the re-ranker's calibrated cut-off, as the retriever records it for the answer chain.
      const setting = options.minScore ?? "auto";
      const minScore = setting === "auto" ? defaultMinScoreOf(compressor) : (setting ?? undefined);
      if (dataset.kind === "qa") state.answers.push(await checkAnswer(answerer, query, ranked.slice(0, topN), dataset, minScore));
    }
    queryResults.push(result);
  }
  options.onProgress?.(queries.length, queries.length);

  const baseline = perVariant.get("none")!.ndcg;
  return {
    dataset: { name: dataset.name, kind: dataset.kind, queries: queries.length, judgedQueries: baseline.length },
    settings: {
      firstStage: config.RAG_FIRST_STAGE,
      fetchK,
      topN,
      embedder: index.manifest.embedder.id,
      chunkSize: config.RAG_CHUNK_SIZE,
      chunkOverlap: config.RAG_CHUNK_OVERLAP,
      indexDir: indexConfig.RAG_INDEX_DIR,
    },
    ingest: { seconds: ingestSeconds, reusedIndex: !report.written },
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
      };
    }),
    queries: queryResults.map((q) => ({
      ...q,
      firstRelevantRank: Object.fromEntries(Object.entries(q.firstRelevantRank).map(([k, v]) => [k === "none" ? "first-stage" : k, v])),
      ndcg: Object.fromEntries(Object.entries(q.ndcg).map(([k, v]) => [k === "none" ? "first-stage" : k, v])),
    })),
  };
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
  const body = answer.split("\n\n")[0]!.replace(/\[\d+\]/g, "");
  const shown = normalizeText(body);
  return {
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
    noAnswerCorrect: mean(unanswerable.map((c) => (c.saidNoAnswer ? 1 : 0))),
    abstentionPrecision: declined.length ? declined.filter((c) => !c.answerable).length / declined.length : 1,
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
