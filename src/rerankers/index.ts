// The re-rankers, for `import { … } from "rerank-rag/rerankers"`: each is a LangChain
// BaseDocumentCompressor, so it also works in a stock ContextualCompressionRetriever or
// DocumentCompressorPipeline. The Cohere re-ranker is `rerank-rag/cohere`: its SDK is optional.
export { Bm25Reranker, DEFAULT_FIRST_STAGE_WEIGHT, type Bm25RerankerOptions } from "./bm25-reranker.js";
export { CrossEncoderReranker, DEFAULT_CROSS_ENCODER, type CrossEncoderRerankerOptions } from "./cross-encoder-reranker.js";
export { HttpReranker, type HttpRerankerOptions, type RerankWire } from "./http-reranker.js";
export { TeiReranker, createTeiReranker, TEI_WIRE } from "./tei-reranker.js";
export { JinaReranker, createJinaReranker, DEFAULT_JINA_RERANK_MODEL, DEFAULT_JINA_BASE_URL, JINA_WIRE } from "./jina-reranker.js";
export { VoyageReranker, createVoyageReranker, DEFAULT_VOYAGE_RERANK_MODEL, DEFAULT_VOYAGE_BASE_URL, VOYAGE_WIRE } from "./voyage-reranker.js";
export { rerankDocuments, type RerankOptions, type RerankResult } from "./rerank-function.js";
export { CorpusStats } from "../text/corpus-stats.js";
export { createReranker, resolveReranker, RERANKERS, type ConcreteReranker, type RerankerContext, type ResolvedReranker } from "./registry.js";
export { createRerankerFromSpec, type BuiltReranker } from "./registry.js";
export { RerankCascade, type CascadeStage, type CascadeStageReport } from "./cascade.js";
export { decideRerank, rerankSignals, adaptiveRule, DEFAULT_ADAPTIVE_RULE, type AdaptiveRule, type AdaptiveDecision, type RerankSignals } from "./adaptive.js";
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
