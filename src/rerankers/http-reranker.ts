import type { DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { secretsOf, type RagError } from "../errors/index.js";
import { describeProviderError, httpFailure, invalidResponse, type ProviderEndpoint } from "../providers/provider-failure.js";
import { checkRankedResults, copyWith, rankOrKeepOrder } from "./ranked-results.js";
import { rerankDocuments, type RerankOptions, type RerankResult } from "./rerank-function.js";
import { callSignal } from "../util/call-signal.js";

/** One rerank API's wire format: where to post, the request body, and where the results are. */
export interface RerankWire {
  provider: "tei" | "jina" | "voyage";
  /** What the base URL must serve, for hints. */
  api: string;
  /** Setting names, for hints. */
  keyName: string;
  baseUrlName: string;
  /** Builds the JSON body; `topN` is absent when every candidate is wanted. */
  body(query: string, texts: string[], model: string | undefined, topN: number | undefined): Record<string, unknown>;
  /** The results array of a 200 body (undefined when it has none). */
  results(body: unknown): unknown;
  /** The wire name of the score and how to read a result. */
  scoreField: string;
  read(result: Record<string, unknown>): { index: unknown; score: unknown };
  /** The most texts the server takes in one request by default (the rest go in further requests); none when unlimited here. */
  maxBatch?: number;
}

export interface HttpRerankerOptions {
  /** The API root: POST <baseUrl>/rerank. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`; optional for a self-hosted server. */
  apiKey?: string;
  model?: string;
  /** Keep only the best N (all candidates are scored and returned when unset). */
  topN?: number;
  /** Texts per request, for a server whose limit differs from the API's default (TEI's --max-client-batch-size, 32). */
  batchSize?: number;
  /** Per attempt, in ms (default 30 s). */
  timeoutMs?: number;
  /** Retries of 408, 429 and 5xx answers, with backoff and Retry-After (default 2). */
  maxRetries?: number;
  /** "error" throws a ProviderError; "fallback" keeps the first-stage order with a warning. */
  onError?: "error" | "fallback";
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

const RETRY_AFTER_CAP_MS = 60_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retry-After in seconds or as an HTTP date, capped; otherwise jittered exponential backoff. */
function retryDelay(response: Response, attempt: number): number {
  const header = response.headers.get("retry-after");
  const seconds = header === null ? NaN : Number(header);
  const at = header === null ? NaN : Date.parse(header);
  const told = Number.isFinite(seconds) ? seconds * 1000 : Number.isFinite(at) ? at - Date.now() : NaN;
  if (Number.isFinite(told)) return Math.min(Math.max(told, 0), RETRY_AFTER_CAP_MS);
  return Math.min(250 * 2 ** attempt, 8000) * (0.75 + Math.random() / 2);
}

/** What an error body says: TEI's `error`, Jina's and Voyage's `detail` (a string, or FastAPI's list), else the text. */
function errorText(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: unknown; detail?: unknown; message?: unknown };
    const said = body.error ?? body.detail ?? body.message;
    if (typeof said === "string") return said;
    if (Array.isArray(said)) return said.map((d: { msg?: unknown }) => (typeof d?.msg === "string" ? d.msg : JSON.stringify(d))).join("; ");
  } catch {
    // not JSON: the text itself
  }
  return text.replace(/\s+/g, " ").trim().slice(0, 300);
}

/**
 * A re-ranker behind an HTTP rerank API (TEI, Jina, Voyage): posts the query and the candidates'
 * texts, returns scored copies best first (`rerankScore`), never mutates its inputs. Failures
 * are ProviderErrors naming the server and the reason, the key never in them.
 */
export class HttpReranker extends BaseDocumentCompressor {
  readonly model?: string;
  readonly topN?: number;
  readonly onError: "error" | "fallback";
  private readonly endpoint: ProviderEndpoint;
  private readonly url: string;

  constructor(
    private readonly wire: RerankWire,
    private readonly options: HttpRerankerOptions,
  ) {
    super();
    this.model = options.model;
    this.topN = options.topN;
    this.onError = options.onError ?? "error";
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/rerank`;
    this.endpoint = {
      provider: wire.provider,
      operation: "rerank",
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs ?? 30_000,
      maxRetries: options.maxRetries ?? 2,
      retriesTimeouts: false,
      secrets: secretsOf({ [wire.keyName]: options.apiKey, [wire.baseUrlName]: options.baseUrl }, process.env),
      keyName: wire.keyName,
      baseUrlName: wire.baseUrlName,
      modelName: "RAG_RERANKER_MODEL",
      model: options.model ?? "the server's",
      api: wire.api,
      offline: { setting: "RAG_RERANKER", value: "bm25" },
    };
  }

  compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    return rankOrKeepOrder(documents, { provider: this.wire.provider, topN: this.topN, onError: this.onError }, () => this.rank(documents, query));
  }

  /** Scores texts or documents: `{ index, score, document }` best first (see rerankDocuments). */
  rerank<D extends string | DocumentInterface>(query: string, documents: readonly D[], options?: RerankOptions): Promise<Array<RerankResult<D>>> {
    return rerankDocuments(this, query, documents, options);
  }

  private async rank(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const topN = this.topN === undefined || this.topN >= documents.length ? undefined : this.topN;
    const texts = documents.map((doc) => doc.pageContent);
    const size = this.options.batchSize ?? this.wire.maxBatch ?? texts.length;
    const starts = Array.from({ length: Math.ceil(texts.length / size) }, (_, i) => i * size);
    // A server scores each pair on its own, so batches' scores compare; topN is only sent when one request has them all.
    const batches = await Promise.all(
      starts.map(async (start) => {
        const batch = texts.slice(start, start + size);
        const results = this.wire.results(await this.post(this.wire.body(query, batch, this.model, starts.length === 1 ? topN : undefined)));
        return checkRankedResults(results, batch.length, this.endpoint, this.wire).map(({ index, score }) => ({ index: start + index, score }));
      }),
    );
    const ranked = batches.flat();
    // Stable sort: servers send results best first, but a self-hosted one may not.
    ranked.sort((l, r) => r.score - l.score);
    return ranked.slice(0, topN ?? documents.length).map(({ index, score }) => copyWith(documents[index]!, { rerankScore: score }));
  }

  /** POSTs with a timeout per attempt, retrying 408/429/5xx; returns the parsed 200 body. */
  private async post(body: Record<string, unknown>): Promise<unknown> {
    const { apiKey, fetch: fetchFn = fetch } = this.options;
    const { timeoutMs, maxRetries } = this.endpoint;
    // The call's own signal (a caller that left), besides the per-attempt timeout.
    const leaving = callSignal();
    const headers = { "content-type": "application/json", accept: "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      let text: string;
      try {
        const signal = leaving ? AbortSignal.any([AbortSignal.timeout(timeoutMs), leaving]) : AbortSignal.timeout(timeoutMs);
        response = await fetchFn(this.url, { method: "POST", headers, body: JSON.stringify(body), signal });
        text = await response.text();
      } catch (error) {
        if (leaving?.aborted) throw leaving.reason as Error;
        throw this.describe(error);
      }
      if (response.ok) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          throw invalidResponse(this.endpoint, `not JSON: ${text.slice(0, 80)}`);
        }
      }
      const retried = response.status === 408 || response.status === 429 || response.status >= 500;
      if (!retried || attempt >= maxRetries) throw httpFailure(this.endpoint, response.status, errorText(text));
      await sleep(retryDelay(response, attempt));
    }
  }

  private describe(error: unknown): RagError {
    return describeProviderError(error, this.endpoint);
  }
}
