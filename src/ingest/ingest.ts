import type { Document } from "@langchain/core/documents";
import type { Embeddings } from "@langchain/core/embeddings";
import type { RagConfig } from "../config/index.js";
import { importOptional, IngestAbortedError, NothingToIngestError, PGVECTOR_PACKAGES, UsageError } from "../errors/index.js";
import { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import { createPretrainedEmbeddings, embedderId, embedderRecord, resolveEmbedder, type EmbedderSpec } from "../embeddings/registry.js";
import type { IndexWriter, PreviousIndex, WriterSession } from "../store/index-writer.js";
import { assertSameEmbedder } from "../store/manifest.js";
import { describeValue } from "../util/describe-value.js";
import { disposeOf } from "../util/dispose.js";
import { contextualText } from "../text/contextual-text.js";
import { discoverFiles, type Discovery } from "./discover.js";
import { describeSupportedTypes } from "./file-types.js";
import { dropDuplicates, duplicateKey, type Duplicate, type NewChunks } from "./duplicates.js";
import { skippedByReason } from "./skipped.js";
import { planFiles, resplitDuplicates, type FileOutcome, type FreshFile } from "./plan.js";

/** Refit the offline embedder once the chunks embedded since its fit, over all ingests, pass this share of it… */
const REFIT_SHARE = 0.2;
/** …or when new chunks' words are less than this share known to it (new vocabulary). */
const MIN_COVERAGE = 0.9;
const EMBED_BATCH = 64;

export type IngestEvent = { phase: "read"; done: number; total: number } | { phase: "embed"; done: number; total: number; files: number } | { phase: "save" };

export interface IngestOptions {
  paths: readonly string[];
  /** Where the index goes follows `RAG_STORE`: the local index directory, or Postgres + pgvector. */
  config: RagConfig;
  /** Ignore the existing index and build from scratch. */
  rebuild?: boolean;
  onEvent?: (event: IngestEvent) => void;
  /** Called once if another ingest holds the index and this one waits. */
  onWait?: () => void;
  /**
   * Stops the ingest between files and between embedding batches, and up to the moment the new
   * index goes live, with an `IngestAbortedError`: the index stays as it was.
   */
  signal?: AbortSignal;
}

export interface IngestReport extends FileOutcome {
  store: "hnsw" | "pgvector";
  /** Where the index lives: the index directory, or `host:port/database table <table>` (no credentials). */
  location: string;
  chunkCount: number;
  /** Chunks not stored because the same text is stored from another chunk (the index's total). */
  duplicateChunks: number;
  embeddedChunks: number;
  embedder: string;
  dimensions: number;
  refitted: boolean;
  /** Why the offline embedder was refitted over an existing index (its growth since the fit, or new words); absent otherwise. */
  refitReason?: string;
  written: boolean;
}

/**
 * Brings the index in line with the given paths: new and changed files are loaded, split and
 * embedded; unchanged ones keep their vectors; files gone from under the paths are removed.
 * One algorithm for every store; the store's writer commits the result atomically under its lock.
 */
export async function ingest(options: IngestOptions): Promise<IngestReport> {
  checkOptions(options);
  const { config, signal } = options;
  IngestAbortedError.throwIfAborted(signal);
  const discovery = await discoverFiles(options.paths, {
    indexDir: config.RAG_STORE === "hnsw" ? config.RAG_INDEX_DIR : undefined,
    gitignore: config.RAG_GITIGNORE,
    exclude: config.RAG_EXCLUDE,
    followSymlinks: config.RAG_FOLLOW_SYMLINKS,
  });
  if (discovery.files.length === 0) throw nothingToIngest(discovery.roots, { ...discovery, warnings: [] });
  const writer = await writerFor(config);
  return writer.session((session) => ingestInto(writer, session, discovery, options), {
    rebuild: options.rebuild ?? false,
    onWait: options.onWait,
    signal,
  });
}

/** The options, checked before any file is read: a wrong shape would fail deep inside ("paths.map is not a function"). */
function checkOptions(options: IngestOptions): void {
  const hint = 'Call ingest({ paths: ["./docs"], config: loadConfig() }); loadConfig({ RAG_INDEX_DIR: "./my-index" }) picks the index.';
  const { paths, config } = (options ?? {}) as Partial<Record<keyof IngestOptions, unknown>>;
  if (!Array.isArray(paths) || paths.some((p) => typeof p !== "string" || !p)) {
    const why = typeof paths === "string" ? `got the string ${JSON.stringify(paths)}: put it in a list` : `got ${describeValue(paths)}`;
    throw new UsageError(`ingest needs \`paths\`, a list of files or folders; ${why}.`, { setting: "paths", hint });
  }
  if (typeof (config as Partial<RagConfig> | undefined)?.RAG_STORE !== "string") {
    throw new UsageError(`ingest needs \`config\`, the configuration loadConfig() returns; got ${describeValue(config)}.`, { setting: "config", hint });
  }
}

/** Why an ingest that found nothing to add stops, with each skipped file's reason as data. */
function nothingToIngest(
  paths: readonly string[],
  { skipped, ignored, warnings }: Pick<FileOutcome, "skipped" | "ignored" | "warnings">,
): NothingToIngestError {
  const where = paths.join(", ");
  const kinds = skippedByReason(skipped)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const found = skipped.length === 1 ? "the one file found was" : `all ${skipped.length} files found were`;
  const message = skipped.length
    ? `Nothing to ingest under ${where}: ${found} skipped (${kinds}); the index was not changed.`
    : `No supported files found under ${where}; the index was not changed.`;
  const ignoredNote = ignored
    ? ` ${ignored} more ${ignored === 1 ? "was" : "were"} ignored by .ragignore, .gitignore or exclude patterns (--no-gitignore ingests what .gitignore hides).`
    : "";
  const reasons = skipped.length ? " Each skipped file's reason says what would let it in." : "";
  return new NothingToIngestError(message, { skipped, ignored, warnings }, { hint: `Supported: ${describeSupportedTypes()}.${reasons}${ignoredNote}` });
}

/** The writer of the store the configuration names. */
export async function writerFor(config: RagConfig): Promise<IndexWriter> {
  if (config.RAG_STORE === "pgvector")
    return (await importOptional(PGVECTOR_PACKAGES, "RAG_STORE=pgvector", () => import("../store/pgvector.js"))).pgvectorWriter(config);
  return (await import("../store/hnsw-writer.js")).hnswWriter(config);
}

async function ingestInto(
  writer: IndexWriter,
  session: WriterSession,
  discovery: Discovery,
  { config, rebuild = false, onEvent, signal }: IngestOptions,
): Promise<IngestReport> {
  const splitter = { chunkSize: config.RAG_CHUNK_SIZE, chunkOverlap: config.RAG_CHUNK_OVERLAP };
  const previous = rebuild ? null : await session.previous();
  if (previous) {
    assertSameEmbedder(config, previous.embedder, writer.location);
    const built = previous.splitter;
    if (built.chunkSize !== splitter.chunkSize || built.chunkOverlap !== splitter.chunkOverlap) {
      throw new UsageError(
        `The index at ${writer.location} was split with chunk size ${built.chunkSize}/overlap ${built.chunkOverlap}, not ${splitter.chunkSize}/${splitter.chunkOverlap}.`,
        { hint: "Use the same chunk size and overlap (--chunk-size/--chunk-overlap), or rebuild (--rebuild) to re-split everything." },
      );
    }
  }
  const spec: EmbedderSpec = previous ? { provider: previous.embedder.provider, model: previous.embedder.model } : resolveEmbedder(config);
  const plan = await planFiles(discovery, previous?.files ?? {}, splitter, (done, total) => onEvent?.({ phase: "read", done, total }), {
    allowSecrets: config.RAG_ALLOW_SECRETS,
    signal,
  });
  const { fresh, kept: keptFiles, ...outcome } = plan;
  // Every file skipped and nothing to remove: say why each was, rather than report "up to date" or write an empty index.
  if (fresh.length === 0 && plan.unchanged === 0 && plan.removed.length === 0) throw nothingToIngest(discovery.roots, plan);
  const report: IngestReport = {
    store: writer.store,
    location: writer.location,
    ...outcome,
    chunkCount: previous?.chunkCount ?? 0,
    duplicateChunks: previous ? countDuplicates(previous.files) : 0,
    embeddedChunks: 0,
    embedder: embedderId(spec),
    dimensions: previous?.embedder.dimensions ?? 0,
    refitted: false,
    written: false,
  };
  if (previous && fresh.length === 0 && plan.removed.length === 0) return report;

  const kept = previous ? await session.keptChunks(previous, keptFiles) : [];
  const candidates: NewChunks[] = fresh.map((f) => ({ file: f.file, chunks: f.chunks, fileChunks: f.chunks.length }));
  const restoring = previous ? await restoreDuplicates(previous, keptFiles, kept, candidates, splitter, discovery.roots, report.warnings) : [];
  candidates.push(...restoring);
  const { keep, duplicates } = dropDuplicates(kept, candidates);
  const freshChunks = candidates.flatMap((c) => c.chunks.filter((chunk) => keep.has(chunk)));
  // Ordered by file, a file's chunks in their order.
  const chunks = [...kept, ...freshChunks].sort((a, b) => String(a.metadata.source).localeCompare(String(b.metadata.source)) || ordinal(a) - ordinal(b));
  report.chunkCount = chunks.length;

  const files = fileTable(previous, keptFiles, fresh, candidates, keep, duplicates);
  report.duplicateChunks = countDuplicates(files);
  const { embeddings, refitted, refitReason, embeddedSinceFit } = await chooseEmbeddings(spec, config, previous, freshChunks, chunks, () =>
    onEvent?.({ phase: "embed", done: 0, total: chunks.length, files: fresh.length }),
  );
  try {
    report.refitted = refitted;
    if (refitReason) report.refitReason = refitReason;
    const rewriteAll = !previous || refitted;
    const vectors = await embedChunks(
      embeddings,
      chunks,
      rewriteAll ? null : new Set(freshChunks),
      (done, total) => onEvent?.({ phase: "embed", done, total, files: fresh.length }),
      signal,
    );
    report.embeddedChunks = vectors.filter((v) => v !== undefined).length;
    report.dimensions = vectors.find((v) => v !== undefined)?.length ?? previous?.embedder.dimensions ?? 1;
    onEvent?.({ phase: "save" });
    await session.commit(
      {
        previous,
        files,
        chunks,
        vectors,
        dropped: [...plan.changed, ...plan.removed],
        rewriteAll,
        embeddings,
        embedder: embedderRecord(spec, report.dimensions, embeddings, embeddedSinceFit),
        splitter,
      },
      { signal },
    );
    report.written = true;
  } finally {
    // A local model's session is freed with the ingest, not with the process.
    await disposeOf(embeddings);
  }
  return report;
}

/** New vectors for the chunks in `only` (all when null), in batches; undefined for the others. Stops between batches when `signal` aborts. */
async function embedChunks(
  embeddings: Embeddings,
  chunks: readonly Document[],
  only: ReadonlySet<Document> | null,
  onProgress: (done: number, total: number) => void,
  signal: AbortSignal | undefined,
): Promise<Array<number[] | undefined>> {
  const toEmbed = chunks.flatMap((chunk, i) => (!only || only.has(chunk) ? [i] : []));
  const vectors = new Array<number[] | undefined>(chunks.length).fill(undefined);
  for (let start = 0; start < toEmbed.length; start += EMBED_BATCH) {
    onProgress(start, toEmbed.length);
    // A local embedder never waits on I/O: without this turn of the event loop, a Ctrl-C handler
    // would not run (and abort the signal) until every batch was done.
    await new Promise((resolve) => setImmediate(resolve));
    IngestAbortedError.throwIfAborted(signal);
    const batch = toEmbed.slice(start, start + EMBED_BATCH);
    const embedded = await embeddings.embedDocuments(batch.map((i) => contextualText(chunks[i]!)));
    batch.forEach((chunkIndex, j) => (vectors[chunkIndex] = embedded[j]!));
  }
  onProgress(toEmbed.length, toEmbed.length);
  return vectors;
}

/**
 * The offline embedder is reused while the index grows little and its words stay known;
 * otherwise it is refitted on every chunk (and every vector changes). Growth counts over ingests:
 * fifty small ones change an index as much as one large one. Pretrained ones never change.
 */
async function chooseEmbeddings(
  spec: EmbedderSpec,
  config: RagConfig,
  previous: PreviousIndex | null,
  freshChunks: readonly Document[],
  chunks: readonly Document[],
  beforeFit: () => void,
): Promise<{ embeddings: Embeddings; refitted: boolean; refitReason?: string; embeddedSinceFit: number }> {
  if (spec.provider !== "offline") return { embeddings: await createPretrainedEmbeddings(spec, config), refitted: false, embeddedSinceFit: 0 };
  const fitted = previous ? await previous.fittedEmbedder() : null;
  let refitReason: string | undefined;
  if (fitted) {
    const freshTexts = freshChunks.map(contextualText);
    const coverage = freshTexts.length ? freshTexts.reduce((sum, text) => sum + fitted.coverage(text), 0) / freshTexts.length : 1;
    const embeddedSinceFit = (previous?.embedder.embeddedSinceFit ?? 0) + freshChunks.length;
    const share = embeddedSinceFit / Math.max(1, fitted.fittedOnChunks);
    if (share <= REFIT_SHARE && coverage >= MIN_COVERAGE) return { embeddings: fitted, refitted: false, embeddedSinceFit };
    // A changed file counts with all its chunks, so one edit to a large file can be the cause.
    refitReason =
      share > REFIT_SHARE
        ? `${embeddedSinceFit} chunks embedded since its fit on ${fitted.fittedOnChunks} (over ${REFIT_SHARE * 100}%)`
        : `${Math.round((1 - coverage) * 100)}% of the new text's words unknown to it (over ${Math.round((1 - MIN_COVERAGE) * 100)}%)`;
  }
  // Fitting is most of the embedding work: report the phase before it, not after.
  beforeFit();
  return { embeddings: LsaEmbeddings.fit(chunks.map(contextualText)), refitted: true, ...(refitReason ? { refitReason } : {}), embeddedSinceFit: 0 };
}

/**
 * When the stored copy of a text goes (its file changed or was deleted), the kept files that
 * dropped that text as a duplicate are split again for it, in this ingest, so the text stays.
 */
async function restoreDuplicates(
  previous: PreviousIndex,
  keptFiles: readonly string[],
  kept: readonly Document[],
  fresh: readonly NewChunks[],
  splitter: { chunkSize: number; chunkOverlap: number },
  roots: readonly string[],
  warnings: string[],
): Promise<NewChunks[]> {
  const present = new Set([...kept, ...fresh.flatMap((f) => f.chunks)].map((chunk) => duplicateKey(chunk.pageContent)));
  const restored: NewChunks[] = [];
  for (const file of keptFiles) {
    const entry = previous.files[file]!;
    const lost = entry.duplicates?.filter((d) => !present.has(d.key)) ?? [];
    if (lost.length === 0) continue;
    try {
      restored.push({ file, ...(await resplitDuplicates(file, entry, splitter, roots)) });
    } catch (error) {
      warnings.push(
        `${file}: ${lost.length} chunk(s) whose text was stored from another file could not be restored (${(error as Error).message}); ingest with --rebuild`,
      );
    }
  }
  return restored;
}

/** A chunk's position in its file (the number its id ends with). */
const ordinal = (chunk: Document) => Number(String(chunk.metadata.chunkId).slice(String(chunk.metadata.chunkId).lastIndexOf("-") + 1));

const countDuplicates = (files: PreviousIndex["files"]) => Object.values(files).reduce((sum, f) => sum + (f.duplicates?.length ?? 0), 0);

/** The file table after the ingest: a file's stored chunks and, when it has any, the chunks it left to another file's copy. */
function fileTable(
  previous: PreviousIndex | null,
  kept: readonly string[],
  fresh: readonly FreshFile[],
  candidates: readonly NewChunks[],
  keep: ReadonlySet<Document>,
  duplicates: ReadonlyMap<string, Duplicate[]>,
): PreviousIndex["files"] {
  const table: PreviousIndex["files"] = {};
  for (const file of kept) table[file] = previous!.files[file]!;
  for (const f of fresh) table[f.file] = { hash: f.hash, size: f.size, chunkIds: [] };
  for (const { file, chunks } of candidates) {
    const { hash, size, chunkIds } = table[file]!;
    const dropped = duplicates.get(file);
    table[file] = {
      hash,
      size,
      // A kept file's restored chunks join the ones it stored.
      chunkIds: [...chunkIds, ...chunks.filter((c) => keep.has(c)).map((c) => String(c.metadata.chunkId))],
      ...(dropped ? { duplicates: dropped } : {}),
    };
  }
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
}
