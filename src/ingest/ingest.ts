import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Document } from "@langchain/core/documents";
import type { Embeddings } from "@langchain/core/embeddings";
import type { RagConfig } from "../config/index.js";
import { UsageError } from "../errors/index.js";
import { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import { createPretrainedEmbeddings, embedderId, embedderRecord, resolveEmbedder, type EmbedderSpec } from "../embeddings/registry.js";
import { Bm25Index } from "../store/bm25-index.js";
import { HnswStore } from "../store/hnsw-store.js";
import { IndexDir, MANIFEST_FILE } from "../store/index-dir.js";
import { INDEX_FORMAT_VERSION, type Manifest } from "../store/manifest.js";
import { assertSameEmbedder, embeddingsFor, loadVectorStore } from "../store/open-index.js";
import { contextualText } from "../text/contextual-text.js";
import { splitDocuments } from "./chunker.js";
import { discoverFiles, isUnder } from "./discover.js";
import { loadFile, MAX_FILE_BYTES, tooLargeReason, type SkippedFile } from "./loaders.js";

/** Refit the offline embedder once this share of chunks is newer than its fit… */
const REFIT_SHARE = 0.2;
/** …or when new chunks' words are less than this share known to it (new vocabulary). */
const MIN_COVERAGE = 0.9;
const EMBED_BATCH = 64;

export type IngestEvent =
  | { phase: "read"; done: number; total: number }
  | { phase: "embed"; done: number; total: number; files: number }
  | { phase: "save" };

export interface IngestOptions {
  paths: readonly string[];
  config: RagConfig;
  /** Ignore the existing index and build from scratch. */
  rebuild?: boolean;
  onEvent?: (event: IngestEvent) => void;
  /** Called once if another ingest holds the index and this one waits. */
  onWait?: () => void;
}

export interface IngestReport {
  indexDir: string;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
  skipped: SkippedFile[];
  warnings: string[];
  chunkCount: number;
  embeddedChunks: number;
  embedder: string;
  dimensions: number;
  refitted: boolean;
  written: boolean;
}

interface FileChunks {
  file: string;
  hash: string;
  size: number;
  chunks: Document[];
}

/**
 * Brings the index in line with the given paths: new and changed files are loaded,
 * split and embedded; unchanged ones keep their vectors; files gone from under the
 * paths are removed. The result is written as a new snapshot, atomically, under a lock.
 */
export async function ingest(options: IngestOptions): Promise<IngestReport> {
  const { config } = options;
  const discovery = await discoverFiles(options.paths, { indexDir: options.config.RAG_INDEX_DIR });
  if (discovery.files.length === 0) {
    throw new UsageError(`No supported files found under ${options.paths.join(", ")}; the index was not changed.`, {
      hint: `Supported: .md .txt .html .pdf .json .jsonl.${discovery.skipped.length ? ` Skipped: ${discovery.skipped.length} file(s).` : ""}`,
    });
  }
  const dir = new IndexDir(config.RAG_INDEX_DIR);
  return dir.withWriteLock(() => ingestLocked(dir, options, discovery), { onWait: options.onWait });
}

async function ingestLocked(
  dir: IndexDir,
  { config, rebuild = false, onEvent }: IngestOptions,
  discovery: Awaited<ReturnType<typeof discoverFiles>>,
): Promise<IngestReport> {
  const splitter = { chunkSize: config.RAG_CHUNK_SIZE, chunkOverlap: config.RAG_CHUNK_OVERLAP };
  const previous = rebuild ? null : await dir.currentSnapshot().then((s) => (s ? dir.openCurrent() : null));
  if (previous) {
    assertSameEmbedder(config, previous.manifest, dir.root);
    const built = previous.manifest.splitter;
    if (built.chunkSize !== splitter.chunkSize || built.chunkOverlap !== splitter.chunkOverlap) {
      throw new UsageError(
        `The index at ${dir.root} was split with chunk size ${built.chunkSize}/overlap ${built.chunkOverlap}, not ${splitter.chunkSize}/${splitter.chunkOverlap}.`,
        { hint: "Use the same --chunk-size/--chunk-overlap, or pass --rebuild to re-split everything." },
      );
    }
  }
  const spec: EmbedderSpec = previous
    ? { provider: previous.manifest.embedder.provider, model: previous.manifest.embedder.model }
    : resolveEmbedder(config);
  const oldStore = previous
    ? await loadVectorStore(previous.snapshot, previous.manifest, await embeddingsFor(previous.manifest, previous.snapshot, config))
    : null;
  const oldChunks = new Map<string, { label: number; document: Document }>();
  for (const entry of oldStore?.entries() ?? []) oldChunks.set(String(entry.document.metadata.chunkId), entry);

  const report = emptyReport(dir.root, discovery.skipped, spec, previous?.manifest.embedder.dimensions ?? 0);

  const kept: FileChunks[] = [];
  const fresh: FileChunks[] = [];
  const oldFiles = previous?.manifest.files ?? {};
  let done = 0;
  for (const file of discovery.files) {
    onEvent?.({ phase: "read", done: done++, total: discovery.files.length });
    const known = oldFiles[file];
    let bytes: Buffer;
    try {
      const { size } = await fs.stat(file);
      if (size > MAX_FILE_BYTES) {
        const reason = tooLargeReason(size);
        report.skipped.push({ path: file, reason: known ? `${reason} (kept the previously indexed version)` : reason });
        if (known) kept.push(keepOld(file, known, oldChunks));
        continue;
      }
      bytes = await fs.readFile(file);
    } catch (error) {
      report.skipped.push({ path: file, reason: `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      if (known) kept.push(keepOld(file, known, oldChunks));
      continue;
    }
    const hash = crypto.createHash("sha256").update(bytes).digest("hex");
    if (known?.hash === hash) {
      kept.push(keepOld(file, known, oldChunks));
      report.unchanged++;
      continue;
    }
    try {
      const loaded = await loadFile(file, bytes);
      report.warnings.push(...loaded.warnings.map((w) => `${file}: ${w}`));
      const relativePath = relativeToRoot(file, discovery.roots);
      // Path and content both: two identical files must not share chunk ids.
      const idPrefix = crypto.createHash("sha256").update(`${file}\0${hash}`).digest("hex").slice(0, 16);
      const chunks = await splitDocuments(loaded.documents, splitter, idPrefix);
      for (const chunk of chunks) chunk.metadata.relativePath = relativePath;
      fresh.push({ file, hash, size: bytes.length, chunks });
      (known ? report.changed : report.added).push(file);
    } catch (error) {
      const reason = (error as Error).message + (known ? " (kept the previously indexed version)" : "");
      report.skipped.push({ path: file, reason });
      if (known) kept.push(keepOld(file, known, oldChunks));
    }
  }
  const seen = new Set(discovery.files);
  for (const file of Object.keys(oldFiles)) {
    if (seen.has(file)) continue;
    if (isUnder(file, discovery.roots)) report.removed.push(file);
    else kept.push(keepOld(file, oldFiles[file]!, oldChunks));
  }

  const all = [...kept, ...fresh].sort((a, b) => a.file.localeCompare(b.file));
  report.chunkCount = all.reduce((n, f) => n + f.chunks.length, 0);
  if (previous && fresh.length === 0 && report.removed.length === 0) return report;
  if (report.chunkCount === 0 && !previous) {
    throw new UsageError("None of the files could be ingested; the index was not created.", {
      hint: "See the skipped files above for the reason each was rejected.",
    });
  }

  const freshChunkCount = fresh.reduce((n, f) => n + f.chunks.length, 0);
  const allChunks = all.flatMap((f) => f.chunks);
  let embeddings: Embeddings;
  let reuseOldVectors = true;
  if (spec.provider === "offline") {
    const fitted = previous ? await LsaEmbeddings.load(previous.snapshot) : null;
    const freshTexts = fresh.flatMap((f) => f.chunks.map(contextualText));
    const coverage = freshTexts.length
      ? freshTexts.reduce((sum, text) => sum + (fitted?.coverage(text) ?? 0), 0) / freshTexts.length
      : 1;
    if (fitted && freshChunkCount / Math.max(1, fitted.fittedOnChunks) <= REFIT_SHARE && coverage >= MIN_COVERAGE) {
      embeddings = fitted;
    } else {
      // Fitting is most of the embedding work: report the phase before it, not after.
      onEvent?.({ phase: "embed", done: 0, total: allChunks.length, files: fresh.length });
      embeddings = LsaEmbeddings.fit(allChunks.map(contextualText));
      report.refitted = true;
      reuseOldVectors = false;
    }
  } else {
    embeddings = await createPretrainedEmbeddings(spec, config);
  }

  const vectors: number[][] = [];
  const toEmbed: number[] = [];
  allChunks.forEach((chunk, i) => {
    const old = reuseOldVectors ? oldChunks.get(String(chunk.metadata.chunkId)) : undefined;
    if (old && oldStore) vectors[i] = oldStore.vectorOf(old.label);
    else toEmbed.push(i);
  });
  for (let start = 0; start < toEmbed.length; start += EMBED_BATCH) {
    onEvent?.({ phase: "embed", done: start, total: toEmbed.length, files: fresh.length });
    const batch = toEmbed.slice(start, start + EMBED_BATCH);
    const embedded = await embeddings.embedDocuments(batch.map((i) => contextualText(allChunks[i]!)));
    batch.forEach((chunkIndex, j) => (vectors[chunkIndex] = embedded[j]!));
  }
  onEvent?.({ phase: "embed", done: toEmbed.length, total: toEmbed.length, files: fresh.length });
  report.embeddedChunks = toEmbed.length;

  const dimensions = vectors[0]?.length ?? previous?.manifest.embedder.dimensions ?? 1;
  report.dimensions = dimensions;
  const hnsw = {
    ...(previous?.manifest.hnsw ?? {}),
    ...(!previous && config.RAG_HNSW_M ? { M: config.RAG_HNSW_M } : {}),
    ...(!previous && config.RAG_HNSW_EF_CONSTRUCTION ? { efConstruction: config.RAG_HNSW_EF_CONSTRUCTION } : {}),
    ...(config.RAG_HNSW_EF_SEARCH ? { efSearch: config.RAG_HNSW_EF_SEARCH } : {}),
  };
  const store = await HnswStore.build(embeddings, vectors, allChunks, { dimensions, hnsw });
  onEvent?.({ phase: "save" });
  const now = new Date().toISOString();
  const manifest: Manifest = {
    formatVersion: INDEX_FORMAT_VERSION,
    createdAt: previous?.manifest.createdAt ?? now,
    updatedAt: now,
    embedder: embedderRecord(spec, dimensions, embeddings),
    splitter,
    hnsw: store.hnsw,
    files: Object.fromEntries(
      all.map((f) => [f.file, { hash: f.hash, size: f.size, chunkIds: f.chunks.map((c) => String(c.metadata.chunkId)) }]),
    ),
    chunkCount: allChunks.length,
  };
  await dir.commitSnapshot(async (snapshot) => {
    await store.save(snapshot);
    if (embeddings instanceof LsaEmbeddings) await embeddings.save(snapshot);
    const keywords = Bm25Index.fromDocuments(allChunks);
    await keywords.save(snapshot);
    await keywords.corpusStats().save(snapshot);
    await fs.writeFile(path.join(snapshot, MANIFEST_FILE), JSON.stringify(manifest, null, 1));
  });
  report.written = true;
  return report;
}

/** A report before any file is looked at; shared by the HNSW and pgvector ingests. */
export function emptyReport(indexDir: string, skipped: readonly SkippedFile[], spec: EmbedderSpec, dimensions: number): IngestReport {
  return {
    indexDir,
    added: [],
    changed: [],
    removed: [],
    unchanged: 0,
    skipped: [...skipped],
    warnings: [],
    chunkCount: 0,
    embeddedChunks: 0,
    embedder: embedderId(spec),
    dimensions,
    refitted: false,
    written: false,
  };
}

function keepOld(file: string, entry: Manifest["files"][string], oldChunks: Map<string, { document: Document }>): FileChunks {
  return {
    file,
    hash: entry.hash,
    size: entry.size,
    chunks: entry.chunkIds.map((id) => oldChunks.get(id)?.document).filter((d): d is Document => d !== undefined),
  };
}

function relativeToRoot(file: string, roots: readonly string[]): string {
  const root = roots.filter((r) => isUnder(file, [r])).sort((a, b) => b.length - a.length)[0];
  return !root || root === file ? path.basename(file) : path.relative(root, file);
}
