import type { DocumentInterface } from "@langchain/core/documents";
import { sourceLabel } from "../llms/prompt.js";
import { evidenceScore } from "../rerankers/cut-off.js";
import { printable } from "./output.js";

function fixed(value: unknown, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

/** A source's path and section on one line, its control characters escaped (a file name may hold any). */
export function shownLabel(doc: DocumentInterface): string {
  return printable(sourceLabel(doc));
}

/** One source line: final rank, re-rank score and rank before re-ranking. */
export function formatSourceLine(doc: DocumentInterface, index: number): string {
  const m = doc.metadata as Record<string, unknown>;
  // The evidence score is what the cut-off is held against (bm25's rerank score is relative).
  const evidence = typeof m.evidenceScore === "number" ? `evidence ${fixed(m.evidenceScore, 2)}  ` : "";
  // Without re-ranking the gate still judges by evidence: shown alone.
  const reranked = m.rerankRank !== undefined ? `rerank ${fixed(m.rerankScore, 3)}  ${evidence}` : evidence;
  return `[${index + 1}] ${shownLabel(doc)}\n    ${reranked}first stage #${typeof m.retrievalRank === "number" ? m.retrievalRank : "?"} (score ${fixed(m.retrievalScore, 3)})`;
}

/** A source as plain data for --json output. */
export function sourceJson(doc: DocumentInterface, index: number) {
  const m = doc.metadata as Record<string, unknown>;
  return {
    rank: index + 1,
    source: m.relativePath ?? m.source,
    path: m.source,
    heading: m.heading,
    headings: m.headings,
    page: m.page,
    chunkId: m.chunkId,
    retrievalRank: m.retrievalRank,
    retrievalScore: m.retrievalScore,
    rerankRank: m.rerankRank,
    rerankScore: m.rerankScore,
    ...(m.evidenceScore !== undefined ? { evidenceScore: m.evidenceScore } : {}),
    ...(m.rerankCutOff !== undefined ? { cutOff: m.rerankCutOff } : {}),
    ...(m.belowCutOff ? { belowCutOff: true } : {}),
    ...(m.rerankWarning ? { rerankWarning: m.rerankWarning } : {}),
    text: doc.pageContent,
  };
}

/** Why related sources do not answer: the best evidence and the cut-off it fell below ("best evidence 0.12 < cut-off 0.2"). */
export function belowCutOff(sources: readonly DocumentInterface[]): string {
  const scores = sources.map(evidenceScore).filter((s): s is number => s !== undefined);
  const cutOff: unknown = sources[0]?.metadata.rerankCutOff;
  if (!scores.length || typeof cutOff !== "number") return "below the re-ranker's cut-off";
  return `best evidence ${Math.max(...scores).toFixed(2)} < cut-off ${cutOff}`;
}
