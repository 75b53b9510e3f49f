import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { askAndPrint, filterFromFlags } from "./ask.js";
import { ingestWithProgress } from "./ingest.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { packageRoot } from "../package-info.js";
import { note } from "../output.js";

export type DemoFlags = CommonFlags & { question: string };

/** `rerank-rag demo`: the sample docs into a throwaway index, then one question. */
export async function runDemo(flags: DemoFlags): Promise<void> {
  const filter = filterFromFlags(flags);
  const indexDir = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-demo-"));
  try {
    const config = configFromFlags(flags, { RAG_INDEX_DIR: indexDir, RAG_STORE: "hnsw" });
    const docs = path.join(packageRoot(), "data", "docs");
    await ingestWithProgress([docs], config);
    if (!flags.json) note(`\nQuestion: ${flags.question}`);
    await askAndPrint(flags.question, config, Boolean(flags.json), filter);
  } finally {
    await fs.rm(indexDir, { recursive: true, force: true });
  }
}
