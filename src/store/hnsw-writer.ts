import fs from "node:fs/promises";
import path from "node:path";
import type { Document } from "@langchain/core/documents";
import type { RagConfig } from "../config/index.js";
import { IngestAbortedError } from "../errors/index.js";
import { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import { Bm25Index } from "./bm25-index.js";
import { HnswStore } from "./hnsw-store.js";
import { IndexDir, MANIFEST_FILE } from "./index-dir.js";
import type { IndexChange, IndexWriter, PreviousIndex, WriterSession } from "./index-writer.js";
import { INDEX_FORMAT_VERSION, type Manifest } from "./manifest.js";
import { embeddingsFor, loadVectorStore } from "./open-index.js";
import { checksumSnapshot } from "./snapshot-checksums.js";
import { disposeOf } from "../util/dispose.js";

/** Writes the local index directory: each ingest commits a complete new snapshot under the directory's lock. */
export function hnswWriter(config: RagConfig): IndexWriter {
  const dir = new IndexDir(config.RAG_INDEX_DIR);
  return {
    store: "hnsw",
    location: dir.root,
    session: (work, { onWait, signal }) => dir.withWriteLock(() => work(new HnswSession(dir, config)), { onWait, signal }),
  };
}

class HnswSession implements WriterSession {
  private current: { snapshot: string; manifest: Manifest } | null = null;
  /** The live snapshot's vectors, for the chunks that keep theirs. */
  private oldStore: HnswStore | null = null;
  private readonly oldLabels = new Map<string, number>();
  /** The offline embedder's saved fit, read once: opening the old store and the refit decision both need it. */
  private fit: Promise<LsaEmbeddings> | null = null;

  constructor(
    private readonly dir: IndexDir,
    private readonly config: RagConfig,
  ) {}

  async previous(): Promise<PreviousIndex | null> {
    if (!(await this.dir.currentSnapshot())) return null;
    const current = await this.dir.openCurrent();
    this.current = current;
    const { manifest, snapshot } = current;
    return { ...manifest, fittedEmbedder: () => this.savedFit(snapshot) };
  }

  async keptChunks(_previous: PreviousIndex, files: readonly string[]): Promise<Document[]> {
    const { snapshot, manifest } = this.current!;
    const embeddings = manifest.embedder.provider === "offline" ? await this.savedFit(snapshot) : await embeddingsFor(manifest, snapshot, this.config);
    this.oldStore = await loadVectorStore(snapshot, manifest, embeddings);
    // Only its vectors are read: the embedder that opening the store requires is never asked to embed.
    await disposeOf(embeddings);
    const byId = new Map<string, Document>();
    for (const { label, document } of this.oldStore.entries()) {
      const id = String(document.metadata.chunkId);
      byId.set(id, document);
      this.oldLabels.set(id, label);
    }
    return files.flatMap((file) => manifest.files[file]!.chunkIds.flatMap((id) => byId.get(id) ?? []));
  }

  private savedFit(snapshot: string): Promise<LsaEmbeddings> {
    return (this.fit ??= LsaEmbeddings.load(snapshot));
  }

  async commit(change: IndexChange, { signal }: { signal?: AbortSignal } = {}): Promise<void> {
    const { chunks, embeddings } = change;
    const vectors = chunks.map((chunk, i) => change.vectors[i] ?? this.oldStore!.vectorOf(this.oldLabels.get(String(chunk.metadata.chunkId))!));
    const previous = change.previous ? this.current!.manifest : null;
    const { config } = this;
    const hnsw = {
      ...(previous?.hnsw ?? {}),
      // Graph shape is fixed when an index is created; the search-time list may change on any ingest.
      ...(!previous && config.RAG_HNSW_M ? { M: config.RAG_HNSW_M } : {}),
      ...(!previous && config.RAG_HNSW_EF_CONSTRUCTION ? { efConstruction: config.RAG_HNSW_EF_CONSTRUCTION } : {}),
      ...(config.RAG_HNSW_EF_SEARCH ? { efSearch: config.RAG_HNSW_EF_SEARCH } : {}),
    };
    const store = await HnswStore.build(embeddings, vectors, chunks, { dimensions: change.embedder.dimensions, hnsw });
    const now = new Date().toISOString();
    const manifest: Manifest = {
      formatVersion: INDEX_FORMAT_VERSION,
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
      embedder: change.embedder,
      splitter: change.splitter,
      hnsw: store.hnsw,
      files: change.files,
      chunkCount: chunks.length,
    };
    await this.dir.commitSnapshot(async (snapshot) => {
      await store.save(snapshot);
      if (embeddings instanceof LsaEmbeddings) await embeddings.save(snapshot);
      const keywords = Bm25Index.fromDocuments(chunks);
      await keywords.save(snapshot);
      await keywords.corpusStats().save(snapshot);
      const checksums = await checksumSnapshot(snapshot);
      await fs.writeFile(path.join(snapshot, MANIFEST_FILE), JSON.stringify({ ...manifest, checksums }, null, 1), { mode: 0o600 });
      // The last moment to stop: throwing here removes the unfinished snapshot and leaves CURRENT as it was.
      IngestAbortedError.throwIfAborted(signal);
    });
  }
}
