import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";

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
