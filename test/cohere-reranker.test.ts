import { inspect } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Document } from "@langchain/core/documents";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { CohereClient } from "cohere-ai";
import { createRerankingRetriever } from "../chains/index.js";
import { loadConfig } from "../src/config/index.js";
import { LsaEmbeddings } from "../src/embeddings/lsa/lsa-embeddings.js";
import { ProviderError, RagError, UsageError } from "../src/errors/index.js";
import { CohereReranker, createCohereReranker } from "../src/rerankers/cohere-reranker.js";
import { startCohereServer, wordOverlapScore } from "./helpers/cohere-server.js";
import { smallDocuments } from "./helpers/small-store.js";

const KEY = "sk-SENTINEL-123";
const QUERY = "How do I configure OAuth2 client credentials?";

let server: Awaited<ReturnType<typeof startCohereServer>>;
beforeEach(async () => {
  server = await startCohereServer();
});
afterEach(() => server.close());

function reranker(settings: { timeoutMs?: number; maxRetries?: number; baseUrl?: string } = {}, options = {}) {
  const config = loadConfig(
    {
      COHERE_API_KEY: KEY,
      COHERE_BASE_URL: settings.baseUrl ?? server.baseUrl,
      RAG_TIMEOUT_MS: settings.timeoutMs ?? 2000,
      RAG_MAX_RETRIES: settings.maxRetries ?? 0,
    },
    {},
  );
  return createCohereReranker(config, options);
}

/** Candidates in first-stage order, each with metadata worth protecting. */
function candidates() {
  return smallDocuments()
    .slice(0, 5)
    .map((doc, i) => new Document({ ...doc, id: `doc-${i}`, metadata: { ...doc.metadata, retrievalRank: i + 1, tags: ["t"] } }));
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("CohereReranker", () => {
  it("ranks by the server's scores and writes rerankScore on copies that keep their ids", async () => {
    const docs = candidates();
    const ranked = await reranker().compressDocuments(docs, QUERY);
    const expected = docs.map((doc) => ({ id: doc.id, score: wordOverlapScore(QUERY, doc.pageContent) })).sort((l, r) => r.score - l.score);
    expect(ranked.map((d) => d.id)).toEqual(expected.map((e) => e.id));
    expect(ranked.map((d) => d.metadata.rerankScore)).toEqual(expected.map((e) => e.score));
    expect(ranked[0]!.metadata.chunkId).toBe("oauth-config");
    expect(ranked[0]!.metadata.tags).toEqual(["t"]);
    for (const doc of ranked) expect(docs).not.toContain(doc);
  });

  it("sends model, query, documents, top_n and the bearer key to POST /v1/rerank", async () => {
    const docs = candidates();
    await reranker({}, { model: "rerank-test-1" }).compressDocuments(docs, QUERY);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request).toMatchObject({ method: "POST", path: "/v1/rerank" });
    expect(request!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request!.body).toMatchObject({ model: "rerank-test-1", query: QUERY, documents: docs.map((d) => d.pageContent), top_n: 5 });
  });

  it("asks for topN when set and returns that many; the model defaults to rerank-v3.5", async () => {
    const ranked = await reranker({}, { topN: 2 }).compressDocuments(candidates(), QUERY);
    expect(ranked).toHaveLength(2);
    expect(server.requests[0]!.body).toMatchObject({ model: "rerank-v3.5", top_n: 2 });
  });

  it("never mutates its inputs", async () => {
    const docs = candidates();
    const before = docs.map((d) => ({ id: d.id, pageContent: d.pageContent, metadata: structuredClone(d.metadata) }));
    await reranker().compressDocuments(docs, QUERY);
    expect(docs.map((d) => ({ id: d.id, pageContent: d.pageContent, metadata: d.metadata }))).toEqual(before);
  });

  it("returns [] for no documents without sending a request", async () => {
    expect(await reranker().compressDocuments([], QUERY)).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it("retries a 429 after its Retry-After and then succeeds", async () => {
    server.script({ status: 429, headers: { "retry-after": "1" }, body: { message: "too many requests" } });
    const started = Date.now();
    const ranked = await reranker({ maxRetries: 2 }).compressDocuments(candidates(), QUERY);
    expect(ranked[0]!.metadata.chunkId).toBe("oauth-config");
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("gives up on a server that keeps failing after maxRetries + 1 attempts", async () => {
    server.always({ status: 500, body: { message: "internal error" } });
    const error = await failure(reranker({ maxRetries: 1 }).compressDocuments(candidates(), QUERY));
    expect(server.requests).toHaveLength(2);
    expect(error.message).toMatch(/^cohere: .*HTTP 500 after 2 attempt.*internal error/);
    expect(error.exitCode).toBe(1);
  });

  it("times out a hanging server after RAG_TIMEOUT_MS", async () => {
    server.always({ hang: true });
    const started = Date.now();
    const error = await failure(reranker({ timeoutMs: 200, maxRetries: 1 }).compressDocuments(candidates(), QUERY));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toContain("timed out after 200 ms");
    expect(server.requests).toHaveLength(1); // the client does not retry timeouts
  });

  it("reports a rejected key with exit code 2 and never shows the key", async () => {
    server.script({ status: 401, body: { message: `invalid api token ${KEY}` } });
    const error = await failure(reranker().compressDocuments(candidates(), QUERY));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("HTTP 401");
    expect(error.message).toContain("invalid api token");
    expect(error.hint).toContain("COHERE_API_KEY");
    expect(`${error.message} ${error.hint} ${inspect(error.cause)}`).not.toContain(KEY);
  });

  it("reports a bad request (unknown model) with the server's message and exit code 2", async () => {
    server.script({ status: 400, body: { message: "model 'nope' not found" } });
    const error = await failure(reranker({}, { model: "nope" }).compressDocuments(candidates(), QUERY));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("model 'nope' not found");
  });

  it("rejects a body that is not JSON", async () => {
    server.script({ raw: "{not json" });
    const error = await failure(reranker().compressDocuments(candidates(), QUERY));
    expect(error.message).toContain("invalid rerank response");
  });

  it("rejects a result whose index is not one of the candidates", async () => {
    server.script({ results: [{ index: 99, relevance_score: 0.5 }] });
    const error = await failure(reranker().compressDocuments(candidates(), QUERY));
    expect(error.message).toMatch(/invalid rerank response.*99/);
  });

  it("names the base URL when nothing listens there", async () => {
    const { baseUrl } = server;
    await server.close();
    const error = await failure(reranker({ baseUrl }).compressDocuments(candidates(), QUERY));
    expect(error.message).toContain(baseUrl);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("keeps the first-stage order with a warning in fallback mode", async () => {
    server.always({ status: 401, body: { message: "invalid api token" } });
    const docs = candidates();
    const kept = await reranker({}, { onError: "fallback" }).compressDocuments(docs, QUERY);
    expect(kept.map((d) => d.id)).toEqual(docs.map((d) => d.id));
    for (const doc of kept) {
      expect(doc.metadata.rerankScore).toBeUndefined();
      expect(doc.metadata.rerankWarning).toMatch(/^cohere re-rank failed \(.*HTTP 401.*\); first-stage order kept$/);
      expect(doc.metadata.rerankWarning).not.toContain(KEY);
    }
    expect(docs.every((d) => (d.metadata as Record<string, unknown>).rerankWarning === undefined)).toBe(true);
  });

  it("needs COHERE_API_KEY", () => {
    const config = loadConfig({ COHERE_BASE_URL: server.baseUrl }, {});
    expect(() => createCohereReranker(config)).toThrow(UsageError);
    expect(() => createCohereReranker(config)).toThrow(/COHERE_API_KEY/);
  });
});

describe("CohereReranker in createRerankingRetriever", () => {
  it("sends no request when a call turns re-ranking off, and exactly one otherwise", async () => {
    const documents = smallDocuments();
    const embeddings = LsaEmbeddings.fit(documents.map((d) => d.pageContent));
    const vectorStore = await MemoryVectorStore.fromDocuments(documents, embeddings);
    const client = new CohereClient({ token: KEY, environment: server.baseUrl, maxRetries: 0, timeoutInSeconds: 2 });
    const retriever = createRerankingRetriever({ vectorStore, reranker: new CohereReranker({ client }), topN: 3 });

    const plain = await retriever.invoke(QUERY, { configurable: { rerank: false } });
    expect(server.requests).toHaveLength(0);
    expect(plain.every((d) => d.metadata.rerankScore === undefined)).toBe(true);

    const reranked = await retriever.invoke(QUERY);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.body.documents).toHaveLength(documents.length);
    expect(reranked[0]!.metadata.chunkId).toBe("oauth-config");
    expect(reranked.map((d) => d.metadata.rerankRank)).toEqual([1, 2, 3]);
    expect(typeof reranked[0]!.metadata.rerankScore).toBe("number");
  });

  it("is a RagError subclass when it fails inside the retriever", async () => {
    server.always({ status: 503 });
    const client = new CohereClient({ token: KEY, environment: server.baseUrl, maxRetries: 0 });
    const documents = smallDocuments();
    const vectorStore = await MemoryVectorStore.fromDocuments(documents, LsaEmbeddings.fit(documents.map((d) => d.pageContent)));
    const retriever = createRerankingRetriever({ vectorStore, reranker: new CohereReranker({ client }), topN: 3 });
    const error = await retriever.invoke(QUERY).catch((e: unknown) => e);
    expect(RagError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("HTTP 503");
  });
});
