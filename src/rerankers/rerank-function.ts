import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { UsageError } from "../errors/index.js";
import { describeValue } from "../util/describe-value.js";

export interface RerankOptions {
  /** Keep only the best N (all the re-ranker returns when unset). */
  topN?: number;
}

/** One re-ranked input: its position in the input, its re-rank score, and the input itself. */
export interface RerankResult<D> {
  index: number;
  score: number;
  document: D;
}

/** Where a copy came from: a metadata key the re-rankers carry through and the result drops. */
const INPUT_INDEX = "rerankInputIndex";

/**
 * The plain-function face of a re-ranker (as the AI SDK's `rerank()` and `CohereRerank.rerank`):
 * scores texts or documents against the query and returns `{ index, score, document }` best first,
 * `document` being the input as given. The re-ranker sees copies, so no input is changed.
 */
export async function rerankDocuments<D extends string | DocumentInterface>(
  reranker: BaseDocumentCompressor,
  query: string,
  documents: readonly D[],
  { topN }: RerankOptions = {},
): Promise<Array<RerankResult<D>>> {
  checkCall(query, documents, topN);
  const copies = documents.map((input: string | DocumentInterface, index) =>
    typeof input === "string"
      ? new Document({ pageContent: input, metadata: { [INPUT_INDEX]: index } })
      : new Document({ pageContent: input.pageContent, metadata: { ...input.metadata, [INPUT_INDEX]: index }, id: input.id }),
  );
  const ranked = await reranker.compressDocuments(copies, query);
  const results = ranked.map((doc) => {
    const index = doc.metadata[INPUT_INDEX] as number;
    const { rerankScore, relevanceScore } = doc.metadata as { rerankScore?: unknown; relevanceScore?: unknown };
    return { index, score: Number(rerankScore ?? relevanceScore), document: documents[index]! };
  });
  return topN === undefined ? results : results.slice(0, topN);
}

/** A call's arguments, checked before any re-ranker sees them (it would fail deep inside: "documents.map is not a function"). */
function checkCall(query: unknown, documents: unknown, topN: unknown): void {
  const hint = 'Call rerank(query, documents, { topN }), e.g. rerank("How do I rotate keys?", ["Keys rotate yearly.", "Webhooks retry."], { topN: 1 }).';
  if (typeof query !== "string") throw new UsageError(`The query must be a string; got ${describeValue(query)}.`, { hint });
  if (!query.trim()) throw new UsageError("The query is empty.", { hint });
  if (!Array.isArray(documents)) throw new UsageError(`documents must be an array of strings or Documents; got ${describeValue(documents)}.`, { hint });
  documents.forEach((document: unknown, i) => {
    const isDocument = typeof (document as { pageContent?: unknown } | null)?.pageContent === "string";
    if (typeof document !== "string" && !isDocument) {
      throw new UsageError(`documents[${i}] must be a string or a Document; got ${describeValue(document)}.`, { hint });
    }
  });
  if (topN !== undefined && !(typeof topN === "number" && Number.isInteger(topN) && topN >= 1)) {
    throw new UsageError(`topN must be a whole number of at least 1, got ${describeValue(topN)}.`, {
      setting: "topN",
      hint: "Leave it out to keep every document.",
    });
  }
}
