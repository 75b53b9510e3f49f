import { requireKey, type RagConfig } from "../config/index.js";

/** The OpenAI key for a role; local OpenAI-compatible servers (Ollama, vLLM, llama.cpp) take any key. */
export function openAiKey(config: RagConfig, role: string): string {
  return requireKey(config.OPENAI_API_KEY ?? (config.OPENAI_BASE_URL ? "not-needed" : undefined), "OPENAI_API_KEY", role);
}
