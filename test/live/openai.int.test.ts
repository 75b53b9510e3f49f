// Live: the real OpenAI API (embeddings, chat). Runs only with OPENAI_API_KEY: npm run test:live.
import { expect, it } from "vitest";
import { askSmallCorpus, describeWithKey, expectSourdoughAnswer } from "./live.js";

describeWithKey("OPENAI_API_KEY", "the OpenAI API", (key) => {
  it("answers through the pipeline with OpenAI embeddings and chat, streaming a cited answer", async () => {
    const result = await askSmallCorpus({ OPENAI_API_KEY: key, RAG_EMBEDDINGS: "openai", RAG_RERANKER: "bm25", RAG_LLM: "openai" });
    expect(result.report.embedder).toBe("openai:text-embedding-3-small");
    expect(result.report.dimensions).toBe(1536);
    expect(result.description).toMatch(/embeddings=openai.*rerank=bm25 .*llm=openai/);
    expectSourdoughAnswer(result);
  });
});
