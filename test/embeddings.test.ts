import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { openIndex } from "../src/store/open-index.js";
import { workspace } from "./helpers/index.js";
import { makeModelsDir } from "./helpers/test-models.js";

const modelsDir = makeModelsDir({ "test-org/tiny-embedder": { preset: "tiny", omitLogits: true } });
afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

describe("the transformers embedder", () => {
  it("builds an index with a local model folder and queries it with the same model", async () => {
    const ws = await workspace();
    const config = { ...ws.config, RAG_EMBEDDINGS: "transformers" as const, RAG_EMBEDDINGS_MODEL: "test-org/tiny-embedder", RAG_MODELS_DIR: modelsDir };
    const report = await ingest({ paths: [ws.docs], config });
    expect(report.embedder).toBe("transformers:test-org/tiny-embedder");
    expect(report.dimensions).toBe(32);
    expect(report.embeddedChunks).toBe(report.chunkCount);
    const index = await openIndex({ ...config, RAG_EMBEDDINGS: "auto" });
    expect(index.manifest.embedder).toMatchObject({ provider: "transformers", model: "test-org/tiny-embedder", dimensions: 32 });
    const vector = await index.embeddings.embedQuery("ferry timetable");
    expect(vector).toHaveLength(32);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5); // mean-pooled and normalised
    expect(await index.vectorStore.similaritySearch("ferry timetable", 3)).toHaveLength(3);
  });

  it("is chosen by auto when its model is present locally", async () => {
    const ws = await workspace();
    const config = { ...ws.config, RAG_EMBEDDINGS: "auto" as const, RAG_EMBEDDINGS_MODEL: "test-org/tiny-embedder", RAG_MODELS_DIR: modelsDir };
    const report = await ingest({ paths: [ws.docs], config });
    expect(report.embedder).toBe("transformers:test-org/tiny-embedder");
  });
});

describe("the openai embedder", () => {
  it("embeds through an OpenAI-compatible /v1/embeddings endpoint and queries with the same model", async () => {
    const { startOpenAiServer, fakeEmbedding } = await import("./helpers/openai-server.js");
    const server = await startOpenAiServer({ kind: "stream", tokens: [] });
    try {
      const ws = await workspace();
      const config = { ...ws.config, RAG_EMBEDDINGS: "openai" as const, OPENAI_API_KEY: "sk-test", OPENAI_BASE_URL: server.baseURL };
      const report = await ingest({ paths: [ws.docs], config });
      expect(report).toMatchObject({ embedder: "openai:text-embedding-3-small", dimensions: 16 });
      const calls = server.requests.filter((r) => r.url.endsWith("/embeddings"));
      expect(calls.length).toBeGreaterThan(0);
      expect(calls[0]!.body.model).toBe("text-embedding-3-small");
      expect(calls[0]!.headers.authorization).toBe("Bearer sk-test");
      const index = await openIndex({ ...config, RAG_EMBEDDINGS: "auto" });
      const vector = await index.embeddings.embedQuery("ferry");
      expect(vector.map((x) => Number(x.toFixed(5)))).toEqual(fakeEmbedding("ferry").map((x) => Number(x.toFixed(5))));
    } finally {
      await server.close();
    }
  });
});
