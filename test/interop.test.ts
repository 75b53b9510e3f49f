// The examples in examples/ run as tests: rerank-rag inside stock LangChain chains,
// compressors, agents and LCEL, all offline. They import the package by its own name
// ("rerank-rag", i.e. dist/ through package.json exports), as an app would.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import type { DocumentInterface } from "@langchain/core/documents";
import type { StreamEvent } from "@langchain/core/tracers/log_stream";
import type { RerankEvent } from "../chains/index.js";
import { CrossEncoderReranker } from "../src/rerankers/cross-encoder-reranker.js";
import { ANSWER_ID, offlineStore, QUESTION } from "../examples/corpus.js";
import { run as runRetrievalChain } from "../examples/retrieval-chain.js";
import { run as runCompression, TINY_MODEL } from "../examples/compression-pipeline.js";
import { run as runAgent } from "../examples/agent-tool.js";
import { buildChain, run as runLcel } from "../examples/lcel-toggle.js";
import { makeModelsDir } from "./helpers/test-models.js";

const modelsDir = makeModelsDir({ [TINY_MODEL]: { preset: "tiny" } });
afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

const ids = (docs: DocumentInterface[]) => docs.map((d) => d.metadata.chunkId);

/** Re-ranked output: ranks 1…n in order, first-stage ranks kept, scores descending. */
function expectReranked(docs: DocumentInterface[], n: number) {
  expect(docs).toHaveLength(n);
  expect(docs.map((d) => d.metadata.rerankRank)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  for (const doc of docs) expect(doc.metadata.retrievalRank).toBeGreaterThanOrEqual(1);
  const scores = docs.map((d) => d.metadata.rerankScore as number);
  expect(scores.every((s) => typeof s === "number")).toBe(true);
  expect([...scores].sort((a, b) => b - a)).toEqual(scores);
}

describe("createRetrievalChain + createStuffDocumentsChain (@langchain/classic)", () => {
  it("stuffs the re-ranked documents into the prompt and answers from the top one", async () => {
    const { input, context, answer } = await runRetrievalChain();
    expect(input).toBe(QUESTION);
    expectReranked(context, 3);
    expect(context[0]!.metadata.chunkId).toBe(ANSWER_ID);
    // The extractive model quotes the sentence of source [1], which is the re-ranked top document.
    expect(answer).toContain("/oauth2/token");
    expect(answer).toMatch(/\[1\]/);
    expect(answer).not.toMatch(/\[[4-9]\]/);
  });
});

describe("re-rankers as stock document compressors", () => {
  it("work in ContextualCompressionRetriever, alone and after an EmbeddingsFilter", async () => {
    const { variants } = await runCompression(QUESTION, { modelsDir });
    expect(variants.map((v) => v.name)).toEqual(["bm25", "bm25 after EmbeddingsFilter(k=5)", "cross-encoder", "cross-encoder after EmbeddingsFilter(k=5)"]);

    // What the stock pieces hand over: the store's top 8, and the filter's top 5 of those by cosine.
    const { vectorStore, embeddings } = await offlineStore();
    const candidates = await vectorStore.similaritySearch(QUESTION, 8);
    const queryVector = await embeddings.embedQuery(QUESTION);
    const vectors = await embeddings.embedDocuments(candidates.map((d) => d.pageContent));
    const cosine = (a: number[], b: number[]) => {
      const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
      return dot / (Math.hypot(...a) * Math.hypot(...b));
    };
    const filtered = candidates
      .map((doc, i) => ({ doc, similarity: cosine(queryVector, vectors[i]!) }))
      .sort((a, b) => b.similarity - a.similarity)
      .slice(0, 5)
      .map((x) => x.doc);

    // The cross-encoder's own scores for each candidate decide its top 3, with or without the filter.
    const model = new CrossEncoderReranker({ model: TINY_MODEL, modelsDir, localFilesOnly: true, threads: 1 });
    const top3ByModel = async (docs: DocumentInterface[]) => {
      const scores = await model.score(
        QUESTION,
        docs.map((d) => d.pageContent),
      );
      return docs
        .map((doc, i) => ({ id: doc.metadata.chunkId, score: scores[i]! }))
        .sort((a, b) => b.score - a.score)
        .slice(0, 3);
    };

    for (const variant of variants) {
      const scores = variant.documents.map((d) => d.metadata.rerankScore as number);
      expect(variant.documents).toHaveLength(3);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      const pool = variant.pipeline ? filtered : candidates;
      for (const id of ids(variant.documents)) expect(ids(pool)).toContain(id);
      if (variant.reranker === "bm25") {
        expect(variant.documents[0]!.metadata.chunkId).toBe(ANSWER_ID);
      } else {
        const expected = await top3ByModel(pool);
        scores.forEach((score, i) => expect(score).toBeCloseTo(expected[i]!.score, 5));
      }
    }
  });
});

describe("the retriever as an agent tool (langchain createAgent)", () => {
  it("is called by the model, returns re-ranked documents, and the answer uses them", async () => {
    const { messages, answer, sources, modelCalls } = await runAgent();
    expect(messages.map((m) => m.type)).toEqual(["human", "ai", "tool", "ai"]);
    const call = (messages[1] as AIMessage).tool_calls?.[0];
    expect(call).toMatchObject({ name: "search_docs", args: { query: QUESTION } });

    const toolMessage = messages[2] as ToolMessage;
    expect(toolMessage.tool_call_id).toBe(call!.id);
    expect(toolMessage.text).toMatch(/^\[1\] guides\/oauth2\.md\n/);
    expectReranked(sources, 3);
    expect(sources[0]!.metadata.chunkId).toBe(ANSWER_ID);

    // The model saw the question first, then the tool's output.
    expect(modelCalls).toHaveLength(2);
    expect(modelCalls[0]!.messages.some((m) => HumanMessage.isInstance(m) && m.content === QUESTION)).toBe(true);
    expect(modelCalls[1]!.messages.some((m) => ToolMessage.isInstance(m) && m.text.includes("/oauth2/token"))).toBe(true);
    expect(answer).toContain("/oauth2/token");
    expect(answer).toMatch(/\[1\]$/);
  });
});

describe("LCEL: re-ranking per chain and per call, visible in streamEvents v2", () => {
  it("toggles re-ranking and sizes through configurable", async () => {
    const { reranked, firstStage, plain, overridden } = await runLcel();
    expectReranked(reranked.docs, 3);
    expect(reranked.answer).toContain("[1]");
    expect(firstStage.docs.map((d) => d.metadata.retrievalRank)).toEqual([1, 2, 3]);
    expect(firstStage.docs.every((d) => d.metadata.rerankScore === undefined)).toBe(true);
    expect(plain.docs.map((d) => d.metadata.retrievalRank)).toEqual([1, 2]);
    expect(plain.docs.every((d) => d.metadata.rerankRank === undefined)).toBe(true);
    expectReranked(overridden.docs, 2);
  });

  it("shows both stages, the settings and the re-ranker's work in the event stream", async () => {
    const started = performance.now();
    const { events } = await runLcel();
    const elapsed = performance.now() - started;
    expect(events.map((e) => `${e.event}:${e.name}`)).toEqual([
      "on_retriever_start:RerankingRetriever",
      "on_retriever_start:FirstStageRetriever",
      "on_retriever_end:FirstStageRetriever",
      "on_custom_event:rerank",
      "on_retriever_end:RerankingRetriever",
    ]);
    // LangChain types a custom event's payload loosely; ours is a RerankEvent.
    const [start, , firstEnd, custom, end] = events as [StreamEvent, StreamEvent, StreamEvent, StreamEvent & { data: RerankEvent }, StreamEvent];
    expect(start.metadata.rerankRag).toEqual({ reranker: "bm25", rerank: true, fetchK: 8, topN: 3 });
    expect(start.data.input.query ?? start.data.input).toBe(QUESTION);

    const candidates = firstEnd.data.output as DocumentInterface[];
    expect(candidates.map((d) => d.metadata.retrievalRank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(candidates.every((d) => typeof d.metadata.retrievalScore === "number" && d.metadata.rerankScore === undefined)).toBe(true);

    const final = end.data.output as DocumentInterface[];
    expectReranked(final, 3);
    expect(custom.run_id).toBe(start.run_id);
    expect(custom.data).toMatchObject({ reranker: "Bm25Reranker", candidates: 8, returned: 3, topN: 3 });
    expect(custom.data.retrievalRanks).toEqual(final.map((d) => d.metadata.retrievalRank));
    // Measured, in milliseconds: BM25 over 8 candidates takes some time, less than the whole run.
    expect(custom.data.ms).toBeGreaterThan(0);
    expect(custom.data.ms).toBeLessThan(elapsed);
  });

  it("reports a skipped re-ranker when a call turns it off", async () => {
    const { chain } = await buildChain();
    const events = [];
    for await (const e of chain.streamEvents({ question: QUESTION }, { version: "v2", configurable: { rerank: false, topN: 2 } })) {
      if (e.event === "on_custom_event" || e.event === "on_retriever_start") events.push(e);
    }
    expect(events[0]!.metadata.rerankRag).toEqual({ reranker: "none", rerank: false, fetchK: 8, topN: 2 });
    const custom = events.find((e) => e.event === "on_custom_event")!;
    expect(custom.data).toMatchObject({ reranker: null, candidates: 8, returned: 2, retrievalRanks: [1, 2] });
  });
});

it("lists every example in the runner behind `npm run examples`", () => {
  const dir = fileURLToPath(new URL("../examples/", import.meta.url));
  const examples = fs.readdirSync(dir).filter((f) => f.endsWith(".ts") && f !== "corpus.ts" && f !== "run-all.ts");
  const runner = fs.readFileSync(path.join(dir, "run-all.ts"), "utf8");
  expect(examples.length).toBeGreaterThanOrEqual(4);
  for (const file of examples) expect(runner).toContain(`"${file}"`);
});
