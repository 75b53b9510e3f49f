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
  type FilterableRetriever,
  type CascadeStageInput,
} from "./reranking-retriever.js";
export { ChunkFilter, type ChunkFilterSpec, type FilterValue } from "../src/store/chunk-filter.js";
export {
  createAnswerChain,
  NOT_ANSWERED,
  NOTHING_RETRIEVED,
  type AnswerChain,
  type AnswerChainOptions,
  type AnswerChunk,
  type AnswerInput,
  type AnswerOutput,
} from "./answer-chain.js";
export { FirstStageCollector } from "./first-stage-collector.js";
