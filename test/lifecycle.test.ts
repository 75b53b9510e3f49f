// Closing a pipeline gives back what it holds: re-ranking worker threads and model sessions,
// without breaking another pipeline that shares the same model.
import fs from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { workspace } from "./helpers/index.js";
import { makeModelsDir } from "./helpers/test-models.js";

const RERANKER = "test-org/tiny-cross-encoder";
const EMBEDDER = "test-org/tiny-embedder";
const modelsDir = makeModelsDir({ [RERANKER]: { preset: "tiny" }, [EMBEDDER]: { preset: "tiny", omitLogits: true } });
afterAll(() => fs.rmSync(modelsDir, { recursive: true, force: true }));

/** OS threads of this process: each worker thread is one, and so is each onnxruntime pool thread. */
const osThreads = () => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync("/proc/self/status", "utf8"))![1]);

const QUESTION = "When does the island ferry leave the harbour?";

describe("Pipeline.close()", () => {
  it("stops the re-ranking workers and frees the models, keeps a pipeline sharing them working, and a new pipeline works again", async () => {
    const ws = await workspace();
    const config = {
      ...ws.config,
      RAG_EMBEDDINGS: "transformers" as const,
      RAG_EMBEDDINGS_MODEL: EMBEDDER,
      RAG_MODELS_DIR: modelsDir,
      RAG_RERANKER: "cross-encoder" as const,
      RAG_RERANKER_MODEL: RERANKER,
      RAG_RERANKER_WORKERS: 2,
    };
    await ingest({ paths: [ws.docs], config });
    const reranked = async (pipeline: Awaited<ReturnType<typeof createPipeline>>) => {
      const docs = await pipeline.retriever.invoke(QUESTION);
      expect(docs.length).toBeGreaterThan(0);
      expect(docs.every((d) => typeof d.metadata.rerankScore === "number")).toBe(true);
    };
    const baseline = osThreads();
    for (let round = 0; round < 2; round++) {
      const first = await createPipeline(config);
      const second = await createPipeline(config);
      await reranked(first);
      await reranked(second);
      expect(osThreads(), "two worker threads, shared by both pipelines").toBeGreaterThanOrEqual(baseline + 2);
      await first.close();
      await reranked(second);
      await second.close();
      expect({ round, threads: osThreads() }).toEqual({ round, threads: baseline });
    }
  });
});
