import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { DocumentInterface } from "@langchain/core/documents";
import type { Serialized } from "@langchain/core/load/serializable";
import { FIRST_STAGE_TAG, RERANK_EVENT, type RerankEvent } from "./reranking-retriever.js";

/**
 * A callback handler that keeps the candidates of a re-ranking retriever's first stage, in
 * first-stage order with `retrievalScore`/`retrievalRank`, and what the re-ranking step did
 * (its `rerank` event: adaptive decision, cascade stages): pass it in `callbacks` to show what
 * re-ranking changed without retrieving (and embedding the question) a second time.
 */
export class FirstStageCollector extends BaseCallbackHandler {
  name = "FirstStageCollector";
  /** The first stage's candidates of the last run seen (all fetchK of them); null before any. */
  documents: DocumentInterface[] | null = null;
  /** The `rerank` event of the last run seen; null before any. */
  rerank: RerankEvent | null = null;
  private readonly runs = new Set<string>();

  constructor() {
    // Awaited, not run in the background: the documents are there when the call returns.
    // Only retriever and custom events are read: chain and LLM events (one per token) are not dispatched here.
    super({ _awaitHandler: true, ignoreChain: true, ignoreLLM: true });
  }

  override handleRetrieverStart(_retriever: Serialized, _query: string, runId: string, _parentRunId?: string, tags?: string[]): void {
    if (tags?.includes(FIRST_STAGE_TAG)) this.runs.add(runId);
  }

  override handleRetrieverEnd(documents: DocumentInterface[], runId: string): void {
    if (this.runs.delete(runId)) this.documents = documents;
  }

  override handleCustomEvent(eventName: string, data: unknown): void {
    if (eventName === RERANK_EVENT) this.rerank = data as RerankEvent;
  }
}
