import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { Runnable } from "@langchain/core/runnables";
import { createAnswerChain, type AnswerInput, type AnswerOutput } from "../../chains/answer-chain.js";
import { RerankingRetriever, RerankStep } from "../../chains/reranking-retriever.js";
import { isCascadeSpec, type RagConfig } from "../config/index.js";
import { UsageError, secretsOf } from "../errors/index.js";
import type { Pipeline } from "../pipeline/create-pipeline.js";
import { whereRuns } from "../providers/endpoint.js";
import { providerNames, type ProviderEntry } from "../providers/provider-table.js";
import { CrossEncoderReranker } from "../rerankers/cross-encoder-reranker.js";
import { createReranker, RERANKERS, resolveReranker, type ConcreteReranker } from "../rerankers/registry.js";
import { disposeOf } from "../util/dispose.js";

/** One re-ranker's way through a pipeline: the same first stage and LLM, its own second stage. */
export interface Variant {
  retriever: RerankingRetriever;
  chain: Runnable<AnswerInput, AnswerOutput>;
}

/** A pipeline as the server uses it: the configured re-ranker, the others a request may pick, and their chains. */
export type ServedPipeline = Pipeline & {
  /** The re-ranker the pipeline was built with ("none" when re-ranking is off). */
  reranker: ConcreteReranker;
  /** Re-rankers a request may name: the local ones set up on this machine, the configured one (even remote), and "none". */
  rerankers: ConcreteReranker[];
  /** The retriever and chain for a re-ranker (built on first use, then kept with the pipeline). */
  variant(name: ConcreteReranker): Promise<Variant>;
  /** The re-ranker's compressor itself, for `/v1/rerank`; null for "none". */
  compressor(name: ConcreteReranker): Promise<BaseDocumentCompressor | null>;
};

/**
 * Wraps a pipeline with the re-rankers a request may switch to. A variant shares the pipeline's
 * first stage (one index, one embedder) and LLM; closing the served pipeline releases the
 * variants' compressors too.
 */
export function servePipeline(pipeline: Pipeline, config: RagConfig): ServedPipeline {
  if (pipeline.retriever.defaults.rerank && isCascadeSpec(config.RAG_RERANKER)) {
    // The page's picker and /v1/rerank switch between single re-rankers; a cascade has no place there yet.
    throw new UsageError(`rerank-rag serve takes one re-ranker, not the cascade "${config.RAG_RERANKER}".`, {
      setting: "RAG_RERANKER",
      hint: "Serve with one re-ranker (--reranker bm25 or cross-encoder); cascades run from ask, eval and the library.",
    });
  }
  const reranker = pipeline.retriever.defaults.rerank ? resolveReranker(config).name : "none";
  const rerankers = providerNames(RERANKERS).filter((name) => {
    const entry: ProviderEntry<unknown, never> = RERANKERS[name];
    // A remote re-ranker receives documents only when it was named: the configured one, never offered besides.
    return name === reranker || name === "none" || (whereRuns(config, name) === "local" && (!entry.isAvailable || entry.isAvailable(config)));
  });
  const stats = pipeline.store === "hnsw" ? pipeline.index.stats : pipeline.pgvector.stats;
  const compressors = new Map<ConcreteReranker, Promise<BaseDocumentCompressor | null>>();
  const variants = new Map<ConcreteReranker, Promise<Variant>>();
  const allowed = (name: ConcreteReranker) => {
    if (!rerankers.includes(name)) {
      throw new UsageError(`The re-ranker "${name}" is not available on this server; available: ${rerankers.join(", ")}.`, {
        setting: "reranker",
        hint: `Pick one of ${rerankers.join(", ")}.`,
      });
    }
  };
  const compressor = (name: ConcreteReranker) => {
    allowed(name);
    let made = compressors.get(name);
    if (!made) {
      made = createReranker(name, { config, stats }).then(async (made) => {
        // A local model loads now, so a missing one fails this request rather than mid-answer.
        if (made instanceof CrossEncoderReranker) await made.load();
        return made;
      });
      // A failed load is not kept: the next request tries again (e.g. after `models pull`).
      made.catch(() => compressors.delete(name));
      compressors.set(name, made);
    }
    return made;
  };
  const variant = (name: ConcreteReranker): Promise<Variant> => {
    allowed(name);
    if (name === reranker || name === "none") return Promise.resolve({ retriever: pipeline.retriever, chain: pipeline.chain });
    let made = variants.get(name);
    if (!made) {
      const base = pipeline.retriever;
      // On even when the pipeline was built without re-ranking: this variant exists to re-rank.
      const defaults = { ...base.defaults, rerank: true };
      made = compressor(name).then((loaded) => {
        const retriever = new RerankingRetriever({
          baseRetriever: base.baseRetriever,
          baseCompressor: new RerankStep(() => Promise.resolve(loaded), defaults),
          defaults,
          rerankerName: name,
        });
        return { retriever, chain: createAnswerChain({ retriever, llm: pipeline.llm, secrets: secretsOf(config, process.env) }) };
      });
      made.catch(() => variants.delete(name));
      variants.set(name, made);
    }
    return made;
  };
  const close = async () => {
    const made = await Promise.allSettled(compressors.values());
    await Promise.allSettled(made.map((result) => (result.status === "fulfilled" ? disposeOf(result.value) : Promise.resolve())));
    await pipeline.close();
  };
  return { ...pipeline, reranker, rerankers, variant, compressor, close };
}
