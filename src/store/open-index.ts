import type { Embeddings } from "@langchain/core/embeddings";
import type { RagConfig } from "../config/index.js";
import { IndexError } from "../errors/index.js";
import { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import { createPretrainedEmbeddings, type EmbedderSpec } from "../embeddings/registry.js";
import { CorpusStats } from "../text/corpus-stats.js";
import { Bm25Index } from "./bm25-index.js";
import { HnswStore } from "./hnsw-store.js";
import { IndexDir } from "./index-dir.js";
import { assertSameEmbedder, type Manifest } from "./manifest.js";

/** A loaded index: everything a query needs. */
export interface OpenIndex {
  root: string;
  snapshot: string;
  manifest: Manifest;
  embeddings: Embeddings;
  vectorStore: HnswStore;
  stats: CorpusStats | null;
  /** The saved keyword index, loaded for the hybrid first stage only; null otherwise or for indexes written before it was saved. */
  keywords: Bm25Index | null;
}

/** The embedder recorded in a manifest, ready to embed queries (the offline one loads its fitted state). */
export async function embeddingsFor(manifest: Manifest, snapshot: string, config: RagConfig): Promise<Embeddings> {
  const spec: EmbedderSpec = { provider: manifest.embedder.provider, model: manifest.embedder.model };
  const embeddings = spec.provider === "offline" ? await LsaEmbeddings.load(snapshot) : await createPretrainedEmbeddings(spec, config);
  return embeddings;
}

/** How often a reader starts over when writers keep replacing the snapshot it is loading. */
const OPEN_ATTEMPTS = 3;

/**
 * Opens the live snapshot of the configured index for querying. A snapshot is kept for one
 * ingest after it stops being live; a reader slower than two ingests in a row can find it
 * gone mid-load, so a failure while CURRENT has moved on is retried on the new snapshot.
 */
export async function openIndex(config: RagConfig): Promise<OpenIndex> {
  const dir = new IndexDir(config.RAG_INDEX_DIR);
  for (let attempt = 1; ; attempt++) {
    const snapshot = await dir.currentSnapshot();
    try {
      return await openSnapshot(dir, config);
    } catch (error) {
      const moved = snapshot !== null && (await dir.currentSnapshot().catch(() => snapshot)) !== snapshot;
      if (!moved || attempt >= OPEN_ATTEMPTS) throw error;
    }
  }
}

async function openSnapshot(dir: IndexDir, config: RagConfig): Promise<OpenIndex> {
  const { snapshot, manifest } = await dir.openCurrent();
  assertSameEmbedder(config, manifest.embedder, dir.root);
  const embeddings = await embeddingsFor(manifest, snapshot, config);
  const efSearch = config.RAG_HNSW_EF_SEARCH;
  const vectorStore = await loadVectorStore(snapshot, efSearch ? { ...manifest, hnsw: { ...manifest.hnsw, efSearch } } : manifest, embeddings);
  const keywords =
    config.RAG_FIRST_STAGE === "hybrid"
      ? await Bm25Index.load(
          snapshot,
          vectorStore.entries().map((e) => e.document),
        )
      : null;
  return { root: dir.root, snapshot, manifest, embeddings, vectorStore, stats: await CorpusStats.load(snapshot), keywords };
}

/** A snapshot's HNSW store, checked against its manifest; damage is an IndexError with the fix. */
export async function loadVectorStore(snapshot: string, manifest: Manifest, embeddings: Embeddings): Promise<HnswStore> {
  let vectorStore: HnswStore;
  try {
    vectorStore = await HnswStore.loadWith(snapshot, embeddings, manifest.hnsw);
  } catch (error) {
    throw new IndexError(`The vector index in ${snapshot} cannot be loaded: ${(error as Error).message}`, {
      cause: error,
      hint: "The index files are damaged; rebuild with `rerank-rag ingest --rebuild <paths…>`.",
    });
  }
  if (vectorStore.size !== manifest.chunkCount) {
    throw new IndexError(`The vector index in ${snapshot} holds ${vectorStore.size} chunks but its manifest lists ${manifest.chunkCount}.`, {
      hint: "The index files are damaged; rebuild with `rerank-rag ingest --rebuild <paths…>`.",
    });
  }
  return vectorStore;
}
