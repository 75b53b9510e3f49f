import { z } from "zod";
import type { RagConfig } from "../config/index.js";
import { embedderId, resolveEmbedder } from "../embeddings/registry.js";
import { UsageError } from "../errors/index.js";
import { EMBEDDERS } from "../embeddings/registry.js";
import { providerNames } from "../providers/provider-table.js";

export const INDEX_FORMAT_VERSION = 1;

const fileEntry = z.object({
  hash: z.string(),
  size: z.number(),
  chunkIds: z.array(z.string()),
  /** Chunks of the file not stored because the same text is (see src/ingest/duplicates.ts), with that text's key. */
  duplicates: z.array(z.object({ chunkId: z.string(), key: z.string() })).optional(),
});

const fileChecksum = z.object({
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** What an index knows about how it was built; checked on every load. */
export const manifestSchema = z.object({
  formatVersion: z.literal(INDEX_FORMAT_VERSION),
  createdAt: z.string(),
  updatedAt: z.string(),
  embedder: z.object({
    id: z.string(),
    provider: z.enum(providerNames(EMBEDDERS)),
    model: z.string().optional(),
    dimensions: z.number().int().positive(),
    /** Offline embedder only: how many chunks it was fitted on (drives refits). */
    fittedOnChunks: z.number().int().optional(),
    /** Offline embedder only: chunks embedded with that fit by the ingests since it was made. */
    embeddedSinceFit: z.number().int().optional(),
  }),
  splitter: z.object({ chunkSize: z.number().int(), chunkOverlap: z.number().int() }),
  hnsw: z.object({ M: z.number().int(), efConstruction: z.number().int(), efSearch: z.number().int() }),
  files: z.record(z.string(), fileEntry),
  chunkCount: z.number().int(),
  /** Size and sha256 of every other file of the snapshot, verified before any is loaded; absent in indexes written before them. */
  checksums: z.record(z.string(), fileChecksum).optional(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileEntry>;
export type FileChecksum = z.infer<typeof fileChecksum>;

/**
 * A query embedded by another model than the one that built the index would return garbage
 * silently, so an explicitly requested embedder must match; `auto` means "whatever built it".
 */
export function assertSameEmbedder(config: RagConfig, built: Manifest["embedder"], location: string): void {
  if (config.RAG_EMBEDDINGS === "auto") return;
  const requested = embedderId(resolveEmbedder(config));
  if (requested !== built.id) {
    throw new UsageError(`The index at ${location} was built with embeddings=${built.id} (${built.dimensions}-d), not ${requested}.`, {
      hint: "Leave the embeddings setting on auto (--embeddings / RAG_EMBEDDINGS) to use the index's own embedder, or rebuild the index (--rebuild).",
    });
  }
}
