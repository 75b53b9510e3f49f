import type { RagConfig } from "../config/index.js";
import { secretsOf } from "../errors/index.js";
import type { ProviderEndpoint } from "./provider-failure.js";

/** What differs between the calls to one provider (chat, embeddings): for messages and hints. */
export type EndpointCall = Pick<ProviderEndpoint, "operation" | "modelName" | "model" | "api" | "offline">;

/**
 * Where a configured OpenAI-compatible or Cohere provider lives and how it is called, for error
 * messages: one place for the base URLs, setting names, and the timeout and retry rules every
 * call to it shares (RAG_TIMEOUT_MS, RAG_MAX_RETRIES). Keys are listed to be redacted.
 */
export function configuredEndpoint(config: RagConfig, provider: "openai" | "cohere", call: EndpointCall): ProviderEndpoint {
  const secrets = secretsOf(config, process.env);
  const base = { ...call, timeoutMs: config.RAG_TIMEOUT_MS, maxRetries: config.RAG_MAX_RETRIES, secrets };
  return provider === "openai"
    ? {
        ...base,
        provider,
        baseUrl: config.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
        retriesTimeouts: true,
        keyName: "OPENAI_API_KEY",
        baseUrlName: "OPENAI_BASE_URL",
      }
    : {
        ...base,
        provider,
        baseUrl: config.COHERE_BASE_URL ?? "https://api.cohere.com",
        retriesTimeouts: false,
        keyName: "COHERE_API_KEY",
        baseUrlName: "COHERE_BASE_URL",
      };
}

export const DEFAULT_JINA_BASE_URL = "https://api.jina.ai/v1";
export const DEFAULT_VOYAGE_BASE_URL = "https://api.voyageai.com/v1";

/** The base URL each remote provider is called at. */
const remoteBaseUrls = (config: RagConfig): Record<string, string | undefined> => ({
  openai: config.OPENAI_BASE_URL ?? "https://api.openai.com/v1",
  cohere: config.COHERE_BASE_URL ?? "https://api.cohere.com",
  tei: config.TEI_BASE_URL,
  jina: config.JINA_BASE_URL ?? DEFAULT_JINA_BASE_URL,
  voyage: config.VOYAGE_BASE_URL ?? DEFAULT_VOYAGE_BASE_URL,
});

/** Providers that run in this process: nothing they see leaves the machine. */
const LOCAL_PROVIDERS = new Set(["offline", "transformers", "bm25", "cross-encoder", "none", "extractive", "llama-cpp"]);

/**
 * Where a stage runs, for the pipeline line: "local", or the host a remote provider sends its
 * inputs to (without credentials), so the user sees which service receives documents.
 */
export function whereRuns(config: RagConfig, provider: string): string {
  if (LOCAL_PROVIDERS.has(provider)) return "local";
  const base = remoteBaseUrls(config)[provider];
  return base && URL.canParse(base) ? new URL(base).host : "remote";
}
