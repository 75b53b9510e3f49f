export {
  createRerankingRetriever,
  RerankingRetriever,
  RERANK_EVENT,
  FIRST_STAGE_TAG,
  type RerankEvent,
  type RerankCallSettings,
  type RerankingRetrieverOptions,
  type CascadeStageInput,
} from "./reranking-retriever.js";
export { createAnswerChain, NOTHING_RETRIEVED, type AnswerChainOptions, type AnswerInput, type AnswerOutput } from "./answer-chain.js";
export { FirstStageCollector } from "./first-stage-collector.js";
