// Temp dirs that clean themselves up, and a one-call way to lay out a corpus on disk.
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { loadConfig, type ConfigOverrides, type RagConfig } from "../../src/config/index.js";

const created: string[] = [];

// Registered once per test file (each file gets its own module instance).
afterAll(async () => {
  await Promise.all(created.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

/** A fresh, empty directory under the OS temp dir, removed after the file's tests. */
export async function tempDir(prefix = "rerank-rag-test-"): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Writes `files` (relative path → content) under `dir`, creating folders; returns absolute paths by relative path. */
export async function writeCorpus(dir: string, files: Record<string, string | Buffer>): Promise<Record<string, string>> {
  const written: Record<string, string> = {};
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(dir, relative);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
    written[relative] = file;
  }
  return written;
}

/** Every file under `dir`, with its bytes: for checking what reached the disk. */
export async function filesUnder(dir: string): Promise<Array<{ file: string; bytes: Buffer }>> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    const file = path.join(entry.parentPath, entry.name);
    if (entry.isFile()) out.push({ file, bytes: await fs.readFile(file) });
  }
  return out;
}

/**
 * Config for a test index: nothing from the machine's environment, no local models
 * (so `auto` resolves to the offline embedder), small chunks so a small corpus has many.
 */
export function testConfig(indexDir: string, overrides: ConfigOverrides = {}): RagConfig {
  return loadConfig(
    {
      RAG_INDEX_DIR: indexDir,
      RAG_MODELS_DIR: path.join(indexDir, "..", "no-models-here"),
      RAG_CHUNK_SIZE: 400,
      RAG_CHUNK_OVERLAP: 60,
      ...overrides,
    },
    {},
  );
}

/** Deterministic pseudo-random bytes (an LCG), so "garbage" inputs are the same on every run. */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** Sample PDFs shipped with the repository. */
const REPO = fileURLToPath(new URL("../../", import.meta.url));
export const SAMPLE_DOCS = path.join(REPO, "data", "docs");
export const MARKDOWN_FIXTURES = path.join(REPO, "test", "fixtures", "markdown");
export const SAMPLE_PDFS = {
  whitepaper: path.join(SAMPLE_DOCS, "guides", "security-whitepaper.pdf"),
  sla: path.join(SAMPLE_DOCS, "reference", "sla-and-support.pdf"),
} as const;
