import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { ChatGenerationChunk } from "@langchain/core/outputs";
import { EXIT_USAGE, ProviderError, RagError } from "../errors/index.js";

/** Where a remote chat model lives and how it is called: for messages that say which provider failed and why. */
export interface LlmEndpoint {
  provider: "openai" | "cohere";
  baseUrl: string;
  timeoutMs: number;
  maxRetries: number;
  /** The client retries timeouts and connection errors too (the OpenAI SDK does, Cohere's does not). */
  retriesTimeouts: boolean;
  /** Values that must never appear in a message (API keys). */
  secrets: readonly string[];
  /** The environment keys to name in hints. */
  keyName: string;
  baseUrlName: string;
}

/** The body of a response stopped arriving for longer than the timeout. */
export class StreamStalledError extends Error {
  readonly code = "ESTALLED";
  constructor(readonly ms: number) {
    super(`no data from the server for ${ms} ms`);
    this.name = "StreamStalledError";
  }
}

/**
 * A fetch whose response body fails with StreamStalledError when no bytes arrive for `ms`.
 * SDK timeouts stop at the response headers, so a server that sends headers (or half an
 * answer) and then nothing would otherwise hang the caller for ever. The time the caller
 * spends not reading does not count; the request's own signal (SDK timeouts, aborts) is kept.
 */
export function stallTimeoutFetch(ms: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    if (!response.body) return response;
    const reader = response.body.getReader();
    let timer: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          timer = setTimeout(() => {
            const error = new StreamStalledError(ms);
            controller.error(error);
            reader.cancel(error).catch(() => undefined);
          }, ms);
          try {
            const { done, value } = await reader.read();
            clearTimeout(timer);
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (error) {
            clearTimeout(timer);
            try {
              controller.error(error);
            } catch {
              // already errored by the stall timer
            }
          }
        },
        cancel(reason) {
          clearTimeout(timer);
          return reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

type ErrorLike = { name?: unknown; message?: unknown; status?: unknown; statusCode?: unknown; code?: unknown; cause?: unknown; body?: unknown };

/** The error and its causes, outermost first. */
function causes(error: unknown): ErrorLike[] {
  const chain: ErrorLike[] = [];
  for (let e = error; e && typeof e === "object" && chain.length < 6; e = (e as ErrorLike).cause) chain.push(e as ErrorLike);
  return chain;
}

export function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.split(secret).join("<redacted>"), text);
}

/** A server's message, one line, without LangChain's troubleshooting link or the SDK's status prefix. */
function cleanMessage(error: ErrorLike, status: number | undefined, secrets: readonly string[]): string {
  let text = String(error.message ?? error);
  text = text.replace(/\s*Troubleshooting URL:\s*\S+/g, "");
  if (status !== undefined) text = text.replace(new RegExp(`^${status}\\s+`), "");
  text = text.replace(/\s+/g, " ").trim();
  return redact(text.length > 300 ? `${text.slice(0, 300)}…` : text, secrets);
}

/**
 * Maps a chat model failure to a ProviderError that names the provider, the endpoint and the
 * reason (timeout, refused connection, HTTP status with the server's message, malformed or
 * stalled response), with a hint. API keys never appear in it. RagErrors pass through.
 */
export function describeLlmError(error: unknown, endpoint: LlmEndpoint): RagError {
  if (RagError.isInstance(error)) return error;
  const { provider, baseUrl, timeoutMs, maxRetries, secrets, keyName, baseUrlName } = endpoint;
  const chain = causes(error);
  const top = chain[0] ?? { message: String(error) };
  const status = chain.map((e) => e.status ?? e.statusCode).find((s): s is number => typeof s === "number");
  const names = chain.map((e) => String(e.name ?? ""));
  const message = cleanMessage(top, status, secrets);
  // Cohere's client keeps only the message ("fetch failed (ECONNREFUSED)"), so look there too.
  const code =
    chain.map((e) => e.code).find((c): c is string => typeof c === "string" && /^(E[A-Z]+|UND_ERR_\w+)$/.test(c)) ??
    /\b(E(?:CONN[A-Z]+|NOTFOUND|AI_AGAIN|HOSTUNREACH|NETUNREACH|TIMEDOUT|PIPE))\b/.exec(message)?.[1];
  const attempts = (n: number) => (n > 1 ? ` after ${n} attempts` : "");
  const make = (text: string, hint: string, exitCode?: number) => new ProviderError(provider, text, { hint, cause: error, exitCode });

  if (chain.some((e) => e instanceof StreamStalledError || e.code === "ESTALLED")) {
    return make(`the response from ${baseUrl} stalled: no data for ${timeoutMs} ms`, "The server stopped sending mid-response; check it, or raise RAG_TIMEOUT_MS.");
  }
  if (status === undefined && (names.some((n) => /timeout/i.test(n)) || /timed out|^"?timeout"?$/i.test(message))) {
    const tries = endpoint.retriesTimeouts ? maxRetries + 1 : 1;
    return make(
      `request to ${baseUrl} timed out after ${timeoutMs} ms${tries > 1 ? ` (${tries} attempts)` : ""}`,
      "Check that the server is up and not overloaded, or raise RAG_TIMEOUT_MS.",
    );
  }
  if (status !== undefined) {
    const said = message ? `: ${message}` : "";
    if (status === 401 || status === 403 || status === 498) {
      return make(`the server rejected the API key (HTTP ${status})${said}`, `Check ${keyName} (and ${baseUrlName} for a self-hosted server).`, EXIT_USAGE);
    }
    if (status === 400 || status === 404 || status === 422) {
      const hint =
        status === 404
          ? `Check ${baseUrlName} (${baseUrl}) and the model name (RAG_LLM_MODEL).`
          : "Check the model name (RAG_LLM_MODEL) and the server's limits.";
      return make(`the server refused the request (HTTP ${status})${said}`, hint, EXIT_USAGE);
    }
    const retried = status === 408 || status === 429 || status >= 500;
    return make(
      `${status === 429 ? "rate-limited " : ""}request failed with HTTP ${status}${retried ? attempts(maxRetries + 1) : ""}${said}`,
      status === 429 ? "You are rate-limited; wait, or raise RAG_MAX_RETRIES." : "Try again later, or use --llm extractive (offline).",
    );
  }
  if (message === "terminated" || code === "UND_ERR_SOCKET" || code === "ECONNRESET") {
    const detail = chain.map((e) => String(e.message ?? "")).find((m) => m && m !== "terminated");
    return make(
      `the connection to ${baseUrl} closed before the response was complete${detail ? ` (${redact(detail, secrets)})` : ""}`,
      "The server dropped the connection; check its logs, or try again.",
    );
  }
  if (code || names.includes("APIConnectionError") || /connection error|fetch failed/i.test(message)) {
    return make(
      `could not reach ${baseUrl} (${code ?? message})${attempts(endpoint.retriesTimeouts ? maxRetries + 1 : 1)}`,
      `Check ${baseUrlName} and that the server is running and reachable.`,
    );
  }
  if (names.includes("SyntaxError") || /malformed|json/i.test(message)) {
    const api = provider === "openai" ? "an OpenAI-compatible chat-completions" : "a Cohere-compatible chat";
    return make(`the server sent a malformed response (${message})`, `${baseUrlName} (${baseUrl}) must point at ${api} API.`);
  }
  // The OpenAI SDK raises an APIError without a status for an error event inside a 200 stream.
  if (chain.some((e) => (e as { error?: unknown }).error !== undefined)) {
    return make(`the server reported an error mid-response: ${message}`, "Try again later, or use --llm extractive (offline).");
  }
  return make(message ? `the request failed: ${message}` : "the request failed", "Try again later, or use --llm extractive (offline).");
}

/**
 * Makes a remote chat model fail clearly: every error becomes a ProviderError naming the
 * provider and reason (keys redacted), and a stream that ends without any text is an error
 * instead of an empty answer. Patches the instance, so it stays a ChatOpenAI/ChatCohere.
 */
export function guardChatModel<M extends BaseChatModel>(model: M, endpoint: LlmEndpoint): M {
  const stream = model._streamResponseChunks.bind(model);
  const generate = model._generate.bind(model);
  model._streamResponseChunks = async function* (
    messages: BaseMessage[],
    options: M["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    let characters = 0;
    try {
      for await (const chunk of stream(messages, options, runManager)) {
        characters += chunk.text.length;
        yield chunk;
      }
    } catch (error) {
      throw describeLlmError(error, endpoint);
    }
    if (characters === 0 && !options.signal?.aborted) {
      throw new ProviderError(endpoint.provider, `the reply from ${endpoint.baseUrl} held no answer text (an empty stream, or not a chat-completions event stream)`, {
        hint: `Check ${endpoint.baseUrlName} (${endpoint.baseUrl}) and that RAG_LLM_MODEL names a chat model.`,
      });
    }
  };
  model._generate = async (messages: BaseMessage[], options: M["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun) => {
    try {
      return await generate(messages, options, runManager);
    } catch (error) {
      throw describeLlmError(error, endpoint);
    }
  };
  return model;
}
