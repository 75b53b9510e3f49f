import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { requireKey, type LlmProviderName, type RagConfig } from "../config/index.js";
import { ExtractiveChatModel } from "./extractive-chat-model.js";

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
      return new ChatOpenAI({
        model,
        apiKey,
        // `streaming` stays unset: `.stream()` streams anyway, `streaming: false` would disable
        // that, and `streaming: true` makes `.invoke()` estimate usage with tiktoken, which
        // downloads its encodings and stalls offline.
        timeout: config.RAG_TIMEOUT_MS,
        maxRetries: config.RAG_MAX_RETRIES,
        configuration: { baseURL: config.OPENAI_BASE_URL },
      });
    }
    case "cohere": {
      const { ChatCohere } = await import("@langchain/cohere");
      const { createCohereClient } = await import("../providers/cohere-client.js");
      return new ChatCohere({ model, client: createCohereClient(config, "llm"), streaming: true });
    }
  }
}
