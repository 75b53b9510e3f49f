// The re-rankers, for `import { … } from "rerank-rag/rerankers"`: each is a LangChain
// BaseDocumentCompressor, so it also works in a stock ContextualCompressionRetriever or
// DocumentCompressorPipeline.
export { Bm25Reranker, DEFAULT_FIRST_STAGE_WEIGHT, type Bm25RerankerOptions } from "./bm25-reranker.js";
export { CrossEncoderReranker, DEFAULT_CROSS_ENCODER, type CrossEncoderRerankerOptions } from "./cross-encoder-reranker.js";
export { CohereReranker, createCohereReranker, DEFAULT_COHERE_RERANK_MODEL, type CohereRerankerOptions } from "./cohere-reranker.js";
export { CorpusStats } from "../text/corpus-stats.js";
export { createReranker, resolveReranker, RERANKERS, type ConcreteReranker, type RerankerContext, type ResolvedReranker } from "./registry.js";
export {
  DEFAULT_MIN_SCORES,
  defaultMinScoreOf,
  evidenceScore,
  isBelowCutOff,
  judgeEvidence,
  parseMinScore,
  resolveMinScore,
  type EvidenceVerdict,
  type MinScoreSetting,
  type WithDefaultMinScore,
} from "./cut-off.js";
