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
