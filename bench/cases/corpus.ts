import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { loadConfig } from "../../src/config/index.js";
import { ingest } from "../../src/ingest/ingest.js";
import { openIndex } from "../../src/store/open-index.js";
import { REPO } from "../harness.js";

export const SAMPLE_QUESTION = "How do I configure OAuth2 in the API?";
export const SAMPLE_INDEX = path.join(REPO, ".rerank-rag", "bench-sample-index");

/** First-stage candidates for the sample question: the real chunk-length distribution. */
export async function sampleCandidates(k: number): Promise<string[]> {
  const config = loadConfig({ RAG_INDEX_DIR: SAMPLE_INDEX, RAG_EMBEDDINGS: "offline" });
  await ingest({ paths: [path.join(REPO, "data", "docs")], config });
  const index = await openIndex(config);
  const all = index.vectorStore.entries().map((e) => e.document.pageContent);
  const hits = (await index.vectorStore.similaritySearch(SAMPLE_QUESTION, Math.min(k, all.length))).map((d) => d.pageContent);
  // More candidates than hits (100 > corpus): repeat the corpus's own chunks.
  for (let i = 0; hits.length < k; i++) hits.push(all[i % all.length]!);
  return hits;
}

/** Passages long enough to be cut to exactly `tokens` tokens. */
export function fixedLengthPassages(count: number, words: string[]): string[] {
  return Array.from({ length: count }, (_, i) => Array.from({ length: 700 }, (_, w) => words[(i * 31 + w * 7) % words.length]).join(" "));
}

export const SCIFACT = path.resolve(REPO, "..", "shared", "datasets", "scifact");
export const SCIFACT_INDEX = path.join(REPO, ".rerank-rag", "bench-scifact-index");
/** The first test claim of SciFact. */
export const SCIFACT_QUESTION = "0-dimensional biomaterials show inductive properties.";

/** SciFact's 5,183 abstracts ingested with the defaults (incremental: cheap once built); null when ../shared is absent. */
export async function scifactIndex(): Promise<string | null> {
  if (!fs.existsSync(SCIFACT)) return null;
  const corpus = path.join(REPO, ".rerank-rag", "bench-scifact", "corpus.jsonl");
  if (!fs.existsSync(corpus)) {
    fs.mkdirSync(path.dirname(corpus), { recursive: true });
    fs.writeFileSync(corpus, zlib.gunzipSync(fs.readFileSync(path.join(SCIFACT, "corpus.jsonl.gz"))));
  }
  await ingest({ paths: [corpus], config: loadConfig({ RAG_INDEX_DIR: SCIFACT_INDEX, RAG_EMBEDDINGS: "offline" }) });
  return SCIFACT_INDEX;
}
