export {
  createRerankingRetriever,
  RerankingRetriever,
  RERANK_EVENT,
  FIRST_STAGE_TAG,
  type RerankEvent,
  type RerankCallSettings,
  type RerankingRetrieverOptions,
} from "./reranking-retriever.js";
export { createAnswerChain, NOT_ANSWERED, NOTHING_RETRIEVED, type AnswerChainOptions, type AnswerInput, type AnswerOutput } from "./answer-chain.js";
export { FirstStageCollector } from "./first-stage-collector.js";
