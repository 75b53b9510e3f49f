// The Cohere re-ranker entry point, `rerank-rag/cohere`: apart from `rerank-rag/rerankers`, so
// importing that one never loads cohere-ai and @langchain/cohere (optional dependencies).
export { CohereReranker, createCohereReranker, DEFAULT_COHERE_RERANK_MODEL, type CohereRerankerOptions } from "./rerankers/cohere-reranker.js";
