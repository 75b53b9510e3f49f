// One way to look into an index whatever store holds it, so the ingest specification runs
// against every writer: the local HNSW index directory and Postgres + pgvector.
import type { Document } from "@langchain/core/documents";
import type { ConfigOverrides, RagConfig } from "../../src/config/index.js";
import { IndexDir } from "../../src/store/index-dir.js";
import type { ManifestFile } from "../../src/store/manifest.js";
import { openIndex } from "../../src/store/open-index.js";
import { openPgvectorIndex } from "../../src/store/pgvector.js";
import type { startPgServer } from "./pg-server.js";

export type StoreKind = "hnsw" | "pgvector";

export interface IndexState {
  files: Record<string, ManifestFile>;
  splitter: { chunkSize: number; chunkOverlap: number };
  chunkCount: number;
  /** Changes whenever an ingest writes. */
  version: string;
}

export interface StoreProbe {
  /** What the index holds now, or null when nothing was ever written. */
  state(config: RagConfig): Promise<IndexState | null>;
  /** The first stage's vector search over the live index (all chunks by default), best first. */
  search(config: RagConfig, query: string, k?: number): Promise<Document[]>;
}

const hnswProbe: StoreProbe = {
  async state(config) {
    if (!(await new IndexDir(config.RAG_INDEX_DIR).currentSnapshot())) return null;
    const { manifest, snapshot } = await openIndex(config);
    return { files: manifest.files, splitter: manifest.splitter, chunkCount: manifest.chunkCount, version: snapshot };
  },
  async search(config, query, k) {
    const index = await openIndex(config);
    return index.vectorStore.similaritySearch(query, k ?? index.manifest.chunkCount + 10);
  },
};

function pgvectorProbe(server: Awaited<ReturnType<typeof startPgServer>>): StoreProbe {
  return {
    async state(config) {
      const table = `${config.RAG_PG_TABLE}_meta`;
      const [found] = await server.query<{ t: string | null }>("SELECT to_regclass($1)::text AS t", [table]);
      if (!found?.t || (await server.query(`SELECT 1 FROM ${table} WHERE key = 'index'`)).length === 0) return null;
      const index = await openPgvectorIndex(config);
      try {
        const rows = await server.query<{ path: string; hash: string; size: string; chunk_ids: string[]; duplicates: ManifestFile["duplicates"] | null }>(
          `SELECT path, hash, size, chunk_ids, duplicates FROM ${config.RAG_PG_TABLE}_files ORDER BY path`,
        );
        const files = Object.fromEntries(
          rows.map((r) => [r.path, { hash: r.hash, size: Number(r.size), chunkIds: r.chunk_ids, ...(r.duplicates ? { duplicates: r.duplicates } : {}) }]),
        );
        return { files, splitter: index.meta.splitter, chunkCount: index.meta.chunkCount, version: index.meta.updatedAt };
      } finally {
        await index.close();
      }
    },
    async search(config, query, k) {
      const index = await openPgvectorIndex(config);
      try {
        return await index.vectorStore.similaritySearch(query, k ?? index.meta.chunkCount + 10);
      } finally {
        await index.close();
      }
    },
  };
}

let tables = 0;

/** The config overrides and probe of each store; pgvector needs a running server. */
export function storeUnderTest(
  kind: StoreKind,
  server: () => Awaited<ReturnType<typeof startPgServer>>,
): { overrides: () => ConfigOverrides; probe: () => StoreProbe } {
  if (kind === "hnsw") return { overrides: () => ({}), probe: () => hnswProbe };
  return {
    overrides: () => ({ RAG_STORE: "pgvector", RAG_PG_URL: server().url, RAG_PG_TABLE: `spec_${process.pid}_${++tables}` }),
    probe: () => pgvectorProbe(server()),
  };
}
