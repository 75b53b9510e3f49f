import { CohereRerank } from "@langchain/cohere";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { CohereClient, CohereEnvironment, CohereError, CohereTimeoutError } from "cohere-ai";
import { loadConfig, type RagConfig } from "../config/index.js";
import { EXIT_USAGE, ProviderError } from "../errors/index.js";
import { createCohereClient } from "../providers/cohere-client.js";

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

/** What the client was built with; Fern keeps it in `_options` (protected in the typings). Read for messages only. */
interface ClientSettings {
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  token?: string;
}

function clientSettings(client: CohereClient): ClientSettings {
  const options = (client as unknown as { _options?: Record<string, unknown> })._options ?? {};
  const url = [options.baseUrl, options.environment].find((value): value is string => typeof value === "string");
  const seconds = options.timeoutInSeconds;
  return {
    baseUrl: url ?? CohereEnvironment.Production,
    // The client's own defaults: 300 s and 2 retries.
    timeoutMs: typeof seconds === "number" ? seconds * 1000 : 300_000,
    maxRetries: typeof options.maxRetries === "number" ? options.maxRetries : 2,
    token: typeof options.token === "string" ? options.token : undefined,
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
export class CohereReranker extends BaseDocumentCompressor {
  readonly model: string;
  readonly topN?: number;
  readonly onError: "error" | "fallback";
  private readonly reranker: CohereRerank;
  private readonly settings: ClientSettings;

  constructor({ client, model = DEFAULT_COHERE_RERANK_MODEL, topN, onError = "error" }: CohereRerankerOptions = {}) {
    super();
    const cohere = client ?? createCohereClient(loadConfig(), "reranker");
    this.model = model;
    this.topN = topN;
    this.onError = onError;
    this.settings = clientSettings(cohere);
    this.reranker = new CohereRerank({ client: cohere, model });
  }

  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    if (documents.length === 0) return [];
    try {
      return await this.rerank(documents, query);
    } catch (error) {
      if (this.onError === "error" || !(error instanceof ProviderError)) throw error;
      const reason = error.message.slice(`${error.provider}: `.length);
      const kept = this.topN === undefined ? documents : documents.slice(0, this.topN);
      return kept.map((doc) => copy(doc, { rerankWarning: `cohere re-rank failed (${reason}); first-stage order kept` }));
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
    const ranked = validate(results, documents.length);
    // Stable sort: servers should send results best first, but a self-hosted one may not.
    ranked.sort((l, r) => r.relevanceScore - l.relevanceScore);
    return ranked.slice(0, topN).map(({ index, relevanceScore }) => copy(documents[index]!, { rerankScore: relevanceScore }));
  }

  /** Maps a client failure to a ProviderError naming the cause; the API key never appears. */
  private describe(error: unknown): ProviderError {
    const { baseUrl, timeoutMs, maxRetries, token } = this.settings;
    const clean = (text: string) => (token ? text.split(token).join("<redacted>") : text);
    // Node's fetch rejects with the abort reason ("timeout"), not an AbortError, so cohere-ai
    // 7.21 misses its own timeout and reports CohereError('"timeout"') (core/fetcher/Fetcher.js).
    const timedOut = error instanceof CohereTimeoutError || (error instanceof CohereError && error.statusCode === undefined && error.message === '"timeout"');
    if (timedOut) {
      return new ProviderError("cohere", `re-rank request to ${baseUrl} timed out after ${timeoutMs} ms`, {
        hint: "Raise RAG_TIMEOUT_MS, or check that the server is up and not overloaded.",
        cause: error,
      });
    }
    if (!(error instanceof CohereError)) {
      // Raised while reading the body: not JSON (the client then has no `results` to map) or not an object.
      const detail = error instanceof TypeError ? "no results array in the body" : clean(String((error as Error)?.message ?? error));
      return invalidResponse(detail, error);
    }
    const status = error.statusCode;
    if (status === undefined) {
      const detail = clean(error.message.split("\n")[0] ?? "");
      return new ProviderError("cohere", `could not reach ${baseUrl} (${detail})`, {
        hint: "Check COHERE_BASE_URL and that the server is running and reachable.",
      });
    }
    const message = clean(serverMessage(error.body));
    const said = message ? `: ${message}` : "";
    if (status === 401 || status === 403 || status === 498) {
      return new ProviderError("cohere", `the server rejected the API key (HTTP ${status})${said}`, {
        hint: "Check COHERE_API_KEY (and COHERE_BASE_URL if you use a self-hosted server).",
        exitCode: EXIT_USAGE,
      });
    }
    if (status === 400 || status === 404 || status === 422) {
      return new ProviderError("cohere", `the server refused the re-rank request (HTTP ${status})${said}`, {
        hint:
          status === 404
            ? `COHERE_BASE_URL (${baseUrl}) must be the server's root: the client posts to <base>/v1/rerank.`
            : `Check the model (${this.model}, set with RAG_RERANKER_MODEL).`,
        exitCode: EXIT_USAGE,
      });
    }
    const attempts = status === 408 || status === 429 || status >= 500 ? ` after ${maxRetries + 1} attempt(s)` : "";
    return new ProviderError("cohere", `re-rank failed with HTTP ${status}${attempts}${said}`, {
      hint: status === 429 ? "You are rate-limited; wait, or raise RAG_MAX_RETRIES." : "Try again later, or use --reranker bm25 (offline).",
    });
  }
}

/** The server's own explanation from an error body ({message}, a string, or nothing), kept short. */
function serverMessage(body: unknown): string {
  const message = typeof body === "string" ? body : (body as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message.trim().slice(0, 300) : "";
}

function invalidResponse(detail: string, cause?: unknown): ProviderError {
  return new ProviderError("cohere", `the server sent an invalid rerank response (${detail})`, {
    hint: "COHERE_BASE_URL must point at a server implementing Cohere's /v1/rerank API.",
    cause,
  });
}

/** Results must be distinct in-range indices with finite scores, or the ranking is meaningless. */
function validate(results: unknown, count: number): Array<{ index: number; relevanceScore: number }> {
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

function fail(detail: string): never {
  throw invalidResponse(detail);
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
