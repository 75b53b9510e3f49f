import { describe, expect, it } from "vitest";
import type { Document, DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { createRerankingRetriever, FirstStageCollector } from "../chains/index.js";
import { Bm25Reranker } from "../src/rerankers/bm25-reranker.js";
import { RagError } from "../src/errors/index.js";
import { smallStore } from "./helpers/small-store.js";

/** A real compressor that reverses its input and counts its calls. */
class ReversingCompressor extends BaseDocumentCompressor {
  calls = 0;
  // eslint-disable-next-line @typescript-eslint/require-await -- BaseDocumentCompressor's contract is async.
  async compressDocuments(documents: DocumentInterface[]): Promise<DocumentInterface[]> {
    this.calls++;
    return [...documents].reverse().map((d, i) => {
      d.metadata.relevanceScore = 1 - i / 10; // writes into its input, as the stock CohereRerank does
      return d;
    });
  }
}

const QUESTION = "How do I configure OAuth2 client credentials?";

describe("createRerankingRetriever", () => {
  it("returns topN of the first stage's fetchK with retrieval and rerank metadata", async () => {
    const { store, stats } = await smallStore();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: new Bm25Reranker({ stats }), fetchK: 6, topN: 3 });
    const docs = await retriever.invoke(QUESTION);
    expect(docs).toHaveLength(3);
    expect(docs[0]!.metadata.chunkId).toBe("oauth-config");
    docs.forEach((doc, i) => {
      expect(doc.metadata.rerankRank).toBe(i + 1);
      expect(typeof doc.metadata.rerankScore).toBe("number");
      expect(doc.metadata.retrievalRank).toBeGreaterThanOrEqual(1);
      expect(doc.metadata.retrievalRank).toBeLessThanOrEqual(6);
      // A similarity (cosine), not a distance: within [-1, 1] and higher for better matches.
      expect(doc.metadata.retrievalScore).toBeLessThanOrEqual(1.0001);
    });
    const scores = docs.map((d) => d.metadata.rerankScore as number);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it("orders first-stage results by similarity, best first", async () => {
    const { store } = await smallStore();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "none", fetchK: 8, topN: 8 });
    const docs = await retriever.invoke(QUESTION);
    const similarities = docs.map((d) => Number(d.metadata.retrievalScore));
    expect(similarities.every(Number.isFinite)).toBe(true);
    expect([...similarities].sort((a, b) => b - a)).toEqual(similarities);
    expect(docs.map((d) => d.metadata.retrievalRank)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(docs.every((d) => d.metadata.rerankRank === undefined)).toBe(true);
  });

  it("skips the re-ranker entirely when a call sets configurable.rerank = false", async () => {
    const { store } = await smallStore();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: compressor, fetchK: 5, topN: 2 });
    const plain = await retriever.invoke(QUESTION, { configurable: { rerank: false } });
    expect(compressor.calls).toBe(0);
    expect(plain.map((d) => d.metadata.retrievalRank)).toEqual([1, 2]);
    const reranked = await retriever.invoke(QUESTION);
    expect(compressor.calls).toBe(1);
    expect(reranked.map((d) => d.metadata.retrievalRank)).toEqual([5, 4]);
    expect(reranked[0]!.metadata.rerankScore).toBe(1);
    expect(reranked[0]!.metadata.relevanceScore).toBeUndefined();
  });

  it("reads rerank as true, false, or RAG_RERANK's on, off and auto, per call and in the options", async () => {
    const { store } = await smallStore();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: compressor, fetchK: 5, topN: 2 });
    const reranked = async (rerank: unknown) => {
      const before = compressor.calls;
      await retriever.invoke(QUESTION, { configurable: { rerank } });
      return compressor.calls > before;
    };
    expect(await reranked(true)).toBe(true);
    expect(await reranked("on")).toBe(true);
    expect(await reranked(false)).toBe(false);
    expect(await reranked("off")).toBe(false);
    // A one-list first stage gives "auto" nothing to be sure by: it re-ranks.
    expect(await reranked("auto")).toBe(true);
    const off = createRerankingRetriever({ vectorStore: store, reranker: compressor, rerank: "off", fetchK: 5, topN: 2 });
    const calls = compressor.calls;
    await off.invoke(QUESTION);
    expect(compressor.calls).toBe(calls);
  });

  it.each(["none", "false", "yes", 0, null])("rejects rerank %j naming the key, the value and the allowed values", async (rerank) => {
    const { store } = await smallStore();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: compressor, fetchK: 5, topN: 2 });
    const error = await retriever.invoke(QUESTION, { configurable: { rerank } }).catch((e: unknown) => e);
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect((error as RagError).message).toBe(`configurable.rerank must be true, false, "on", "off" or "auto", got ${JSON.stringify(rerank)}.`);
    expect((error as RagError).setting).toBe("rerank");
    expect(compressor.calls).toBe(0);
    expect(() => createRerankingRetriever({ vectorStore: store, reranker: compressor, rerank: rerank as never })).toThrow(
      `rerank must be true, false, "on", "off" or "auto", got ${JSON.stringify(rerank)}.`,
    );
  });

  it("re-ranks per call when the chain default is reranker 'none'", async () => {
    const { store, stats } = await smallStore();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "none", fetchK: 8, topN: 3 });
    const off = await retriever.invoke(QUESTION);
    expect(off.every((d) => d.metadata.rerankScore === undefined)).toBe(true);
    const viaName = createRerankingRetriever({ vectorStore: store, reranker: "bm25", stats, fetchK: 8, topN: 3 });
    const on = await viaName.invoke(QUESTION);
    expect(on.every((d) => typeof d.metadata.rerankScore === "number")).toBe(true);
  });

  it("takes fetchK and topN per call", async () => {
    const { store } = await smallStore();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: compressor, fetchK: 8, topN: 5 });
    const docs = await retriever.invoke(QUESTION, { configurable: { fetchK: 3, topN: 2 } });
    expect(docs).toHaveLength(2);
    expect(docs.map((d) => d.metadata.retrievalRank)).toEqual([3, 2]);
  });

  it("hands the first stage's candidates to a FirstStageCollector, as a call without re-ranking returns them", async () => {
    const { store } = await smallStore();
    const compressor = new ReversingCompressor();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: compressor, fetchK: 6, topN: 3 });
    const collector = new FirstStageCollector();
    const reranked = await retriever.invoke(QUESTION, { callbacks: [collector], configurable: { fetchK: 4 } });
    expect(reranked.map((d) => d.metadata.retrievalRank)).toEqual([4, 3, 2]);
    const plain = await retriever.invoke(QUESTION, { configurable: { rerank: false, fetchK: 4, topN: 4 } });
    // The same documents; without re-ranking they also carry BM25's evidence, for the answer chain's gate.
    expect(plain).toMatchObject(collector.documents!);
    for (const doc of plain) expect(doc.metadata.evidenceScore).toBeTypeOf("number");
    expect(collector.documents!.map((d) => d.metadata.retrievalRank)).toEqual([1, 2, 3, 4]);
    // Inputs are copied before the re-ranker writes into them: the candidates keep no rerank fields.
    expect(collector.documents!.every((d) => d.metadata.relevanceScore === undefined && d.metadata.rerankRank === undefined)).toBe(true);
  });

  it("refuses a re-ranker whose own topN keeps fewer than the retriever's, when built and per call", async () => {
    const { store } = await smallStore();
    expect(() => createRerankingRetriever({ vectorStore: store, reranker: new Bm25Reranker({ topN: 2 }), topN: 3 })).toThrow(
      /The re-ranker Bm25Reranker keeps 2 documents \(its own topN\), fewer than the retriever's topN 3\./,
    );
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: new Bm25Reranker({ topN: 3 }), fetchK: 8, topN: 3 });
    expect(await retriever.invoke(QUESTION)).toHaveLength(3);
    const error = await retriever.invoke(QUESTION, { configurable: { topN: 4 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RagError);
    expect((error as RagError).hint).toBe("Give the re-ranker topN 4 or more (or none), or set the retriever's topN to 3.");
  });

  it("never mutates the documents held by the store", async () => {
    const { store } = await smallStore();
    const before = JSON.stringify([...store.docstore.values()].map((d) => d.metadata));
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: new ReversingCompressor(), fetchK: 8, topN: 3 });
    await retriever.invoke(QUESTION);
    expect(JSON.stringify([...store.docstore.values()].map((d) => d.metadata))).toBe(before);
  });

  it("returns [] for an empty store and what there is when fewer than topN exist", async () => {
    const { embeddings, documents } = await smallStore();
    const empty = await MemoryVectorStore.fromDocuments([], embeddings);
    const retriever = createRerankingRetriever({ vectorStore: empty, reranker: new ReversingCompressor() });
    expect(await retriever.invoke(QUESTION)).toEqual([]);
    const two = await MemoryVectorStore.fromDocuments(documents.slice(0, 2), embeddings);
    const docs = await createRerankingRetriever({ vectorStore: two, reranker: "bm25", topN: 5 }).invoke(QUESTION);
    expect(docs).toHaveLength(2);
  });

  it("keeps a MemoryVectorStore's similarity as the retrieval score", async () => {
    const { embeddings, documents } = await smallStore();
    const memory = await MemoryVectorStore.fromDocuments(documents, embeddings);
    const [hit] = await createRerankingRetriever({ vectorStore: memory, reranker: "none", topN: 1 }).invoke(QUESTION);
    const [[, raw]] = (await memory.similaritySearchWithScore(QUESTION, 1)) as [[Document, number]];
    expect(hit!.metadata.retrievalScore).toBeCloseTo(raw, 10);
  });

  it("accepts any retriever as the first stage", async () => {
    const { store, stats } = await smallStore();
    const base = store.asRetriever({ k: 8 });
    const docs = await createRerankingRetriever({ retriever: base, reranker: new Bm25Reranker({ stats }), topN: 2 }).invoke(QUESTION);
    expect(docs).toHaveLength(2);
    expect(docs[0]!.metadata.chunkId).toBe("oauth-config");
    // Its documents have ranks but no score to report: retrievalScore is left out, not made up.
    expect(docs.every((d) => typeof d.metadata.retrievalRank === "number" && !("retrievalScore" in d.metadata))).toBe(true);
  });

  it("rejects topN below 1 and fetchK below topN with usage errors", async () => {
    const { store } = await smallStore();
    expect(() => createRerankingRetriever({ vectorStore: store, topN: 0 })).toThrowError(/topN/);
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "none" });
    const error = await retriever.invoke(QUESTION, { configurable: { fetchK: 2, topN: 5 } }).catch((e) => e);
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect(String(error.message)).toMatch(/fetchK/);
    // A library caller is told the option to change, not a CLI flag.
    expect(error.hint).toContain("fetchK");
    expect(error.hint).not.toContain("--");
  });

  it("says fetchK and topN must be numbers when given text, in the options and per call", async () => {
    const { store } = await smallStore();
    const caught = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return error as RagError;
      }
      throw new Error("no error");
    };
    const fetchK = caught(() => createRerankingRetriever({ vectorStore: store, fetchK: "50" as never }));
    expect(fetchK.message).toBe('fetchK must be a number, a whole number of at least topN (5); got the string "50".');
    expect(fetchK.setting).toBe("fetchK");
    const topN = caught(() => createRerankingRetriever({ vectorStore: store, topN: "5" as never }));
    expect(topN.message).toBe('topN must be a number, a whole number of at least 1; got the string "5".');
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "none" });
    const perCall = await retriever.invoke(QUESTION, { configurable: { topN: "3" } }).catch((e: unknown) => e as RagError);
    expect(RagError.isInstance(perCall) && perCall.exitCode).toBe(2);
    expect((perCall as RagError).message).toBe('topN must be a number, a whole number of at least 1; got the string "3".');
    // A number out of range is still told its range.
    expect(caught(() => createRerankingRetriever({ vectorStore: store, fetchK: 2 })).message).toBe(
      "fetchK must be a whole number of at least topN (5), got 2.",
    );
  });

  it("rejects an unknown re-ranker name at once, listing the valid ones", async () => {
    const { store } = await smallStore();
    const error = (() => {
      try {
        createRerankingRetriever({ vectorStore: store, reranker: "bogus" as never });
      } catch (caught) {
        return caught;
      }
    })();
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect(String((error as Error).message)).toMatch(/Unknown re-ranker "bogus"/);
    expect(String((error as Error).message)).toContain('"bm25", "cross-encoder", "cohere", "tei", "jina", "voyage", "none"');
  });
});
