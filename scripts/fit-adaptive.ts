// Fits the adaptive re-ranking rule (DEFAULT_ADAPTIVE_RULE) on training data only: SciFact's
// train split and the train half of the bundled QA set (odd-numbered questions). Every query
// runs through the first stage and the BM25 re-ranker once; each candidate rule is then scored
// on the per-query signals and nDCG@10: the share of queries it skips and the nDCG@10 it loses
// against always re-ranking. The rule kept skips most while losing at most `maxLoss` on each set.
// Usage: tsx scripts/fit-adaptive.ts <scifact-dir> [maxLoss=0.002]
import path from "node:path";
import { loadConfig } from "../src/config/index.js";
import { evaluate, loadBeir, loadDataset, type QueryResult } from "../src/eval/index.js";
import { decideRerank, type AdaptiveRule } from "../src/rerankers/adaptive.js";

const [dir, maxLossArg = "0.002"] = process.argv.slice(2);
if (!dir) throw new Error("usage: tsx scripts/fit-adaptive.ts <scifact-dir> [maxLoss]");
const maxLoss = Number(maxLossArg);
const cacheDir = ".rerank-rag/eval";
const docsDir = path.join(import.meta.dirname, "..", "data", "docs");
const sets = [
  { name: "scifact/train", dataset: await loadBeir(dir, "train", cacheDir), config: loadConfig({ RAG_CHUNK_SIZE: "4000", RAG_EMBEDDINGS: "offline" }) },
  {
    name: "qa/train",
    dataset: await loadDataset(path.join(docsDir, "..", "eval", "qa.jsonl"), { split: "train", cacheDir, docsDir }),
    config: loadConfig({ RAG_EMBEDDINGS: "offline" }),
  },
];
const runs: Array<{ name: string; queries: QueryResult[] }> = [];
for (const { name, dataset, config } of sets) {
  const result = await evaluate({ dataset, config, cacheDir, variants: ["bm25"] });
  // Unjudged (unanswerable) questions have no nDCG: they neither gain nor lose.
  runs.push({ name, queries: result.queries });
}

const skips = (q: QueryResult, rule: AdaptiveRule) => !decideRerank(q.signals, rule).rerank;
const score = (queries: QueryResult[], rule: AdaptiveRule) => {
  const skipped = queries.filter((q) => skips(q, rule));
  const loss = skipped.reduce((sum, q) => sum + ((q.ndcg.bm25 ?? 0) - (q.ndcg["first-stage"] ?? 0)), 0) / queries.length;
  return { share: skipped.length / queries.length, loss };
};

const candidates: Array<{ rule: AdaptiveRule; scores: Array<{ share: number; loss: number }> }> = [];
for (const minAgreement of [0, 0.2, 0.4, 0.6, 0.8, 1])
  for (const requireTopAgree of [false, true])
    for (const minMargin of [0, 0.02, 0.05, 0.1, 0.2, 0.3])
      for (const maxTerms of [4, 6, 8, 12, 1000]) {
        const rule = { depth: 5, minAgreement, requireTopAgree, minMargin, maxTerms };
        candidates.push({ rule, scores: runs.map((run) => score(run.queries, rule)) });
      }
const admissible = candidates.filter((c) => c.scores.every((s) => s.loss <= maxLoss));
// Most skipped on the pooled queries; among ties the loosest rule (fewest conditions) wins.
const pooled = (c: (typeof candidates)[number]) => c.scores.reduce((sum, s, i) => sum + s.share * runs[i]!.queries.length, 0);
const looseness = ({ rule }: (typeof candidates)[number]) => rule.minAgreement + Number(rule.requireTopAgree) + rule.minMargin * 10 - rule.maxTerms / 1000;
admissible.sort((a, b) => pooled(b) - pooled(a) || looseness(a) - looseness(b));
const line = (c: (typeof candidates)[number]) =>
  `${JSON.stringify(c.rule)}  ${c.scores.map((s, i) => `${runs[i]!.name}: skip ${(s.share * 100).toFixed(1)}%, ΔnDCG@10 ${(-s.loss).toFixed(4)}`).join("  ")}`;
console.log(`Rules losing at most ${maxLoss} nDCG@10 on every training set, most skipped first:`);
for (const c of admissible.slice(0, 8)) console.log(`  ${line(c)}`);
console.log(`\nEach signal alone (SciFact train, then QA train):`);
for (const c of candidates.filter(
  (c) => [c.rule.minAgreement > 0, c.rule.requireTopAgree, c.rule.minMargin > 0, c.rule.maxTerms < 1000].filter(Boolean).length === 1,
))
  console.log(`  ${line(c)}`);
