import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { Document } from "@langchain/core/documents";
import { AutoModelForSequenceClassification, AutoTokenizer } from "@huggingface/transformers";
import { CrossEncoderReranker } from "../src/rerankers/cross-encoder-reranker.js";
import { InferencePool } from "../src/rerankers/inference-pool.js";
import { createRerankingRetriever } from "../chains/index.js";
import { RagError } from "../src/errors/index.js";
import { makeModelsDir } from "./helpers/test-models.js";
import { smallStore } from "./helpers/small-store.js";

const MODEL = "test-org/tiny-cross-encoder";
const modelsDir = makeModelsDir({
  [MODEL]: { preset: "tiny", quantized: true },
  "test-org/two-logits": { preset: "tiny", numLabels: 2 },
  "test-org/three-logits": { preset: "tiny", numLabels: 3 },
  "test-org/no-logits": { preset: "tiny", omitLogits: true },
});
afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

const reranker = (options: Partial<ConstructorParameters<typeof CrossEncoderReranker>[0]> = {}) =>
  new CrossEncoderReranker({ model: MODEL, modelsDir, localFilesOnly: true, threads: 1, ...options });

const QUERY = "how do i configure oauth2 client credentials";
const PASSAGES = [
  "create an oauth2 client in the dashboard and request a token",
  "webhooks are signed with an hmac header",
  "rate limits return 429 with a retry after header",
  "pagination uses cursors with a limit of one hundred",
];
const docs = () => PASSAGES.map((text, i) => new Document({ pageContent: text, metadata: { n: i } }));

/** The model's own sigmoid(logit) for one pair, computed without our code. */
async function referenceScore(query: string, passage: string): Promise<number> {
  const tokenizer = await AutoTokenizer.from_pretrained(MODEL, { cache_dir: modelsDir, local_files_only: true });
  const model = await AutoModelForSequenceClassification.from_pretrained(MODEL, { cache_dir: modelsDir, local_files_only: true });
  const { logits } = await model(tokenizer([query], { text_pair: [passage], padding: true, truncation: true }));
  return 1 / (1 + Math.exp(-Number(logits.data[0])));
}

describe("CrossEncoderReranker", () => {
  it("orders documents by the model's own scores and writes rerankScore on copies", async () => {
    const input = docs();
    const ranked = await reranker().compressDocuments(input, QUERY);
    expect(ranked).toHaveLength(PASSAGES.length);
    const expected = await Promise.all(PASSAGES.map((p) => referenceScore(QUERY, p)));
    for (const doc of ranked) expect(doc.metadata.rerankScore).toBeCloseTo(expected[doc.metadata.n as number]!, 6);
    const scores = ranked.map((d) => d.metadata.rerankScore as number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(input.every((d) => (d.metadata as Record<string, unknown>).rerankScore === undefined)).toBe(true);
    expect(ranked.every((d, i) => d !== input[i])).toBe(true);
  });

  it("gives the same scores in batches as one pair at a time (within 1e-5)", async () => {
    const batched = await reranker({ batchSize: 3 }).score(QUERY, PASSAGES);
    const single = await reranker({ batchSize: 1 }).score(QUERY, PASSAGES);
    batched.forEach((score, i) => expect(Math.abs(score - single[i]!)).toBeLessThan(1e-5));
  });

  it("plans passes within the token budget, longest first, each pair exactly once", () => {
    const ce = reranker({ batchTokens: 512, batchSize: 8 });
    const lengths = [465, 120, 130, 60, 500, 64, 128, 30, 31, 32, 33, 34, 35, 36, 37, 38];
    const batches = ce.planBatches(lengths);
    expect(batches.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    expect(batches[0]).toEqual([4]); // 500 tokens: alone
    expect(batches[1]).toEqual([0]);
    for (const batch of batches) {
      const longest = Math.max(...batch.map((i) => lengths[i]!));
      expect(batch.length).toBeLessThanOrEqual(8);
      if (batch.length > 1) expect(batch.length * longest).toBeLessThanOrEqual(512);
    }
    expect(batches.map((b) => b.length)).toContain(8); // the short pairs share passes
  });

  it("scores the same in worker threads as in this thread, concurrent calls included", async () => {
    const manyPassages = Array.from({ length: 60 }, (_, i) => `${"word ".repeat(i % 17)}${PASSAGES[i % 4]}`);
    const inThread = await reranker({ workers: 1 }).score(QUERY, manyPassages);
    const pooled = reranker({ workers: 2, threads: 2 });
    const [a, b] = await Promise.all([pooled.score(QUERY, manyPassages), pooled.score("webhook signatures", manyPassages)]);
    a.forEach((score, i) => expect(Math.abs(score - inThread[i]!)).toBeLessThan(1e-5));
    expect(b).toEqual(await reranker({ workers: 2, threads: 2 }).score("webhook signatures", manyPassages));
    const ranked = await pooled.compressDocuments(docs(), QUERY);
    expect(ranked.map((d) => d.metadata.n)).toEqual((await reranker({ workers: 1 }).compressDocuments(docs(), QUERY)).map((d) => d.metadata.n));
  });

  it("reports model problems the same way from worker threads", async () => {
    const pooled = (model: string) => new CrossEncoderReranker({ model, modelsDir, localFilesOnly: true, workers: 2, threads: 2 });
    await expect(pooled("test-org/three-logits").score(QUERY, PASSAGES)).rejects.toThrow(/3 logits per pair/);
    await expect(pooled("test-org/no-logits").score(QUERY, PASSAGES)).rejects.toThrow(/no "logits" output/);
    const error = await pooled("Xenova/ms-marco-MiniLM-L-6-v2")
      .score(QUERY, PASSAGES)
      .catch((e) => e);
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect(error.hint).toMatch(/models pull Xenova\/ms-marco-MiniLM-L-6-v2/);
  });

  it("refuses a worker count or token budget below 1", () => {
    expect(() => reranker({ workers: 0 })).toThrow(/workers must be a whole number of at least 1, got 0/);
    expect(() => reranker({ batchTokens: 0.5 })).toThrow(/batchTokens must be/);
  });

  it("cuts long passages to maxLength tokens but never the query", async () => {
    const long = "oauth2 ".repeat(2000);
    const ce = reranker({ maxLength: 64 });
    const { passages, lengths } = await ce.preparePairs(QUERY, [long, "short passage"]);
    expect(lengths[0]).toBe(64);
    expect(passages[0]!.length).toBeLessThan(long.length);
    const { tokenizer } = await ce.load();
    const encoded = tokenizer(QUERY, { text_pair: passages[0]! });
    expect(encoded.input_ids.dims.at(-1)).toBeLessThanOrEqual(64);
    const queryIds = tokenizer.encode(QUERY, { add_special_tokens: false });
    const ids = Array.from(encoded.input_ids.data as BigInt64Array, Number);
    expect(ids.slice(1, 1 + queryIds.length)).toEqual(queryIds);
    const [score] = await ce.score(QUERY, [long]);
    expect(score).toBeGreaterThan(0);
  });

  it("refuses a question longer than maxLength with a usage error", async () => {
    const error = await reranker({ maxLength: 16 })
      .score("word ".repeat(40), ["x"])
      .catch((e) => e);
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect(error.message).toMatch(/question is \d+ tokens long/);
  });

  it("handles no candidates, one candidate, and 200 candidates", async () => {
    const ce = reranker();
    expect(await ce.compressDocuments([], QUERY)).toEqual([]);
    expect(await ce.compressDocuments([docs()[0]!], QUERY)).toHaveLength(1);
    const many = Array.from({ length: 200 }, (_, i) => new Document({ pageContent: `passage ${i} about ${PASSAGES[i % 4]}`, metadata: { i } }));
    const ranked = await ce.compressDocuments(many, QUERY);
    expect(ranked).toHaveLength(200);
    expect(new Set(ranked.map((d) => d.metadata.i)).size).toBe(200);
  });

  it("gives concurrent calls the same results as sequential ones", async () => {
    const ce = reranker({ batchSize: 2 });
    const sequential = [await ce.score(QUERY, PASSAGES), await ce.score("webhook signatures", PASSAGES)];
    const concurrent = await Promise.all([ce.score(QUERY, PASSAGES), ce.score("webhook signatures", PASSAGES), ce.score(QUERY, PASSAGES)]);
    expect(concurrent[0]).toEqual(sequential[0]);
    expect(concurrent[1]).toEqual(sequential[1]);
    expect(concurrent[2]).toEqual(sequential[0]);
  });

  it("loads the model once per process and shares it between instances", async () => {
    const a = reranker();
    const b = reranker();
    expect(await a.load()).toBe(await b.load());
  });

  it("honours topN and scoreThreshold", async () => {
    expect(await reranker({ topN: 2 }).compressDocuments(docs(), QUERY)).toHaveLength(2);
    expect(await reranker({ scoreThreshold: 0.99 }).compressDocuments(docs(), QUERY)).toEqual([]);
  });

  it("maps a two-logit model's positive class through softmax", async () => {
    const ce = new CrossEncoderReranker({ model: "test-org/two-logits", modelsDir, localFilesOnly: true });
    const options = { cache_dir: modelsDir, local_files_only: true };
    const tokenizer = await AutoTokenizer.from_pretrained("test-org/two-logits", options);
    const model = await AutoModelForSequenceClassification.from_pretrained("test-org/two-logits", options);
    const { logits } = await model(tokenizer([QUERY], { text_pair: [PASSAGES[0]!] }));
    const [l0, l1] = Array.from(logits.data as Float32Array);
    const [score] = await ce.score(QUERY, [PASSAGES[0]!]);
    expect(score).toBeCloseTo(Math.exp(l1!) / (Math.exp(l0!) + Math.exp(l1!)), 6);
  });

  it("rejects a model with three logits and one without logits, naming the problem", async () => {
    const three = new CrossEncoderReranker({ model: "test-org/three-logits", modelsDir, localFilesOnly: true });
    await expect(three.score(QUERY, PASSAGES)).rejects.toThrow(/3 logits per pair/);
    const none = new CrossEncoderReranker({ model: "test-org/no-logits", modelsDir, localFilesOnly: true });
    await expect(none.score(QUERY, PASSAGES)).rejects.toThrow(/no "logits" output/);
  });

  it("names the model and the three ways to provide it when it is missing", async () => {
    const missing = new CrossEncoderReranker({ model: "Xenova/ms-marco-MiniLM-L-6-v2", modelsDir, localFilesOnly: true });
    const error = await missing.score(QUERY, PASSAGES).catch((e) => e);
    expect(RagError.isInstance(error)).toBe(true);
    expect(error.message).toContain("Xenova/ms-marco-MiniLM-L-6-v2");
    expect(error.hint).toMatch(/models pull Xenova\/ms-marco-MiniLM-L-6-v2.*models import <dir>.*RAG_RERANKER_MODEL/);
  });

  it("runs the int8 export (dtype q8) with scores close to fp32 and the same type of output", async () => {
    const fp32 = await reranker().score(QUERY, PASSAGES);
    const q8 = await reranker({ dtype: "q8" }).score(QUERY, PASSAGES);
    expect(q8).toHaveLength(PASSAGES.length);
    q8.forEach((score, i) => expect(Math.abs(score - fp32[i]!)).toBeLessThan(1e-3));
    const q8Model = await reranker({ dtype: "q8" }).load();
    expect(q8Model).not.toBe(await reranker().load());
  });

  it("rejects a document without text", async () => {
    // Document() coerces to string; a plain object implementing DocumentInterface does not.
    const bad = [{ pageContent: 42 as unknown as string, metadata: {} }];
    await expect(reranker().compressDocuments(bad, QUERY)).rejects.toThrow(/Document 0 has no text/);
  });

  it("plugs into the re-ranking retriever, which skips it per call", async () => {
    const { store } = await smallStore();
    const ce = reranker();
    let calls = 0;
    const original = ce.score.bind(ce);
    ce.score = async (q, p) => (calls++, original(q, p));
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: ce, fetchK: 6, topN: 3 });
    const on = await retriever.invoke("configure oauth2");
    expect(on.every((d) => typeof d.metadata.rerankScore === "number" && d.metadata.rerankScore > 0 && d.metadata.rerankScore < 1)).toBe(true);
    expect(calls).toBe(1);
    await retriever.invoke("configure oauth2", { configurable: { rerank: false } });
    expect(calls).toBe(1);
  });
});

describe("InferencePool", () => {
  it("fails pending and later calls clearly when a worker dies, and tells its owner", async () => {
    let lost = 0;
    const pool = await InferencePool.start({
      size: 2,
      threadsPerWorker: 1,
      model: MODEL,
      modelsDir,
      dtype: "fp32",
      device: "cpu",
      localFilesOnly: true,
      onWorkerLost: () => lost++,
    });
    const { tokenizer } = await reranker().load();
    const encoded = tokenizer([QUERY], { text_pair: [PASSAGES[0]!] });
    const inputs = Object.fromEntries(
      (["input_ids", "attention_mask", "token_type_ids"] as const).map((name) => [
        name,
        { data: encoded[name]!.data as BigInt64Array, dims: encoded[name]!.dims },
      ]),
    );
    expect((await pool.run(inputs))?.dims).toEqual([1, 1]);
    // Test-only reach into the pool: a worker dying is what a native crash looks like from here.
    await (pool as unknown as { slots: Array<{ worker: { terminate(): Promise<number> } }> }).slots[0]!.worker.terminate();
    await expect(pool.run(inputs)).rejects.toThrow(/re-ranking worker stopped unexpectedly.*next call starts a new one/);
    expect(lost).toBe(1);
    await pool.dispose();
  });
});

describe("CrossEncoderReranker device and dtype", () => {
  it("loads fp32 with one warning when the local model has no file for the dtype asked", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    // This export has fp32 weights only.
    const ce = new CrossEncoderReranker({ model: "test-org/two-logits", modelsDir, localFilesOnly: true, workers: 1, dtype: "q8" });
    try {
      const [score] = await ce.score("rotate a key", ["Rotate a key with keys rotate."]);
      expect(score).toBeGreaterThan(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.includes("model_quantized.onnx") && w.includes("fp32"))).toHaveLength(1);
    } finally {
      process.off("warning", onWarning);
      await ce.dispose();
    }
  });

  it("fails a GPU device that cannot start with how to install its binaries", async () => {
    const ce = new CrossEncoderReranker({ model: MODEL, modelsDir, localFilesOnly: true, workers: 1, device: "dml" });
    const error = await ce.load().then(
      () => null,
      (e: unknown) => e,
    );
    expect(RagError.isInstance(error) && error.message).toMatch(/cannot run on device "dml"/);
    expect(RagError.isInstance(error) && error.hint).toMatch(/DirectML runs on Windows only.*RAG_RERANKER_DEVICE=cpu/);
    await ce.dispose();
  });
});
