import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { dispatchCustomEvent } from "@langchain/core/callbacks/dispatch/web";
import type { CallbackManagerForRetrieverRun, Callbacks } from "@langchain/core/callbacks/manager";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseRetriever, type BaseRetrieverInput, type BaseRetrieverInterface } from "@langchain/core/retrievers";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { loadConfig, type RagConfig, type RerankerProviderName } from "../src/config/index.js";
import { UsageError } from "../src/errors/index.js";
import type { CorpusStats } from "../src/text/corpus-stats.js";
import { providerEntry } from "../src/providers/provider-table.js";
import { createReranker, RERANKERS, resolveReranker } from "../src/rerankers/registry.js";

/** A retriever that can be asked for a number of results (e.g. the hybrid first stage): `withK(k)` is a copy returning k. */
export interface SizedRetriever extends BaseRetrieverInterface {
  withK(k: number): BaseRetrieverInterface;
}

const isSized = (retriever: BaseRetrieverInterface): retriever is SizedRetriever => typeof (retriever as Partial<SizedRetriever>).withK === "function";

/** Per-call settings, read from `RunnableConfig.configurable`. */
export interface RerankCallSettings {
  rerank: boolean;
  fetchK: number;
  topN: number;
}

export interface RerankingRetrieverOptions {
  /** First stage: a vector store (searched with scores) … */
  vectorStore?: VectorStoreInterface;
  /** … or any retriever (its order is the first-stage order; one with `withK(k)` is asked for fetchK). */
  retriever?: BaseRetrieverInterface | SizedRetriever;
  /** Candidates fetched from the first stage (default 50). */
  fetchK?: number;
  /** Documents returned after re-ranking (default 5). */
  topN?: number;
  /** A compressor, a provider name ("bm25", "cross-encoder", "cohere", "auto") or "none". */
  reranker?: BaseDocumentCompressor | RerankerProviderName;
  /** Settings for provider names (keys, models); defaults to the environment. */
  config?: RagConfig;
  /** Corpus statistics for the BM25 re-ranker (the index's own). */
  stats?: CorpusStats | null;
  /** Maps the store's raw score to a similarity (higher is better); inferred for known stores. */
  scoreToSimilarity?: (raw: number) => number;
}

/** Stores whose scores are distances (lower is better) in LangChain.js. */
const DISTANCE_STORES = new Set(["hnswlib", "pgvector", "faiss", "hanavector"]);

export function similarityFor(store: VectorStoreInterface): (raw: number) => number {
  return DISTANCE_STORES.has(store._vectorstoreType()) ? (distance) => 1 - distance : (score) => score;
}

function withMetadata(doc: DocumentInterface, extra: Record<string, unknown>): Document {
  return new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, ...extra }, id: doc.id });
}

/** First-stage hits as documents with `retrievalScore` (a similarity) and `retrievalRank`, best first. */
export function firstStageDocuments(hits: ReadonlyArray<[DocumentInterface, number]>, toSimilarity: (raw: number) => number): Document[] {
  return hits.map(([doc, raw], i) => withMetadata(doc, { retrievalScore: toSimilarity(raw), retrievalRank: i + 1 }));
}

/** Tag of the first-stage run: its output is the candidates before re-ranking (see FirstStageCollector). */
export const FIRST_STAGE_TAG = "rerank_rag:first_stage";
type FirstStageSource = { vectorStore: VectorStoreInterface; toSimilarity: (raw: number) => number } | { retriever: BaseRetrieverInterface };

/** First stage: the top fetchK candidates with `retrievalScore` (a similarity) and `retrievalRank`. */
export class FirstStageRetriever extends BaseRetriever {
  override lc_namespace = ["rerank_rag", "retrievers"];
  static override lc_name() {
    return "FirstStageRetriever";
  }

  constructor(
    private readonly source: FirstStageSource,
    readonly fetchK: number,
  ) {
    super({ tags: [FIRST_STAGE_TAG] });
  }

  /** A copy fetching this many candidates: a call's setting, carried explicitly. */
  withFetchK(fetchK: number): FirstStageRetriever {
    return new FirstStageRetriever(this.source, fetchK);
  }

  override async _getRelevantDocuments(query: string, runManager?: CallbackManagerForRetrieverRun): Promise<DocumentInterface[]> {
    const { fetchK } = this;
    if ("vectorStore" in this.source) {
      const { vectorStore, toSimilarity } = this.source;
      const hits = await vectorStore.similaritySearchWithScore(query, fetchK, undefined, runManager?.getChild("vector_store"));
      return firstStageDocuments(hits, toSimilarity);
    }
    // Invoked as a runnable with this run's callbacks, so it has a run of its own in traces.
    const retriever = isSized(this.source.retriever) ? this.source.retriever.withK(fetchK) : this.source.retriever;
    const docs = await retriever.invoke(query, { callbacks: runManager?.getChild("retriever") });
    return docs.slice(0, fetchK).map((doc, i) => withMetadata(doc, { retrievalRank: i + 1 }));
  }
}

/** Name of the custom event the re-ranking step emits (see `RerankEvent`). */
export const RERANK_EVENT = "rerank";

/** What the re-ranking step did for one call: `on_custom_event` in `streamEvents`, `handleCustomEvent` in callbacks. */
export interface RerankEvent {
  /** The compressor's class name (and model, when it has one); null when re-ranking was off or there were no candidates. */
  reranker: string | null;
  model?: string;
  candidates: number;
  returned: number;
  topN: number;
  ms: number;
  /** First-stage rank of each returned document, in returned order. */
  retrievalRanks: number[];
}

/** What every document the retriever returns carries, besides the store's own metadata. */
export interface RerankedMetadata {
  /** First-stage similarity, higher is better (never a raw distance). */
  retrievalScore: number;
  /** 1-based rank in the first stage. */
  retrievalRank: number;
  /** The re-ranker's score, when it re-ranked. */
  rerankScore?: number;
  /** 1-based rank after re-ranking, when it re-ranked. */
  rerankRank?: number;
  [key: string]: unknown;
}

/** A document as the re-ranking retriever returns it. */
export type RerankedDocument = DocumentInterface<RerankedMetadata>;

function rerankEvent(compressor: BaseDocumentCompressor | null, candidates: number, kept: DocumentInterface[], topN: number, ms: number): RerankEvent {
  const model = (compressor as { model?: unknown } | null)?.model;
  return {
    reranker: compressor ? compressor.constructor.name : null,
    ...(typeof model === "string" ? { model } : {}),
    candidates,
    returned: kept.length,
    topN,
    ms: Math.round(ms * 100) / 100,
    retrievalRanks: kept.map((doc) => Number(doc.metadata.retrievalRank)),
  };
}

/**
 * Second stage: runs the re-ranker on copies of the candidates (some compressors, like
 * the stock CohereRerank, write into their inputs), records `rerankScore`/`rerankRank`
 * and keeps the best topN.
 */
export class RerankStep extends BaseDocumentCompressor {
  constructor(
    private readonly compressor: () => Promise<BaseDocumentCompressor | null>,
    readonly settings: Pick<RerankCallSettings, "rerank" | "topN">,
  ) {
    super();
  }

  /** A copy with a call's settings, carried explicitly. */
  withSettings(settings: Pick<RerankCallSettings, "rerank" | "topN">): RerankStep {
    return new RerankStep(this.compressor, settings);
  }

  async compressDocuments(documents: DocumentInterface[], query: string, callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const { rerank, topN } = this.settings;
    const compressor = rerank && documents.length > 0 ? await this.compressor() : null;
    const started = performance.now();
    let kept: DocumentInterface[];
    if (!compressor) kept = documents.slice(0, topN);
    else {
      const copies = documents.map((doc) => withMetadata(doc, {}));
      const ranked = await compressor.compressDocuments(copies, query, callbacks);
      kept = ranked.slice(0, topN).map((doc, i) => {
        const { relevanceScore, ...metadata }: Record<string, unknown> = doc.metadata;
        const rerankScore = metadata.rerankScore ?? relevanceScore;
        return new Document({ pageContent: doc.pageContent, metadata: { ...metadata, rerankScore, rerankRank: i + 1 }, id: doc.id });
      });
    }
    // The re-ranker is no runnable, so it has no run of its own: report what it did as a
    // custom event on the retriever's run (a no-op without callbacks).
    await dispatchCustomEvent(RERANK_EVENT, rerankEvent(compressor, documents.length, kept, topN, performance.now() - started), { callbacks });
    return kept;
  }
}

/**
 * The two-stage retriever: first stage top fetchK → re-ranker → top topN. A stock
 * ContextualCompressionRetriever underneath, so it traces, streams events and composes
 * like any LangChain retriever; per-call settings come from `configurable`.
 */
export class RerankingRetriever extends ContextualCompressionRetriever {
  static override lc_name() {
    return "RerankingRetriever";
  }
  declare baseRetriever: FirstStageRetriever;
  declare baseCompressor: RerankStep;
  readonly defaults: RerankCallSettings;
  /** The re-ranker as configured: a provider name or the compressor's class name. */
  readonly rerankerName: string;

  constructor(
    fields: BaseRetrieverInput & { baseRetriever: FirstStageRetriever; baseCompressor: RerankStep; defaults: RerankCallSettings; rerankerName?: string },
  ) {
    super(fields);
    this.defaults = fields.defaults;
    this.rerankerName = fields.rerankerName ?? "custom";
  }

  /** Settings for one call: `configurable.rerank`, `.fetchK` and `.topN` override the chain's. */
  settingsFor(options?: Partial<RunnableConfig>): RerankCallSettings {
    const configurable = (options?.configurable ?? {}) as Record<string, unknown>;
    return validateSettings({
      rerank: configurable.rerank === undefined ? this.defaults.rerank : configurable.rerank !== false && configurable.rerank !== "false",
      fetchK: configurable.fetchK === undefined ? this.defaults.fetchK : Number(configurable.fetchK),
      topN: configurable.topN === undefined ? this.defaults.topN : Number(configurable.topN),
    });
  }

  /**
   * Runs with the call's settings; they are added to the run's metadata (`rerankRag`) so traces
   * show them. BaseRetriever hands `_getRelevantDocuments` only a callback manager, never the
   * call's config, so the settings travel as fields of a per-call copy of both stages.
   */
  override async invoke(input: string, options?: RunnableConfig): Promise<RerankedDocument[]> {
    const settings = this.settingsFor(options);
    const rerankRag = { reranker: settings.rerank ? this.rerankerName : "none", ...settings };
    const call = new RerankingRetriever({
      baseRetriever: this.baseRetriever.withFetchK(settings.fetchK),
      baseCompressor: this.baseCompressor.withSettings(settings),
      defaults: settings,
      rerankerName: this.rerankerName,
      callbacks: this.callbacks,
      tags: this.tags,
      metadata: this.metadata,
      verbose: this.verbose,
    });
    // Every document has passed through the first stage, which sets retrievalScore and retrievalRank.
    return (await call.run(input, { ...options, metadata: { ...options?.metadata, rerankRag } })) as RerankedDocument[];
  }

  /** The stock retriever run (callbacks, then both stages), with this instance's settings. */
  private run(input: string, options: RunnableConfig): Promise<DocumentInterface[]> {
    return super.invoke(input, options);
  }
}

function validateSettings(settings: RerankCallSettings): RerankCallSettings {
  const { fetchK, topN } = settings;
  if (!Number.isInteger(topN) || topN < 1) {
    throw new UsageError(`topN must be a whole number of at least 1, got ${topN}.`, { setting: "topN", hint: "Set topN to e.g. 5 (typical: 3–10)." });
  }
  if (!Number.isInteger(fetchK) || fetchK < topN) {
    throw new UsageError(`fetchK must be a whole number of at least topN (${topN}), got ${fetchK}.`, {
      setting: "fetchK",
      hint: "Set fetchK to at least topN, e.g. 50 (typical: 20–100).",
    });
  }
  return settings;
}

/** Builds the re-ranking retriever (see RerankingRetrieverOptions). */
export function createRerankingRetriever(options: RerankingRetrieverOptions): RerankingRetriever {
  const { vectorStore, retriever, reranker = "auto" } = options;
  if (!vectorStore === !retriever) {
    throw new UsageError("createRerankingRetriever needs exactly one of `vectorStore` or `retriever`.");
  }
  // An unknown name fails here, not silently at the first call.
  if (typeof reranker === "string" && reranker !== "auto") providerEntry(RERANKERS, "re-ranker", reranker);
  const defaults = validateSettings({ rerank: reranker !== "none", fetchK: options.fetchK ?? 50, topN: options.topN ?? 5 });
  const source = vectorStore ? { vectorStore, toSimilarity: options.scoreToSimilarity ?? similarityFor(vectorStore) } : { retriever: retriever! };
  let compressor: Promise<BaseDocumentCompressor | null> | undefined;
  const loadCompressor = () => {
    if (typeof reranker !== "string") return Promise.resolve(reranker);
    compressor ??= (async () => {
      const config = options.config ?? loadConfig();
      return createReranker(resolveReranker(config, reranker).name, { config, stats: options.stats });
    })();
    return compressor;
  };
  return new RerankingRetriever({
    baseRetriever: new FirstStageRetriever(source, defaults.fetchK),
    baseCompressor: new RerankStep(loadCompressor, defaults),
    defaults,
    rerankerName: typeof reranker === "string" ? reranker : reranker.constructor.name,
  });
}
