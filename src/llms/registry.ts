import path from "node:path";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { LlmProviderName, RagConfig } from "../config/index.js";
import type { CorpusStats } from "../text/corpus-stats.js";
import { COHERE_PACKAGES, importOptional } from "../errors/index.js";
import { providerEntry, resolveAuto, type ProviderEntry } from "../providers/provider-table.js";
import { locateGguf } from "../models/gguf.js";
import { configuredEndpoint } from "../providers/endpoint.js";
import type { ProviderEndpoint } from "../providers/provider-failure.js";

export interface LlmContext {
  config: RagConfig;
  /** The index's corpus statistics (the extractive answerer weighs rare terms by them). */
  stats?: CorpusStats | null;
}

/** Every answer model by name. */
export const LLMS = Object.freeze({
  extractive: {
    describe: "quotes the best sentences of the sources, with citations (offline, no model)",
    autoRank: 1,
    create: async ({ stats }: LlmContext): Promise<BaseChatModel> => {
      const { ExtractiveChatModel } = await import("./extractive-chat-model.js");
      return new ExtractiveChatModel({ stats });
    },
  },
  openai: {
    describe: "OpenAI's chat API, or an OpenAI-compatible server such as Ollama, vLLM or llama.cpp (OPENAI_API_KEY, OPENAI_BASE_URL)",
    defaultModel: "gpt-4o-mini",
    autoRank: 3,
    isAvailable: (config: RagConfig): boolean => Boolean(config.OPENAI_API_KEY || config.OPENAI_BASE_URL),
    create: async ({ config }: LlmContext): Promise<BaseChatModel> => {
      const [{ ChatOpenAI }, { openAiKey, openAiConfiguration }, { withProviderErrors }] = await Promise.all([
        import("@langchain/openai"),
        import("../providers/openai-client.js"),
        import("./guarded-chat-model.js"),
      ]);
      const GuardedChatOpenAI = withProviderErrors(ChatOpenAI, llmEndpoint(config, "openai"), {
        ...answerLimits(config),
        // Chat completions put it on the last chunk; the Responses API (some models) on its completed event.
        isFinish: (chunk) =>
          chunk.generationInfo?.finish_reason != null ||
          ["completed", "incomplete"].includes(String((chunk.message.response_metadata as { status?: unknown } | undefined)?.status)),
        finishName: "a finish reason",
      });
      return new GuardedChatOpenAI({
        model: resolveLlm(config, "openai").model,
        apiKey: openAiKey(config, "llm"),
        // `streaming` stays unset: `.stream()` streams anyway, `streaming: false` would disable
        // that, and `streaming: true` makes `.invoke()` estimate usage with tiktoken, which
        // downloads its encodings and stalls offline.
        timeout: config.RAG_TIMEOUT_MS,
        maxRetries: config.RAG_MAX_RETRIES,
        configuration: openAiConfiguration(config),
      });
    },
  },
  cohere: {
    describe: "Cohere's chat API, or a compatible server (COHERE_API_KEY, COHERE_BASE_URL)",
    defaultModel: "command-r-08-2024",
    autoRank: 2,
    isAvailable: (config: RagConfig): boolean => Boolean(config.COHERE_API_KEY),
    create: async ({ config }: LlmContext): Promise<BaseChatModel> => {
      const [{ ChatCohere }, { createCohereClient }, { withProviderErrors }] = await importOptional(COHERE_PACKAGES, "The cohere LLM", () =>
        Promise.all([import("@langchain/cohere"), import("../providers/cohere-client.js"), import("./guarded-chat-model.js")]),
      );
      const GuardedChatCohere = withProviderErrors(ChatCohere, llmEndpoint(config, "cohere"), {
        ...answerLimits(config),
        isFinish: (chunk) => chunk.generationInfo?.eventType === "stream-end",
        finishName: "its stream-end event",
      });
      // The client retries (RAG_MAX_RETRIES, honouring Retry-After); LangChain's own caller would
      // retry each of its failures 6 more times with backoff, over a minute for a refused connection.
      return new GuardedChatCohere({
        model: resolveLlm(config, "cohere").model,
        client: createCohereClient(config, "llm"),
        streaming: true,
        // Without it ChatCohere drops the stream-end event, the only sign the answer was finished.
        streamUsage: true,
        maxRetries: 0,
      });
    },
  },
  "llama-cpp": {
    describe: "a local GGUF model run in-process by llama.cpp (node-llama-cpp; RAG_LLM_MODEL, `models pull owner/repo/file.gguf`)",
    // After API keys and OPENAI_BASE_URL, before the extractive answerer: a GGUF dropped into RAG_MODELS_DIR.
    autoRank: 1.5,
    isAvailable: (config: RagConfig): boolean => localGguf(config) !== undefined && canResolve("node-llama-cpp"),
    create: async ({ config }: LlmContext): Promise<BaseChatModel> => {
      const { LlamaCppChatModel } = await import("./llama-cpp-chat-model.js");
      const model = new LlamaCppChatModel({
        modelPath: locateGguf(config).file,
        gpu: config.RAG_LLM_GPU,
        threads: config.RAG_LLM_THREADS,
        contextSize: config.RAG_LLM_CONTEXT_SIZE,
        maxTokens: config.RAG_LLM_MAX_TOKENS,
        timeoutMs: config.RAG_ANSWER_TIMEOUT_MS,
      });
      // Loaded now, so a bad file fails before the sources are printed.
      await model.load();
      return model;
    },
  },
} satisfies Record<Exclude<LlmProviderName, "auto">, ProviderEntry<BaseChatModel, LlmContext>>);

export type ConcreteLlm = keyof typeof LLMS;

/** Resolves `auto`: an OpenAI-compatible server or key, then Cohere, then a local GGUF, then the offline extractive answerer. */
export function resolveLlm(config: RagConfig, requested: LlmProviderName = config.RAG_LLM): { name: ConcreteLlm; model?: string } {
  const name = requested === "auto" ? resolveAuto(LLMS, config).name : requested;
  const entry: ProviderEntry<BaseChatModel, LlmContext> = providerEntry(LLMS, "LLM", name);
  if (name === "llama-cpp") return { name, model: localGguf(config) ?? config.RAG_LLM_MODEL };
  return entry.defaultModel ? { name, model: config.RAG_LLM_MODEL ?? entry.defaultModel } : { name };
}

/** A streaming chat model by provider name; remote ones fail with ProviderErrors (see withProviderErrors). */
export async function createLlm(config: RagConfig, requested?: LlmProviderName, { stats }: Pick<LlmContext, "stats"> = {}): Promise<BaseChatModel> {
  return LLMS[resolveLlm(config, requested).name].create({ config, stats });
}

/** The GGUF file llama-cpp would load, as the user knows it (relative to RAG_MODELS_DIR when inside it), if it exists. */
function localGguf(config: RagConfig): string | undefined {
  try {
    const { file, found } = locateGguf(config);
    return found ? (path.relative(config.RAG_MODELS_DIR, file).startsWith("..") ? file : path.relative(config.RAG_MODELS_DIR, file)) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a package is installed, without loading it (optional dependencies may be absent). */
function canResolve(specifier: string): boolean {
  try {
    import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** What one answer may take (see withProviderErrors). */
function answerLimits(config: RagConfig) {
  return { timeoutMs: config.RAG_ANSWER_TIMEOUT_MS, maxChars: config.RAG_ANSWER_MAX_CHARS };
}

/** Where the remote LLM lives and how it is called, for error messages. */
function llmEndpoint(config: RagConfig, provider: "openai" | "cohere"): ProviderEndpoint {
  return configuredEndpoint(config, provider, {
    operation: "chat",
    modelName: "RAG_LLM_MODEL",
    model: resolveLlm(config, provider).model!,
    api: provider === "openai" ? "an OpenAI-compatible chat-completions API" : "a Cohere-compatible chat API",
    offline: { setting: "RAG_LLM", value: "extractive" },
  });
}
