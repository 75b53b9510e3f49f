import { listed } from "./datasets.js";
import type { EvalResult } from "./evaluate.js";

/** The results as a fixed-width terminal table, one row per variant. */
export function formatResultTable(result: EvalResult): string {
  const header = ["variant", "R@5", "R@10", "R@50", "P@5", "MRR@10", "nDCG@10", "ΔnDCG@10 [95% CI]", "p", "embed", "search", "rerank", "total p50/p95 ms"];
  const rows = result.variants.map((v) => [
    v.name,
    ...(["recall@5", "recall@10", "recall@50", "precision@5", "mrr@10", "ndcg@10"] as const).map((m) => v.metrics[m].toFixed(3)),
    v.vsFirstStage ? `${signed(v.vsFirstStage.meanDifference)} [${v.vsFirstStage.ci95.map(signed).join(", ")}]` : "baseline",
    v.vsFirstStage ? v.vsFirstStage.pValue.toPrecision(2) : "",
    v.latency.embed.p50.toFixed(1),
    v.latency.search.p50.toFixed(1),
    v.latency.rerank.p50.toFixed(1),
    `${v.latency.total.p50.toFixed(1)}/${v.latency.total.p95.toFixed(1)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const { dataset } = result;
  const leftOut = dataset.leftOut.length ? `; left out of every average: ${leftOutByCause(dataset.leftOut)}` : "";
  const lines = [
    `${dataset.scoredQueries} of ${dataset.queries} queries scored${leftOut}`,
    "",
    line(header),
    widths.map((w) => "─".repeat(w)).join("  "),
    ...rows.map(line),
  ];
  const answers = result.variants.filter((v) => v.answers);
  if (answers.length) {
    lines.push("", "Answer-level (extractive answerer):");
    for (const v of answers) {
      const a = v.answers!;
      lines.push(
        `  ${v.name.padEnd(12)} gold passage in top ${result.settings.topN}: ${(a.goldInTopN * 100).toFixed(1)}%  token F1: ${a.tokenF1.toFixed(3)}  gold sentence in answer: ${(a.goldSentence * 100).toFixed(1)}%`,
        `  ${"".padEnd(12)} cut-off ${a.minScore ?? "none"}: declined ${Math.round((a.noAnswerCorrect ?? 0) * a.unanswerable)}/${a.unanswerable} unanswerable (abstention recall ${ratio(a.noAnswerCorrect)}, precision ${ratio(a.abstentionPrecision)}), ${(a.wronglyDeclined * 100).toFixed(1)}% of answerable wrongly declined`,
      );
      if (a.sweep.length) {
        lines.push(
          `  ${"".padEnd(12)} sweep (cut-off: unanswerable declined / answerable declined): ${a.sweep.map((s) => `${s.minScore}: ${s.unanswerableDeclined}/${s.answerableDeclined}`).join("  ")}`,
        );
      }
    }
  }
  return lines.join("\n");
}

/** The queries left out, grouped by kind of reason ("gold quote not found in its file: q003"); the JSON and the report give each one's reason in full. */
function leftOutByCause(leftOut: EvalResult["dataset"]["leftOut"]): string {
  const byCause = new Map<string, string[]>();
  for (const { id, causes } of leftOut) {
    for (const cause of causes.length ? causes : ["cannot be scored"]) byCause.set(cause, [...(byCause.get(cause) ?? []), id]);
  }
  return [...byCause].map(([cause, ids]) => `${cause}: ${listed(ids)}`).join("; ");
}

/** A share, or n/a where it is undefined (nothing to divide by). */
const ratio = (x: number | null) => x?.toFixed(3) ?? "n/a";
const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
