// The provider and store names, apart from the zod schema: the CLI declares its choices from
// them, and `--version` or `--help` must not load zod to print them. Config sits below the
// provider folders, so the names are listed here, after "auto" (which picks one from what is
// set up); each kind's table (EMBEDDERS, RERANKERS, LLMS in <kind>/registry.ts) must have
// exactly these keys, which TypeScript checks, and everything else about a provider (auto,
// default model, hints, creation) comes from its table.
export const EMBEDDINGS_PROVIDERS = ["auto", "offline", "transformers", "openai", "cohere"] as const;
export const RERANKER_PROVIDERS = ["auto", "bm25", "cross-encoder", "cohere", "tei", "jina", "voyage", "none"] as const;
export const LLM_PROVIDERS = ["auto", "extractive", "openai", "cohere", "llama-cpp"] as const;
export const STORES = ["hnsw", "pgvector"] as const;
/** Where a local ONNX model runs: the CPU, or a GPU through onnxruntime (CUDA on Linux, WebGPU, DirectML on Windows). */
export const DEVICES = ["cpu", "cuda", "webgpu", "dml"] as const;

export type EmbeddingsProviderName = (typeof EMBEDDINGS_PROVIDERS)[number];
export type RerankerProviderName = (typeof RERANKER_PROVIDERS)[number];
export type LlmProviderName = (typeof LLM_PROVIDERS)[number];
export type StoreName = (typeof STORES)[number];
export type Device = (typeof DEVICES)[number];
