import type { EvalResult, VariantResult } from "./evaluate.js";
import type { Verdict } from "./verdict.js";

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
const COLORS = ["#8a8f98", "#2f6fdf", "#d9822b", "#3a9d5d", "#9b59b6"];
const METRICS = ["recall@5", "recall@10", "recall@50", "precision@5", "mrr@10", "ndcg@10"] as const;

/** Grouped bars: one group per metric, one bar per variant (values 0–1). */
function metricsChart(variants: VariantResult[]): string {
  const groupWidth = 40 + variants.length * 22;
  const width = 60 + METRICS.length * groupWidth;
  const height = 260;
  const y = (v: number) => 220 - v * 200;
  const bars = METRICS.map(
    (metric, g) =>
      variants
        .map((variant, i) => {
          const value = variant.metrics[metric];
          const x = 50 + g * groupWidth + i * 22;
          return `<rect x="${x}" y="${y(value)}" width="18" height="${220 - y(value)}" fill="${COLORS[i % COLORS.length]}"><title>${escape(variant.name)} ${metric} ${value.toFixed(3)}</title></rect>`;
        })
        .join("") + `<text x="${50 + g * groupWidth + (variants.length * 22) / 2}" y="240" text-anchor="middle">${metric}</text>`,
  ).join("");
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((v) => `<line x1="45" x2="${width}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="40" y="${y(v) + 4}" text-anchor="end">${v}</text>`)
    .join("");
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="metrics per variant">${grid}${bars}</svg>`;
}

/** Latency per stage and variant: a bar to p50 with a whisker to p95 (log scale, ms). */
function latencyChart(variants: VariantResult[]): string {
  const stages = ["embed", "search", "rerank", "total"] as const;
  const max = Math.max(1, ...variants.flatMap((v) => stages.map((s) => v.latency[s].p95)));
  const x = (ms: number) => 120 + (Math.log10(1 + ms) / Math.log10(1 + max)) * 480;
  const rows = variants.flatMap((variant, i) =>
    stages.map((stage, s) => {
      const top = 10 + (i * stages.length + s) * 18;
      const { p50, p95 } = variant.latency[stage];
      return `<text x="115" y="${top + 11}" text-anchor="end">${escape(variant.name)} ${stage}</text><rect x="120" y="${top}" width="${x(p50) - 120}" height="12" fill="${COLORS[i % COLORS.length]}"/><line x1="${x(p50)}" x2="${x(p95)}" y1="${top + 6}" y2="${top + 6}" stroke="#333"/><text x="${x(p95) + 4}" y="${top + 11}">${p50.toFixed(1)} / ${p95.toFixed(1)} ms</text>`;
    }),
  );
  const height = 20 + variants.length * stages.length * 18;
  return `<svg viewBox="0 0 760 ${height}" width="760" height="${height}" role="img" aria-label="latency per stage">${rows.join("")}</svg>`;
}

/**
 * Quality against latency: one point per variant (nDCG@10 over total p50 ms, log scale), the
 * variants no other beats on both axes joined as the frontier.
 */
export function frontierChart(variants: VariantResult[]): string {
  const [width, height, left, bottom] = [640, 320, 60, 280];
  const latencies = variants.map((v) => Math.max(0.1, v.latency.total.p50));
  const [lo, hi] = [Math.min(...latencies), Math.max(...latencies)];
  const scores = variants.map((v) => v.metrics["ndcg@10"]);
  const [yLo, yHi] = [Math.floor(Math.min(...scores) * 20) / 20, Math.ceil(Math.max(...scores) * 20) / 20 || 1];
  const span = Math.log10(hi) - Math.log10(lo) || 1;
  const x = (msValue: number) => left + ((Math.log10(Math.max(0.1, msValue)) - Math.log10(lo)) / span) * (width - left - 120) + 10;
  const y = (score: number) => bottom - ((score - yLo) / (yHi - yLo || 1)) * (bottom - 20);
  const points = variants.map((v, i) => ({ v, i, px: x(v.latency.total.p50), py: y(v.metrics["ndcg@10"]) }));
  // Fastest first; a variant is on the frontier when it beats every faster one's nDCG@10.
  let best = -Infinity;
  const frontier = [...points]
    .sort((a, b) => a.v.latency.total.p50 - b.v.latency.total.p50 || b.v.metrics["ndcg@10"] - a.v.metrics["ndcg@10"])
    .filter((pt) => (pt.v.metrics["ndcg@10"] > best ? ((best = pt.v.metrics["ndcg@10"]), true) : false));
  const grid = [yLo, (yLo + yHi) / 2, yHi]
    .map(
      (v) =>
        `<line x1="${left}" x2="${width}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 5}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(3)}</text>`,
    )
    .join("");
  const line = `<polyline fill="none" stroke="#333" stroke-dasharray="4 3" points="${frontier.map((pt) => `${pt.px},${pt.py}`).join(" ")}"/>`;
  const dots = points
    .map(
      ({ v, i, px, py }) =>
        `<circle cx="${px}" cy="${py}" r="6" fill="${COLORS[i % COLORS.length]}"><title>${escape(v.name)}: nDCG@10 ${v.metrics["ndcg@10"].toFixed(3)}, ${v.latency.total.p50.toFixed(1)} ms p50</title></circle><text x="${px + 9}" y="${py - 7}">${escape(v.name)}</text>`,
    )
    .join("");
  const axes = `<text x="${(width + left) / 2}" y="${height - 4}" text-anchor="middle">total latency p50 per query, ms (log scale): ${lo.toFixed(1)} … ${hi.toFixed(1)}</text><text x="14" y="${bottom / 2}" transform="rotate(-90 14 ${bottom / 2})" text-anchor="middle">nDCG@10</text>`;
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="quality/latency frontier">${grid}${line}${dots}${axes}</svg>`;
}

/** The evidence gate's sweep per variant: cut-off → share of unanswerable declined (solid) and of answerable wrongly declined (dashed). */
function sweepChart(variants: VariantResult[]): string {
  const swept = variants.filter((v) => v.answers?.sweep.length);
  if (swept.length === 0) return "";
  const x = (cut: number) => 50 + cut * 500;
  const y = (share: number) => 210 - share * 190;
  const lines = swept.flatMap((v) => {
    const { sweep, unanswerable } = v.answers!;
    const color = COLORS[variants.indexOf(v) % COLORS.length];
    const total = { unanswerable: Math.max(1, unanswerable), answerable: Math.max(1, v.answers!.answerableCount) };
    const path = (pick: (s: (typeof sweep)[number]) => number, of: number) =>
      sweep.map((s, i) => `${i ? "L" : "M"}${x(s.minScore)},${y(pick(s) / of)}`).join(" ");
    return [
      `<path d="${path((s) => s.unanswerableDeclined, total.unanswerable)}" fill="none" stroke="${color}" stroke-width="2"><title>${escape(v.name)}: unanswerable declined</title></path>`,
      `<path d="${path((s) => s.answerableDeclined, total.answerable)}" fill="none" stroke="${color}" stroke-width="2" stroke-dasharray="5 3"><title>${escape(v.name)}: answerable wrongly declined</title></path>`,
    ];
  });
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="45" x2="550" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="40" y="${y(v) + 4}" text-anchor="end">${v * 100}%</text><text x="${x(v)}" y="228" text-anchor="middle">${v}</text>`,
    )
    .join("");
  return `<h2>Evidence gate: cut-off sweep</h2><p>Solid: unanswerable questions declined; dashed: answerable questions wrongly declined (x: cut-off on the re-ranker's evidence score).</p><svg viewBox="0 0 600 240" width="600" height="240" role="img" aria-label="cut-off sweep">${grid}${lines.join("")}</svg>`;
}

/** The queries re-ranking moved most, in both directions, for each re-ranker. */
function winsAndLosses(result: EvalResult, variant: string, count = 10): string {
  const moved = result.queries
    .filter((q) => q.ndcg[variant] !== undefined && q.ndcg["first-stage"] !== undefined)
    .map((q) => ({ q, delta: q.ndcg[variant]! - q.ndcg["first-stage"]! }))
    .filter((m) => Math.abs(m.delta) > 1e-9)
    .sort((a, b) => b.delta - a.delta);
  const rank = (r: number | null | undefined) => (r ? `#${r}` : "–");
  const row = ({ q, delta }: (typeof moved)[number]) =>
    `<tr><td>${escape(q.text)}</td><td>${escape(q.gold.slice(0, 2).join(", "))}</td><td>${rank(q.firstRelevantRank["first-stage"])} → ${rank(q.firstRelevantRank[variant])}</td><td class="${delta > 0 ? "win" : "loss"}">${delta > 0 ? "+" : ""}${delta.toFixed(3)}</td></tr>`;
  const head = "<tr><th>query</th><th>gold</th><th>first relevant: before → after</th><th>ΔnDCG@10</th></tr>";
  return `<h3>${escape(variant)}: biggest wins</h3><table>${head}${moved.slice(0, count).map(row).join("")}</table>
<h3>${escape(variant)}: biggest losses</h3><table>${head}${moved
    .slice(-count)
    .reverse()
    .filter((m) => m.delta < 0)
    .map(row)
    .join("")}</table>`;
}

/** A self-contained HTML report (inline CSS and SVG, no network needed to render it). */
export function renderHtmlReport(result: EvalResult, verdicts: Verdict[] = []): string {
  const { dataset, settings, variants } = result;
  const table = `<table><tr><th>variant</th>${METRICS.map((m) => `<th>${m}</th>`).join("")}<th>ΔnDCG@10 vs first stage [95% CI]</th><th>p</th><th>total p50 / p95 ms</th></tr>${variants
    .map(
      (v) =>
        `<tr><td>${escape(v.name)}</td>${METRICS.map((m) => `<td>${v.metrics[m].toFixed(3)}</td>`).join("")}<td>${
          v.vsFirstStage ? `${v.vsFirstStage.meanDifference.toFixed(3)} [${v.vsFirstStage.ci95.map((x) => x.toFixed(3)).join(", ")}]` : "baseline"
        }</td><td>${v.vsFirstStage ? v.vsFirstStage.pValue.toPrecision(2) : ""}</td><td>${v.latency.total.p50.toFixed(1)} / ${v.latency.total.p95.toFixed(1)}</td></tr>`,
    )
    .join("")}</table>`;
  const legend = variants.map((v, i) => `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${escape(v.name)}</span>`).join(" ");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rerank-rag eval: ${escape(dataset.name)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}.win{color:#1d7a3a}.loss{color:#b03030}svg text{font:11px system-ui,sans-serif}
.legend span{margin-right:1rem}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
</style></head><body>
<h1>Re-ranking evaluation: ${escape(dataset.name)}</h1>
<p>${dataset.queries} queries, ${dataset.scoredQueries} scored (${dataset.judgedQueries} with judgments) · embeddings=${escape(settings.embedder)} · HNSW top ${settings.fetchK} → top ${settings.topN} · chunks ${settings.chunkSize}/${settings.chunkOverlap}</p>
${dataset.leftOut.length ? `<p>Left out of every average, as they cannot be scored:</p><ul>${dataset.leftOut.map((q) => `<li>${escape(q.id)}: ${escape(q.reason)}</li>`).join("")}</ul>` : ""}
<h2>Metrics</h2>${table}
${verdicts.length ? `<h2>Verdict</h2><ul>${verdicts.map((v) => `<li>${escape(v.text)}</li>`).join("")}</ul>` : ""}
<h2>Quality/latency frontier</h2>${frontierChart(variants)}
<div class="legend">${legend}</div>${metricsChart(variants)}
${sweepChart(variants)}
<h2>Latency per stage (p50 bar, p95 whisker)</h2>${latencyChart(variants)}
<h2>Where re-ranking changed the result</h2>${variants
    .filter((v) => v.vsFirstStage)
    .map((v) => winsAndLosses(result, v.name))
    .join("")}
</body></html>
`;
}
