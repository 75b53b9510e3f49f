import type { Document } from "@langchain/core/documents";
import type { Embeddings } from "@langchain/core/embeddings";
import type { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import type { Manifest, ManifestFile } from "./manifest.js";

/*
 * What the one ingest algorithm (src/ingest/ingest.ts) needs from a store. Each store writes
 * atomically under its own lock: the HNSW index directory as a new snapshot, Postgres in one
 * transaction. The algorithm decides what to read, embed and keep; a writer only stores it.
 */

/** What a store knows about the index it holds, read at the start of an ingest. */
export interface PreviousIndex {
  createdAt: string;
  embedder: Manifest["embedder"];
  splitter: Manifest["splitter"];
  /** Every ingested file: content hash, size, its chunks' ids. */
  files: Record<string, ManifestFile>;
  chunkCount: number;
  /** The offline embedder's saved fit (only for an index built with it). */
  fittedEmbedder(): Promise<LsaEmbeddings>;
}

export interface IndexChange {
  previous: PreviousIndex | null;
  /** The file table after this ingest (kept and fresh files). */
  files: Record<string, ManifestFile>;
  /** Every chunk of the index after this ingest, ordered by file. */
  chunks: Document[];
  /** A new vector for each chunk, or undefined where the store keeps the vector it holds (an unchanged chunk). */
  vectors: Array<number[] | undefined>;
  /** Files whose stored chunks go (changed or deleted files). */
  dropped: string[];
  /** True when every stored vector is replaced (a new index, or a refitted embedder). */
  rewriteAll: boolean;
  embeddings: Embeddings;
  embedder: Manifest["embedder"];
  splitter: Manifest["splitter"];
}

export interface WriterSession {
  previous(): Promise<PreviousIndex | null>;
  /** The stored chunks of the kept files, in file order. */
  keptChunks(previous: PreviousIndex, files: readonly string[]): Promise<Document[]>;
  /** Stores the change atomically; when `signal` aborts before it goes live, stores nothing and throws `IngestAbortedError`. */
  commit(change: IndexChange, options?: { signal?: AbortSignal }): Promise<void>;
}

export interface IndexWriter {
  readonly store: "hnsw" | "pgvector";
  /** Where the index lives, without credentials: a directory, or `pgvector host:port/db table t`. */
  readonly location: string;
  /** Runs `work` holding the store's write lock; nothing is changed unless `commit` is called and returns. */
  session<T>(work: (session: WriterSession) => Promise<T>, options: { rebuild: boolean; onWait?: () => void; signal?: AbortSignal }): Promise<T>;
}
