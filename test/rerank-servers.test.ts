// The remote re-rankers beside Cohere's protocol — Hugging Face Text Embeddings Inference, Jina,
// Voyage — each against a local 127.0.0.1 server speaking its wire format: what goes over the
// wire, what comes back, and every failure as a ProviderError; and the plain rerank() function
// every re-ranker has.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Document } from "@langchain/core/documents";
import { loadConfig } from "../src/config/index.js";
import { ProviderError, UsageError } from "../src/errors/index.js";
import { Bm25Reranker } from "../src/rerankers/bm25-reranker.js";
import { createReranker, resolveReranker } from "../src/rerankers/registry.js";
import { CohereReranker } from "../src/rerankers/cohere-reranker.js";
import { createCohereClient } from "../src/providers/cohere-client.js";
import type { HttpReranker } from "../src/rerankers/http-reranker.js";
import { JinaReranker } from "../src/rerankers/jina-reranker.js";
import { TeiReranker } from "../src/rerankers/tei-reranker.js";
import { VoyageReranker } from "../src/rerankers/voyage-reranker.js";
import { startCohereServer } from "./helpers/cohere-server.js";
import { startRerankServer, type RerankWireName } from "./helpers/rerank-server.js";

const QUERY = "configure OAuth2 client credentials";
const DOCS = [
  "Rate limits: 100 requests per second.",
  "Configure OAuth2 client credentials in the dashboard.",
  "OAuth2 tokens expire after one hour.",
  "Webhooks are signed with HMAC.",
].map((text, i) => new Document({ pageContent: text, metadata: { chunkId: `d${i}` } }));

const KEY = "sk-rerank-do-not-print";
const CLASSES = { tei: TeiReranker, jina: JinaReranker, voyage: VoyageReranker };
const SETTINGS = {
  tei: { RAG_RERANKER: "tei", TEI_BASE_URL: "", TEI_API_KEY: KEY },
  jina: { RAG_RERANKER: "jina", JINA_BASE_URL: "", JINA_API_KEY: KEY },
  voyage: { RAG_RERANKER: "voyage", VOYAGE_BASE_URL: "", VOYAGE_API_KEY: KEY },
} as const;

describe.each(["tei", "jina", "voyage"] as const)("the %s re-ranker against a local server", (wire: RerankWireName) => {
  let server: Awaited<ReturnType<typeof startRerankServer>>;
  beforeAll(async () => {
    server = await startRerankServer(wire);
  });
  afterAll(async () => {
    await server?.close();
  });

  const config = (extra: Record<string, string> = {}) =>
    loadConfig({ ...SETTINGS[wire], [`${wire.toUpperCase()}_BASE_URL`]: server.baseUrl, RAG_MAX_RETRIES: "1", RAG_TIMEOUT_MS: "2000", ...extra }, {});
  const reranker = async (extra: Record<string, string> = {}) => (await createReranker(wire, { config: config(extra) })) as HttpReranker;

  it("posts the wire format's request and returns scored copies, best first, inputs untouched", async () => {
    server.requests.length = 0;
    const inputs = DOCS.map((d) => new Document<Record<string, unknown>>({ pageContent: d.pageContent, metadata: { ...d.metadata } }));
    const ranked = await (await reranker()).compressDocuments(inputs, QUERY);
    // d0 and d3 tie at 0: TEI lists ties last index first (it sorts ascending, then reverses); the client keeps the server's order.
    expect(ranked.map((d) => d.metadata.chunkId)).toEqual(wire === "tei" ? ["d1", "d2", "d3", "d0"] : ["d1", "d2", "d0", "d3"]);
    expect(ranked[0]!.metadata.rerankScore).toBe(1);
    expect(inputs.every((d) => d.metadata.rerankScore === undefined)).toBe(true);
    const [request] = server.requests;
    expect(request!.path).toBe(wire === "tei" ? "/rerank" : "/v1/rerank");
    expect(request!.headers.authorization).toBe(`Bearer ${KEY}`);
    const texts = DOCS.map((d) => d.pageContent);
    if (wire === "tei") {
      expect(request!.body).toEqual({ query: QUERY, texts, truncate: true, truncation_direction: "Right", raw_scores: false, return_text: false });
    }
    if (wire === "jina")
      expect(request!.body).toEqual({ model: "jina-reranker-v2-base-multilingual", query: QUERY, documents: texts, return_documents: false });
    if (wire === "voyage") expect(request!.body).toEqual({ model: "rerank-2.5", query: QUERY, documents: texts, return_documents: false, truncation: true });
  });

  it("sends topN where the API takes it, and keeps topN either way; rerank() gives { index, score, document }", async () => {
    server.requests.length = 0;
    const top = await (
      await reranker({ RAG_RERANKER_MODEL: "my-model" })
    ).rerank(QUERY, ["webhooks HMAC", "OAuth2 client credentials", "nothing"], { topN: 2 });
    expect(top).toEqual([
      { index: 1, score: 0.75, document: "OAuth2 client credentials" },
      wire === "tei" ? { index: 2, score: 0, document: "nothing" } : { index: 0, score: 0, document: "webhooks HMAC" },
    ]);
    const withTopN = new CLASSES[wire]({ baseUrl: server.baseUrl, topN: 2 });
    expect(await withTopN.compressDocuments(DOCS, QUERY)).toHaveLength(2);
    const sent = server.requests.at(-1)!.body;
    if (wire === "jina") expect(sent.top_n).toBe(2);
    if (wire === "voyage") expect(sent.top_k).toBe(2);
    if (wire !== "tei") expect(server.requests[0]!.body.model).toBe("my-model");
  });

  it("maps a rejected key to an auth ProviderError with the server's message, the key never shown", async () => {
    server.script({ status: 401 });
    const error = (await (await reranker()).compressDocuments(DOCS, QUERY).catch((e: unknown) => e)) as ProviderError;
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ provider: wire, reason: "auth", statusCode: 401, exitCode: 2, setting: `${wire.toUpperCase()}_API_KEY` });
    expect(error.message).toBe(`${wire}: the server rejected the API key (HTTP 401): HTTP 401`);
    expect(JSON.stringify({ message: error.message, hint: error.hint })).not.toContain(KEY);
  });

  it("retries a 503 (Retry-After honoured) and then succeeds; a 503 every time fails after the retries", async () => {
    server.requests.length = 0;
    server.script({ status: 503, headers: { "retry-after": "0" } });
    expect(await (await reranker()).compressDocuments(DOCS, QUERY)).toHaveLength(4);
    expect(server.requests).toHaveLength(2);
    server.script(
      { status: 503, body: wire === "tei" ? { error: "Model is overloaded", error_type: "Overloaded" } : { detail: "overloaded" } },
      { status: 503 },
    );
    const error = (await (await reranker()).compressDocuments(DOCS, QUERY).catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ reason: "server", statusCode: 503, retryable: true });
    expect(error.detail).toMatch(/^rerank request failed with HTTP 503 after 2 attempts: HTTP 503$/);
  });

  it("reports the API's own error body on a refused request", async () => {
    server.script({
      status: 422,
      body: wire === "tei" ? { error: "batch size 4 > maximum allowed batch size 2", error_type: "Validation" } : { detail: [{ msg: "field required" }] },
    });
    const error = (await (await reranker()).compressDocuments(DOCS, QUERY).catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ reason: "bad-request", statusCode: 422 });
    expect(error.detail).toBe(
      `the server refused the rerank request (HTTP 422): ${wire === "tei" ? "batch size 4 > maximum allowed batch size 2" : "field required"}`,
    );
  });

  it("rejects a response whose indices or scores make no ranking", async () => {
    server.script({ results: [{ index: 7, score: 0.5 }] }, { results: [{ index: 0, score: "high" }] }, { raw: "<html>" });
    const fail = async () => (await (await reranker()).compressDocuments(DOCS, QUERY).catch((e: unknown) => e)) as ProviderError;
    expect((await fail()).detail).toMatch(/invalid rerank response \(results\[0\]\.index 7 is not a candidate index 0\.\.3\)/);
    expect((await fail()).detail).toMatch(new RegExp(`results\\[0\\]\\.${wire === "tei" ? "score" : "relevance_score"} "high" is not a finite number`));
    expect((await fail()).reason).toBe("invalid-response");
  });

  it("times out a server that never answers, and keeps the first-stage order on failure with RAG_RERANK_ON_ERROR=fallback", async () => {
    server.script({ hang: true });
    const error = (await (await reranker({ RAG_TIMEOUT_MS: "300" })).compressDocuments(DOCS, QUERY).catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ reason: "timeout" });
    server.script({ status: 401 });
    const kept = await (await reranker({ RAG_RERANK_ON_ERROR: "fallback" })).compressDocuments(DOCS, QUERY);
    expect(kept.map((d) => d.metadata.chunkId)).toEqual(["d0", "d1", "d2", "d3"]);
    expect(kept[0]!.metadata.rerankWarning).toMatch(new RegExp(`^${wire} re-rank failed \\(the server rejected the API key`));
  });

  it("says which server could not be reached", async () => {
    const closed = await startRerankServer(wire);
    await closed.close();
    const error = (await (
      await reranker({ [`${wire.toUpperCase()}_BASE_URL`]: closed.baseUrl })
    )
      .compressDocuments(DOCS, QUERY)
      .catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ reason: "connection", setting: `${wire.toUpperCase()}_BASE_URL` });
    expect(error.detail).toContain("ECONNREFUSED");
  });
});

describe("TEI's request limits and checks", () => {
  const candidates = (n: number) =>
    Array.from({ length: n }, (_, i) => new Document({ pageContent: `chunk ${i}: ${i % 7 === 0 ? "OAuth2 client credentials" : "other words"}` }));
  const expected = (docs: Document[]) =>
    docs
      .map((d, i) => ({ i, score: d.pageContent.includes("OAuth2") ? 0.75 : 0 }))
      .sort((l, r) => r.score - l.score || l.i - r.i)
      .map((x) => x.i);

  it("sends at most 32 texts per request (TEI's default --max-client-batch-size) and merges the batches' rankings", async () => {
    const server = await startRerankServer("tei");
    try {
      const docs = candidates(50);
      const ranked = await new TeiReranker({ baseUrl: server.baseUrl }).rerank(QUERY, docs);
      expect(server.requests.map((r) => (r.body.texts as string[]).length).sort((a, b) => b - a)).toEqual([32, 18]);
      expect(ranked).toHaveLength(50);
      expect(new Set(ranked.map((r) => r.index)).size).toBe(50);
      for (const r of ranked) expect(r.document).toBe(docs[r.index]);
      // Every OAuth2 chunk (score 0.75) before every other one (0), across both batches.
      expect(
        ranked
          .slice(0, 8)
          .map((r) => r.index)
          .sort((a, b) => a - b),
      ).toEqual(
        expected(docs)
          .slice(0, 8)
          .sort((a, b) => a - b),
      );
      expect(ranked.slice(0, 8).every((r) => r.score === 0.75) && ranked.slice(8).every((r) => r.score === 0)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("takes batchSize for a server started with another limit; over the limit, TEI's own 422 is reported", async () => {
    const server = await startRerankServer("tei", { maxClientBatchSize: 4 });
    try {
      const docs = candidates(10);
      const ranked = await new TeiReranker({ baseUrl: server.baseUrl, batchSize: 4 }).rerank(QUERY, docs, { topN: 2 });
      expect(server.requests.map((r) => (r.body.texts as string[]).length).sort()).toEqual([2, 4, 4]);
      expect(ranked.map((r) => r.index).sort((a, b) => a - b)).toEqual([0, 7]);
      const error = (await new TeiReranker({ baseUrl: server.baseUrl, batchSize: 5 }).rerank(QUERY, docs).catch((e: unknown) => e)) as ProviderError;
      expect(error).toMatchObject({ reason: "bad-request", statusCode: 422 });
      expect(error.detail).toBe("the server refused the rerank request (HTTP 422): batch size 5 > maximum allowed batch size 4");
    } finally {
      await server.close();
    }
  });

  it("the local server refuses what TEI's router refuses and returns texts only when asked", async () => {
    const server = await startRerankServer("tei");
    try {
      const post = (body: string, type = "application/json") =>
        fetch(`${server.baseUrl}/rerank`, { method: "POST", headers: { "content-type": type }, body }).then(async (r) => ({
          status: r.status,
          text: await r.text(),
        }));
      expect(await post("{", "application/json")).toMatchObject({ status: 400, text: expect.stringMatching(/^Failed to parse the request body as JSON/) });
      expect(await post(JSON.stringify({ query: "q" }))).toEqual({
        status: 422,
        text: "Failed to deserialize the JSON body into the target type: missing field `texts`",
      });
      expect((await post(JSON.stringify({ query: "q", texts: ["a"] }), "text/plain")).status).toBe(415);
      expect(await post(JSON.stringify({ query: "q", texts: [] }))).toEqual({
        status: 400,
        text: JSON.stringify({ error: "`texts` cannot be empty", error_type: "Empty" }),
      });
      const withText = JSON.parse((await post(JSON.stringify({ query: "oauth2", texts: ["x", "OAuth2"], return_text: true }))).text);
      expect(withText).toEqual([
        { index: 1, text: "OAuth2", score: 1 },
        { index: 0, text: "x", score: 0 },
      ]);
    } finally {
      await server.close();
    }
  });
});

describe("selecting a remote re-ranker", () => {
  it("is never taken by auto, even with every key set", () => {
    const config = loadConfig({ TEI_BASE_URL: "http://127.0.0.1:9", JINA_API_KEY: KEY, VOYAGE_API_KEY: KEY, RAG_MODELS_DIR: "/nonexistent" }, {});
    expect(resolveReranker(config, "auto").name).toBe("bm25");
  });

  it("needs its address or key, saying which", async () => {
    await expect(createReranker("tei", { config: loadConfig({ RAG_RERANKER: "tei" }, {}) })).rejects.toThrow(
      expect.objectContaining({ constructor: UsageError, message: "TEI_BASE_URL is not set, but the tei re-ranker needs the server's address." }),
    );
    await expect(createReranker("voyage", { config: loadConfig({}, {}) })).rejects.toThrow("VOYAGE_API_KEY is not set, but the re-ranker provider needs it.");
    expect(() => loadConfig({ RAG_RERANKER: "bogus" }, {})).toThrow(/allowed values are .*"tei", "jina", "voyage"/);
  });
});

describe("rerank(): the plain function every re-ranker has", () => {
  it("BM25: strings or documents in, { index, score, document } best first, inputs returned as given", async () => {
    const bm25 = new Bm25Reranker({ firstStageWeight: 0 });
    const ranked = await bm25.rerank(QUERY, DOCS, { topN: 2 });
    expect(ranked.map((r) => r.index)).toEqual([1, 2]);
    expect(ranked[0]!.document).toBe(DOCS[1]);
    expect(ranked[0]!.score).toBeGreaterThan(ranked[1]!.score);
    expect(DOCS[1]!.metadata).toEqual({ chunkId: "d1" });
    const fromStrings = await bm25.rerank(
      QUERY,
      DOCS.map((d) => d.pageContent),
    );
    expect(fromStrings).toHaveLength(4);
    expect(fromStrings.slice(0, 2)).toEqual(ranked.map((r) => ({ ...r, document: r.document.pageContent })));
  });

  it("refuses a bad call with a UsageError naming the argument, as the retriever does", async () => {
    const bm25 = new Bm25Reranker();
    const refusal = (call: () => Promise<unknown>) => call().catch((e: unknown) => e);
    for (const [call, message] of [
      [() => bm25.rerank(QUERY, "rotate keys" as never), /documents must be an array of strings or Documents; got the string "rotate keys"/],
      [() => bm25.rerank(QUERY, ["fine", 42] as never), /documents\[1\] must be a string or a Document; got 42/],
      [() => bm25.rerank("  ", DOCS), /The query is empty/],
      [() => bm25.rerank(42 as never, DOCS), /The query must be a string; got 42/],
      [() => bm25.rerank(QUERY, DOCS, { topN: 0 }), /topN must be a whole number of at least 1, got 0/],
    ] as const) {
      const error = await refusal(call);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(message);
    }
    expect(await bm25.rerank(QUERY, [])).toEqual([]);
  });

  it("Cohere: the same shape over its wire", async () => {
    const server = await startCohereServer();
    try {
      const client = createCohereClient(loadConfig({ COHERE_API_KEY: KEY, COHERE_BASE_URL: server.baseUrl }, {}), "reranker");
      const ranked = await new CohereReranker({ client }).rerank(QUERY, ["webhooks", "OAuth2 client credentials"], { topN: 1 });
      expect(ranked).toEqual([{ index: 1, score: 0.75, document: "OAuth2 client credentials" }]);
    } finally {
      await server.close();
    }
  });
});
