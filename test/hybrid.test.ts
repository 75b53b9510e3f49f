import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { StreamEvent } from "@langchain/core/tracers/log_stream";
import { contextualText } from "../src/text/contextual-text.js";
import { ingest } from "../src/ingest/ingest.js";
import { CorpusStats } from "../src/text/corpus-stats.js";
import { openIndex } from "../src/store/open-index.js";
import { RagError } from "../src/errors/index.js";
import { workspace } from "./helpers/index.js";
import { createRerankingRetriever } from "../chains/index.js";
import { Bm25Index } from "../src/store/bm25-index.js";
import { Bm25Reranker } from "../src/rerankers/bm25-reranker.js";
import { HybridRetriever, reciprocalRankFusion } from "../src/retrievers/hybrid-retriever.js";
import { smallStore } from "./helpers/small-store.js";
import { SAMPLE_DOCS } from "./helpers/fs.js";
import { splitDocuments } from "../src/ingest/chunker.js";
import { loadFile } from "../src/ingest/loaders.js";

describe("reciprocalRankFusion", () => {
  it("adds weight / (c + rank) per list and sorts by the sum", () => {
    const fused = reciprocalRankFusion(
      [
        ["a", "b", "c"],
        ["c", "a"],
      ],
      (x) => x,
      { c: 1 },
    );
    expect(fused.map((f) => f.item)).toEqual(["a", "c", "b"]);
    expect(fused[0]!.score).toBeCloseTo(1 / 2 + 1 / 3, 12);
    expect(fused[1]!.score).toBeCloseTo(1 / 4 + 1 / 2, 12);
  });
});

describe("Bm25Index", () => {
  it("ranks the document holding the rare query term first and scores only matching documents", async () => {
    const { documents } = await smallStore();
    const index = Bm25Index.fromDocuments(documents);
    const hits = index.search("Lumen-Signature HMAC", 10);
    expect(documents[hits[0]!.index]!.metadata.chunkId).toBe("webhooks");
    expect(hits.every((h) => h.score > 0)).toBe(true);
    expect(hits.length).toBeLessThan(documents.length);
    expect(index.search("zzzz unknown words", 5)).toEqual([]);
  });

  it("scores every chunk exactly as the BM25 re-ranker does with the index's statistics", async () => {
    // The sample corpus: enough chunks of enough lengths that two copies of the formula differing only in rounding disagree.
    const documents = [];
    for (const name of (await fs.readdir(SAMPLE_DOCS, { recursive: true })).filter((f) => f.endsWith(".md"))) {
      const file = path.join(SAMPLE_DOCS, name);
      documents.push(...(await splitDocuments((await loadFile(file, await fs.readFile(file))).documents, { chunkSize: 1000, chunkOverlap: 100 }, name)));
    }
    const index = Bm25Index.fromDocuments(documents);
    const reranker = new Bm25Reranker({ stats: index.corpusStats(), firstStageWeight: 0 });
    for (const query of ["How do I configure OAuth2 in the API?", "retry after a 429 response", "verify a webhook signature"]) {
      const hits = index.search(query, documents.length);
      const reranked = await reranker.compressDocuments(documents, query);
      const byId = new Map(reranked.map((d) => [d.metadata.chunkId, d.metadata.rerankScore]));
      expect(hits.length).toBeGreaterThan(1);
      for (const hit of hits) expect(hit.score).toBe(byId.get(documents[hit.index]!.metadata.chunkId));
    }
  });
});

describe("Bm25Index saved with an index", () => {
  it("is written by ingest and loads with the same postings, scores and corpus statistics", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const index = await openIndex(ws.config);
    const documents = index.vectorStore.entries().map((e) => e.document);
    const fresh = Bm25Index.fromDocuments(documents);
    expect(index.keywords).not.toBeNull();
    for (const query of ["oauth2 client credentials", "retry after 429", "webhook signature hmac", "zzzz"]) {
      expect(index.keywords!.search(query, 20)).toEqual(fresh.search(query, 20));
    }
    const derived = fresh.corpusStats();
    const analysed = CorpusStats.fromTexts(documents.map(contextualText));
    expect(derived.docCount).toBe(analysed.docCount);
    expect(derived.averageLength).toBeCloseTo(analysed.averageLength, 4);
    expect(new Map(derived.documentFrequency)).toEqual(new Map(analysed.documentFrequency));
  });

  it("is rebuilt in memory for an index saved without it, and a damaged one names the fix", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const { snapshot } = await openIndex(ws.config);
    // An index from before checksums: the keyword index's own checks are what catch the damage.
    const manifest = path.join(snapshot, "manifest.json");
    const { checksums: _checksums, ...withoutChecksums } = JSON.parse(await fs.readFile(manifest, "utf8"));
    await fs.writeFile(manifest, JSON.stringify(withoutChecksums));
    await fs.writeFile(path.join(snapshot, "bm25-postings.bin"), Buffer.alloc(12));
    const error = await openIndex(ws.config).catch((e) => e);
    expect(RagError.isInstance(error) && error.message).toMatch(/keyword index .* is damaged: bm25-postings.bin has 12 bytes/);
    expect(error.hint).toMatch(/ingest --rebuild/);
    await fs.rm(path.join(snapshot, "bm25-postings.bin"));
    await fs.rm(path.join(snapshot, "bm25-terms.json"));
    const old = await openIndex(ws.config);
    expect(old.keywords).toBeNull();
    const docs = await new HybridRetriever({ store: old.vectorStore, k: 5, bm25: old.keywords ?? undefined }).invoke("oauth2 client credentials");
    expect(docs).toHaveLength(5);
  });
});

describe("HybridRetriever", () => {
  it("returns k fused candidates with retrievalScore descending and ranks 1..k", async () => {
    const { store } = await smallStore();
    const hybrid = new HybridRetriever({ store, k: 5 });
    const docs = await hybrid.invoke("retry 429 Retry-After header");
    expect(docs).toHaveLength(5);
    expect(docs[0]!.metadata.chunkId).toBe("rate-limits");
    expect(docs.map((d) => d.metadata.retrievalRank)).toEqual([1, 2, 3, 4, 5]);
    const scores = docs.map((d) => d.metadata.retrievalScore as number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(new Set(docs.map((d) => d.metadata.chunkId)).size).toBe(5);
  });

  it("is asked for the per-call fetchK when it is the re-ranking retriever's first stage", async () => {
    const { store } = await smallStore();
    const retriever = createRerankingRetriever({ retriever: new HybridRetriever({ store, k: 3 }), reranker: "none", fetchK: 8, topN: 8 });
    expect(await retriever.invoke("oauth2 token")).toHaveLength(8);
    expect(await retriever.invoke("oauth2 token", { configurable: { fetchK: 6, topN: 6 } })).toHaveLength(6);
  });

  it("runs as its own retriever run under the first stage, visible in streamEvents, asked for the per-call fetchK", async () => {
    const { store } = await smallStore();
    const retriever = createRerankingRetriever({ retriever: new HybridRetriever({ store, k: 3 }), reranker: "none", fetchK: 8, topN: 4 });
    const events = [];
    for await (const e of retriever.streamEvents("oauth2 token", { version: "v2", configurable: { fetchK: 6 } })) {
      if (e.event.startsWith("on_retriever_")) events.push(e);
    }
    expect(events.map((e) => `${e.event}:${e.name}`)).toEqual([
      "on_retriever_start:RerankingRetriever",
      "on_retriever_start:FirstStageRetriever",
      "on_retriever_start:HybridRetriever",
      "on_retriever_end:HybridRetriever",
      "on_retriever_end:FirstStageRetriever",
      "on_retriever_end:RerankingRetriever",
    ]);
    const [, , hybrid, hybridEnd] = events as [StreamEvent, StreamEvent, StreamEvent, StreamEvent];
    expect(hybrid.data.input.query ?? hybrid.data.input).toBe("oauth2 token");
    expect((hybridEnd.data.output as unknown[]).length).toBe(6);
  });
});
