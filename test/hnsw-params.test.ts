import { describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { openIndex } from "../src/store/open-index.js";
import { workspace } from "./helpers/index.js";

describe("HNSW parameters", () => {
  it("builds a new index with RAG_HNSW_M / EF_CONSTRUCTION / EF_SEARCH and records them in the manifest", async () => {
    const ws = await workspace();
    const config = { ...ws.config, RAG_HNSW_M: 8, RAG_HNSW_EF_CONSTRUCTION: 64, RAG_HNSW_EF_SEARCH: 300 };
    await ingest({ paths: [ws.docs], config });
    const index = await openIndex(config);
    expect(index.manifest.hnsw).toEqual({ M: 8, efConstruction: 64, efSearch: 300 });
    expect(index.vectorStore.hnsw.efSearch).toBe(300);
  });

  it("lets a query raise efSearch without rebuilding", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const index = await openIndex({ ...ws.config, RAG_HNSW_EF_SEARCH: 777 });
    expect(index.manifest.hnsw.efSearch).toBe(200);
    expect(index.vectorStore.hnsw.efSearch).toBe(777);
    expect((await index.vectorStore.similaritySearch("ferry harbour", 3)).length).toBe(3);
  });
});
