import { describe, expect, it } from "vitest";
import { dedupe, mrrAt, ndcgAt, pairedComparison, percentile, precisionAt, recallAt, tokenF1 } from "../src/eval/metrics.js";
import { analyze } from "../src/text/analyzer.js";

const judged = new Map([
  ["a", 1],
  ["b", 1],
]);

describe("retrieval metrics", () => {
  it("computes recall, precision and MRR at k", () => {
    const ranked = ["x", "a", "y", "b", "z"];
    expect(recallAt(ranked, judged, 2)).toBe(0.5);
    expect(recallAt(ranked, judged, 5)).toBe(1);
    expect(precisionAt(ranked, judged, 5)).toBeCloseTo(0.4);
    expect(mrrAt(ranked, judged, 10)).toBe(0.5);
    expect(mrrAt(["x", "y"], judged, 10)).toBe(0);
  });

  it("computes nDCG@k as pytrec_eval does (gain 2^rel − 1, log2 discount)", () => {
    // DCG = 1/log2(3) + 1/log2(5); ideal = 1 + 1/log2(3)
    const expected = (1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3));
    expect(ndcgAt(["x", "a", "y", "b"], judged, 10)).toBeCloseTo(expected, 12);
    expect(ndcgAt(["a", "b"], judged, 10)).toBe(1);
    expect(ndcgAt(["x"], new Map(), 10)).toBe(0);
  });

  it("counts a document once, at its best chunk", () => {
    expect(dedupe(["a", "x", "a", "b", "x"])).toEqual(["a", "x", "b"]);
  });

  it("takes nearest-rank percentiles", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 95)).toBe(95);
    expect(percentile([], 50)).toBe(0);
  });
});

describe("pairedComparison", () => {
  it("finds no difference between identical runs", () => {
    const scores = [0.1, 0.5, 0.9, 0.3];
    const result = pairedComparison(scores, scores);
    expect(result.meanDifference).toBe(0);
    expect(result.pValue).toBe(1);
    expect(result.ties).toBe(4);
  });

  it("gives a small p-value and a positive interval when a variant wins on most queries", () => {
    const baseline = Array.from({ length: 60 }, (_, i) => (i % 7) / 10);
    const better = baseline.map((b, i) => b + (i % 5 === 0 ? -0.05 : 0.2));
    const result = pairedComparison(better, baseline);
    expect(result.pValue).toBeLessThan(0.001);
    expect(result.ci95[0]).toBeGreaterThan(0);
    expect(result.wins).toBe(48);
    expect(result.losses).toBe(12);
  });

  it("gives a large p-value for noise", () => {
    const baseline = Array.from({ length: 40 }, (_, i) => ((i * 37) % 11) / 10);
    const noisy = baseline.map((b, i) => b + (i % 2 === 0 ? 0.1 : -0.1));
    expect(pairedComparison(noisy, baseline).pValue).toBeGreaterThan(0.5);
  });
});

describe("tokenF1", () => {
  it("scores overlap of analyzed tokens", () => {
    expect(tokenF1("Tokens expire after 3600 seconds", "Access tokens expire after 3600 s (one hour)", analyze)).toBeGreaterThan(0.5);
    expect(tokenF1("webhooks", "tokens expire", analyze)).toBe(0);
    expect(tokenF1("", "", analyze)).toBe(1);
  });
});
