export {
  createRerankingRetriever,
  RerankingRetriever,
  RERANK_EVENT,
  FIRST_STAGE_TAG,
  type RerankEvent,
  type RerankedDocument,
  type RerankedMetadata,
  type RerankCallSettings,
  type RerankingRetrieverOptions,
} from "./reranking-retriever.js";
export {
  createAnswerChain,
  NOTHING_RETRIEVED,
  type AnswerChain,
  type AnswerChainOptions,
  type AnswerChunk,
  type AnswerInput,
  type AnswerOutput,
} from "./answer-chain.js";
export { FirstStageCollector } from "./first-stage-collector.js";
