import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { requireKey, type LlmProviderName, type RagConfig } from "../config/index.js";
import { ExtractiveChatModel } from "./extractive-chat-model.js";
import { guardChatModel, stallTimeoutFetch, type LlmEndpoint } from "./provider-errors.js";

export type ConcreteLlm = Exclude<LlmProviderName, "auto">;

export const DEFAULT_LLM_MODELS = { openai: "gpt-4o-mini", cohere: "command-r-08-2024" } as const;

/** Resolves `auto`: an OpenAI-compatible server or key, then Cohere, then the offline extractive answerer. */
export function resolveLlm(config: RagConfig, requested: LlmProviderName = config.RAG_LLM): { name: ConcreteLlm; model?: string } {
  const name: ConcreteLlm =
    requested !== "auto" ? requested : config.OPENAI_API_KEY || config.OPENAI_BASE_URL ? "openai" : config.COHERE_API_KEY ? "cohere" : "extractive";
  return name === "extractive" ? { name } : { name, model: config.RAG_LLM_MODEL ?? DEFAULT_LLM_MODELS[name] };
}

/** A streaming chat model by provider name. */
export async function createLlm(config: RagConfig, requested?: LlmProviderName): Promise<BaseChatModel> {
  const { name, model } = resolveLlm(config, requested);
  switch (name) {
    case "extractive":
      return new ExtractiveChatModel();
    case "openai": {
      const { ChatOpenAI } = await import("@langchain/openai");
      // Local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) take any key.
      const apiKey = requireKey(config.OPENAI_API_KEY ?? (config.OPENAI_BASE_URL ? "not-needed" : undefined), "OPENAI_API_KEY", "llm");
      const llm = new ChatOpenAI({
        model,
        apiKey,
        // `streaming` stays unset: `.stream()` streams anyway, `streaming: false` would disable
        // that, and `streaming: true` makes `.invoke()` estimate usage with tiktoken, which
        // downloads its encodings and stalls offline.
        timeout: config.RAG_TIMEOUT_MS,
        maxRetries: config.RAG_MAX_RETRIES,
        // The SDK's timeout ends at the response headers; this one also covers a stalled body.
        configuration: { baseURL: config.OPENAI_BASE_URL, fetch: stallTimeoutFetch(config.RAG_TIMEOUT_MS) },
      });
      return guardChatModel(llm, llmEndpoint(config, "openai"));
    }
    case "cohere": {
      const { ChatCohere } = await import("@langchain/cohere");
      const { createCohereClient } = await import("../providers/cohere-client.js");
      // The client retries (RAG_MAX_RETRIES, honouring Retry-After); LangChain's own caller would
      // retry each of its failures 6 more times with backoff, over a minute for a refused connection.
      const llm = new ChatCohere({ model, client: createCohereClient(config, "llm"), streaming: true, maxRetries: 0 });
      return guardChatModel(llm, llmEndpoint(config, "cohere"));
    }
  }
}

/** Where the remote LLM lives and how it is called, for error messages (keys are listed to be redacted). */
export function llmEndpoint(config: RagConfig, provider: "openai" | "cohere"): LlmEndpoint {
  const secrets = [config.OPENAI_API_KEY, config.COHERE_API_KEY].filter((s): s is string => Boolean(s));
  const base = { timeoutMs: config.RAG_TIMEOUT_MS, maxRetries: config.RAG_MAX_RETRIES, secrets };
  return provider === "openai"
    ? { ...base, provider, baseUrl: config.OPENAI_BASE_URL ?? "https://api.openai.com/v1", retriesTimeouts: true, keyName: "OPENAI_API_KEY", baseUrlName: "OPENAI_BASE_URL" }
    : { ...base, provider, baseUrl: config.COHERE_BASE_URL ?? "https://api.cohere.com", retriesTimeouts: false, keyName: "COHERE_API_KEY", baseUrlName: "COHERE_BASE_URL" };
}
