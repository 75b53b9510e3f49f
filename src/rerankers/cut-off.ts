import type { DocumentInterface } from "@langchain/core/documents";
import { UsageError } from "../errors/index.js";

/**
 * The re-ranker's cut-off: one definition, used by the re-ranking retriever's `minScore` (which
 * drops documents below it) and by the answer chain's evidence gate (which declines to answer
 * when no source reaches it). Each re-ranker scores evidence on its own scale:
 * - bm25: `evidenceScore`, the share of the question's content terms (IDF-weighted with the
 *   index's statistics, so a term no document uses weighs most) held by the source's best sentence
 *   or pair of adjacent sentences, headings counting half, 0–1 (its `rerankScore` is relative to
 *   the candidates and cannot be thresholded);
 * - cross-encoder: `rerankScore`, the model's probability that the passage answers, 0–1;
 * - cohere (and servers speaking its protocol): `rerankScore`, the relevance score, 0–1.
 */

/** Calibrated defaults per re-ranker (docs/results.md says how each was chosen). */
export const DEFAULT_MIN_SCORES = Object.freeze({ bm25: 0.2, "cross-encoder": 0.1, cohere: 0.1 });

/** A re-ranker that knows its calibrated cut-off (the project's own re-rankers do). */
export interface WithDefaultMinScore {
  readonly defaultMinScore: number;
}

/** A compressor's calibrated cut-off; undefined for one that has none (no cut-off applies). */
export function defaultMinScoreOf(compressor: unknown): number | undefined {
  const value = (compressor as Partial<WithDefaultMinScore> | null)?.defaultMinScore;
  return typeof value === "number" ? value : undefined;
}

/** The score a cut-off applies to: `evidenceScore` where the re-ranker sets one, else `rerankScore`; undefined when not re-ranked. */
export function evidenceScore(doc: DocumentInterface): number | undefined {
  const { evidenceScore: evidence, rerankScore } = doc.metadata as { evidenceScore?: unknown; rerankScore?: unknown };
  if (typeof evidence === "number") return evidence;
  return typeof rerankScore === "number" ? rerankScore : undefined;
}

/** A cut-off as given: a number, "auto" (the re-ranker's calibrated default) or null/undefined (none). */
export type MinScoreSetting = number | "auto" | null | undefined;

/**
 * The cut-off in force for re-ranked documents: a number as given, or for "auto" the re-ranker's
 * default, which the re-ranking retriever records on each document as `rerankCutOff`.
 */
export function resolveMinScore(docs: readonly DocumentInterface[], setting: MinScoreSetting): number | undefined {
  if (typeof setting === "number") return setting;
  if (setting !== "auto") return undefined;
  const recorded: unknown = docs[0]?.metadata.rerankCutOff;
  return typeof recorded === "number" ? recorded : undefined;
}

/** Whether a document falls below the cut-off; one without a score never does (nothing to judge it by). */
export function isBelowCutOff(doc: DocumentInterface, minScore: number | undefined): boolean {
  const score = evidenceScore(doc);
  return minScore !== undefined && score !== undefined && score < minScore;
}

export interface EvidenceVerdict {
  /** Whether the sources may answer: some source reaches the cut-off (or there is none to apply). */
  answered: boolean;
  /** The best source's evidence score, when the sources have scores. */
  bestScore?: number;
  /** The cut-off that was applied, if any. */
  minScore?: number;
}

/**
 * The evidence gate: decides from re-ranked documents, before any model runs, whether they
 * answer the question. No documents: not answered. Documents without scores (no re-ranking, or
 * a re-ranker without a cut-off) and no cut-off: answered, as there is nothing to judge by.
 */
export function judgeEvidence(docs: readonly DocumentInterface[], setting: MinScoreSetting = "auto"): EvidenceVerdict {
  if (docs.length === 0) return { answered: false };
  const minScore = resolveMinScore(docs, setting);
  const scores = docs.map(evidenceScore).filter((s): s is number => s !== undefined);
  const bestScore = scores.length ? Math.max(...scores) : undefined;
  const answered = minScore === undefined || bestScore === undefined || bestScore >= minScore;
  return { answered, ...(bestScore !== undefined ? { bestScore } : {}), ...(minScore !== undefined ? { minScore } : {}) };
}

/** A cut-off from configuration or a call: a number ≥ 0, "auto", or none; anything else is an error naming where it came from. */
export function parseMinScore(value: unknown, where: string): MinScoreSetting {
  if (value === undefined || value === null || value === "auto") return value;
  const number = typeof value === "string" && value.trim() ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number) || number < 0) {
    throw new UsageError(`${where} must be a number ≥ 0 or "auto", got ${JSON.stringify(value)}.`, {
      setting: "minScore",
      hint: `Use "auto" for the re-ranker's calibrated cut-off (bm25 ${DEFAULT_MIN_SCORES.bm25}, cross-encoder ${DEFAULT_MIN_SCORES["cross-encoder"]}, cohere ${DEFAULT_MIN_SCORES.cohere}), 0 to never decline, or a score on the re-ranker's scale.`,
    });
  }
  return number;
}
