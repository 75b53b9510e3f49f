import type { Embeddings } from "@langchain/core/embeddings";
import type { EmbeddingsProviderName, RagConfig } from "../config/index.js";
import { COHERE_PACKAGES, importOptional } from "../errors/index.js";
import { isModelPresent } from "../models/transformers-env.js";
import { configuredEndpoint } from "../providers/endpoint.js";
import type { ProviderEndpoint } from "../providers/provider-failure.js";
import { providerEntry, resolveAuto, type ProviderEntry } from "../providers/provider-table.js";
// Types only: the table is read at CLI start-up, before any model code is needed.
import type { LsaEmbeddings } from "./lsa/lsa-embeddings.js";

/** What a pretrained embedder is built from: its model and the settings (keys, timeouts, directories). */
export interface EmbedderContext {
  model: string;
  config: RagConfig;
}

/** How indexes record the offline embedder (the others are `provider:model`). */
const LSA_EMBEDDER_ID = "offline-lsa";

/** Every embedder by name. The offline one has no `create`: ingest fits it on the corpus and the index keeps it. */
export const EMBEDDERS = Object.freeze({
  offline: {
    describe: "LSA fitted on your corpus, no model or network (offline)",
    autoRank: 1,
  },
  transformers: {
    describe: "a local ONNX sentence-embedding model (transformers.js), from RAG_MODELS_DIR or downloaded on first use",
    defaultModel: "Xenova/all-MiniLM-L6-v2",
    autoRank: 2,
    isAvailable: (config: RagConfig): boolean => isModelPresent(config.RAG_MODELS_DIR, config.RAG_EMBEDDINGS_MODEL ?? EMBEDDERS.transformers.defaultModel),
    create: async ({ model, config }: EmbedderContext): Promise<Embeddings> => {
      const { TransformersEmbeddings } = await import("./transformers-embeddings.js");
      return new TransformersEmbeddings({ model, modelsDir: config.RAG_MODELS_DIR, device: config.RAG_EMBEDDINGS_DEVICE });
    },
  },
  openai: {
    describe: "OpenAI's embeddings API, or an OpenAI-compatible server (OPENAI_API_KEY, OPENAI_BASE_URL)",
    defaultModel: "text-embedding-3-small",
    // No autoRank, as for cohere: every chunk goes to the API at ingest only when RAG_EMBEDDINGS names it.
    create: async ({ model, config }: EmbedderContext): Promise<Embeddings> => {
      const [{ openAiKey, openAiConfiguration }, { OpenAIEmbeddings }, { withEmbeddingErrors }] = await Promise.all([
        import("../providers/openai-client.js"),
        import("@langchain/openai"),
        import("./guarded-embeddings.js"),
      ]);
      const GuardedOpenAIEmbeddings = withEmbeddingErrors(OpenAIEmbeddings, embedderEndpoint(config, "openai", model));
      // LangChain's caller retries here (RAG_MAX_RETRIES times, the SDK's own retries are off), with
      // the LLM's rules: connection errors, timeouts, 408, 429 (Retry-After honoured) and 5xx.
      return new GuardedOpenAIEmbeddings({
        model,
        apiKey: openAiKey(config, "embeddings"),
        timeout: config.RAG_TIMEOUT_MS,
        maxRetries: config.RAG_MAX_RETRIES,
        configuration: openAiConfiguration(config),
      });
    },
  },
  cohere: {
    describe: "Cohere's embed API, or a compatible server (COHERE_API_KEY, COHERE_BASE_URL)",
    defaultModel: "embed-english-v3.0",
    create: async ({ model, config }: EmbedderContext): Promise<Embeddings> => {
      const [{ CohereEmbeddings }, { createCohereClient }, { withEmbeddingErrors }] = await importOptional(COHERE_PACKAGES, "Cohere embeddings", () =>
        Promise.all([import("@langchain/cohere"), import("../providers/cohere-client.js"), import("./guarded-embeddings.js")]),
      );
      const GuardedCohereEmbeddings = withEmbeddingErrors(CohereEmbeddings, embedderEndpoint(config, "cohere", model));
      // The client retries (RAG_MAX_RETRIES, Retry-After honoured), as for the Cohere LLM; LangChain's
      // caller would multiply that by 7.
      return new GuardedCohereEmbeddings({ model, client: createCohereClient(config, "embeddings"), maxRetries: 0 });
    },
  },
} satisfies Record<Exclude<EmbeddingsProviderName, "auto">, ProviderEntry<Embeddings, EmbedderContext>>);

export type EmbedderProvider = keyof typeof EMBEDDERS;

/** Where a remote embedder lives and how it is called, for error messages. */
function embedderEndpoint(config: RagConfig, provider: "openai" | "cohere", model: string): ProviderEndpoint {
  return configuredEndpoint(config, provider, {
    operation: "embeddings",
    modelName: "RAG_EMBEDDINGS_MODEL",
    model,
    api: provider === "openai" ? "an OpenAI-compatible embeddings API" : "a Cohere-compatible embed API",
    offline: { setting: "RAG_EMBEDDINGS", value: "offline" },
  });
}

/** Which embedder an index is built with; recorded in the manifest. */
export interface EmbedderSpec {
  provider: EmbedderProvider;
  model?: string;
}

/** Resolves `auto` (a local model on disk, else offline; a remote API only when named) and fills in the default model. */
export function resolveEmbedder(config: RagConfig, requested: EmbeddingsProviderName = config.RAG_EMBEDDINGS): EmbedderSpec {
  const provider = requested === "auto" ? resolveAuto(EMBEDDERS, config).name : requested;
  const entry: ProviderEntry<Embeddings, EmbedderContext> = providerEntry(EMBEDDERS, "embedder", provider);
  if (!entry.defaultModel) return { provider };
  return { provider, model: config.RAG_EMBEDDINGS_MODEL ?? entry.defaultModel };
}

export function embedderId(spec: EmbedderSpec): string {
  return spec.provider === "offline" ? LSA_EMBEDDER_ID : `${spec.provider}:${spec.model}`;
}

/** How an index records its embedder (manifest or pgvector meta): id, model, width, and the offline fit's size and age. */
export function embedderRecord(spec: EmbedderSpec, dimensions: number, embeddings: Embeddings | LsaEmbeddings, embeddedSinceFit = 0) {
  return {
    id: embedderId(spec),
    provider: spec.provider,
    ...(spec.model ? { model: spec.model } : {}),
    dimensions,
    ...("fittedOnChunks" in embeddings ? { fittedOnChunks: embeddings.fittedOnChunks, embeddedSinceFit } : {}),
  };
}

/** A pretrained/remote embedder. The offline one is fitted or loaded by the ingest/store code. */
export async function createPretrainedEmbeddings(spec: EmbedderSpec, config: RagConfig): Promise<Embeddings> {
  const entry: ProviderEntry<Embeddings, EmbedderContext> = providerEntry(EMBEDDERS, "embedder", spec.provider);
  if (!entry.create || !spec.model) throw new Error(`${spec.provider} embeddings are not pretrained`);
  return entry.create({ model: spec.model, config });
}
