import { seededRandom } from "../util/seeded-random.js";

/** Relevance judgments of one query: document id → grade (≥ 1 is relevant). */
export type Judgments = ReadonlyMap<string, number>;

/** Document ids in rank order with duplicates removed (a document counts once, at its best chunk). */
export function dedupe(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

export function recallAt(ranked: readonly string[], relevant: Judgments, k: number): number {
  const wanted = [...relevant].filter(([, grade]) => grade > 0).length;
  if (wanted === 0) return 0;
  return ranked.slice(0, k).filter((id) => (relevant.get(id) ?? 0) > 0).length / wanted;
}

export function precisionAt(ranked: readonly string[], relevant: Judgments, k: number): number {
  return ranked.slice(0, k).filter((id) => (relevant.get(id) ?? 0) > 0).length / k;
}

export function mrrAt(ranked: readonly string[], relevant: Judgments, k: number): number {
  const position = ranked.slice(0, k).findIndex((id) => (relevant.get(id) ?? 0) > 0);
  return position < 0 ? 0 : 1 / (position + 1);
}

/** nDCG@k with graded gains (2^grade − 1), as BEIR's evaluator (pytrec_eval) computes it. */
export function ndcgAt(ranked: readonly string[], relevant: Judgments, k: number): number {
  const gain = (grade: number) => 2 ** grade - 1;
  const dcg = ranked.slice(0, k).reduce((sum, id, i) => sum + gain(relevant.get(id) ?? 0) / Math.log2(i + 2), 0);
  const ideal = [...relevant.values()]
    .filter((grade) => grade > 0)
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, grade, i) => sum + gain(grade) / Math.log2(i + 2), 0);
  return ideal === 0 ? 0 : dcg / ideal;
}

export function mean(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** Nearest-rank percentile (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface PairedComparison {
  /** Mean of (variant − baseline) per query. */
  meanDifference: number;
  /** 95% bootstrap interval of the mean difference. */
  ci95: [number, number];
  /** Two-sided p-value of a paired randomisation (sign-flip) test. */
  pValue: number;
  wins: number;
  losses: number;
  ties: number;
}

/**
 * Is the variant really better than the baseline on these queries? A paired
 * randomisation test flips the sign of each query's difference at random; the p-value
 * is how often a random flip gives a mean at least as far from zero as the observed one.
 */
export function pairedComparison(variant: readonly number[], baseline: readonly number[], { rounds = 10_000, seed = 7 } = {}): PairedComparison {
  const diffs = variant.map((v, i) => v - baseline[i]!);
  const observed = Math.abs(mean(diffs));
  const random = seededRandom(seed);
  let extreme = 0;
  for (let r = 0; r < rounds; r++) {
    let sum = 0;
    for (const d of diffs) sum += random() < 0.5 ? d : -d;
    if (Math.abs(sum / diffs.length) >= observed - 1e-12) extreme++;
  }
  const means: number[] = [];
  for (let r = 0; r < 2_000; r++) {
    let sum = 0;
    for (let i = 0; i < diffs.length; i++) sum += diffs[Math.floor(random() * diffs.length)]!;
    means.push(sum / Math.max(1, diffs.length));
  }
  return {
    meanDifference: mean(diffs),
    ci95: [percentile(means, 2.5), percentile(means, 97.5)],
    pValue: diffs.length ? (extreme + 1) / (rounds + 1) : 1,
    wins: diffs.filter((d) => d > 1e-12).length,
    losses: diffs.filter((d) => d < -1e-12).length,
    ties: diffs.filter((d) => Math.abs(d) <= 1e-12).length,
  };
}

/** Token-level F1 between an answer and a reference (SQuAD's answer metric). */
export function tokenF1(answer: string, reference: string, tokenize: (text: string) => string[]): number {
  const a = tokenize(answer);
  const r = tokenize(reference);
  if (a.length === 0 || r.length === 0) return a.length === r.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of r) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of a) {
    const left = counts.get(t) ?? 0;
    if (left > 0) {
      common++;
      counts.set(t, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / a.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}
