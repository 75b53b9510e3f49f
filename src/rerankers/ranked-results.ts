import { Document, type DocumentInterface } from "@langchain/core/documents";
import { ProviderError } from "../errors/index.js";
import { invalidResponse, type ProviderEndpoint } from "../providers/provider-failure.js";

/** One result of a remote re-ranker: which candidate, and its score. */
export interface RankedIndex {
  index: number;
  score: number;
}

/**
 * A server's results, checked: distinct in-range indices with finite scores, or the ranking is
 * meaningless. `scoreField` is the wire name of the score, for the message.
 */
export function checkRankedResults(
  results: unknown,
  count: number,
  endpoint: ProviderEndpoint,
  { scoreField, read }: { scoreField: string; read: (result: Record<string, unknown>) => { index: unknown; score: unknown } },
): RankedIndex[] {
  const fail = (detail: string): never => {
    throw invalidResponse(endpoint, detail);
  };
  if (!Array.isArray(results)) return fail("results is not an array");
  const seen = new Set<number>();
  return results.map((result: unknown, i) => {
    const { index, score } = read((result ?? {}) as Record<string, unknown>);
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
      return fail(`results[${i}].index ${JSON.stringify(index)} is not a candidate index 0..${count - 1}`);
    }
    if (seen.has(index)) return fail(`results[${i}].index ${index} appears twice`);
    if (typeof score !== "number" || !Number.isFinite(score)) {
      return fail(`results[${i}].${scoreField} ${JSON.stringify(score)} is not a finite number`);
    }
    seen.add(index);
    return { index, score };
  });
}

/** A copy of a document with extra metadata: re-rankers never write into their inputs. */
export function copyWith(doc: DocumentInterface, extra: Record<string, unknown>): Document {
  return new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, ...extra }, id: doc.id });
}

/**
 * Runs a remote re-rank; with `onError: "fallback"` a ProviderError keeps the first-stage order
 * (topN of it) with a `rerankWarning` instead of failing the query. No candidates, no call.
 */
export async function rankOrKeepOrder(
  documents: DocumentInterface[],
  { provider, topN, onError }: { provider: string; topN?: number; onError: "error" | "fallback" },
  rank: () => Promise<DocumentInterface[]>,
): Promise<DocumentInterface[]> {
  if (documents.length === 0) return [];
  try {
    return await rank();
  } catch (error) {
    if (onError === "error" || !ProviderError.isInstance(error)) throw error;
    const kept = topN === undefined ? documents : documents.slice(0, topN);
    return kept.map((doc) => copyWith(doc, { rerankWarning: `${provider} re-rank failed (${error.detail}); first-stage order kept` }));
  }
}
