import { RagError, type RagErrorOptions } from "./rag-error.js";

/** Why a provider call failed, for callers that branch on it (retry, fall back, tell the user). */
export type ProviderFailure =
  /** The server rejected the API key (401, 403, 498). */
  | "auth"
  /** The server refused the request as made: model, URL or limits (400, 404, 422). */
  | "bad-request"
  | "rate-limit"
  /** Any other HTTP failure (5xx, 408…). */
  | "server"
  /** No response within the timeout. */
  | "timeout"
  /** The response started, then stopped arriving. */
  | "stalled"
  /** The server could not be reached. */
  | "connection"
  /** The connection closed before the response was complete. */
  | "connection-closed"
  /** The response was not what the protocol promises (malformed, wrong shape, no answer). */
  | "invalid-response"
  /** The server reported an error inside a successful (200) stream. */
  | "stream-error"
  /** The stream closed cleanly before the provider's end-of-answer signal (finish_reason, stream-end). */
  | "incomplete"
  /** The answer took longer than RAG_ANSWER_TIMEOUT_MS in all. */
  | "deadline"
  /** The answer passed RAG_ANSWER_MAX_CHARS. */
  | "too-long"
  | "unknown";

export interface ProviderErrorOptions extends RagErrorOptions {
  reason?: ProviderFailure;
  statusCode?: number;
  /** Where the request went, without credentials. */
  url?: string;
  /** Default: true for 408, 409, 429 and 5xx, and for timeouts, stalls, cut-off streams and connection failures. */
  retryable?: boolean;
  exitCode?: number;
}

const marker = Symbol.for("rerank-rag.provider-error");
const TRANSIENT: ReadonlySet<ProviderFailure> = new Set([
  "rate-limit",
  "timeout",
  "stalled",
  "connection",
  "connection-closed",
  "stream-error",
  "incomplete",
  "deadline",
]);

/**
 * A remote provider (OpenAI-compatible server, Cohere) failed. Carries what happened as data,
 * like the AI SDK's APICallError: branch on `reason`, `statusCode` and `retryable`, never on the
 * message. `detail` is the message without the `provider: ` prefix. No field holds an API key.
 */
export class ProviderError extends RagError {
  readonly [marker] = true;
  readonly provider: string;
  readonly detail: string;
  readonly reason: ProviderFailure;
  readonly statusCode?: number;
  readonly url?: string;
  readonly retryable: boolean;

  constructor(provider: string, detail: string, options: ProviderErrorOptions = {}) {
    super(`${provider}: ${detail}`, options);
    this.name = "ProviderError";
    this.provider = provider;
    this.detail = detail;
    this.reason = options.reason ?? "unknown";
    this.statusCode = options.statusCode;
    this.url = options.url;
    const status = options.statusCode;
    this.retryable =
      options.retryable ?? (status !== undefined ? status === 408 || status === 409 || status === 429 || status >= 500 : TRANSIENT.has(this.reason));
  }

  static override isInstance(error: unknown): error is ProviderError {
    return typeof error === "object" && error !== null && marker in error;
  }
}
