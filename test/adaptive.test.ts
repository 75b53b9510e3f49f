import { describe, expect, it } from "vitest";
import type { DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { createRerankingRetriever, FirstStageCollector, RERANK_EVENT, type RerankEvent } from "../chains/index.js";
import { loadConfig, parseCascade, splitSpecList } from "../src/config/index.js";
import { RagError } from "../src/errors/index.js";
import { adaptiveRule, decideRerank, rerankSignals } from "../src/rerankers/adaptive.js";
import { Bm25Reranker } from "../src/rerankers/bm25-reranker.js";
import { RerankCascade } from "../src/rerankers/cascade.js";
import { HybridRetriever } from "../src/retrievers/hybrid-retriever.js";
import { smallStore } from "./helpers/small-store.js";

/** A real compressor that reverses its input, counts its calls and the candidates it saw. */
class ReversingCompressor extends BaseDocumentCompressor {
  seen: number[] = [];
  // eslint-disable-next-line @typescript-eslint/require-await -- BaseDocumentCompressor's contract is async.
  async compressDocuments(documents: DocumentInterface[]): Promise<DocumentInterface[]> {
    this.seen.push(documents.length);
    return [...documents].reverse().map((d, i) => ({ ...d, metadata: { ...d.metadata, rerankScore: 100 - i } }));
  }
}

const QUESTION = "How do I configure OAuth2 client credentials?";

async function hybrid() {
  const { store, stats } = await smallStore();
  return { first: new HybridRetriever({ store, k: 6 }), stats };
}

/** Runs a retriever call and returns its documents with the `rerank` event it emitted. */
async function withEvent(run: (collector: FirstStageCollector) => Promise<DocumentInterface[]>) {
  const collector = new FirstStageCollector();
  const docs = await run(collector);
  return { docs, event: collector.rerank! };
}

describe("adaptive re-ranking", () => {
  it("reads agreement, margin and terms from the hybrid first stage's two lists", async () => {
    const { first } = await hybrid();
    const candidates = await first.invoke(QUESTION);
    expect(candidates[0]!.metadata).toMatchObject({ chunkId: "oauth-config", vectorRank: 1, keywordRank: 1 });
    const signals = rerankSignals(QUESTION, candidates);
    expect(signals).toMatchObject({ topAgree: true, agreement: 0.8, terms: 4 });
    expect(decideRerank(signals)).toMatchObject({ rerank: false, reason: expect.stringMatching(/^skipped: first stage sure/) as unknown });
    // Lists that disagree on the top candidate, or a one-list first stage, are re-ranked.
    expect(decideRerank({ ...signals, topAgree: false })).toMatchObject({ rerank: true, reason: "re-ranked: the lists disagree on the top candidate" });
    expect(decideRerank({ agreement: null, topAgree: null, margin: 0.5, terms: 3 }).rerank).toBe(true);
  });

  it("skips the re-ranker with rerank: 'auto' when the first stage is sure, and says why in the rerank event", async () => {
    const { first } = await hybrid();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ retriever: first, reranker: compressor, fetchK: 6, topN: 3, rerank: "auto" });
    const { docs, event } = await withEvent((collector) => retriever.invoke(QUESTION, { callbacks: [collector] }));
    expect(compressor.seen).toEqual([]);
    expect(docs.map((d) => d.metadata.retrievalRank)).toEqual([1, 2, 3]);
    expect(event.reranker).toBeNull();
    expect(event.adaptive).toMatchObject({ rerank: false, signals: { topAgree: true } });
  });

  it("re-ranks per call with configurable.rerank = 'auto' and a stricter configurable.adaptive rule", async () => {
    const { first } = await hybrid();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ retriever: first, reranker: compressor, fetchK: 6, topN: 3 });
    const { docs, event } = await withEvent((collector) =>
      retriever.invoke(QUESTION, { callbacks: [collector], configurable: { rerank: "auto", adaptive: { minAgreement: 1 } } }),
    );
    expect(compressor.seen).toEqual([6]);
    expect(docs[0]!.metadata.retrievalRank).toBe(6);
    expect(event.adaptive).toMatchObject({ rerank: true, reason: "re-ranked: vector and keyword lists share 80% of the top 5 (< 100%)" });
    // Without "auto" there is no decision to report.
    const always = await withEvent((collector) => retriever.invoke(QUESTION, { callbacks: [collector] }));
    expect(always.event.adaptive).toBeUndefined();
  });

  it("measures agreement over the rule's own depth", async () => {
    const { first } = await hybrid();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ retriever: first, reranker: compressor, fetchK: 6, topN: 3 });
    // Both lists hold the top 3 in their own top 3, but only 4 of the top 5 in their top 5.
    const { event } = await withEvent((collector) =>
      retriever.invoke(QUESTION, { callbacks: [collector], configurable: { rerank: "auto", adaptive: { depth: 3, minAgreement: 1 } } }),
    );
    expect(event.adaptive).toMatchObject({ rerank: false, signals: { agreement: 1 } });
    expect(compressor.seen).toEqual([]);
  });

  it("rejects a bad adaptive setting with the setting's name", () => {
    expect(() => adaptiveRule({ minMargin: -1 })).toThrow(/adaptive.minMargin must be a share from 0 to 1, got -1/);
  });

  it.each([
    [{ minAgreement: 7 }, "adaptive.minAgreement must be a share from 0 to 1, got 7.", "adaptive.minAgreement"],
    [{ depth: 0 }, "adaptive.depth must be a whole number of at least 1, got 0.", "adaptive.depth"],
    [{ depth: 2.5 }, "adaptive.depth must be a whole number of at least 1, got 2.5.", "adaptive.depth"],
    [{ maxTerms: -1 }, "adaptive.maxTerms must be a whole number of at least 0, got -1.", "adaptive.maxTerms"],
    [{ requireTopAgree: "yes" }, 'adaptive.requireTopAgree must be true or false, got "yes".', "adaptive.requireTopAgree"],
    [{ minAgrement: 0.5 }, 'adaptive has no setting "minAgrement"; its settings are depth, minAgreement, requireTopAgree, minMargin, maxTerms.', "adaptive"],
    ["x", 'adaptive must be an object with some of depth, minAgreement, requireTopAgree, minMargin, maxTerms, got "x".', "adaptive"],
  ])("checks the rule's shape and ranges in the options and per call: %j", async (adaptive, message, setting) => {
    const { first } = await hybrid();
    const compressor = new ReversingCompressor();
    expect(() => createRerankingRetriever({ retriever: first, reranker: compressor, rerank: "auto", adaptive: adaptive as never })).toThrow(message);
    const retriever = createRerankingRetriever({ retriever: first, reranker: compressor, fetchK: 6, topN: 3 });
    const error = await retriever.invoke(QUESTION, { configurable: { rerank: "auto", adaptive } }).catch((e: unknown) => e);
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect((error as RagError).message).toBe(message);
    expect((error as RagError).setting).toBe(setting);
    expect(compressor.seen).toEqual([]);
  });

  it("takes a call's partial rule over the retriever's own, a field left undefined keeping it", () => {
    const base = adaptiveRule({ minAgreement: 0.4, maxTerms: 8 });
    expect(adaptiveRule({ maxTerms: 3, minMargin: undefined }, base)).toEqual({ ...base, maxTerms: 3 });
  });
});

describe("cascades", () => {
  it("parses bm25:20,cross-encoder and lists of specs, and names the bad stage", () => {
    expect(parseCascade("bm25:20,cross-encoder")).toEqual([{ name: "bm25", keep: 20 }, { name: "cross-encoder" }]);
    expect(splitSpecList("none,bm25,bm25:20,cross-encoder,adaptive:bm25")).toEqual(["none", "bm25", "bm25:20,cross-encoder", "adaptive:bm25"]);
    expect(() => parseCascade("bm25,cross-encoder")).toThrow(/Stage "bm25" of the cascade "bm25,cross-encoder" needs a whole count/);
    expect(() => parseCascade("bm25:20,colbert")).toThrow(/Unknown re-ranker "colbert"/);
    expect(() => parseCascade("bm25:20,cross-encoder:5")).toThrow(/its count is topN/);
    expect(loadConfig({ RAG_RERANKER: "bm25:20,cross-encoder", RAG_RERANK: "auto" }, {})).toMatchObject({
      RAG_RERANKER: "bm25:20,cross-encoder",
      RAG_RERANK: "auto",
    });
    expect(() => loadConfig({ RAG_RERANKER: "bm25:x,cohere" }, {})).toThrow(/Invalid --reranker \(RAG_RERANKER\)="bm25:x,cohere": Stage "bm25:x"/);
  });

  it("narrows with the first stage before the second, reporting each stage in the rerank event", async () => {
    const { store, stats } = await smallStore();
    const expensive = new ReversingCompressor();
    const retriever = createRerankingRetriever({
      vectorStore: store,
      reranker: [
        { compressor: new Bm25Reranker({ stats }), keep: 4, name: "bm25" },
        { compressor: expensive, name: "reverse" },
      ],
      fetchK: 8,
      topN: 2,
    });
    expect(retriever.rerankerName).toBe("bm25:4 → reverse");
    const { docs, event } = await withEvent((collector) => retriever.invoke(QUESTION, { callbacks: [collector] }));
    expect(expensive.seen).toEqual([4]);
    expect(event.stages).toEqual([
      { reranker: "bm25", candidates: 8, returned: 4, ms: expect.any(Number) as unknown },
      { reranker: "reverse", candidates: 4, returned: 4, ms: expect.any(Number) as unknown },
    ]);
    // The last stage's score and order; the stage reports stay in the event, not in the documents.
    expect(docs.map((d) => d.metadata.rerankScore)).toEqual([100, 99]);
    expect(docs.every((d) => d.metadata.rerankStages === undefined)).toBe(true);
  });

  it("builds a cascade from a spec string, as --reranker takes it, on LangChain's DocumentCompressorPipeline", async () => {
    const { store, stats } = await smallStore();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "bm25:3,bm25", stats, config: loadConfig({}, {}), fetchK: 8, topN: 2 });
    const events: RerankEvent[] = [];
    const docs = await retriever.invoke(QUESTION, {
      callbacks: [{ handleCustomEvent: (name, data) => void (name === RERANK_EVENT && events.push(data as RerankEvent)) }],
    });
    expect(docs).toHaveLength(2);
    expect(events[0]!.reranker).toBe("RerankCascade");
    expect(events[0]!.stages?.map((s) => [s.candidates, s.returned])).toEqual([
      [8, 3],
      [3, 3],
    ]);
    const { DocumentCompressorPipeline } = await import("@langchain/classic/retrievers/document_compressors");
    expect(new RerankCascade([{ compressor: new Bm25Reranker({ stats }) }])).toBeInstanceOf(DocumentCompressorPipeline);
  });

  it("rejects a list mixing names and compressors", async () => {
    const { store } = await smallStore();
    const mixed = () => createRerankingRetriever({ vectorStore: store, reranker: ["bm25:5", { compressor: new ReversingCompressor() }] });
    expect(mixed).toThrow(RagError);
    expect(mixed).toThrow(/mixes provider names and compressors/);
  });
});
