import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { dispatchCustomEvent } from "@langchain/core/callbacks/dispatch/web";
import type { CallbackManagerForRetrieverRun, Callbacks } from "@langchain/core/callbacks/manager";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseRetriever, type BaseRetrieverInput, type BaseRetrieverInterface } from "@langchain/core/retrievers";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { isCascadeSpec, loadConfig, parseCascade, type RagConfig, type RerankerSpec } from "../src/config/index.js";
import { UsageError } from "../src/errors/index.js";
import { acceptsChunkFilter, toChunkFilter, type ChunkFilter, type ChunkFilterSpec } from "../src/store/chunk-filter.js";
import type { CorpusStats } from "../src/text/corpus-stats.js";
import { providerEntry } from "../src/providers/provider-table.js";
import { adaptiveRule, decideRerank, rerankSignals, type AdaptiveDecision, type AdaptiveRule } from "../src/rerankers/adaptive.js";
import { RerankCascade, takeCascadeReport, type CascadeStage, type CascadeStageReport } from "../src/rerankers/cascade.js";
import { defaultMinScoreOf, isBelowCutOff, parseMinScore, type MinScoreSetting } from "../src/rerankers/cut-off.js";
import { createRerankerFromSpec, RERANKERS } from "../src/rerankers/registry.js";
import { withLexicalEvidence } from "../src/rerankers/bm25-reranker.js";
import { withCallSignal } from "../src/util/call-signal.js";
import { describeValue } from "../src/util/describe-value.js";

/** A retriever that can be asked for a number of results (e.g. the hybrid first stage): `withK(k)` is a copy returning k. */
export interface SizedRetriever extends BaseRetrieverInterface {
  withK(k: number): BaseRetrieverInterface;
}

const isSized = (retriever: BaseRetrieverInterface): retriever is SizedRetriever => typeof (retriever as Partial<SizedRetriever>).withK === "function";

/** A retriever that can search only the chunks passing a filter (e.g. the hybrid first stage): `withFilter(f)` is such a copy. */
export interface FilterableRetriever extends BaseRetrieverInterface {
  withFilter(filter: ChunkFilter | null): BaseRetrieverInterface;
}

const isFilterable = (retriever: BaseRetrieverInterface): retriever is FilterableRetriever =>
  typeof (retriever as Partial<FilterableRetriever>).withFilter === "function";

/** LangChain stores whose search filter is a function of the document: they get the filter as one. */
const FUNCTION_FILTER_STORES = new Set(["memory", "hnswlib"]);

/** Per-call settings, read from `RunnableConfig.configurable`. */
export interface RerankCallSettings {
  /** Re-rank every call, none, or "auto": only when the first stage is unsure (see `adaptive`). */
  rerank: boolean | "auto";
  fetchK: number;
  topN: number;
  /** Only chunks passing it are candidates (applied inside the first stage); null for all. */
  filter: ChunkFilter | null;
  /** The rule `rerank: "auto"` decides by. */
  adaptive: AdaptiveRule;
  /** Re-ranked documents below this cut-off are dropped: a score, "auto" (the re-ranker's calibrated one) or null (keep all). */
  minScore: MinScoreSetting;
}

/** How `rerank` may be given: RAG_RERANK's "on" and "off" mean true and false. */
export type RerankSetting = boolean | "on" | "off" | "auto";
const RERANK_SETTINGS: ReadonlyMap<unknown, RerankCallSettings["rerank"]> = new Map<unknown, RerankCallSettings["rerank"]>([
  [true, true],
  [false, false],
  ["on", true],
  ["off", false],
  ["auto", "auto"],
]);

/** `rerank` from the options or a call; anything else is an error naming where it came from. */
export function parseRerank(value: unknown, where: string): RerankCallSettings["rerank"] {
  const rerank = RERANK_SETTINGS.get(value);
  if (rerank === undefined) {
    throw new UsageError(`${where} must be true, false, "on", "off" or "auto", got ${JSON.stringify(value)}.`, {
      setting: "rerank",
      hint: 'Use true or "on" to re-rank, false or "off" to keep the first-stage order, "auto" to re-rank only when the first stage is unsure.',
    });
  }
  return rerank;
}

/** A cascade stage in the library: a provider name with an optional `:keep` ("bm25:20"), or a compressor and how many it keeps. */
export type CascadeStageInput = string | CascadeStage;

export interface RerankingRetrieverOptions {
  /** First stage: a vector store (searched with scores) … */
  vectorStore?: VectorStoreInterface;
  /** … or any retriever (its order is the first-stage order; one with `withK(k)` is asked for fetchK). */
  retriever?: BaseRetrieverInterface | SizedRetriever;
  /** Candidates fetched from the first stage (default 50). */
  fetchK?: number;
  /** Documents returned after re-ranking (default 5). */
  topN?: number;
  /**
   * Only chunks passing this filter are candidates: `source` path globs and metadata equality
   * or `in` (a list), e.g. `{ source: "authentication/**", lang: ["en", "fr"] }`. Applied inside
   * the first stage; `configurable.filter` sets or clears it per call.
   */
  filter?: ChunkFilterSpec | ChunkFilter;
  /**
   * Drop re-ranked documents whose evidence score is below this cut-off: a score on the
   * re-ranker's scale, or "auto" for its calibrated default (see `judgeEvidence`, which the
   * answer chain's gate uses with the same scores). Default: keep all.
   */
  minScore?: number | "auto" | null;
  /**
   * A compressor, a provider name ("bm25", "cross-encoder", "cohere", "auto"), "none", or a
   * cascade, cheap first: "bm25:20,cross-encoder" or ["bm25:20", "cross-encoder"].
   */
  reranker?: BaseDocumentCompressor | RerankerSpec | CascadeStageInput[];
  /** Re-rank every call (true or "on", the default), none (false or "off"), or "auto": skip when the first stage is already sure. */
  rerank?: RerankSetting;
  /** The rule for `rerank: "auto"` (default: the one fitted on SciFact train, DEFAULT_ADAPTIVE_RULE). */
  adaptive?: Partial<AdaptiveRule>;
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
    readonly filter: ChunkFilter | null = null,
  ) {
    super({ tags: [FIRST_STAGE_TAG] });
    if (filter) storeFilter(source, filter);
  }

  /** A copy fetching this many candidates that pass the filter: a call's settings, carried explicitly. */
  withFetchK(fetchK: number, filter: ChunkFilter | null = this.filter): FirstStageRetriever {
    return new FirstStageRetriever(this.source, fetchK, filter);
  }

  override async _getRelevantDocuments(query: string, runManager?: CallbackManagerForRetrieverRun): Promise<DocumentInterface[]> {
    const { fetchK, filter } = this;
    if ("vectorStore" in this.source) {
      const { vectorStore, toSimilarity } = this.source;
      const nativeFilter = filter ? storeFilter(this.source, filter) : undefined;
      const hits = await vectorStore.similaritySearchWithScore(query, fetchK, nativeFilter, runManager?.getChild("vector_store"));
      return firstStageDocuments(hits, toSimilarity);
    }
    // Invoked as a runnable with this run's callbacks, so it has a run of its own in traces.
    let retriever = this.source.retriever;
    if (filter) retriever = (retriever as FilterableRetriever).withFilter(filter);
    if (isSized(retriever)) retriever = retriever.withK(fetchK);
    const docs = await retriever.invoke(query, { callbacks: runManager?.getChild("retriever") });
    return docs.slice(0, fetchK).map((doc, i) => withMetadata(doc, { retrievalRank: i + 1 }));
  }
}

/**
 * The filter in the form the first stage applies inside its search: a ChunkFilter for our stores
 * (HNSW with its exact fallback, pgvector in SQL) and retrievers, a predicate for LangChain stores
 * filtering by function. Anything else would have to filter after the search, so it is refused.
 */
function storeFilter(source: FirstStageSource, filter: ChunkFilter): object {
  if ("retriever" in source) {
    if (isFilterable(source.retriever)) return filter;
    throw new UsageError(`The first-stage retriever ${source.retriever.constructor.name} cannot apply a filter inside its search.`, {
      setting: "filter",
      hint: "Pass a vector store (HNSW, pgvector, memory) or a HybridRetriever as the first stage, or filter inside your own retriever.",
    });
  }
  const { vectorStore } = source;
  if (acceptsChunkFilter(vectorStore)) return filter;
  if (FUNCTION_FILTER_STORES.has(vectorStore._vectorstoreType())) return (doc: DocumentInterface) => filter.matches(doc.metadata);
  throw new UsageError(`The ${vectorStore._vectorstoreType()} vector store cannot apply rerank-rag filters inside its search.`, {
    setting: "filter",
    hint: "Use an HnswStore, the pgvector store or a MemoryVectorStore, or use the store's own filter through store.asRetriever({ filter }).",
  });
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
  /** With `rerank: "auto"`: whether the re-ranker ran, why, and the signals it was decided on. */
  adaptive?: AdaptiveDecision;
  /** For a cascade: what each stage did, in order. */
  stages?: CascadeStageReport[];
}

/** What every document the retriever returns carries, besides the store's own metadata. */
export interface RerankedMetadata {
  /**
   * First-stage similarity, higher is better (never a raw distance): set with a vector store as
   * first stage, or a retriever that sets it (the hybrid first stage: its fused score); missing
   * with another retriever, which gives an order but no score.
   */
  retrievalScore?: number;
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

interface RerankOutcome {
  compressor: BaseDocumentCompressor | null;
  candidates: number;
  kept: DocumentInterface[];
  topN: number;
  ms: number;
  adaptive?: AdaptiveDecision;
  stages?: CascadeStageReport[];
}

function rerankEvent({ compressor, candidates, kept, topN, ms, adaptive, stages }: RerankOutcome): RerankEvent {
  const model = (compressor as { model?: unknown } | null)?.model;
  return {
    reranker: compressor ? compressor.constructor.name : null,
    ...(typeof model === "string" ? { model } : {}),
    candidates,
    returned: kept.length,
    topN,
    ms: Math.round(ms * 100) / 100,
    retrievalRanks: kept.map((doc) => Number(doc.metadata.retrievalRank)),
    ...(adaptive ? { adaptive } : {}),
    ...(stages ? { stages } : {}),
  };
}

/**
 * The candidates without exact duplicates (same text and metadata apart from the first-stage
 * scores), the best-ranked copy kept: the same chunk indexed twice, or found by two first
 * stages, would otherwise fill two of the topN places.
 */
export function withoutDuplicates(documents: readonly DocumentInterface[]): DocumentInterface[] {
  const seen = new Set<string>();
  return documents.filter((doc) => {
    const { retrievalScore: _score, retrievalRank: _rank, ...metadata } = doc.metadata;
    const key = JSON.stringify([doc.pageContent, metadata]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Second stage: runs the re-ranker on copies of the candidates (some compressors, like
 * the stock CohereRerank, write into their inputs), records `rerankScore`/`rerankRank`
 * and keeps the best topN.
 */
export class RerankStep extends BaseDocumentCompressor {
  constructor(
    private readonly compressor: () => Promise<BaseDocumentCompressor | null>,
    readonly settings: Pick<RerankCallSettings, "rerank" | "topN" | "minScore"> & Partial<Pick<RerankCallSettings, "adaptive">>,
    private readonly signal?: AbortSignal,
    /** The index's term statistics, for the evidence of sources no re-ranker scored. */
    private readonly stats: CorpusStats | null = null,
  ) {
    super();
  }

  /** A copy with a call's settings and abort signal, carried explicitly. */
  withSettings(
    settings: Pick<RerankCallSettings, "rerank" | "topN" | "minScore"> & Partial<Pick<RerankCallSettings, "adaptive">>,
    signal?: AbortSignal,
  ): RerankStep {
    return new RerankStep(this.compressor, settings, signal, this.stats);
  }

  async compressDocuments(candidates: DocumentInterface[], query: string, callbacks?: Callbacks): Promise<DocumentInterface[]> {
    const { rerank, topN, minScore } = this.settings;
    const documents = withoutDuplicates(candidates);
    const started = performance.now();
    // Decided from what the first stage already knows, before the re-ranker is loaded or called.
    const rule = this.settings.adaptive;
    const adaptive = rerank === "auto" && documents.length > 0 ? decideRerank(rerankSignals(query, documents, rule?.depth), rule) : undefined;
    const compressor = rerank && (adaptive?.rerank ?? true) && documents.length > 0 ? await this.compressor() : null;
    if (compressor) checkKeepsEnough(compressor, topN);
    let kept: DocumentInterface[];
    let stages: CascadeStageReport[] | undefined;
    if (!compressor) kept = withLexicalEvidence(query, documents.slice(0, topN), this.stats, documents);
    else {
      const copies = documents.map((doc) => withMetadata(doc, {}));
      const report = takeCascadeReport(await withCallSignal(this.signal, () => compressor.compressDocuments(copies, query, callbacks)));
      stages = report.stages;
      // The re-ranker's calibrated cut-off travels with its documents, for the answer chain's gate.
      const cutOff = defaultMinScoreOf(compressor);
      const drop = minScore === "auto" ? cutOff : (minScore ?? undefined);
      kept = report.documents
        .slice(0, topN)
        .map((doc, i) => {
          const { relevanceScore, ...metadata }: Record<string, unknown> = doc.metadata;
          const rerankScore = metadata.rerankScore ?? relevanceScore;
          const extra = { rerankScore, rerankRank: i + 1, ...(cutOff !== undefined ? { rerankCutOff: cutOff } : {}) };
          return new Document({ pageContent: doc.pageContent, metadata: { ...metadata, ...extra }, id: doc.id });
        })
        .filter((doc) => !isBelowCutOff(doc, drop));
    }
    // The re-ranker is no runnable, so it has no run of its own: report what it did as a
    // custom event on the retriever's run (a no-op without callbacks).
    const ms = performance.now() - started;
    await dispatchCustomEvent(RERANK_EVENT, rerankEvent({ compressor, candidates: documents.length, kept, topN, ms, adaptive, stages }), { callbacks });
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

  /**
   * Settings for one call: `configurable.rerank` (true, false, "on", "off" or "auto"), `.fetchK`, `.topN`,
   * `.filter` (null: none), `.minScore` and `.adaptive` (a partial AdaptiveRule) override the chain's.
   */
  settingsFor(options?: Partial<RunnableConfig>): RerankCallSettings {
    const configurable = (options?.configurable ?? {}) as Record<string, unknown>;
    const rerank = configurable.rerank === undefined ? undefined : parseRerank(configurable.rerank, "configurable.rerank");
    return validateSettings({
      // A chain without a re-ranker stays without one, whatever the call asks.
      rerank: rerank === undefined || this.defaults.rerank === false ? this.defaults.rerank : rerank,
      fetchK: configurable.fetchK === undefined ? this.defaults.fetchK : configurable.fetchK,
      topN: configurable.topN === undefined ? this.defaults.topN : configurable.topN,
      filter: configurable.filter === undefined ? this.defaults.filter : toChunkFilter(configurable.filter as ChunkFilterSpec | null),
      adaptive: adaptiveRule(configurable.adaptive as Partial<AdaptiveRule> | undefined, this.defaults.adaptive),
      minScore: configurable.minScore === undefined ? this.defaults.minScore : parseMinScore(configurable.minScore, "configurable.minScore"),
    });
  }

  /**
   * Runs with the call's settings; they are added to the run's metadata (`rerankRag`) so traces
   * show them. BaseRetriever hands `_getRelevantDocuments` only a callback manager, never the
   * call's config, so the settings travel as fields of a per-call copy of both stages.
   */
  override async invoke(input: string, options?: RunnableConfig): Promise<RerankedDocument[]> {
    const settings = this.settingsFor(options);
    const { filter, ...shown } = settings;
    const rerankRag = {
      reranker: settings.rerank ? this.rerankerName : "none",
      ...shown,
      adaptive: settings.rerank === "auto" ? settings.adaptive : undefined,
      ...(filter ? { filter: filter.toJSON() } : {}),
    };
    const call = new RerankingRetriever({
      baseRetriever: this.baseRetriever.withFetchK(settings.fetchK, settings.filter),
      baseCompressor: this.baseCompressor.withSettings(settings, options?.signal),
      defaults: settings,
      rerankerName: this.rerankerName,
      callbacks: this.callbacks,
      tags: this.tags,
      metadata: this.metadata,
      verbose: this.verbose,
    });
    // Every document has passed through the first stage, which sets retrievalRank (and retrievalScore when it has one).
    return (await call.run(input, { ...options, metadata: { ...options?.metadata, rerankRag } })) as RerankedDocument[];
  }

  /** The stock retriever run (callbacks, then both stages), with this instance's settings. */
  private run(input: string, options: RunnableConfig): Promise<DocumentInterface[]> {
    return super.invoke(input, options);
  }
}

/** Settings as given (fetchK and topN not yet known to be numbers), checked. */
function validateSettings(settings: Omit<RerankCallSettings, "fetchK" | "topN"> & { fetchK: unknown; topN: unknown }): RerankCallSettings {
  const topN = wholeNumber(settings.topN, "topN", 1, "1", "Set topN to e.g. 5 (typical: 3–10).");
  const fetchK = wholeNumber(settings.fetchK, "fetchK", topN, `topN (${topN})`, "Set fetchK to at least topN, e.g. 50 (typical: 20–100).");
  return { ...settings, fetchK, topN };
}

/** A count of documents: a whole number of at least `min`; text is called text, as "50" is not 50. */
function wholeNumber(value: unknown, setting: string, min: number, minText: string, hint: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= min) return value;
  const must = `a whole number of at least ${minText}`;
  const message =
    typeof value === "number" ? `${setting} must be ${must}, got ${value}.` : `${setting} must be a number, ${must}; got ${describeValue(value)}.`;
  throw new UsageError(message, { setting, hint });
}

/**
 * A compressor with a topN of its own (LangChain's CohereRerank keeps 3 by default) would return
 * fewer than the retriever's topN without a word: refused, naming both.
 */
function checkKeepsEnough(compressor: BaseDocumentCompressor, topN: number): void {
  const own = (compressor as { topN?: unknown }).topN;
  if (typeof own !== "number" || own >= topN) return;
  throw new UsageError(`The re-ranker ${compressor.constructor.name} keeps ${own} documents (its own topN), fewer than the retriever's topN ${topN}.`, {
    setting: "topN",
    hint: `Give the re-ranker topN ${topN} or more (or none), or set the retriever's topN to ${own}.`,
  });
}

/** Builds the re-ranking retriever (see RerankingRetrieverOptions). */
export function createRerankingRetriever(options: RerankingRetrieverOptions): RerankingRetriever {
  const { vectorStore, retriever } = options;
  if (!vectorStore === !retriever) {
    throw new UsageError("createRerankingRetriever needs exactly one of `vectorStore` or `retriever`.");
  }
  const reranker = cascadeFromList(options.reranker ?? "auto");
  // An unknown name fails here, not silently at the first call.
  if (typeof reranker === "string") {
    if (isCascadeSpec(reranker)) parseCascade(reranker);
    else if (reranker !== "auto") providerEntry(RERANKERS, "re-ranker", reranker);
  }
  const rerank = options.rerank === undefined ? true : parseRerank(options.rerank, "rerank");
  const defaults = validateSettings({
    rerank: reranker === "none" ? false : rerank,
    fetchK: options.fetchK ?? 50,
    topN: options.topN ?? 5,
    filter: toChunkFilter(options.filter),
    adaptive: adaptiveRule(options.adaptive),
    minScore: parseMinScore(options.minScore, "minScore"),
  });
  if (typeof reranker !== "string") checkKeepsEnough(reranker, defaults.topN);
  const source = vectorStore ? { vectorStore, toSimilarity: options.scoreToSimilarity ?? similarityFor(vectorStore) } : { retriever: retriever! };
  let compressor: Promise<BaseDocumentCompressor | null> | undefined;
  const loadCompressor = () => {
    if (typeof reranker !== "string") return Promise.resolve(reranker);
    compressor ??= (async () => {
      const config = options.config ?? loadConfig();
      return (await createRerankerFromSpec(reranker as RerankerSpec, { config, stats: options.stats })).compressor;
    })();
    return compressor;
  };
  return new RerankingRetriever({
    baseRetriever: new FirstStageRetriever(source, defaults.fetchK, defaults.filter),
    baseCompressor: new RerankStep(loadCompressor, defaults, undefined, options.stats ?? null),
    defaults,
    rerankerName: typeof reranker === "string" ? reranker : reranker instanceof RerankCascade ? reranker.description : reranker.constructor.name,
  });
}

/** A list of stages as one spec ("bm25:20,cross-encoder") when all are names, else a cascade of compressors. */
function cascadeFromList(reranker: BaseDocumentCompressor | RerankerSpec | CascadeStageInput[]): BaseDocumentCompressor | string {
  if (!Array.isArray(reranker)) return reranker;
  if (reranker.every((stage) => typeof stage === "string")) return reranker.join(",");
  if (reranker.some((stage) => typeof stage === "string")) {
    throw new UsageError("A cascade list mixes provider names and compressors.", {
      setting: "reranker",
      hint: 'Give all names (["bm25:20", "cross-encoder"]) or all stages ([{ compressor, keep: 20 }, { compressor }]).',
    });
  }
  return new RerankCascade(reranker as CascadeStage[]);
}
