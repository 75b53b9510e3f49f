import type { Embeddings } from "@langchain/core/embeddings";
import { requireKey, type RagConfig } from "../config/index.js";
import { isModelPresent } from "../models/transformers-env.js";
import { LSA_EMBEDDER_ID, LsaEmbeddings } from "./lsa/lsa-embeddings.js";

export type EmbedderProvider = "offline" | "transformers" | "openai" | "cohere";

/** Which embedder an index is built with; recorded in the manifest. */
export interface EmbedderSpec {
  provider: EmbedderProvider;
  model?: string;
}

export const DEFAULT_EMBEDDING_MODELS: Record<Exclude<EmbedderProvider, "offline">, string> = {
  transformers: "Xenova/all-MiniLM-L6-v2",
  openai: "text-embedding-3-small",
  cohere: "embed-english-v3.0",
};

/** Resolves `auto` and fills in the default model: a configured API, a local model, else offline. */
export function resolveEmbedder(config: RagConfig): EmbedderSpec {
  const requested = config.RAG_EMBEDDINGS;
  const provider: EmbedderProvider =
    requested !== "auto"
      ? requested
      : config.OPENAI_API_KEY
        ? "openai"
        : config.COHERE_API_KEY
          ? "cohere"
          : isModelPresent(config.RAG_MODELS_DIR, config.RAG_EMBEDDINGS_MODEL ?? DEFAULT_EMBEDDING_MODELS.transformers)
            ? "transformers"
            : "offline";
  if (provider === "offline") return { provider };
  return { provider, model: config.RAG_EMBEDDINGS_MODEL ?? DEFAULT_EMBEDDING_MODELS[provider] };
}

export function embedderId(spec: EmbedderSpec): string {
  return spec.provider === "offline" ? LSA_EMBEDDER_ID : `${spec.provider}:${spec.model}`;
}

/** How an index records its embedder (manifest or pgvector meta): id, model, width, and the offline fit's size. */
export function embedderRecord(spec: EmbedderSpec, dimensions: number, embeddings: Embeddings) {
  return {
    id: embedderId(spec),
    provider: spec.provider,
    ...(spec.model ? { model: spec.model } : {}),
    dimensions,
    ...(embeddings instanceof LsaEmbeddings ? { fittedOnChunks: embeddings.fittedOnChunks } : {}),
  };
}

/** A pretrained/remote embedder. The offline one is fitted or loaded by the ingest/store code. */
export async function createPretrainedEmbeddings(spec: EmbedderSpec, config: RagConfig): Promise<Embeddings> {
  const model = spec.model!;
  switch (spec.provider) {
    case "transformers": {
      const { TransformersEmbeddings } = await import("./transformers-embeddings.js");
      return new TransformersEmbeddings({ model, modelsDir: config.RAG_MODELS_DIR });
    }
    case "openai": {
      const apiKey = requireKey(config.OPENAI_API_KEY ?? (config.OPENAI_BASE_URL ? "not-needed" : undefined), "OPENAI_API_KEY", "embeddings");
      const { OpenAIEmbeddings } = await import("@langchain/openai");
      return new OpenAIEmbeddings({
        model,
        apiKey,
        timeout: config.RAG_TIMEOUT_MS,
        maxRetries: config.RAG_MAX_RETRIES,
        configuration: { baseURL: config.OPENAI_BASE_URL },
      });
    }
    case "cohere": {
      const { CohereEmbeddings } = await import("@langchain/cohere");
      const { createCohereClient } = await import("../providers/cohere-client.js");
      return new CohereEmbeddings({ model, client: createCohereClient(config, "embeddings") });
    }
    default:
      throw new Error(`${spec.provider} embeddings are not pretrained`);
  }
}
