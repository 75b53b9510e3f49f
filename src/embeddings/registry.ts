import type { Embeddings } from "@langchain/core/embeddings";
import type { EmbeddingsProviderName, RagConfig } from "../config/index.js";
import { isModelPresent } from "../models/transformers-env.js";
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
      return new TransformersEmbeddings({ model, modelsDir: config.RAG_MODELS_DIR });
    },
  },
  openai: {
    describe: "OpenAI's embeddings API, or an OpenAI-compatible server (OPENAI_API_KEY, OPENAI_BASE_URL)",
    defaultModel: "text-embedding-3-small",
    autoRank: 4,
    isAvailable: (config: RagConfig): boolean => Boolean(config.OPENAI_API_KEY),
    create: async ({ model, config }: EmbedderContext): Promise<Embeddings> => {
      const { openAiKey } = await import("../providers/openai-client.js");
      const { OpenAIEmbeddings } = await import("@langchain/openai");
      return new OpenAIEmbeddings({
        model,
        apiKey: openAiKey(config, "embeddings"),
        timeout: config.RAG_TIMEOUT_MS,
        maxRetries: config.RAG_MAX_RETRIES,
        configuration: { baseURL: config.OPENAI_BASE_URL },
      });
    },
  },
  cohere: {
    describe: "Cohere's embed API, or a compatible server (COHERE_API_KEY, COHERE_BASE_URL)",
    defaultModel: "embed-english-v3.0",
    autoRank: 3,
    isAvailable: (config: RagConfig): boolean => Boolean(config.COHERE_API_KEY),
    create: async ({ model, config }: EmbedderContext): Promise<Embeddings> => {
      const { CohereEmbeddings } = await import("@langchain/cohere");
      const { createCohereClient } = await import("../providers/cohere-client.js");
      return new CohereEmbeddings({ model, client: createCohereClient(config, "embeddings") });
    },
  },
} satisfies Record<Exclude<EmbeddingsProviderName, "auto">, ProviderEntry<Embeddings, EmbedderContext>>);

export type EmbedderProvider = keyof typeof EMBEDDERS;

/** Which embedder an index is built with; recorded in the manifest. */
export interface EmbedderSpec {
  provider: EmbedderProvider;
  model?: string;
}

/** Resolves `auto` and fills in the default model: a configured API, a local model, else offline. */
export function resolveEmbedder(config: RagConfig, requested: EmbeddingsProviderName = config.RAG_EMBEDDINGS): EmbedderSpec {
  const provider = requested === "auto" ? resolveAuto(EMBEDDERS, config).name : requested;
  const entry: ProviderEntry<Embeddings, EmbedderContext> = providerEntry(EMBEDDERS, "embedder", provider);
  if (!entry.defaultModel) return { provider };
  return { provider, model: config.RAG_EMBEDDINGS_MODEL ?? entry.defaultModel };
}

export function embedderId(spec: EmbedderSpec): string {
  return spec.provider === "offline" ? LSA_EMBEDDER_ID : `${spec.provider}:${spec.model}`;
}

/** How an index records its embedder (manifest or pgvector meta): id, model, width, and the offline fit's size. */
export function embedderRecord(spec: EmbedderSpec, dimensions: number, embeddings: Embeddings | LsaEmbeddings) {
  return {
    id: embedderId(spec),
    provider: spec.provider,
    ...(spec.model ? { model: spec.model } : {}),
    dimensions,
    ...("fittedOnChunks" in embeddings ? { fittedOnChunks: embeddings.fittedOnChunks } : {}),
  };
}

/** A pretrained/remote embedder. The offline one is fitted or loaded by the ingest/store code. */
export async function createPretrainedEmbeddings(spec: EmbedderSpec, config: RagConfig): Promise<Embeddings> {
  const entry: ProviderEntry<Embeddings, EmbedderContext> = providerEntry(EMBEDDERS, "embedder", spec.provider);
  if (!entry.create || !spec.model) throw new Error(`${spec.provider} embeddings are not pretrained`);
  return entry.create({ model: spec.model, config });
}
