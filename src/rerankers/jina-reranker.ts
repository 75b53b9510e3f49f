import { DEFAULT_JINA_BASE_URL } from "../providers/endpoint.js";
import { requireKey, type RagConfig } from "../config/index.js";
import { HttpReranker, type HttpRerankerOptions, type RerankWire } from "./http-reranker.js";

export const DEFAULT_JINA_RERANK_MODEL = "jina-reranker-v2-base-multilingual";

/**
 * Jina AI's rerank API: POST /v1/rerank with `{ model, query, documents, top_n, return_documents }`
 * and a bearer key, answered by `{ model, usage, results: [{ index, relevance_score }] }`.
 * Errors come as `{ detail }`.
 */
// Format: Jina's reranker API (https://jina.ai/reranker, server https://api.jina.ai/v1, POST /rerank), as its OpenAPI description gives it.
export const JINA_WIRE: RerankWire = {
  provider: "jina",
  api: "Jina's rerank API or a server speaking it (the client posts to <base>/rerank; the default base is https://api.jina.ai/v1)",
  keyName: "JINA_API_KEY",
  baseUrlName: "JINA_BASE_URL",
  body: (query, documents, model, topN) => ({ model, query, documents, return_documents: false, ...(topN ? { top_n: topN } : {}) }),
  results: (body) => (body as { results?: unknown } | null)?.results,
  scoreField: "relevance_score",
  read: ({ index, relevance_score }) => ({ index, score: relevance_score }),
};

/** Jina AI's hosted re-ranker (or a server speaking its API). */
export class JinaReranker extends HttpReranker {
  constructor(options: Partial<HttpRerankerOptions> = {}) {
    super(JINA_WIRE, { baseUrl: DEFAULT_JINA_BASE_URL, model: DEFAULT_JINA_RERANK_MODEL, ...options });
  }
}

/** The Jina re-ranker as configured: JINA_API_KEY (required), JINA_BASE_URL, RAG_RERANKER_MODEL, timeout and retries. */
export function createJinaReranker(config: RagConfig, options: Omit<HttpRerankerOptions, "baseUrl" | "apiKey"> = {}): JinaReranker {
  return new JinaReranker({
    apiKey: requireKey(config.JINA_API_KEY, "JINA_API_KEY", "re-ranker"),
    baseUrl: config.JINA_BASE_URL ?? DEFAULT_JINA_BASE_URL,
    model: config.RAG_RERANKER_MODEL ?? DEFAULT_JINA_RERANK_MODEL,
    timeoutMs: config.RAG_TIMEOUT_MS,
    maxRetries: config.RAG_MAX_RETRIES,
    ...options,
  });
}

export { DEFAULT_JINA_BASE_URL };
