import { CohereRerank } from "@langchain/cohere";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { type CohereClient, CohereEnvironment, CohereError, CohereTimeoutError } from "cohere-ai";
import { loadConfig, type RagConfig } from "../config/index.js";
import { ProviderError, secretsOf, type RagError } from "../errors/index.js";
import { createCohereClient } from "../providers/cohere-client.js";
import { describeProviderError, invalidResponse, type ProviderEndpoint } from "../providers/provider-failure.js";
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

  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    if (documents.length === 0) return [];
    try {
      return await this.rerank(documents, query);
    } catch (error) {
      if (this.onError === "error" || !ProviderError.isInstance(error)) throw error;
      const kept = this.topN === undefined ? documents : documents.slice(0, this.topN);
      return kept.map((doc) => copy(doc, { rerankWarning: `cohere re-rank failed (${error.detail}); first-stage order kept` }));
    }
  }

  private async rerank(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const topN = Math.min(this.topN ?? documents.length, documents.length);
    let results: unknown;
    try {
      // CohereRerank.rerank only returns {index, relevanceScore}; its compressDocuments would
      // write relevanceScore into the caller's documents, so it is not used.
      results = await this.reranker.rerank(documents, query, { topN, model: this.model });
    } catch (error) {
      throw this.describe(error);
    }
    const ranked = validate(results, documents.length, this.endpoint);
    // Stable sort: servers should send results best first, but a self-hosted one may not.
    ranked.sort((l, r) => r.relevanceScore - l.relevanceScore);
    return ranked.slice(0, topN).map(({ index, relevanceScore }) => copy(documents[index]!, { rerankScore: relevanceScore }));
  }

  /** Maps a client failure to a ProviderError naming the cause; the API key never appears. */
  private describe(error: unknown): RagError {
    if (error instanceof CohereError || error instanceof CohereTimeoutError) return describeProviderError(error, this.endpoint);
    // Raised while reading the body: not JSON (the client then has no `results` to map) or not an object.
    const detail = error instanceof TypeError ? "no results array in the body" : String((error as Error)?.message ?? error);
    return invalidResponse(this.endpoint, detail, error);
  }
}

/** Results must be distinct in-range indices with finite scores, or the ranking is meaningless. */
function validate(results: unknown, count: number, endpoint: ProviderEndpoint): Array<{ index: number; relevanceScore: number }> {
  const fail = (detail: string): never => {
    throw invalidResponse(endpoint, detail);
  };
  if (!Array.isArray(results)) return fail("results is not an array");
  const seen = new Set<number>();
  return results.map((result: unknown, i) => {
    const { index, relevanceScore } = (result ?? {}) as { index?: unknown; relevanceScore?: unknown };
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count) {
      return fail(`results[${i}].index ${JSON.stringify(index)} is not a candidate index 0..${count - 1}`);
    }
    if (seen.has(index)) return fail(`results[${i}].index ${index} appears twice`);
    if (typeof relevanceScore !== "number" || !Number.isFinite(relevanceScore)) {
      return fail(`results[${i}].relevance_score ${JSON.stringify(relevanceScore)} is not a finite number`);
    }
    seen.add(index);
    return { index, relevanceScore };
  });
}

function copy(doc: DocumentInterface, extra: Record<string, unknown>): Document {
  return new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, ...extra }, id: doc.id });
}

/** The Cohere re-ranker as configured: RAG_RERANKER_MODEL, COHERE_API_KEY (required), COHERE_BASE_URL, timeout and retries. */
export function createCohereReranker(config: RagConfig, options: Omit<CohereRerankerOptions, "client"> = {}): CohereReranker {
  return new CohereReranker({
    model: config.RAG_RERANKER_MODEL,
    ...options,
    client: createCohereClient(config, "reranker"),
  });
}
