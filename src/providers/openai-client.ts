import type { ClientOptions } from "@langchain/openai";
import { requireKey, type RagConfig } from "../config/index.js";
import { idleTimeoutFetch } from "../util/idle-timeout-fetch.js";

/** The OpenAI key for a role; local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) take any key. */
export function openAiKey(config: RagConfig, role: string): string {
  return requireKey(config.OPENAI_API_KEY ?? (config.OPENAI_BASE_URL ? "not-needed" : undefined), "OPENAI_API_KEY", role);
}

/** The OpenAI SDK client options every role shares (LangChain's `configuration`). */
export function openAiConfiguration(config: RagConfig): ClientOptions {
  return {
    baseURL: config.OPENAI_BASE_URL,
    // The SDK's timeout ends at the response headers; this one also covers a stalled body.
    fetch: idleTimeoutFetch(config.RAG_TIMEOUT_MS),
    // The SDK writes some failures to the console before throwing them ("Could not parse message
    // into JSON" for a garbage stream event); the thrown error is what gets reported, once.
    logLevel: "off",
  };
}

/** How long a warm-up may take before generation stops waiting for it (a reused connection answers in milliseconds). */
const WARM_UP_LIMIT_MS = 2000;

/**
 * Opens (or refreshes) the keep-alive connection to the OpenAI-compatible server on the same
 * global fetch dispatcher the client uses, with a cheap `GET /models`, so the chat request
 * after re-ranking finds TCP/TLS already set up. The body is read to the end: only then does the
 * connection go back to the pool for the next request.
 */
export function openAiWarmUp(config: RagConfig): () => Promise<void> {
  const base = (config.OPENAI_BASE_URL ?? "https://api.openai.com/v1").replace(/\/+$/, "");
  const key = config.OPENAI_API_KEY;
  return async () => {
    const response = await fetch(`${base}/models`, {
      headers: key ? { authorization: `Bearer ${key}` } : {},
      signal: AbortSignal.timeout(Math.min(config.RAG_TIMEOUT_MS, WARM_UP_LIMIT_MS)),
    });
    await response.arrayBuffer();
    // The dispatcher pools the socket again a turn after the body ends; a request sent before that opens a new one.
    await new Promise((resolve) => setImmediate(resolve));
  };
}
