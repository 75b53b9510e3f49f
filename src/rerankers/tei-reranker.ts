import type { RagConfig } from "../config/index.js";
import { UsageError } from "../errors/index.js";
import { HttpReranker, type HttpRerankerOptions, type RerankWire } from "./http-reranker.js";

/**
 * Hugging Face Text Embeddings Inference serving a cross-encoder: POST /rerank with `{ query, texts,
 * truncate, truncation_direction, raw_scores, return_text }`, answered by a JSON array of
 * `{ index, score, text? }` (every text, best first; the model is the server's). At most
 * --max-client-batch-size texts per request (32 by default; more is a 422), so longer lists go in
 * several requests. Errors come as `{ error, error_type }` (`Empty` 400, `Validation`/`Tokenizer` 422,
 * `Backend` 424, `Overloaded` 429, `Unhealthy` 503).
 */
// Format: huggingface/text-embeddings-inference router/src/http/types.rs (RerankRequest, Rank) and server.rs (rerank), 0d124dc.
export const TEI_WIRE: RerankWire = {
  provider: "tei",
  api: "the root of a Text Embeddings Inference server serving a re-ranker (the client posts to <base>/rerank)",
  keyName: "TEI_API_KEY",
  baseUrlName: "TEI_BASE_URL",
  // truncate: long chunks are cut (right) rather than refused; sigmoid scores (0–1), not raw logits.
  body: (query, texts) => ({ query, texts, truncate: true, truncation_direction: "Right", raw_scores: false, return_text: false }),
  results: (body) => body,
  scoreField: "score",
  read: ({ index, score }) => ({ index, score }),
  maxBatch: 32,
};

/** A re-ranker served by Text Embeddings Inference (scores are sigmoid(logit), 0–1). */
export class TeiReranker extends HttpReranker {
  constructor(options: HttpRerankerOptions) {
    super(TEI_WIRE, options);
  }
}

/** The TEI re-ranker as configured: TEI_BASE_URL (required), TEI_API_KEY, timeout and retries. */
export function createTeiReranker(config: RagConfig, options: Omit<HttpRerankerOptions, "baseUrl" | "apiKey"> = {}): TeiReranker {
  if (!config.TEI_BASE_URL) {
    throw new UsageError("TEI_BASE_URL is not set, but the tei re-ranker needs the server's address.", {
      setting: "TEI_BASE_URL",
      hint: "Set TEI_BASE_URL to the root of your Text Embeddings Inference server, e.g. http://gpu-box:8080 (serving a re-ranker model).",
    });
  }
  return new TeiReranker({
    baseUrl: config.TEI_BASE_URL,
    apiKey: config.TEI_API_KEY,
    timeoutMs: config.RAG_TIMEOUT_MS,
    maxRetries: config.RAG_MAX_RETRIES,
    ...options,
  });
}
