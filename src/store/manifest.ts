import { z } from "zod";
import { EMBEDDERS } from "../embeddings/registry.js";
import { providerNames } from "../providers/provider-table.js";

export const INDEX_FORMAT_VERSION = 1;

const fileEntry = z.object({
  hash: z.string(),
  size: z.number(),
  chunkIds: z.array(z.string()),
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
  }),
  splitter: z.object({ chunkSize: z.number().int(), chunkOverlap: z.number().int() }),
  hnsw: z.object({ M: z.number().int(), efConstruction: z.number().int(), efSearch: z.number().int() }),
  files: z.record(z.string(), fileEntry),
  chunkCount: z.number().int(),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof fileEntry>;
