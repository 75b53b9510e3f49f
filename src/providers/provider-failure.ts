import { inspect } from "node:util";
import { EXIT_USAGE, ProviderError, RagError, redact, redactUrl, type ProviderErrorOptions } from "../errors/index.js";
import { IdleTimeoutError } from "../util/idle-timeout-fetch.js";

/** Where a remote provider lives and how it is called: what a failure message and its hint need. */
export interface ProviderEndpoint {
  provider: "openai" | "cohere" | "tei" | "jina" | "voyage";
  /** The call, for messages: "chat", "rerank". */
  operation: string;
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  /** The client retries timeouts and connection errors too (the OpenAI SDK does, Cohere's does not). */
  retriesTimeouts: boolean;
  /** Values that must never appear in a message (API keys). */
  secrets: readonly string[];
  /** The settings to name in hints. */
  keyName: string;
  baseUrlName: string;
  modelName: string;
  model: string;
  /** What the base URL must serve, e.g. "an OpenAI-compatible chat-completions API". */
  api: string;
  /** The offline provider to suggest, as a setting: e.g. RAG_LLM=extractive. */
  offline: { setting: string; value: string };
}

type ErrorLike = {
  name?: unknown;
  message?: unknown;
  status?: unknown;
  statusCode?: unknown;
  code?: unknown;
  cause?: unknown;
  body?: unknown;
  error?: unknown;
};

/** The error and its causes, outermost first. */
function causes(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let e = error; e && typeof e === "object" && chain.length < 6; e = (e as ErrorLike).cause) chain.push(e);
  return chain;
}

/** One line, at most 300 characters, keys redacted. */
function oneLine(text: string, secrets: readonly string[]): string {
  const line = text.replace(/\s+/g, " ").trim();
  return redact(line.length > 300 ? `${line.slice(0, 300)}…` : line, secrets);
}

/**
 * What the server said: the `message` of an error body (Cohere's client keeps the body), else
 * the SDK's message without LangChain's troubleshooting link or the OpenAI SDK's status prefix.
 */
function serverMessage(chain: ErrorLike[], status: number | undefined): string {
  const body = chain.map((e) => e.body).find((b) => b !== undefined);
  const said = typeof body === "string" ? body : (body as { message?: unknown } | null)?.message;
  if (typeof said === "string") return said;
  const first = chain[0]?.message;
  let text = typeof first === "string" ? first : "";
  text = text.replace(/\s*Troubleshooting URL:\s*\S+/g, "");
  return status !== undefined ? text.replace(new RegExp(`^${status}\\s+`), "") : text;
}

/** The SDK's error as the cause, unless it holds a secret (a server may echo the key in its body). */
function safeCause(cause: unknown, secrets: readonly string[]): unknown {
  if (cause === undefined) return undefined;
  const text = inspect(cause, { depth: 6, breakLength: Infinity });
  return redact(text, secrets) === text ? cause : undefined;
}

/** The base URL as messages and hints show it: without user, password or query (see redactUrl). */
function shownUrl(endpoint: ProviderEndpoint): string {
  return redactUrl(endpoint.baseUrl, endpoint.secrets);
}

function failure(endpoint: ProviderEndpoint, detail: string, options: ProviderErrorOptions): ProviderError {
  const { secrets } = endpoint;
  return new ProviderError(endpoint.provider, detail, { url: shownUrl(endpoint), ...options, cause: safeCause(options.cause, secrets) });
}

/**
 * The one mapping from an HTTP status to message, hint and exit code: a rejected key or a
 * refused request is the caller's to fix (exit 2); the rest is worth trying again.
 */
export function httpFailure(endpoint: ProviderEndpoint, status: number, said: string, cause?: unknown): ProviderError {
  const { operation, keyName, baseUrlName, modelName, model, api, maxRetries, offline } = endpoint;
  const baseUrl = shownUrl(endpoint);
  const tail = said ? `: ${said}` : "";
  const base = { statusCode: status, cause };
  if (status === 401 || status === 403 || status === 498) {
    return failure(endpoint, `the server rejected the API key (HTTP ${status})${tail}`, {
      ...base,
      reason: "auth",
      exitCode: EXIT_USAGE,
      setting: keyName,
      hint: `Check ${keyName} (and ${baseUrlName} for a self-hosted server).`,
    });
  }
  if (status === 400 || status === 404 || status === 422) {
    return failure(endpoint, `the server refused the ${operation} request (HTTP ${status})${tail}`, {
      ...base,
      reason: "bad-request",
      exitCode: EXIT_USAGE,
      setting: status === 404 ? baseUrlName : modelName,
      hint:
        status === 404
          ? `${baseUrlName} (${baseUrl}) must point at ${api}; check it and the model (${model}, set with ${modelName}).`
          : `Check the model (${model}, set with ${modelName}) and the server's limits.`,
    });
  }
  const retried = status === 408 || status === 429 || status >= 500;
  const attempts = retried && maxRetries > 0 ? ` after ${maxRetries + 1} attempts` : "";
  return failure(endpoint, `${status === 429 ? "rate-limited: " : ""}${operation} request failed with HTTP ${status}${attempts}${tail}`, {
    ...base,
    reason: status === 429 ? "rate-limit" : "server",
    ...(status === 429
      ? { setting: "RAG_MAX_RETRIES", hint: "You are rate-limited; wait, or raise RAG_MAX_RETRIES." }
      : { setting: offline.setting, hint: `Try again later, or set ${offline.setting}=${offline.value} (offline).` }),
  });
}

/** The response is not what the protocol promises (wrong shape, or no answer at all). */
export function invalidResponse(endpoint: ProviderEndpoint, detail: string, cause?: unknown): ProviderError {
  return failure(endpoint, `the server sent an invalid ${endpoint.operation} response (${redact(detail, endpoint.secrets)})`, {
    reason: "invalid-response",
    cause,
    setting: endpoint.baseUrlName,
    hint: `${endpoint.baseUrlName} (${shownUrl(endpoint)}) must point at ${endpoint.api}.`,
  });
}

/** The stream closed cleanly before the provider's end-of-answer signal: a cut-off answer, not a whole one. */
export function incompleteStream(endpoint: ProviderEndpoint, finishName: string): ProviderError {
  return failure(endpoint, `the stream ended without ${finishName}: the server closed it early`, {
    reason: "incomplete",
    hint: "The server (or a proxy in front of it) cut the answer short; check its logs, or try again.",
  });
}

/** The whole answer took longer than RAG_ANSWER_TIMEOUT_MS (a server that drips tokens or only sends keep-alives). */
export function answerDeadline(endpoint: ProviderEndpoint, ms: number): ProviderError {
  return failure(endpoint, `the answer took longer than ${Number((ms / 1000).toFixed(1))} s`, {
    reason: "deadline",
    setting: "RAG_ANSWER_TIMEOUT_MS",
    hint: "The server kept the answer open without finishing it; check it, or raise RAG_ANSWER_TIMEOUT_MS.",
  });
}

/** The answer passed RAG_ANSWER_MAX_CHARS (a model that does not stop). */
export function answerTooLong(endpoint: ProviderEndpoint, maxChars: number): ProviderError {
  return failure(endpoint, `the answer passed ${maxChars.toLocaleString("en-US")} characters`, {
    reason: "too-long",
    setting: "RAG_ANSWER_MAX_CHARS",
    hint: `Check the model (${endpoint.model}, set with ${endpoint.modelName}): it did not stop. Raise RAG_ANSWER_MAX_CHARS for longer answers.`,
  });
}

/**
 * Maps an SDK failure (OpenAI, Cohere, LangChain's wrappers of them) to a ProviderError that
 * names the provider, the endpoint and the reason (timeout, refused connection, HTTP status
 * with the server's message, malformed or stalled response), with a hint. API keys never
 * appear in it. RagErrors pass through. The SDKs give no structured reason for network
 * failures, so their messages are read here, and only here.
 */
export function describeProviderError(error: unknown, endpoint: ProviderEndpoint): RagError {
  if (RagError.isInstance(error)) return error;
  const { baseUrlName, timeoutMs, maxRetries, secrets, offline } = endpoint;
  const baseUrl = shownUrl(endpoint);
  const chain = causes(error);
  const make = (detail: string, options: ProviderErrorOptions) => failure(endpoint, detail, { cause: error, ...options });
  if (chain.some((e) => e instanceof IdleTimeoutError || e.code === "ESTALLED")) {
    return make(`the response from ${baseUrl} stalled: no data for ${timeoutMs} ms`, {
      reason: "stalled",
      setting: "RAG_TIMEOUT_MS",
      hint: "The server stopped sending mid-response; check it, or raise RAG_TIMEOUT_MS.",
    });
  }
  const status = chain.map((e) => e.status ?? e.statusCode).find((s): s is number => typeof s === "number");
  if (status !== undefined) return httpFailure(endpoint, status, oneLine(serverMessage(chain, status), secrets), error);

  const names = chain.map((e) => (typeof e.name === "string" ? e.name : ""));
  const message = oneLine(serverMessage(chain, undefined) || String(error), secrets);
  // Cohere's client keeps only the message ("fetch failed (ECONNREFUSED)", see cohere-client.ts), so look there too.
  const code =
    chain.map((e) => e.code).find((c): c is string => typeof c === "string" && /^(E[A-Z]+|UND_ERR_\w+)$/.test(c)) ??
    /\b(E(?:CONN[A-Z]+|NOTFOUND|AI_AGAIN|HOSTUNREACH|NETUNREACH|TIMEDOUT|PIPE))\b/.exec(message)?.[1];
  const attempts = (n: number) => (n > 1 ? ` after ${n} attempts` : "");
  const tries = endpoint.retriesTimeouts ? maxRetries + 1 : 1;
  const tryLater = { setting: offline.setting, hint: `Try again later, or set ${offline.setting}=${offline.value} (offline).` };

  // Node's fetch rejects with the abort reason ("timeout"), not an AbortError, so cohere-ai 7.21
  // misses its own timeout and reports CohereError('"timeout"') (core/fetcher/Fetcher.js).
  if (names.some((n) => /timeout/i.test(n)) || /timed out|^"?timeout"?$/i.test(message)) {
    return make(`${endpoint.operation} request to ${baseUrl} timed out after ${timeoutMs} ms${tries > 1 ? ` (${tries} attempts)` : ""}`, {
      reason: "timeout",
      setting: "RAG_TIMEOUT_MS",
      hint: "Check that the server is up and not overloaded, or raise RAG_TIMEOUT_MS.",
    });
  }
  if (message === "terminated" || code === "UND_ERR_SOCKET" || code === "ECONNRESET") {
    const detail = chain.map((e) => (typeof e.message === "string" ? e.message : "")).find((m) => m && m !== "terminated");
    return make(`the connection to ${baseUrl} closed before the response was complete${detail ? ` (${redact(detail, secrets)})` : ""}`, {
      reason: "connection-closed",
      hint: "The server dropped the connection; check its logs, or try again.",
    });
  }
  if (code || names.includes("APIConnectionError") || /connection error|fetch failed/i.test(message)) {
    return make(`could not reach ${baseUrl} (${code ?? message})${attempts(tries)}`, {
      reason: "connection",
      setting: baseUrlName,
      hint: `Check ${baseUrlName} and that the server is running and reachable.`,
    });
  }
  if (names.includes("SyntaxError") || /malformed|json/i.test(message)) {
    return make(`the server sent a malformed response (${message})`, {
      reason: "invalid-response",
      setting: baseUrlName,
      hint: `${baseUrlName} (${baseUrl}) must point at ${endpoint.api}.`,
    });
  }
  // The OpenAI SDK raises an APIError without a status for an error event inside a 200 stream.
  if (chain.some((e) => e.error !== undefined)) {
    return make(`the server reported an error mid-response: ${message}`, { reason: "stream-error", ...tryLater });
  }
  return make(message ? `the ${endpoint.operation} request failed: ${message}` : `the ${endpoint.operation} request failed`, tryLater);
}
