import crypto from "node:crypto";
import type { Document } from "@langchain/core/documents";
import type { ManifestFile } from "../store/manifest.js";

export type Duplicate = NonNullable<ManifestFile["duplicates"]>[number];

/**
 * What makes two chunks the same: their clean text with whitespace runs collapsed to one space
 * and heading markers left out (an all-in-one page puts each page one heading level down).
 * Case counts: `Buffer` and `buffer`, `ID` and `id` are different words in code and names, and
 * the copies this is for are verbatim anyway.
 */
export function duplicateKey(text: string): string {
  const normalised = text
    .replace(/^#{1,6}[ \t]+/gm, "")
    .replace(/\s+/g, " ")
    .trim();
  return crypto.createHash("sha256").update(normalised).digest("hex").slice(0, 32);
}

/** New chunks of one file (all of a fresh file's, or the ones a kept file had dropped), and how many chunks the file splits into. */
export interface NewChunks {
  file: string;
  chunks: readonly Document[];
  fileChunks: number;
}

/**
 * Stores each text once. Stored chunks always stay (their vectors are reused). A new chunk
 * whose text is stored, or held by a new chunk preferred over it, is dropped and recorded with
 * its file; the preferred one is in the file with the fewest chunks (the page rather than an
 * all-in-one copy of every page), then by path, then first in its file.
 */
export function dropDuplicates(stored: readonly Document[], fresh: readonly NewChunks[]): { keep: Set<Document>; duplicates: Map<string, Duplicate[]> } {
  const seen = new Set(stored.map((chunk) => duplicateKey(chunk.pageContent)));
  const keep = new Set<Document>();
  const duplicates = new Map<string, Duplicate[]>();
  const order = [...fresh].sort((a, b) => a.fileChunks - b.fileChunks || a.file.localeCompare(b.file));
  for (const { file, chunks } of order) {
    for (const chunk of chunks) {
      const key = duplicateKey(chunk.pageContent);
      if (!seen.has(key)) {
        seen.add(key);
        keep.add(chunk);
        continue;
      }
      const list = duplicates.get(file) ?? [];
      list.push({ chunkId: String(chunk.metadata.chunkId), key });
      duplicates.set(file, list);
    }
  }
  return { keep, duplicates };
}
