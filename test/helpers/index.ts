// A real corpus on disk plus a config pointing at a not-yet-created index next to it.
import path from "node:path";
import type { Document } from "@langchain/core/documents";
import type { ConfigOverrides, RagConfig } from "../../src/config/index.js";
import { openIndex } from "../../src/store/open-index.js";
import { TOPICS } from "./corpus.js";
import { tempDir, testConfig, writeCorpus } from "./fs.js";

export interface Workspace {
  root: string;
  docs: string;
  indexDir: string;
  config: RagConfig;
  /** Absolute path of each corpus file by its relative path. */
  files: Record<string, string>;
}

export async function workspace(files: Record<string, string | Buffer> = TOPICS, overrides: ConfigOverrides = {}): Promise<Workspace> {
  const root = await tempDir();
  const docs = path.join(root, "docs");
  const indexDir = path.join(root, "index");
  const written = await writeCorpus(docs, files);
  return { root, docs, indexDir, config: testConfig(indexDir, overrides), files: written };
}

/** Every chunk in the live index, ranked for `query`. */
export async function searchAll(config: RagConfig, query: string): Promise<Document[]> {
  const index = await openIndex(config);
  return index.vectorStore.similaritySearch(query, index.manifest.chunkCount + 10);
}

/** Count of live chunks per source file. */
export async function chunksBySource(config: RagConfig, query = "honey bees coffee chess volcano ferry"): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const doc of await searchAll(config, query)) {
    const source = String(doc.metadata.source);
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  return counts;
}
