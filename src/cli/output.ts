import type { DocumentInterface } from "@langchain/core/documents";
import { FLAG_FOR_KEY, type ConfigKey } from "../config/index.js";
import type { RagError } from "../errors/index.js";
import { sourceLabel } from "../llms/prompt.js";

const useColor = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";

function paint(code: number, stream: NodeJS.WriteStream) {
  return (text: string) => (useColor(stream) ? `\u001b[${code}m${text}\u001b[0m` : text);
}

export const dim = paint(2, process.stderr);
export const bold = paint(1, process.stdout);
export const red = paint(31, process.stderr);
export const yellow = paint(33, process.stderr);

/** The library's option names for settings the CLI sets by flag. */
const KEY_FOR_OPTION: Record<string, ConfigKey> = { fetchK: "RAG_FETCH_K", topN: "RAG_TOP_N" };

/** A library error's hint, with the command-line flag for the setting it names (library hints name options and keys). */
export function cliHint({ hint, setting }: Pick<RagError, "hint" | "setting">): string | undefined {
  const flag = setting && FLAG_FOR_KEY[(KEY_FOR_OPTION[setting] ?? setting) as ConfigKey];
  return hint && flag ? `${hint} On the command line: ${flag}.` : hint;
}

/** Progress and notes go to stderr so stdout stays the answer (or JSON). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

function fixed(value: unknown, digits: number): string {
  return typeof value === "number" ? value.toFixed(digits) : "–";
}

/** One source line: final rank, re-rank score and rank before re-ranking. */
export function formatSourceLine(doc: DocumentInterface, index: number): string {
  const m = doc.metadata as Record<string, unknown>;
  const reranked = m.rerankRank !== undefined ? `rerank ${fixed(m.rerankScore, 3)}  ` : "";
  return `[${index + 1}] ${sourceLabel(doc)}\n    ${reranked}first stage #${m.retrievalRank ?? "?"} (score ${fixed(m.retrievalScore, 3)})`;
}

/** A source as plain data for --json output. */
export function sourceJson(doc: DocumentInterface, index: number) {
  const m = doc.metadata as Record<string, unknown>;
  return {
    rank: index + 1,
    source: m.relativePath ?? m.source,
    path: m.source,
    heading: m.heading,
    page: m.page,
    chunkId: m.chunkId,
    retrievalRank: m.retrievalRank,
    retrievalScore: m.retrievalScore,
    rerankRank: m.rerankRank,
    rerankScore: m.rerankScore,
    ...(m.rerankWarning ? { rerankWarning: m.rerankWarning } : {}),
    text: doc.pageContent,
  };
}
