import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import pg from "pg";
import { loadConfig, type RagConfig } from "../../src/config/index.js";
import { ingest } from "../../src/ingest/ingest.js";
import { createPipeline } from "../../src/pipeline/create-pipeline.js";
import { QUICK, REPO, summarize } from "../harness.js";

const SCIFACT = path.join(REPO, "..", "shared", "datasets", "scifact");

/** The dev server of `npm run db:start` (or RAG_TEST_PG_URL), or null. */
function serverUrl(): string | null {
  if (process.env.RAG_TEST_PG_URL) return process.env.RAG_TEST_PG_URL;
  const file = path.join(REPO, ".pg", "url");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim() : null;
}

interface Corpus {
  label: string;
  files: string[];
  questions: string[];
}

/** SciFact's 5,183 abstracts with its first claims as questions. */
function scifact(work: string): Corpus | null {
  if (!fs.existsSync(SCIFACT)) return null;
  const file = path.join(work, "scifact.jsonl");
  fs.writeFileSync(file, zlib.gunzipSync(fs.readFileSync(path.join(SCIFACT, "corpus.jsonl.gz"))));
  const questions = fs
    .readFileSync(path.join(SCIFACT, "queries.jsonl"), "utf8")
    .trim()
    .split("\n")
    .slice(0, 100)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  return { label: "SciFact (5,183 abstracts)", files: [file], questions };
}

/** Documents per synthetic file: 100k in one file would pass ingest's 64 MB limit on a file. */
const SYNTHETIC_PER_FILE = 10_000;

/** `count` one-chunk documents of Zipf-distributed pseudo-words (a seeded generator), and questions drawn alike. */
function synthetic(work: string, count: number): Corpus {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "sa", "do", "gu", "be", "fi", "ho", "ja"];
  const vocabulary = Array.from({ length: 20_000 }, (_, i) => {
    let word = "";
    for (let n = i + 1; n > 0; n = Math.floor(n / 16)) word += syllables[n % 16];
    return `${word}x`;
  });
  // Zipf: rank r drawn with probability ∝ 1/r, by inverting the harmonic sum's approximation.
  const word = () => vocabulary[Math.min(vocabulary.length - 1, Math.floor(Math.exp(random() * Math.log(vocabulary.length))) - 1)]!;
  const text = (n: number) => Array.from({ length: n }, word).join(" ");
  const files: string[] = [];
  for (let start = 0; start < count; start += SYNTHETIC_PER_FILE) {
    const file = path.join(work, `synthetic-${files.length}.jsonl`);
    const out = fs.openSync(file, "w");
    for (let i = start; i < Math.min(count, start + SYNTHETIC_PER_FILE); i++) {
      fs.writeSync(out, `${JSON.stringify({ _id: `s${i}`, title: `Note ${i}`, text: text(80) })}\n`);
    }
    fs.closeSync(out);
    files.push(file);
  }
  return { label: `synthetic (${count.toLocaleString("en")} chunks)`, files, questions: Array.from({ length: 100 }, () => text(8)) };
}

/** Ingest throughput, then first-stage and end-to-end latency per question, for one store. */
async function measureStore(config: RagConfig, corpus: Corpus, store: string) {
  const started = performance.now();
  const report = await ingest({ paths: corpus.files, config });
  const ingestSeconds = (performance.now() - started) / 1000;
  // Progress on stderr: the 100k case runs for most of an hour.
  process.stderr.write(`bench pgvector: ${store} ingested ${report.chunkCount} chunks in ${ingestSeconds.toFixed(0)} s\n`);
  const pipeline = await createPipeline(config);
  try {
    const questions = corpus.questions.slice(0, QUICK ? 20 : 100);
    for (const q of questions.slice(0, 3)) await pipeline.chain.invoke(q); // warm-up
    const firstStage: number[] = [];
    const endToEnd: number[] = [];
    for (const question of questions) {
      const t0 = performance.now();
      await pipeline.retriever.invoke(question, { configurable: { rerank: false } });
      const t1 = performance.now();
      await pipeline.chain.invoke(question);
      firstStage.push(t1 - t0);
      endToEnd.push(performance.now() - t1);
    }
    process.stderr.write(`bench pgvector: ${store} answered ${questions.length} questions\n`);
    return {
      chunks: report.chunkCount,
      ingestSeconds,
      chunksPerSecond: report.chunkCount / ingestSeconds,
      firstStage: summarize(firstStage),
      endToEnd: summarize(endToEnd),
    };
  } finally {
    await pipeline.close();
  }
}

/**
 * The local HNSW index and Postgres + pgvector on the same corpus, same offline embedder, hybrid
 * first stage and BM25 re-ranker: a full ingest, then the same questions through each.
 */
export async function pgvectorCase(size: "scifact" | "100k") {
  const url = serverUrl();
  if (!url) return { skipped: "no Postgres server: run `npm run db:start` (or set RAG_TEST_PG_URL)" };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-pgvector-"));
  const table = `bench_${size}_${process.pid}`;
  try {
    const corpus = size === "scifact" ? scifact(work) : synthetic(work, QUICK ? 10_000 : 100_000);
    if (!corpus) return { skipped: `${SCIFACT} is absent` };
    const common = { RAG_EMBEDDINGS: "offline", RAG_CHUNK_SIZE: "4000", RAG_RERANKER: "bm25", RAG_LLM: "extractive", RAG_MODELS_DIR: "/nonexistent" };
    const local = await measureStore(loadConfig({ ...common, RAG_INDEX_DIR: path.join(work, "index") }), corpus, "local");
    const postgres = await measureStore(loadConfig({ ...common, RAG_STORE: "pgvector", RAG_PG_URL: url, RAG_PG_TABLE: table }), corpus, "postgres");
    return { corpus: corpus.label, local, postgres };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    for (const suffix of ["", "_files", "_meta", "_postings", "_terms"]) await client.query(`DROP TABLE IF EXISTS ${table}${suffix}`);
    await client.end();
  }
}
