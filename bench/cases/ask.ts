import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config/index.js";
import { createPipeline } from "../../src/pipeline/create-pipeline.js";
import { HybridRetriever } from "../../src/retrievers/hybrid-retriever.js";
import { IndexDir } from "../../src/store/index-dir.js";
import { REPO, measure, QUICK, timedProcess } from "../harness.js";
import { SAMPLE_INDEX, SAMPLE_QUESTION, SCIFACT_QUESTION, sampleCandidates, scifactIndex } from "./corpus.js";

/** The sample corpus and SciFact (when ../shared is present), each with its own question. */
export async function askCorpora(): Promise<Array<{ corpus: string; index: string; question: string }>> {
  await sampleCandidates(1); // makes sure the sample index exists
  const scifact = await scifactIndex();
  return [
    { corpus: "sample corpus (44 pages)", index: SAMPLE_INDEX, question: SAMPLE_QUESTION },
    ...(scifact ? [{ corpus: "SciFact (5,183 abstracts)", index: scifact, question: SCIFACT_QUESTION }] : []),
  ];
}

/** Warm library calls on the offline stack: each stage alone, first token, and the whole answer. */
export async function askWarm(index: string, question: string) {
  const config = loadConfig({ RAG_INDEX_DIR: index, RAG_RERANKER: "bm25", RAG_LLM: "extractive", RAG_MODELS_DIR: "/nonexistent" });
  const loadStarted = performance.now();
  const pipeline = await createPipeline(config);
  const loadMs = performance.now() - loadStarted;
  if (pipeline.store !== "hnsw") throw new Error("the warm ask bench runs on the local index");
  const { embeddings, vectorStore } = pipeline.index;
  const hybrid = new HybridRetriever({ store: vectorStore, k: 50 });
  const vector = await embeddings.embedQuery(question);
  const candidates = await hybrid.search(question, 50, vector);
  const { Bm25Reranker } = await import("../../src/rerankers/bm25-reranker.js");
  const reranker = new Bm25Reranker({ stats: pipeline.index.stats });
  const runs = QUICK ? 20 : 100;
  const firstToken = async () => {
    for await (const chunk of await pipeline.chain.stream(question)) if (chunk.answer) return;
  };
  return {
    loadIndexMs: loadMs,
    embedQuery: await measure(() => embeddings.embedQuery(question), { warmup: 5, runs }),
    search: await measure(() => hybrid.search(question, 50, vector), { warmup: 5, runs }),
    rerank: await measure(() => reranker.compressDocuments(candidates, question), { warmup: 5, runs }),
    firstToken: await measure(firstToken, { warmup: 5, runs }),
    total: await measure(() => pipeline.chain.invoke(question), { warmup: 5, runs }),
  };
}

/**
 * A copy of an index without its saved keyword index, as indexes written before it was
 * saved are: opening it rebuilds the postings in memory. Shows what saving them wins.
 */
export async function withoutSavedKeywords(index: string): Promise<{ index: string; dispose: () => void }> {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), "bench-index-"));
  fs.cpSync(index, copy, { recursive: true });
  const snapshot = (await new IndexDir(copy).currentSnapshot())!;
  for (const file of ["bm25-terms.json", "bm25-postings.bin"]) fs.rmSync(path.join(snapshot, file));
  return { index: copy, dispose: () => fs.rmSync(copy, { recursive: true, force: true }) };
}

/** The built CLI, as `npx rerank-rag` runs it. */
export const CLI = path.join(REPO, "dist", "bin", "rerank-rag.js");
/** The offline stack for cold runs: BM25 re-ranker, extractive answerer, no colour. */
export const OFFLINE_ASK_ENV = { ...process.env, RAG_RERANKER: "bm25", RAG_LLM: "extractive", NO_COLOR: "1" };

/** A new CLI process per question: process start to the first answer byte, and to exit. */
export async function askCold(index: string, question: string, runs = QUICK ? 3 : 10) {
  const once = () => timedProcess([CLI, "ask", question, "--index", index], OFFLINE_ASK_ENV);
  await once();
  const samples: Array<{ firstByteMs: number; totalMs: number }> = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  const sorted = (key: "firstByteMs" | "totalMs") => samples.map((s) => s[key]).sort((a, b) => a - b);
  return {
    runs: samples.length,
    firstTokenP50: sorted("firstByteMs")[Math.floor(samples.length / 2)]!,
    totalP50: sorted("totalMs")[Math.floor(samples.length / 2)]!,
  };
}
