import { ADAPTIVE, type EvalResult, type VariantResult } from "./evaluate.js";

/** What a re-ranker must show to be recommended (docs/results.md, "How eval decides"). */
export interface VerdictThresholds {
  /** Significance level of the paired randomisation test (default 0.05). */
  alpha: number;
  /** Smallest nDCG@10 gain over the first stage worth a re-ranker (default 0.01). */
  minGain: number;
  /** Extra p50 milliseconds per question a re-ranker may add and still be on by default (default 250, `--latency-budget`). */
  latencyBudgetMs: number;
  /** Largest nDCG@10 an adaptive variant may lose against always re-ranking (default 0.005). */
  maxAdaptiveLoss: number;
}

export const DEFAULT_VERDICT_THRESHOLDS: Readonly<VerdictThresholds> = Object.freeze({
  alpha: 0.05,
  minGain: 0.01,
  latencyBudgetMs: 250,
  maxAdaptiveLoss: 0.005,
});

export type Decision = "keep" | "over-budget" | "off" | "adaptive" | "always";

export interface Verdict {
  variant: string;
  decision: Decision;
  /** The decision in one line, with the figures behind it. */
  text: string;
}

const signed = (x: number, digits = 3) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;
const ms = (x: number) => (Math.abs(x) >= 1000 ? `${signed(x / 1000, 1)} s` : `${signed(x, 0)} ms`);
/** A saving: no sign when positive, "−" when it is a cost. */
const saving = (x: number) => ms(x).replace(/^\+/, "");
const p = (value: number) => `p = ${value.toPrecision(2)}`;

/** A decision per re-ranking variant for this corpus and question set, from the paired tests and latencies. */
export function verdictFor(result: EvalResult, overrides: Partial<VerdictThresholds> = {}): Verdict[] {
  const t = { ...DEFAULT_VERDICT_THRESHOLDS, ...overrides };
  const baseline = result.variants.find((v) => !v.vsFirstStage);
  if (!baseline) return [];
  const byName = new Map(result.variants.map((v) => [v.name, v]));
  const decide = (v: VariantResult): Verdict | null => {
    if (v.name.startsWith(ADAPTIVE)) return adaptiveVerdict(v, byName.get(v.name.slice(ADAPTIVE.length)), t);
    if (!v.vsFirstStage) return null;
    const { meanDifference: gain, pValue } = v.vsFirstStage;
    const extra = v.latency.total.p50 - baseline.latency.total.p50;
    const head = `re-ranking with ${v.name}: ${signed(gain)} nDCG@10 (${p(pValue)}), ${ms(extra)} p50`;
    if (pValue < t.alpha && gain <= -t.minGain) return { variant: v.name, decision: "off", text: `${head} → turn it off: it hurts here` };
    if (pValue >= t.alpha || gain < t.minGain) {
      return { variant: v.name, decision: "off", text: `${head} → leave it off: no gain of at least ${t.minGain} with p < ${t.alpha}` };
    }
    if (extra <= t.latencyBudgetMs) return { variant: v.name, decision: "keep", text: `${head} → keep it on` };
    return {
      variant: v.name,
      decision: "over-budget",
      text: `${head} on this machine → on only if you can afford ${ms(extra)} per question (budget ${t.latencyBudgetMs} ms; try a cascade or --rerank auto)`,
    };
  };
  return result.variants.map(decide).filter((v): v is Verdict => v !== null);
}

function adaptiveVerdict(v: VariantResult, always: VariantResult | undefined, t: VerdictThresholds): Verdict {
  const skipped = `${Math.round((v.adaptive?.skipped ?? 0) * 100)}% of queries skip re-ranking`;
  const vs = v.adaptive?.vsAlways;
  if (!always || !vs)
    return { variant: v.name, decision: "adaptive", text: `${v.name}: ${skipped} (add ${v.name.slice(ADAPTIVE.length)} to --variants to compare)` };
  const loss = -vs.meanDifference;
  const saved = always.latency.total.p50 - v.latency.total.p50;
  const savedP95 = always.latency.total.p95 - v.latency.total.p95;
  const head = `${v.name}: ${signed(vs.meanDifference)} nDCG@10 vs always (${p(vs.pValue)}), ${skipped}, saves ${saving(saved)} p50 / ${saving(savedP95)} p95`;
  if (loss <= t.maxAdaptiveLoss || vs.pValue >= t.alpha) {
    return { variant: v.name, decision: "adaptive", text: `${head} → same quality: use --rerank auto wherever ${always.name} is on` };
  }
  return { variant: v.name, decision: "always", text: `${head} → loses more than ${t.maxAdaptiveLoss}: re-rank every question` };
}

/** The verdict as text for the terminal, after the table. */
export function formatVerdict(verdicts: Verdict[], t: Partial<VerdictThresholds> = {}): string {
  const { alpha, minGain, latencyBudgetMs, maxAdaptiveLoss } = { ...DEFAULT_VERDICT_THRESHOLDS, ...t };
  return [
    `Verdict (gain ≥ ${minGain} nDCG@10 with p < ${alpha}; latency budget ${latencyBudgetMs} ms p50; adaptive may lose ≤ ${maxAdaptiveLoss}):`,
    ...verdicts.map((v) => `  ${v.text}`),
  ].join("\n");
}
