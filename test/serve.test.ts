import fs from "node:fs/promises";
import net, { type AddressInfo } from "node:net";
import path from "node:path";
import { CohereClient, CohereClientV2 } from "cohere-ai";
import OpenAI from "openai";
import { Document } from "@langchain/core/documents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConfigOverrides } from "../src/config/index.js";
import { loadConfig } from "../src/config/index.js";
import { ingest } from "../src/ingest/ingest.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { CohereReranker } from "../src/rerankers/cohere-reranker.js";
import { createServer, type RagServer } from "../src/server/create-server.js";
import { LivePipeline } from "../src/server/live-pipeline.js";
import { cleanEnv, REPO_ROOT, runCli, startCli } from "./helpers/cli.js";
import { tempDir } from "./helpers/fs.js";
import { startOpenAiServer } from "./helpers/openai-server.js";
import { startRerankServer } from "./helpers/rerank-server.js";

const SEED = "How do I configure OAuth2 in the API?";
const OAUTH_PAGE = "authentication/oauth2-client-credentials.md";
let work: string;
let index: string;

const configFor = (overrides: ConfigOverrides = {}) =>
  loadConfig({ RAG_INDEX_DIR: index, RAG_RERANKER: "bm25", RAG_LLM: "extractive", RAG_MODELS_DIR: path.join(work, "no-models"), ...overrides }, {});

/** A server on a free loopback port over the sample index; closed by the caller. */
async function start(overrides: ConfigOverrides = {}, options: Parameters<typeof createServer>[1] = {}) {
  const config = configFor(overrides);
  const server = createServer(await createPipeline(config), { config, log: () => {}, ...options });
  const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
  return { server, url };
}

interface SseEvent {
  event: string;
  data: string;
}

/** The events of an SSE response, in order. */
async function readSse(response: Response): Promise<SseEvent[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .filter((block) => block.trim())
    .map((block) => {
      const lines = block.split("\n");
      return {
        event:
          lines
            .find((l) => l.startsWith("event:"))
            ?.slice(6)
            .trim() ?? "message",
        data: lines
          .filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trim())
          .join("\n"),
      };
    });
}

/** The pids of a process's children (Linux /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // The fields after the command's closing parenthesis: state, then the parent's pid.
    if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) children.push(Number(entry));
  }
  return children;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) });

/**
 * POSTs `body`, waits until the upstream test server (an LLM or a re-ranker) holds `total` requests,
 * leaves, and expects the server to have cancelled all `total` upstream (counts include earlier requests).
 */
async function leaveWhileUpstreamHolds(url: string, body: unknown, upstream: { requests: unknown[]; cancelled(): number }, total: number) {
  const leaving = new AbortController();
  const response = fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: leaving.signal });
  await expect.poll(() => upstream.requests.length, { timeout: 5000 }).toBe(total);
  expect(upstream.cancelled()).toBeLessThan(total);
  leaving.abort();
  await expect(response).rejects.toThrow();
  await expect.poll(() => upstream.cancelled(), { timeout: 5000 }).toBe(total);
}

beforeAll(async () => {
  work = await tempDir();
  index = path.join(work, "index");
  await ingest({ paths: [path.join(REPO_ROOT, "data", "docs")], config: configFor() });
}, 120_000);
afterAll(() => fs.rm(work, { recursive: true, force: true }));

describe("createServer: /api", () => {
  let server: RagServer;
  let url: string;
  beforeAll(async () => ({ server, url } = await start()));
  afterAll(() => server.close());

  it("streams sources first (both ranks and scores, and the first stage before re-ranking), then tokens, then done with timings", async () => {
    const response = await post(`${url}/api/ask`, { question: SEED });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = await readSse(response);
    expect(events[0]!.event).toBe("sources");
    const sources = JSON.parse(events[0]!.data);
    expect(sources.sources[0]).toMatchObject({ n: 1, path: OAUTH_PAGE, heading: "Configuring OAuth2 client credentials", rerankRank: 1 });
    for (const key of ["retrievalRank", "retrievalScore", "rerankScore"]) expect(typeof sources.sources[0][key]).toBe("number");
    expect(sources.before).toHaveLength(50);
    expect(sources.before.map((c: { retrievalRank: number }) => c.retrievalRank)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const tokens = events.filter((e) => e.event === "token");
    expect(tokens.length).toBeGreaterThan(1);
    const done = events.at(-1)!;
    expect(done.event).toBe("done");
    const { answer, timings, noAnswer } = JSON.parse(done.data);
    expect(answer).toBe(tokens.map((t) => JSON.parse(t.data).text).join(""));
    expect(answer).toMatch(/\[1\]/);
    expect(noAnswer).toBe(false);
    for (const key of ["firstStageMs", "rerankMs", "retrievalMs", "firstTokenMs", "totalMs"]) expect(timings[key]).toBeGreaterThanOrEqual(0);
  });

  it("honours rerank off, fetchK and topN per request; /api/search shows before and after without an answer", async () => {
    const on = await (await post(`${url}/api/search`, { question: SEED, topN: 5 })).json();
    const off = await (await post(`${url}/api/search`, { question: SEED, rerank: false, fetchK: 20, topN: 3 })).json();
    expect(on.rerank).toBe(true);
    expect(on.after.map((s: { retrievalRank: number }) => s.retrievalRank)).not.toEqual([1, 2, 3, 4, 5]);
    expect(off).toMatchObject({ rerank: false, reranker: "none" });
    expect(off.after.map((s: { retrievalRank: number }) => s.retrievalRank)).toEqual([1, 2, 3]);
    expect(off.before).toHaveLength(20);
    expect(off.after[0].rerankScore).toBeUndefined();
  });

  it('takes rerank as the library and the CLI do: true, false, "on", "off" or "auto", on /api/search and /api/ask', async () => {
    for (const [rerank, reranker] of [
      ["on", "bm25"],
      ["auto", "bm25"],
      ["off", "none"],
      [true, "bm25"],
      [false, "none"],
    ] as const) {
      const response = await post(`${url}/api/search`, { question: SEED, rerank });
      expect(response.status, JSON.stringify(rerank)).toBe(200);
      expect((await response.json()).reranker).toBe(reranker);
    }
    const asked = await readSse(await post(`${url}/api/ask`, { question: SEED, rerank: "auto" }));
    expect(asked.map((e) => e.event).at(-1)).toBe("done");
    const bad = await post(`${url}/api/search`, { question: SEED, rerank: "yes" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toMatch(/rerank must be true, false, "on", "off" or "auto", got "yes"\.$/);
  });

  it("reports the pipeline as each request ran it, the line `ask` prints for the same settings", async () => {
    const settings = { rerank: false, fetchK: 20, topN: 2 };
    const searched = await (await post(`${url}/api/search`, { question: SEED, ...settings })).json();
    const asked = await readSse(await post(`${url}/api/ask`, { question: SEED, ...settings }));
    const cli = await runCli([
      "ask",
      SEED,
      "--json",
      "--index",
      index,
      "--reranker",
      "bm25",
      "--llm",
      "extractive",
      "--no-rerank",
      "--fetch-k",
      "20",
      "--top-n",
      "2",
    ]);
    const { pipeline } = JSON.parse(cli.stdout) as { pipeline: string };
    expect(pipeline).toMatch(/ top 20 \(local\) → rerank=none \(local\) → top 2 → llm=extractive/);
    expect(searched.pipeline).toBe(pipeline);
    expect(JSON.parse(asked[0]!.data).pipeline).toBe(pipeline);
    const auto = await (await post(`${url}/api/search`, { question: SEED, rerank: "auto", topN: 3 })).json();
    expect(auto.pipeline).toMatch(/→ rerank=bm25 \(local; auto: skipped when the first stage is sure\) → top 3 →/);
    // Without per-request settings, the server's own line.
    const info = await (await fetch(`${url}/api/info`)).json();
    expect((await (await post(`${url}/api/search`, { question: SEED })).json()).pipeline).toBe(info.pipeline);
  });

  it("answers a bad request with 400 naming the field, and an unavailable re-ranker with the ones there are", async () => {
    const empty = await post(`${url}/api/ask`, { question: "  " });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.message).toMatch(/question: the question is empty/);
    const notJson = await post(`${url}/api/search`, "{nope");
    expect(notJson.status).toBe(400);
    const missing = await post(`${url}/api/search`, { question: SEED, reranker: "cross-encoder" });
    expect(missing.status).toBe(400);
    expect((await missing.json()).error.message).toMatch(/"cross-encoder" is not available on this server; available: bm25, none/);
    // The same answer from /api/ask, before any stream starts.
    const asked = await post(`${url}/api/ask`, { question: SEED, reranker: "cross-encoder" });
    expect(asked.status).toBe(400);
    expect(asked.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await asked.json()).error.message).toMatch(/"cross-encoder" is not available on this server/);
  });

  it("reports health, the resolved pipeline, index size and snapshot", async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ ok: true });
    const info = await (await fetch(`${url}/api/info`)).json();
    expect(info.pipeline).toMatch(/→ rerank=bm25 \(local\) → top 5 → llm=extractive \(local\)$/);
    expect(info.index).toMatchObject({ store: "hnsw", chunks: expect.any(Number), files: 44 });
    expect(info.snapshot).toMatch(/^snapshot-/);
    expect(info.rerankers).toEqual(["bm25", "none"]);
  });
});

describe("createServer with a cascade re-ranker", () => {
  // BM25 keeps 3 for a second BM25: fewer than topN (5), so a result list of 3 shows the cascade ran.
  const CASCADE = "bm25:3,bm25";
  let server: RagServer;
  let url: string;
  beforeAll(async () => ({ server, url } = await start({ RAG_RERANKER: " bm25:3, bm25 " })));
  afterAll(() => server.close());

  it("offers the cascade in the picker next to the single re-rankers, and answers /api/ask and /api/search with it", async () => {
    const info = await (await fetch(`${url}/api/info`)).json();
    expect(info).toMatchObject({ reranker: CASCADE, rerankers: [CASCADE, "bm25", "none"] });
    expect(info.pipeline).toMatch(/→ rerank=bm25:3 → bm25 \(local\) → top 5 →/);

    const cascaded = await (await post(`${url}/api/search`, { question: SEED })).json();
    expect(cascaded).toMatchObject({ rerank: true, reranker: CASCADE });
    expect(cascaded.after).toHaveLength(3);
    const picked = await (await post(`${url}/api/search`, { question: SEED, reranker: CASCADE })).json();
    expect(picked.after.map((s: { chunkId: string }) => s.chunkId)).toEqual(cascaded.after.map((s: { chunkId: string }) => s.chunkId));
    const single = await (await post(`${url}/api/search`, { question: SEED, reranker: "bm25" })).json();
    expect(single).toMatchObject({ reranker: "bm25" });
    expect(single.after).toHaveLength(5);

    const events = await readSse(await post(`${url}/api/ask`, { question: SEED }));
    const sources = JSON.parse(events[0]!.data);
    expect(events[0]!.event).toBe("sources");
    expect(sources).toMatchObject({ rerank: true, reranker: CASCADE });
    expect(sources.sources).toHaveLength(3);
    expect(events.at(-1)!.event).toBe("done");

    const other = await post(`${url}/api/search`, { question: SEED, reranker: "bm25:2,bm25" });
    expect(other.status).toBe(400);
    expect((await other.json()).error.message).toMatch(/"bm25:2,bm25" is not available on this server; available: bm25:3,bm25, bm25, none/);
  });

  it("re-ranks /v1/rerank through the cascade's stages when no re-ranker is named", async () => {
    const documents = ["Bananas are yellow fruit.", "OAuth2 access tokens.", "Request an OAuth2 access token.", "Scopes limit a token.", "Rate limits."];
    const rerank = async (extra: Record<string, unknown>) => (await post(`${url}/v1/rerank`, { query: "oauth2 access token", documents, ...extra })).json();
    const cascaded = await rerank({ model: "rerank-v3.5" });
    expect(cascaded.results).toHaveLength(3);
    expect(
      cascaded.results
        .slice(0, 2)
        .map((r: { index: number }) => r.index)
        .sort(),
    ).toEqual([1, 2]);
    expect((await rerank({ model: CASCADE })).results).toEqual(cascaded.results);
    expect((await rerank({ model: "bm25" })).results).toHaveLength(5);
  });
});

describe("createServer: OpenAI- and Cohere-compatible endpoints", () => {
  let server: RagServer;
  let url: string;
  beforeAll(async () => ({ server, url } = await start()));
  afterAll(() => server.close());

  it("answers the openai client as model rerank-rag, streamed and not, with the sources as citations and an extra field", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(["rerank-rag"]);
    const completion = await client.chat.completions.create({ model: "rerank-rag", messages: [{ role: "user", content: SEED }] });
    const content = completion.choices[0]!.message.content!;
    expect(content).toMatch(/\[1\]/);
    expect(content).toContain(`Sources:\n[1] ${OAUTH_PAGE} § Configuring OAuth2 client credentials`);
    expect((completion as unknown as { sources: Array<{ path: string }> }).sources[0]!.path).toBe(OAUTH_PAGE);

    const stream = await client.chat.completions.create({
      model: "rerank-rag",
      stream: true,
      messages: [
        { role: "system", content: "ignored" },
        { role: "user", content: SEED },
        { role: "assistant", content: "Create an OAuth2 client [1]." },
        { role: "user", content: "Which scopes should the client get?" },
      ],
    });
    let streamed = "";
    let chunks = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks++;
      streamed += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(finish).toBe("stop");
    expect(streamed).toMatch(/scope/i);
    expect(streamed).toContain("Sources:\n[1] ");
  });

  it("gives the openai client OpenAI's error body (message, type, param, code) on every failure of /v1/chat/completions", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused", maxRetries: 0 });
    const bad = await client.chat.completions.create({ model: "rerank-rag", messages: [] }).catch((error: unknown) => error);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect(bad).toMatchObject({ status: 400, type: "invalid_request_error", param: "messages", code: null });
    expect((bad as Error).message).toMatch(/messages is empty/);
    const lastNotUser = await client.chat.completions
      .create({ model: "rerank-rag", messages: [{ role: "assistant", content: "Hi" }] })
      .catch((error: unknown) => error);
    expect(lastNotUser).toMatchObject({ status: 400, type: "invalid_request_error", param: "messages" });
    const get = await client.get("/chat/completions").catch((error: unknown) => error);
    expect(get).toMatchObject({ status: 405, type: "invalid_request_error", code: "method_not_allowed" });
    // The /api family keeps its own shape.
    expect(await (await post(`${url}/api/search`, {})).json()).toEqual({
      error: { message: "Invalid request: question: Invalid input: expected string, received undefined." },
    });
  });

  it("gives OpenAI's 401 and 413 bodies on /v1/chat/completions when the token is missing or wrong, or the body is too large", async () => {
    const { server: guarded, url: guardedUrl } = await start({}, { token: "serve-token-4f1c", limits: { maxBodyBytes: 2000 } });
    try {
      // A wrong key, and no Authorization header at all.
      for (const defaultHeaders of [{}, { Authorization: null }]) {
        const client = new OpenAI({ baseURL: `${guardedUrl}/v1`, apiKey: "wrong-token", defaultHeaders, maxRetries: 0 });
        const denied = await client.chat.completions
          .create({ model: "rerank-rag", messages: [{ role: "user", content: SEED }] })
          .catch((error: unknown) => error);
        expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
        expect(denied).toMatchObject({ status: 401, type: "invalid_request_error", code: "invalid_api_key" });
      }
      const client = new OpenAI({ baseURL: `${guardedUrl}/v1`, apiKey: "serve-token-4f1c", maxRetries: 0 });
      const large = await client.chat.completions
        .create({ model: "rerank-rag", messages: [{ role: "user", content: "x".repeat(3000) }] })
        .catch((error: unknown) => error);
      expect(large).toMatchObject({ status: 413, type: "invalid_request_error", code: "request_too_large" });
      expect((large as Error).message).toMatch(/larger than this server takes \(2000 bytes\)/);
    } finally {
      await guarded.close();
    }
  });

  it("reports usage as the LLM counted it, and leaves usage out (never zeros) when the LLM counts none", async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: "unused" });
    const messages = [{ role: "user" as const, content: SEED }];
    // The extractive answerer is no model: it has no tokens to count.
    expect((await client.chat.completions.create({ model: "rerank-rag", messages })).usage).toBeUndefined();

    const llm = await startOpenAiServer({
      kind: "stream",
      tokens: ["Use ", "client ", "credentials [1]."],
      usage: { prompt_tokens: 321, completion_tokens: 7 },
    });
    const counted = await start({ RAG_LLM: "openai", OPENAI_BASE_URL: llm.baseURL, OPENAI_API_KEY: "sk-test" });
    try {
      const countedClient = new OpenAI({ baseURL: `${counted.url}/v1`, apiKey: "unused" });
      const completion = await countedClient.chat.completions.create({ model: "rerank-rag", messages });
      expect(completion.usage).toEqual({ prompt_tokens: 321, completion_tokens: 7, total_tokens: 328 });
      const stream = await countedClient.chat.completions.create({ model: "rerank-rag", messages, stream: true, stream_options: { include_usage: true } });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      // OpenAI's last chunk when asked: no choices, the usage.
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 321, completion_tokens: 7, total_tokens: 328 } });
      expect(chunks.slice(0, -1).every((chunk) => chunk.usage === undefined)).toBe(true);
    } finally {
      await counted.server.close();
      await llm.close();
    }
  });

  it("re-ranks for our own CohereReranker pointed at it, and for cohere-ai's v1 and v2 clients (a round trip)", async () => {
    const docs = ["Bananas are yellow fruit.", "Request an OAuth2 access token with client credentials.", "OAuth2 scopes limit a token."];
    const reranker = new CohereReranker({ client: new CohereClient({ token: "unused", environment: url }), model: "bm25" });
    const ranked = await reranker.compressDocuments(
      docs.map((text) => new Document({ pageContent: text })),
      "oauth2 access token",
    );
    expect(ranked[0]!.pageContent).toBe(docs[1]);
    expect(ranked.at(-1)!.pageContent).toBe(docs[0]);
    expect(ranked[0]!.metadata.rerankScore).toBeGreaterThan(ranked.at(-1)!.metadata.rerankScore as number);

    const v1 = await new CohereClient({ token: "unused", environment: url }).rerank({
      query: "oauth2 access token",
      documents: docs,
      topN: 2,
      returnDocuments: true,
    });
    expect(v1.results.map((r) => r.index)).toEqual([1, 2]);
    expect(v1.results[0]!.document?.text).toBe(docs[1]);
    const v2 = await new CohereClientV2({ token: "unused", environment: url }).rerank({ model: "rerank-v3.5", query: "oauth2 scopes", documents: docs });
    expect(v2.results[0]!.index).toBe(2);
    expect(v2.results).toHaveLength(3);
  });

  it("gives /v1/rerank relevance scores on Cohere's 0–1 scale, best first, that the re-ranker's cut-off applies to", async () => {
    const documents = ["Bananas are yellow fruit.", "Request an OAuth2 access token with client credentials. ".repeat(20), "OAuth2 scopes limit a token."];
    const { results } = (await (await post(`${url}/v1/rerank`, { query: "oauth2 access token", documents, model: "bm25" })).json()) as {
      results: Array<{ index: number; relevance_score: number }>;
    };
    const scores = results.map((r) => r.relevance_score);
    // A raw BM25 score of a passage repeating the terms is well above 1.
    expect(Math.min(...scores)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...scores)).toBeLessThanOrEqual(1);
    expect(scores).toEqual([...scores].sort((l, r) => r - l));
    expect(results[0]!.index).toBe(1);
    expect(results.at(-1)).toEqual({ index: 0, relevance_score: 0 });
  });
});

describe("createServer: a POST-only route called with another method", () => {
  let server: RagServer;
  let url: string;
  beforeAll(async () => ({ server, url } = await start()));
  afterAll(() => server.close());

  it("answers 405 with Allow: POST and an error in the route's format, not 404", async () => {
    for (const route of ["/api/search", "/api/ask", "/v1/chat/completions", "/v1/rerank", "/v2/rerank"]) {
      const response = await fetch(`${url}${route}`);
      expect(response.status, route).toBe(405);
      expect(response.headers.get("allow"), route).toBe("POST");
      const { error } = await response.json();
      expect(error.message, route).toBe(`GET ${route} is not supported: it takes POST with a JSON body.`);
    }
    // What is not there is still a 404.
    expect((await fetch(`${url}/api/nothing`)).status).toBe(404);
  });
});

describe("createServer: security", () => {
  it("needs the Bearer token on /api and /v1 when one is set, never echoes it, and leaves the page and /healthz open", async () => {
    const token = "serve-token-7f3a9c1e5b";
    const { server, url } = await start({}, { token });
    try {
      expect((await post(`${url}/api/search`, { question: SEED })).status).toBe(401);
      expect((await post(`${url}/api/search`, { question: SEED }, { authorization: "Bearer wrong" })).status).toBe(401);
      expect((await fetch(`${url}/v1/models`)).status).toBe(401);
      expect((await post(`${url}/v2/rerank`, { query: "q", documents: ["a"] })).status).toBe(401);
      const ok = await post(`${url}/api/search`, { question: `${SEED} ${token}` }, { authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(await ok.text()).not.toContain(token);
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("refuses a body over the limit and a question over the limit with 413 and a clear message", async () => {
    const { server, url } = await start({}, { limits: { maxBodyBytes: 2000, maxQuestionChars: 100 } });
    try {
      const big = await post(`${url}/api/ask`, { question: "x".repeat(5000) });
      expect(big.status).toBe(413);
      expect((await big.json()).error.message).toMatch(/larger than this server takes \(2000 bytes\)/);
      const long = await post(`${url}/api/ask`, { question: "why ".repeat(50) });
      expect(long.status).toBe(413);
      expect((await long.json()).error.message).toMatch(/this server takes at most 100/);
    } finally {
      await server.close();
    }
  });

  it("sends no CORS headers unless origins are listed, then only for those", async () => {
    const closed = await start();
    const open = await start({}, { corsOrigins: ["https://intranet.example"] });
    try {
      const preflight = (url: string, origin: string) =>
        fetch(`${url}/api/ask`, {
          method: "OPTIONS",
          headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
        });
      expect((await preflight(closed.url, "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
      expect((await preflight(open.url, "https://intranet.example")).headers.get("access-control-allow-origin")).toBe("https://intranet.example");
      expect((await preflight(open.url, "https://evil.example")).headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await Promise.all([closed.server.close(), open.server.close()]);
    }
  });

  it("serves the page and its two assets with a strict CSP, and no other file", async () => {
    const { server, url } = await start();
    try {
      const page = await fetch(`${url}/`);
      expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
      for (const probe of ["/package.json", "/assets/../package.json", "/assets/%2e%2e/package.json", "/..%2f..%2fetc%2fpasswd", "/assets/app.ts", "/.env"]) {
        const response = await fetch(`${url}${probe}`);
        expect(response.status, probe).toBe(404);
      }
    } finally {
      await server.close();
    }
  });

  it("keeps a key out of the answer even when the LLM server echoes it, and stops the LLM when the client disconnects", async () => {
    const key = "sk-serve-secret-0123456789";
    const echo = await startOpenAiServer({ kind: "echo-authorization", before: "Your key is ", after: " [1].", chunkSize: 4 });
    const drip = await startOpenAiServer({ kind: "drip", token: "word ", everyMs: 20, max: 500 });
    const echoing = await start({ RAG_LLM: "openai", OPENAI_BASE_URL: echo.baseURL, OPENAI_API_KEY: key });
    const dripping = await start({ RAG_LLM: "openai", OPENAI_BASE_URL: drip.baseURL, OPENAI_API_KEY: key });
    try {
      const text = await (await post(`${echoing.url}/api/ask`, { question: SEED })).text();
      expect(text).toContain("Your key is");
      expect(text).not.toContain(key);
      const chat = await (await post(`${echoing.url}/v1/chat/completions`, { messages: [{ role: "user", content: SEED }] })).text();
      expect(chat).not.toContain(key);

      const response = await post(`${dripping.url}/api/ask`, { question: SEED });
      const reader = response.body!.getReader();
      let seen = "";
      while (!seen.includes("event: token")) seen += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      await expect.poll(() => drip.cancelled(), { timeout: 5000 }).toBe(1);
    } finally {
      await Promise.all([echoing.server.close(), dripping.server.close()]);
      await Promise.all([echo.close(), drip.close()]);
    }
  });

  it("stops the LLM when an OpenAI client leaves /v1/chat/completions, streamed or not", async () => {
    const drip = await startOpenAiServer({ kind: "drip", token: "word ", everyMs: 20, max: 500 });
    const dripping = await start({ RAG_LLM: "openai", OPENAI_BASE_URL: drip.baseURL, OPENAI_API_KEY: "sk-unused" });
    try {
      const streamed = await post(`${dripping.url}/v1/chat/completions`, { stream: true, messages: [{ role: "user", content: SEED }] });
      const reader = streamed.body!.getReader();
      let seen = "";
      while (!seen.includes('"content":"word')) seen += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      await expect.poll(() => drip.cancelled(), { timeout: 5000 }).toBe(1);

      // Not streamed: the client gives up waiting for the whole answer (500 words × 20 ms).
      await leaveWhileUpstreamHolds(`${dripping.url}/v1/chat/completions`, { messages: [{ role: "user", content: SEED }] }, drip, 2);
    } finally {
      await dripping.server.close();
      await drip.close();
    }
  });
});

describe("createServer: a client that leaves /api/search", () => {
  it("stops the remote re-ranker's request instead of waiting for its timeout", async () => {
    const tei = await startRerankServer("tei");
    tei.always({ hang: true });
    const served = await start({ RAG_RERANKER: "tei", TEI_BASE_URL: tei.baseUrl, RAG_TIMEOUT_MS: 60_000 });
    try {
      // 50 candidates go to TEI as two requests (32 + 18), both held open by the server.
      await leaveWhileUpstreamHolds(`${served.url}/api/search`, { question: SEED }, tei, 2);
    } finally {
      await served.server.close();
      await tei.close();
    }
  });
});

describe("createServer: a new ingest", () => {
  it("is picked up without restart; a request in flight finishes on the old snapshot", async () => {
    const docs = path.join(work, "growing");
    const growingIndex = path.join(work, "growing-index");
    await fs.mkdir(docs, { recursive: true });
    await fs.cp(path.join(REPO_ROOT, "data", "docs", "authentication"), docs, { recursive: true });
    const config = configFor({ RAG_INDEX_DIR: growingIndex });
    await ingest({ paths: [docs], config });
    const drip = await startOpenAiServer({ kind: "drip", token: "word ", everyMs: 10, max: 30 });
    const slowConfig = configFor({ RAG_INDEX_DIR: growingIndex, RAG_LLM: "openai", OPENAI_BASE_URL: drip.baseURL, OPENAI_API_KEY: "k" });
    const server = createServer(await createPipeline(slowConfig), { config: slowConfig, log: () => {} });
    const { url } = await server.listen({ host: "127.0.0.1", port: 0 });
    try {
      const before = (await (await fetch(`${url}/api/info`)).json()).snapshot;
      // A request that holds the old snapshot while the ingest runs.
      const inFlight = post(`${url}/api/ask`, { question: "How do I rotate an API key?" }).then(readSse);
      await fs.writeFile(path.join(docs, "zeppelin.md"), "# Zeppelin mooring\n\nA zeppelin moors at the mast with a winch line.\n");
      await ingest({ paths: [docs], config });
      const after = await (await post(`${url}/api/search`, { question: "zeppelin mooring mast" })).json();
      expect(after.snapshot).not.toBe(before);
      expect(after.after[0].path).toBe("zeppelin.md");
      const events = await inFlight;
      expect(JSON.parse(events[0]!.data).snapshot).toBe(before);
      expect(events.at(-1)!.event).toBe("done");
    } finally {
      await server.close();
      await drip.close();
    }
  });
});

describe("LivePipeline", () => {
  it("keeps answering from the working snapshot when a new one fails to open, and does not retry that one", async () => {
    const docs = path.join(work, "flaky");
    const flakyIndex = path.join(work, "flaky-index");
    await fs.mkdir(docs, { recursive: true });
    await fs.writeFile(path.join(docs, "a.md"), "# Alpha\n\nAlpha text about ferries.\n");
    const config = configFor({ RAG_INDEX_DIR: flakyIndex });
    await ingest({ paths: [docs], config });
    const pipeline = await createPipeline(config);
    const errors: unknown[] = [];
    let opens = 0;
    const live = new LivePipeline(
      pipeline,
      () => {
        opens++;
        return Promise.reject(new Error("the new snapshot is damaged"));
      },
      (error) => errors.push(error),
    );
    try {
      await fs.writeFile(path.join(docs, "b.md"), "# Beta\n\nBeta text about zeppelins.\n");
      await ingest({ paths: [docs], config });
      for (let i = 0; i < 3; i++) {
        const lease = await live.acquire();
        expect(lease.pipeline).toBe(pipeline);
        lease.release();
      }
      expect(opens).toBe(1);
      expect(errors.map((e) => (e as Error).message)).toEqual(["the new snapshot is damaged"]);
    } finally {
      await live.close();
    }
  });
});

describe("rerank-rag serve", () => {
  it("refuses a non-loopback host without RAG_SERVER_TOKEN, saying how to fix it", async () => {
    const { code, stderr } = await runCli(["serve", "--host", "0.0.0.0", "--port", "0", "--index", index]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Refusing to serve on 0\.0\.0\.0 without a token/);
    expect(stderr).toMatch(/RAG_SERVER_TOKEN/);
  });

  it("serves on a non-loopback host with a token and never prints it; --insecure-no-auth serves with a warning", async () => {
    const token = "cli-token-5d1e8b2a77";
    const withToken = startCli(["serve", "--host", "0.0.0.0", "--port", "0", "--index", index], { env: cleanEnv({ RAG_SERVER_TOKEN: token }) });
    const noAuth = startCli(["serve", "--host", "0.0.0.0", "--port", "0", "--index", index, "--insecure-no-auth"]);
    try {
      await expect.poll(() => withToken.stderr(), { timeout: 30_000 }).toMatch(/serving on http:\/\/0\.0\.0\.0:\d+ \(Bearer token required/);
      await expect.poll(() => noAuth.stderr(), { timeout: 30_000 }).toMatch(/serving on/);
      expect(withToken.stderr()).not.toContain(token);
      expect(noAuth.stderr()).toMatch(/warning: serving on 0\.0\.0\.0 without a token/);
    } finally {
      withToken.child.kill("SIGTERM");
      noAuth.child.kill("SIGTERM");
    }
    // SIGTERM stops it cleanly, once requests in flight are done.
    expect((await withToken.done).code).toBe(0);
    await noAuth.done;
  });

  it("says a port in use is in use, with the flag that picks another (exit 2), not a raw EADDRINUSE", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const { code, stderr } = await runCli(["serve", "--port", String(port), "--index", index]);
      expect(code).toBe(2);
      expect(stderr).toContain(`Port ${port} on 127.0.0.1 is in use (another rerank-rag serve?)`);
      expect(stderr).toMatch(/--port <n>.*--port 0/);
      expect(stderr).not.toMatch(/listen EADDRINUSE/);
    } finally {
      taken.close();
    }
  });

  it("serves from several processes on one port with --workers, and stops them all on SIGTERM", async () => {
    const refused = await runCli(["serve", "--port", "0", "--index", index, "--workers", "0"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--workers must be a whole number from 1 to 64, or auto, got "0"/);

    const served = startCli(["serve", "--port", "0", "--index", index, "--workers", "2"]);
    let workers: number[] | undefined;
    try {
      await expect.poll(() => served.stderr(), { timeout: 60_000 }).toMatch(/serving on http:\/\/127\.0\.0\.1:\d+ with 2 worker processes/);
      const url = /serving on (http:\/\/[\d.]+:\d+)/.exec(served.stderr())![1]!;
      workers = await childrenOf(served.child.pid!);
      expect(workers).toHaveLength(2);
      const answers = await Promise.all(Array.from({ length: 4 }, async () => readSse(await post(`${url}/api/ask`, { question: SEED }))));
      for (const events of answers) expect(events.map((e) => e.event).at(-1)).toBe("done");
      // The pipeline line is printed once, not once per worker.
      expect(served.stderr().match(/→ rerank=/g)).toHaveLength(1);
    } finally {
      served.child.kill("SIGTERM");
    }
    expect((await served.done).code).toBe(0);
    for (const pid of workers ?? []) expect(() => process.kill(pid, 0)).toThrow();
  });
});
