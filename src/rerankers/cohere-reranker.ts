import { CohereRerank } from "@langchain/cohere";
import type { DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { type CohereClient, CohereEnvironment, CohereError, CohereTimeoutError } from "cohere-ai";
import { loadConfig, type RagConfig } from "../config/index.js";
import { secretsOf, type RagError } from "../errors/index.js";
import { createCohereClient } from "../providers/cohere-client.js";
import { describeProviderError, invalidResponse, type ProviderEndpoint } from "../providers/provider-failure.js";
import { checkRankedResults, copyWith, rankOrKeepOrder } from "./ranked-results.js";
import { rerankDocuments, type RerankOptions, type RerankResult } from "./rerank-function.js";
import { DEFAULT_MIN_SCORES, type WithDefaultMinScore } from "./cut-off.js";

export const DEFAULT_COHERE_RERANK_MODEL = "rerank-v3.5";

export interface CohereRerankerOptions {
  /** A configured client; defaults to one built from the environment (COHERE_API_KEY, COHERE_BASE_URL, …). */
  client?: CohereClient;
  /** Rerank model (default "rerank-v3.5"). */
  model?: string;
  /** Keep only the best N (all candidates are scored and returned when unset). */
  topN?: number;
  /** "error" throws a ProviderError; "fallback" keeps the first-stage order with a warning. */
  onError?: "error" | "fallback";
}

/**
 * Where the client sends requests and how, for failure messages. Fern keeps the client's
 * settings in `_options` (protected in the typings); read here for messages only.
 */
function endpointOf(client: CohereClient, model: string): ProviderEndpoint {
  const options = (client as unknown as { _options?: Record<string, unknown> })._options ?? {};
  const url = [options.baseUrl, options.environment].find((value): value is string => typeof value === "string");
  const seconds = options.timeoutInSeconds;
  return {
    provider: "cohere",
    operation: "rerank",
    baseUrl: url ?? CohereEnvironment.Production,
    // The client's own defaults: 300 s and 2 retries; it retries statuses only, not timeouts.
    timeoutMs: typeof seconds === "number" ? seconds * 1000 : 300_000,
    maxRetries: typeof options.maxRetries === "number" ? options.maxRetries : 2,
    retriesTimeouts: false,
    secrets: secretsOf({ COHERE_API_KEY: options.token, COHERE_BASE_URL: url }, process.env),
    keyName: "COHERE_API_KEY",
    baseUrlName: "COHERE_BASE_URL",
    modelName: "RAG_RERANKER_MODEL",
    model,
    api: "the root of a server implementing Cohere's /v1/rerank API (the client posts to <base>/v1/rerank)",
    offline: { setting: "RAG_RERANKER", value: "bm25" },
  };
}

/**
 * Cohere's hosted re-ranker (or any server speaking its /v1/rerank protocol). Returns scored
 * copies, best first; never mutates its inputs.
 *
 * Retries: the cohere-ai client retries 408, 429 and 5xx up to `maxRetries` with jittered
 * exponential backoff and honours Retry-After (seconds or HTTP date, capped at 60 s), so no
 * retry loop here. Timeouts and network errors are not retried; each attempt is bounded by
 * the client's timeout.
 */
export class CohereReranker extends BaseDocumentCompressor implements WithDefaultMinScore {
  /** The calibrated cut-off on its scores (see cut-off.ts). */
  readonly defaultMinScore = DEFAULT_MIN_SCORES.cohere;
  readonly model: string;
  readonly topN?: number;
  readonly onError: "error" | "fallback";
  private readonly reranker: CohereRerank;
  private readonly endpoint: ProviderEndpoint;

  constructor({ client, model = DEFAULT_COHERE_RERANK_MODEL, topN, onError = "error" }: CohereRerankerOptions = {}) {
    super();
    const cohere = client ?? createCohereClient(loadConfig(), "reranker");
    this.model = model;
    this.topN = topN;
    this.onError = onError;
    this.endpoint = endpointOf(cohere, model);
    this.reranker = new CohereRerank({ client: cohere, model });
  }

  compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    return rankOrKeepOrder(documents, { provider: "cohere", topN: this.topN, onError: this.onError }, () => this.rank(documents, query));
  }

  /** Scores texts or documents: `{ index, score, document }` best first (see rerankDocuments). */
  rerank<D extends string | DocumentInterface>(query: string, documents: readonly D[], options?: RerankOptions): Promise<Array<RerankResult<D>>> {
    return rerankDocuments(this, query, documents, options);
  }

  private async rank(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const topN = Math.min(this.topN ?? documents.length, documents.length);
    let results: unknown;
    try {
      // CohereRerank.rerank only returns {index, relevanceScore}; its compressDocuments would
      // write relevanceScore into the caller's documents, so it is not used.
      results = await this.reranker.rerank(documents, query, { topN, model: this.model });
    } catch (error) {
      throw this.describe(error);
    }
    const ranked = checkRankedResults(results, documents.length, this.endpoint, {
      scoreField: "relevance_score",
      read: ({ index, relevanceScore }) => ({ index, score: relevanceScore }),
    });
    // Stable sort: servers should send results best first, but a self-hosted one may not.
    ranked.sort((l, r) => r.score - l.score);
    return ranked.slice(0, topN).map(({ index, score }) => copyWith(documents[index]!, { rerankScore: score }));
  }

  /** Maps a client failure to a ProviderError naming the cause; the API key never appears. */
  private describe(error: unknown): RagError {
    if (error instanceof CohereError || error instanceof CohereTimeoutError) return describeProviderError(error, this.endpoint);
    // Raised while reading the body: not JSON (the client then has no `results` to map) or not an object.
    const detail = error instanceof TypeError ? "no results array in the body" : String((error as Error)?.message ?? error);
    return invalidResponse(this.endpoint, detail, error);
  }
}

/** The Cohere re-ranker as configured: RAG_RERANKER_MODEL, COHERE_API_KEY (required), COHERE_BASE_URL, timeout and retries. */
export function createCohereReranker(config: RagConfig, options: Omit<CohereRerankerOptions, "client"> = {}): CohereReranker {
  return new CohereReranker({
    model: config.RAG_RERANKER_MODEL,
    ...options,
    client: createCohereClient(config, "reranker"),
  });
}
