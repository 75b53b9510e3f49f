// Live: the real Cohere API (rerank, embed, chat). Runs only with COHERE_API_KEY: npm run test:live.
import { Document } from "@langchain/core/documents";
import { expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { createCohereReranker, DEFAULT_COHERE_RERANK_MODEL } from "../../src/rerankers/cohere-reranker.js";
import { smallDocuments } from "../helpers/small-store.js";
import { askSmallCorpus, describeWithKey, expectSourdoughAnswer } from "./live.js";

describeWithKey("COHERE_API_KEY", "the Cohere API", (key) => {
  it(`re-ranks with ${DEFAULT_COHERE_RERANK_MODEL} through CohereReranker: the answering passage first, on copies`, async () => {
    const reranker = createCohereReranker(loadConfig({ COHERE_API_KEY: key, RAG_TIMEOUT_MS: 60_000 }, {}), { topN: 3 });
    const candidates = smallDocuments().map((doc, i) => new Document({ ...doc, id: `doc-${i}`, metadata: { ...doc.metadata, retrievalRank: i + 1 } }));
    const before = structuredClone(candidates.map((d) => d.metadata));
    const ranked = await reranker.compressDocuments(candidates, "How do I configure OAuth2 client credentials?");
    expect(ranked).toHaveLength(3);
    expect(ranked[0]!.metadata.chunkId).toBe("oauth-config");
    const scores = ranked.map((d) => d.metadata.rerankScore as number);
    for (const score of scores) expect(score > 0 && score <= 1, `relevance score ${score}`).toBe(true);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(ranked.map((d) => d.metadata.rerankRank)).toEqual([1, 2, 3]);
    expect(new Set(ranked.map((d) => d.id)).size).toBe(3);
    expect(candidates.map((d) => d.metadata)).toEqual(before);
  });

  it("answers through the pipeline with Cohere embeddings, re-ranker and chat, streaming a cited answer", async () => {
    const result = await askSmallCorpus({ COHERE_API_KEY: key, RAG_EMBEDDINGS: "cohere", RAG_RERANKER: "cohere", RAG_LLM: "cohere" });
    expect(result.report.embedder).toBe("cohere:embed-english-v3.0");
    expect(result.report.dimensions).toBe(1024);
    expect(result.description).toMatch(/rerank=cohere .*llm=cohere/);
    expectSourdoughAnswer(result);
    expect(typeof result.sources[0]!.metadata.rerankScore).toBe("number");
  });
});
