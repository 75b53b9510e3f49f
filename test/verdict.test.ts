import { describe, expect, it } from "vitest";
import { formatVerdict, frontierChart, renderHtmlReport, verdictFor, type EvalResult, type VariantResult } from "../src/eval/index.js";

function variant(name: string, ndcg: number, p50: number, vs?: { gain: number; p: number }, adaptive?: VariantResult["adaptive"]): VariantResult {
  const latency = { p50, p95: p50 * 2 };
  return {
    name,
    metrics: { "recall@5": 0, "recall@10": 0, "recall@50": 0, "precision@5": 0, "mrr@10": 0, "ndcg@10": ndcg },
    latency: { embed: latency, search: latency, rerank: latency, total: latency },
    ...(vs ? { vsFirstStage: { meanDifference: vs.gain, ci95: [vs.gain - 0.02, vs.gain + 0.02], pValue: vs.p, wins: 1, losses: 0, ties: 0 } } : {}),
    ...(adaptive ? { adaptive } : {}),
  };
}

const result: EvalResult = {
  dataset: { name: "set", kind: "beir", queries: 10, scoredQueries: 10, judgedQueries: 10, leftOut: [] },
  settings: { firstStage: "hybrid", fetchK: 50, topN: 5, embedder: "offline-lsa", chunkSize: 4000, chunkOverlap: 200, indexDir: "x" },
  ingest: { seconds: 1, reusedIndex: true },
  variants: [
    variant("first-stage", 0.6, 3),
    variant("bm25", 0.686, 10, { gain: 0.086, p: 0.0001 }),
    variant("cross-encoder", 0.7, 2400, { gain: 0.1, p: 0.001 }),
    variant(
      "adaptive:bm25",
      0.685,
      7,
      { gain: 0.085, p: 0.0001 },
      {
        skipped: 0.38,
        vsAlways: { meanDifference: -0.001, ci95: [-0.003, 0.001], pValue: 0.5, wins: 0, losses: 1, ties: 9 },
      },
    ),
    variant("bm25:20,cross-encoder", 0.59, 900, { gain: -0.01, p: 0.4 }),
  ],
  queries: [],
};

describe("eval's verdict", () => {
  it("keeps a significant, cheap gain on, puts an expensive one against the latency budget, and leaves noise off", () => {
    const verdicts = verdictFor(result);
    expect(verdicts.map((v) => [v.variant, v.decision])).toEqual([
      ["bm25", "keep"],
      ["cross-encoder", "over-budget"],
      ["adaptive:bm25", "adaptive"],
      ["bm25:20,cross-encoder", "off"],
    ]);
    expect(verdicts[0]!.text).toBe("re-ranking with bm25: +0.086 nDCG@10 (p = 0.00010), +7 ms p50 → keep it on");
    expect(verdicts[1]!.text).toMatch(
      /^re-ranking with cross-encoder: \+0\.100 nDCG@10 \(p = 0\.0010\), \+2\.4 s p50 on this machine → on only if you can afford/,
    );
    expect(verdicts[2]!.text).toBe(
      "adaptive:bm25: −0.001 nDCG@10 vs always (p = 0.50), 38% of queries skip re-ranking, saves 3 ms p50 / 6 ms p95 → same quality: use --rerank auto wherever bm25 is on",
    );
    // A bigger budget turns the cross-encoder on.
    expect(verdictFor(result, { latencyBudgetMs: 5000 })[1]!.decision).toBe("keep");
    expect(formatVerdict(verdicts)).toMatch(
      /^Verdict \(gain ≥ 0\.01 nDCG@10 with p < 0\.05; latency budget 250 ms p50; adaptive may lose ≤ 0\.005\):\n {2}re-ranking with bm25/,
    );
  });

  it("draws every variant on the quality/latency chart and joins the frontier, in the HTML report too", () => {
    const svg = frontierChart(result.variants);
    for (const v of result.variants) expect(svg).toContain(`>${v.name}</text>`);
    // Frontier, fastest first: first-stage (3 ms), adaptive:bm25 (7 ms, 0.685), bm25 (10 ms, 0.686), cross-encoder; the cascade is dominated.
    const points = /<polyline[^>]* points="([^"]+)"/.exec(svg)![1]!.split(" ");
    expect(points).toHaveLength(4);
    const html = renderHtmlReport(result, verdictFor(result));
    expect(html).toContain("<h2>Quality/latency frontier</h2><svg");
    expect(html).toContain("<li>re-ranking with bm25: +0.086 nDCG@10 (p = 0.00010), +7 ms p50 → keep it on</li>");
  });
});
