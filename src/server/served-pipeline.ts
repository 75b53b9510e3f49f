import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { Runnable } from "@langchain/core/runnables";
import type { AnswerInput, AnswerOutput } from "../../chains/answer-chain.js";
import { RerankingRetriever, RerankStep } from "../../chains/reranking-retriever.js";
import { isCascadeSpec, parseCascade, type CascadeSpec, type RagConfig } from "../config/index.js";
import { UsageError } from "../errors/index.js";
import type { Pipeline } from "../pipeline/create-pipeline.js";
import { whereRuns } from "../providers/endpoint.js";
import { providerNames, type ProviderEntry } from "../providers/provider-table.js";
import { RerankCascade } from "../rerankers/cascade.js";
import { CrossEncoderReranker } from "../rerankers/cross-encoder-reranker.js";
import { createRerankerFromSpec, RERANKERS, resolveReranker, type ConcreteReranker } from "../rerankers/registry.js";
import { disposeOf } from "../util/dispose.js";

/** One re-ranker's way through a pipeline: the same first stage and LLM, its own second stage. */
export interface Variant {
  retriever: RerankingRetriever;
  chain: Runnable<AnswerInput, AnswerOutput>;
}

/** A re-ranker a request may name: one provider, or the cascade the server was configured with (`bm25:20,cross-encoder`). */
export type ServedReranker = ConcreteReranker | CascadeSpec;

/** A pipeline as the server uses it: the configured re-ranker, the others a request may pick, and their chains. */
export type ServedPipeline = Pipeline & {
  /** The re-ranker the pipeline was built with, a cascade's spec for a cascade ("none" when re-ranking is off). */
  reranker: ServedReranker;
  /** Re-rankers a request may name: the configured one (even remote, even a cascade), the local ones set up on this machine, and "none". */
  rerankers: ServedReranker[];
  /** The retriever and chain for a re-ranker (built on first use, then kept with the pipeline); a name not in `rerankers` fails. */
  variant(name: string): Promise<Variant>;
  /** The re-ranker's compressor itself (a cascade's for a cascade), for `/v1/rerank`; null for "none". */
  compressor(name: string): Promise<BaseDocumentCompressor | null>;
};

/**
 * Wraps a pipeline with the re-rankers a request may switch to. A variant shares the pipeline's
 * first stage (one index, one embedder) and LLM; closing the served pipeline releases the
 * variants' compressors too.
 */
export function servePipeline(pipeline: Pipeline, config: RagConfig): ServedPipeline {
  const reranker: ServedReranker = !pipeline.retriever.defaults.rerank
    ? "none"
    : isCascadeSpec(config.RAG_RERANKER)
      ? cascadeName(config.RAG_RERANKER)
      : resolveReranker(config).name;
  const singles = providerNames(RERANKERS).filter((name) => {
    const entry: ProviderEntry<unknown, never> = RERANKERS[name];
    // A remote re-ranker receives documents only when it was named: the configured one, never offered besides.
    return name === reranker || name === "none" || (whereRuns(config, name) === "local" && (!entry.isAvailable || entry.isAvailable(config)));
  });
  const rerankers: ServedReranker[] = isCascadeSpec(reranker) ? [reranker, ...singles] : singles;
  const stats = pipeline.store === "hnsw" ? pipeline.index.stats : pipeline.pgvector.stats;
  const compressors = new Map<ServedReranker, Promise<BaseDocumentCompressor | null>>();
  const variants = new Map<ServedReranker, Promise<Variant>>();
  const allowed = (name: string): ServedReranker => {
    const found = rerankers.find((served) => served === name);
    if (found === undefined) {
      throw new UsageError(`The re-ranker "${name}" is not available on this server; available: ${rerankers.join(", ")}.`, {
        setting: "reranker",
        hint: `Pick one of ${rerankers.join(", ")}.`,
      });
    }
    return found;
  };
  const compressor = (requested: string) => {
    const name = allowed(requested);
    let made = compressors.get(name);
    if (!made) {
      made = createRerankerFromSpec(name, { config, stats }).then(async ({ compressor: made }) => {
        // A local model loads now, so a missing one fails this request rather than mid-answer.
        if (made instanceof CrossEncoderReranker || made instanceof RerankCascade) await made.load();
        return made;
      });
      // A failed load is not kept: the next request tries again (e.g. after `models pull`).
      made.catch(() => compressors.delete(name));
      compressors.set(name, made);
    }
    return made;
  };
  const variant = (requested: string): Promise<Variant> => {
    const name = allowed(requested);
    if (name === reranker || name === "none") return Promise.resolve({ retriever: pipeline.retriever, chain: pipeline.chain });
    let made = variants.get(name);
    if (!made) {
      const base = pipeline.retriever;
      // On even when the pipeline was built without re-ranking (this variant exists to re-rank); "auto" when the server's is.
      const defaults = { ...base.defaults, rerank: base.defaults.rerank === "auto" ? ("auto" as const) : true };
      made = compressor(name).then((loaded) => {
        const retriever = new RerankingRetriever({
          baseRetriever: base.baseRetriever,
          baseCompressor: new RerankStep(() => Promise.resolve(loaded), defaults),
          defaults,
          rerankerName: name,
        });
        return { retriever, chain: pipeline.chainFor(retriever) };
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

/** A cascade spec as the server names it: its stages without spaces (`bm25:20,cross-encoder`); a bad one fails here, at start. */
function cascadeName(spec: CascadeSpec): CascadeSpec {
  return parseCascade(spec)
    .map((stage) => (stage.keep === undefined ? stage.name : `${stage.name}:${stage.keep}`))
    .join(",") as CascadeSpec;
}
