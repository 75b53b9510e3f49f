import { DEFAULT_VOYAGE_BASE_URL } from "../providers/endpoint.js";
import { requireKey, type RagConfig } from "../config/index.js";
import { HttpReranker, type HttpRerankerOptions, type RerankWire } from "./http-reranker.js";

export const DEFAULT_VOYAGE_RERANK_MODEL = "rerank-2.5";

/**
 * Voyage AI's rerank API: POST /v1/rerank with `{ model, query, documents, top_k, return_documents,
 * truncation }` and a bearer key, answered by `{ object: "list", data: [{ index, relevance_score }],
 * model, usage }`. Errors come as `{ detail }`.
 */
// Format: https://docs.voyageai.com/reference/reranker-api (at most 1,000 documents per request).
export const VOYAGE_WIRE: RerankWire = {
  provider: "voyage",
  api: "Voyage's rerank API or a server speaking it (the client posts to <base>/rerank; the default base is https://api.voyageai.com/v1)",
  keyName: "VOYAGE_API_KEY",
  baseUrlName: "VOYAGE_BASE_URL",
  body: (query, documents, model, topN) => ({ model, query, documents, return_documents: false, truncation: true, ...(topN ? { top_k: topN } : {}) }),
  results: (body) => (body as { data?: unknown } | null)?.data,
  scoreField: "relevance_score",
  read: ({ index, relevance_score }) => ({ index, score: relevance_score }),
};

/** Voyage AI's hosted re-ranker (or a server speaking its API). */
export class VoyageReranker extends HttpReranker {
  constructor(options: Partial<HttpRerankerOptions> = {}) {
    super(VOYAGE_WIRE, { baseUrl: DEFAULT_VOYAGE_BASE_URL, model: DEFAULT_VOYAGE_RERANK_MODEL, ...options });
  }
}

/** The Voyage re-ranker as configured: VOYAGE_API_KEY (required), VOYAGE_BASE_URL, RAG_RERANKER_MODEL, timeout and retries. */
export function createVoyageReranker(config: RagConfig, options: Omit<HttpRerankerOptions, "baseUrl" | "apiKey"> = {}): VoyageReranker {
  return new VoyageReranker({
    apiKey: requireKey(config.VOYAGE_API_KEY, "VOYAGE_API_KEY", "re-ranker"),
    baseUrl: config.VOYAGE_BASE_URL ?? DEFAULT_VOYAGE_BASE_URL,
    model: config.RAG_RERANKER_MODEL ?? DEFAULT_VOYAGE_RERANK_MODEL,
    timeoutMs: config.RAG_TIMEOUT_MS,
    maxRetries: config.RAG_MAX_RETRIES,
    ...options,
  });
}

export { DEFAULT_VOYAGE_BASE_URL };
