import type { DocumentInterface } from "@langchain/core/documents";
import { z } from "zod";
import { UsageError } from "../errors/index.js";
import { analyze } from "../text/analyzer.js";

/** What the first stage says about its own certainty, known before any re-ranking. */
export interface RerankSignals {
  /**
   * Share of the top `depth` candidates that the vector and the keyword list both rank in their
   * own top `depth` (0–1); null when the first stage has one list only (no `vectorRank`/`keywordRank`).
   */
  agreement: number | null;
  /** Whether both lists rank the top candidate first; null with one list only. */
  topAgree: boolean | null;
  /** Lead of the top candidate's first-stage score over the second's, relative to the top score (0–1). */
  margin: number;
  /** Distinct content terms in the question (stop words dropped): long, specific questions gain most from re-ranking. */
  terms: number;
}

/**
 * When to skip re-ranking: only when every condition holds. Fitted on SciFact train and the
 * train half of the bundled QA set (`npm run fit:adaptive`, docs/results.md).
 */
export interface AdaptiveRule {
  /** How many top candidates the agreement is measured on. */
  depth: number;
  /** Skip only if at least this share (0–1) of the top `depth` is in both lists' top `depth` (ignored with one list). */
  minAgreement: number;
  /** Skip only if both lists rank the same candidate first (never skips with one list). */
  requireTopAgree: boolean;
  /** Skip only if the top candidate leads the second by at least this relative margin (0–1). */
  minMargin: number;
  /** Skip only if the question has at most this many content terms. */
  maxTerms: number;
}

/**
 * Fitted on training data only: of every combination tried, "both lists rank the same candidate
 * first" alone skipped most (37% of SciFact train, 62% of QA train) while losing 0.0013 nDCG@10
 * on SciFact train (and gaining on QA train); margin, length and wider agreement cost more
 * quality per skip there, so they are off (0, 0, 1000) by default but settable.
 */
export const DEFAULT_ADAPTIVE_RULE: Readonly<AdaptiveRule> = Object.freeze({
  depth: 5,
  minAgreement: 0,
  requireTopAgree: true,
  minMargin: 0,
  maxTerms: 1000,
});

/** The decision for one question, with the signals behind it and one line saying why. */
export interface AdaptiveDecision {
  rerank: boolean;
  reason: string;
  signals: RerankSignals;
}

const rank = (doc: DocumentInterface | undefined, key: "vectorRank" | "keywordRank"): number | undefined => {
  const value: unknown = doc?.metadata[key];
  return typeof value === "number" ? value : undefined;
};

/** The signals for a question and its first-stage candidates (best first). */
export function rerankSignals(query: string, candidates: readonly DocumentInterface[], depth = DEFAULT_ADAPTIVE_RULE.depth): RerankSignals {
  const hasLists = candidates.some((doc) => rank(doc, "vectorRank") !== undefined || rank(doc, "keywordRank") !== undefined);
  const inBoth = candidates.filter((doc) => (rank(doc, "vectorRank") ?? Infinity) <= depth && (rank(doc, "keywordRank") ?? Infinity) <= depth).length;
  const score = (i: number) => Number(candidates[i]?.metadata.retrievalScore);
  const [first, second] = [score(0), score(1)];
  const margin = Number.isFinite(first) && Number.isFinite(second) && first !== 0 ? Math.max(0, (first - second) / Math.abs(first)) : 0;
  return {
    agreement: hasLists ? inBoth / Math.max(1, Math.min(depth, candidates.length)) : null,
    topAgree: hasLists ? rank(candidates[0], "vectorRank") === 1 && rank(candidates[0], "keywordRank") === 1 : null,
    margin: Math.round(margin * 10_000) / 10_000,
    terms: new Set(analyze(query)).size,
  };
}

/** Re-rank or not, from the signals alone: skip only when the rule's every condition holds. */
export function decideRerank(signals: RerankSignals, rule: AdaptiveRule = DEFAULT_ADAPTIVE_RULE): AdaptiveDecision {
  const unsure: string[] = [];
  if (signals.agreement !== null && signals.agreement < rule.minAgreement) {
    unsure.push(`vector and keyword lists share ${pct(signals.agreement)} of the top ${rule.depth} (< ${pct(rule.minAgreement)})`);
  }
  if (signals.topAgree === false && rule.requireTopAgree) unsure.push("the lists disagree on the top candidate");
  if (signals.topAgree === null && rule.requireTopAgree) unsure.push("a one-list first stage: no agreement to judge by");
  if (signals.margin < rule.minMargin) unsure.push(`top score margin ${signals.margin.toFixed(3)} < ${rule.minMargin}`);
  if (signals.terms > rule.maxTerms) unsure.push(`a specific question (${signals.terms} terms > ${rule.maxTerms})`);
  if (unsure.length > 0) return { rerank: true, reason: `re-ranked: ${unsure.join("; ")}`, signals };
  const sure =
    signals.agreement === null
      ? `top score margin ${signals.margin.toFixed(3)}`
      : `lists agree on the top and ${pct(signals.agreement)} of the top ${rule.depth}`;
  return { rerank: false, reason: `skipped: first stage sure (${sure}, ${signals.terms} terms)`, signals };
}

const pct = (share: number) => `${Math.round(share * 100)}%`;

/** What each field of a rule must be, in words for errors and as a zod check. */
const RULE_FIELDS = {
  depth: { must: "a whole number of at least 1", check: z.number().int().min(1) },
  minAgreement: { must: "a share from 0 to 1", check: z.number().min(0).max(1) },
  requireTopAgree: { must: "true or false", check: z.boolean() },
  minMargin: { must: "a share from 0 to 1", check: z.number().min(0).max(1) },
  maxTerms: { must: "a whole number of at least 0", check: z.number().int().min(0) },
} as const;
const RULE_KEYS = Object.keys(RULE_FIELDS) as Array<keyof AdaptiveRule>;
// Strict: a misspelt field would otherwise be ignored, the rule silently the default.
const partialRule = z.strictObject(Object.fromEntries(RULE_KEYS.map((key) => [key, RULE_FIELDS[key].check.optional()])));

/**
 * A rule from a partial one (e.g. a call's `configurable.adaptive`) over `base`, every field
 * checked; a field left undefined keeps base's.
 */
export function adaptiveRule(overrides: Partial<AdaptiveRule> = {}, base: Readonly<AdaptiveRule> = DEFAULT_ADAPTIVE_RULE): AdaptiveRule {
  const parsed = partialRule.safeParse(overrides);
  if (parsed.success) {
    const given = Object.entries(parsed.data).filter(([, value]) => value !== undefined);
    return { ...base, ...(Object.fromEntries(given) as Partial<AdaptiveRule>) };
  }
  const issue = parsed.error.issues[0]!;
  const key = issue.path[0] as keyof AdaptiveRule | undefined;
  const fields = RULE_KEYS.join(", ");
  if (issue.code === "unrecognized_keys") {
    throw new UsageError(`adaptive has no setting ${JSON.stringify(issue.keys[0])}; its settings are ${fields}.`, {
      setting: "adaptive",
      hint: "Check the spelling, or leave adaptive out for the fitted rule.",
    });
  }
  if (key === undefined) {
    throw new UsageError(`adaptive must be an object with some of ${fields}, got ${JSON.stringify(overrides)}.`, {
      setting: "adaptive",
      hint: "Pass e.g. { minAgreement: 0.4 }, or leave adaptive out for the fitted rule.",
    });
  }
  throw new UsageError(`adaptive.${key} must be ${RULE_FIELDS[key].must}, got ${JSON.stringify((overrides as Record<string, unknown>)[key])}.`, {
    setting: `adaptive.${key}`,
    hint: `Leave it out for the fitted default (${String(DEFAULT_ADAPTIVE_RULE[key])}).`,
  });
}
