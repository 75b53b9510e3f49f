export {
  createRerankingRetriever,
  RerankingRetriever,
  RERANK_EVENT,
  type RerankEvent,
  type RerankCallSettings,
  type RerankingRetrieverOptions,
} from "./reranking-retriever.js";
export { createAnswerChain, NOTHING_RETRIEVED, type AnswerChainOptions, type AnswerInput, type AnswerOutput } from "./answer-chain.js";
