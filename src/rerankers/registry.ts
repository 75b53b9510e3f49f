import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { isCascadeSpec, parseCascade, type RagConfig, type RerankerProviderName, type RerankerSpec } from "../config/index.js";
import { COHERE_PACKAGES, importOptional, UsageError } from "../errors/index.js";
import { isModelPresent } from "../models/transformers-env.js";
import { providerEntry, resolveAuto, type ProviderEntry } from "../providers/provider-table.js";
import type { CorpusStats } from "../text/corpus-stats.js";

export interface RerankerContext {
  config: RagConfig;
  /** Corpus statistics of the index, for the BM25 re-ranker. */
  stats?: CorpusStats | null;
}

const crossEncoderModel = (config: RagConfig): string => config.RAG_RERANKER_MODEL ?? RERANKERS["cross-encoder"].defaultModel;

/** Every re-ranker by name; "none" creates no re-ranker (the first-stage order is kept). */
export const RERANKERS = Object.freeze({
  bm25: {
    describe: "BM25 over the candidates, blended with the first-stage rank (offline)",
    autoRank: 1,
    create: async ({ stats }: RerankerContext): Promise<BaseDocumentCompressor | null> => {
      const { Bm25Reranker } = await import("./bm25-reranker.js");
      return new Bm25Reranker({ stats });
    },
  },
  "cross-encoder": {
    describe: "a local ONNX cross-encoder (transformers.js), from RAG_MODELS_DIR or downloaded on first use",
    defaultModel: "Xenova/ms-marco-MiniLM-L-6-v2",
    autoRank: 2,
    isAvailable: (config: RagConfig): boolean => isModelPresent(config.RAG_MODELS_DIR, crossEncoderModel(config)),
    unavailableNote: (config: RagConfig): string => {
      const model = crossEncoderModel(config);
      return `no cross-encoder ${model} in ${config.RAG_MODELS_DIR}; \`rerank-rag models pull ${model}\` or \`models import\` adds one.`;
    },
    create: async ({ config }: RerankerContext): Promise<BaseDocumentCompressor | null> => {
      const { CrossEncoderReranker } = await import("./cross-encoder-reranker.js");
      const model = crossEncoderModel(config);
      const modelsDir = config.RAG_MODELS_DIR;
      // A local copy never needs the network; otherwise the first use downloads it.
      return new CrossEncoderReranker({
        model,
        modelsDir,
        localFilesOnly: isModelPresent(modelsDir, model),
        maxLength: config.RAG_RERANKER_MAX_LENGTH,
        batchSize: config.RAG_RERANKER_BATCH_SIZE,
        batchTokens: config.RAG_RERANKER_BATCH_TOKENS,
        workers: config.RAG_RERANKER_WORKERS || undefined,
        dtype: config.RAG_RERANKER_DTYPE,
        device: config.RAG_RERANKER_DEVICE,
      });
    },
  },
  cohere: {
    describe: "Cohere's hosted rerank API, or a server speaking its /v1/rerank protocol (COHERE_API_KEY)",
    defaultModel: "rerank-v3.5",
    // No autoRank: every query and its candidates go to Cohere only when RAG_RERANKER=cohere names it.
    create: async ({ config }: RerankerContext): Promise<BaseDocumentCompressor | null> => {
      const { createCohereReranker } = await importOptional(COHERE_PACKAGES, "The cohere re-ranker", () => import("./cohere-reranker.js"));
      return createCohereReranker(config, { onError: config.RAG_RERANK_ON_ERROR });
    },
  },
  // Remote servers: never taken by `auto`, so candidates leave the machine only when one is named.
  tei: {
    describe: "a Hugging Face Text Embeddings Inference server serving a cross-encoder, e.g. on a GPU (TEI_BASE_URL)",
    create: async ({ config }: RerankerContext): Promise<BaseDocumentCompressor | null> => {
      const { createTeiReranker } = await import("./tei-reranker.js");
      return createTeiReranker(config, { onError: config.RAG_RERANK_ON_ERROR });
    },
  },
  jina: {
    describe: "Jina AI's hosted rerank API (JINA_API_KEY)",
    defaultModel: "jina-reranker-v2-base-multilingual",
    create: async ({ config }: RerankerContext): Promise<BaseDocumentCompressor | null> => {
      const { createJinaReranker } = await import("./jina-reranker.js");
      return createJinaReranker(config, { onError: config.RAG_RERANK_ON_ERROR });
    },
  },
  voyage: {
    describe: "Voyage AI's hosted rerank API (VOYAGE_API_KEY)",
    defaultModel: "rerank-2.5",
    create: async ({ config }: RerankerContext): Promise<BaseDocumentCompressor | null> => {
      const { createVoyageReranker } = await import("./voyage-reranker.js");
      return createVoyageReranker(config, { onError: config.RAG_RERANK_ON_ERROR });
    },
  },
  none: {
    describe: "no re-ranking: the first-stage order",
    create: (): Promise<BaseDocumentCompressor | null> => Promise.resolve(null),
  },
} satisfies Record<Exclude<RerankerProviderName, "auto">, ProviderEntry<BaseDocumentCompressor | null, RerankerContext>>);

export type ConcreteReranker = keyof typeof RERANKERS;

export interface ResolvedReranker {
  name: ConcreteReranker;
  /** Why `auto` did not pick a neural re-ranker, in one line for the user. */
  note?: string;
}

/**
 * Resolves `auto` to a local re-ranker, without touching the network: a cross-encoder present
 * on disk, else the offline BM25 re-ranker (saying why in one line). A remote one (cohere) is
 * used only when named. An unknown name fails.
 */
export function resolveReranker(config: RagConfig, requested: RerankerSpec = config.RAG_RERANKER): ResolvedReranker {
  if (isCascadeSpec(requested)) {
    throw new UsageError(`"${requested}" is a cascade of re-rankers, not one.`, { setting: "RAG_RERANKER", hint: "Build it with createRerankerFromSpec." });
  }
  if (requested !== "auto") {
    providerEntry(RERANKERS, "re-ranker", requested);
    return { name: requested };
  }
  const { name, passedOver } = resolveAuto(RERANKERS, config);
  return passedOver.length > 0 ? { name, note: `rerank=${name} (offline): ${passedOver.join("; ")}` } : { name };
}

/** A re-ranker by provider name; null for "none". An unknown name fails with the valid ones. */
export async function createReranker(name: ConcreteReranker, context: RerankerContext): Promise<BaseDocumentCompressor | null> {
  return providerEntry(RERANKERS, "re-ranker", name).create(context);
}

/** A re-ranker or cascade built from a spec: the compressor (null for "none"), its name for descriptions, notes on `auto`. */
export interface BuiltReranker {
  compressor: BaseDocumentCompressor | null;
  /** e.g. `bm25`, or `bm25:20 → cross-encoder` for a cascade. */
  name: string;
  /** The provider of each stage (one for a single re-ranker), e.g. to say where each runs. */
  stages: string[];
  notes: string[];
}

/** One re-ranker by name, or a cascade (`bm25:20,cross-encoder`), each stage's `auto` resolved. */
export async function createRerankerFromSpec(spec: RerankerSpec, context: RerankerContext): Promise<BuiltReranker> {
  if (!isCascadeSpec(spec)) {
    const { name, note } = resolveReranker(context.config, spec);
    return { compressor: await createReranker(name, context), name, stages: [name], notes: note ? [note] : [] };
  }
  const resolved = parseCascade(spec).map((stage) => ({ ...resolveReranker(context.config, stage.name), keep: stage.keep }));
  const { RerankCascade } = await import("./cascade.js");
  const stages = await Promise.all(resolved.map(async ({ name, keep }) => ({ compressor: (await createReranker(name, context))!, keep, name })));
  const cascade = new RerankCascade(stages);
  return {
    compressor: cascade,
    name: cascade.description,
    stages: resolved.map((stage) => stage.name),
    notes: resolved.flatMap((r) => (r.note ? [r.note] : [])),
  };
}
