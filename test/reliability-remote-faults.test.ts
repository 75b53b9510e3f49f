// Remote servers that misbehave in ways a per-request timeout does not catch: a stream that closes
// cleanly before its finish, a server that drips tokens or keep-alive comments for ever, an answer
// that never ends, and embedding failures at ingest. Real clients against local 127.0.0.1 servers.
import fs from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnswerChain, createRerankingRetriever } from "../chains/index.js";
import { loadConfig } from "../src/config/index.js";
import { createPretrainedEmbeddings } from "../src/embeddings/registry.js";
import { ProviderError } from "../src/errors/index.js";
import { ingest } from "../src/ingest/ingest.js";
import { createLlm } from "../src/llms/registry.js";
import { INDEX_MARKER_FILE } from "../src/store/index-dir.js";
import { cleanEnv, startCli, type CliRun } from "./helpers/cli.js";
import { startCohereServer } from "./helpers/cohere-server.js";
import { TOPICS } from "./helpers/corpus.js";
import { tempDir, testConfig, writeCorpus } from "./helpers/fs.js";
import { startOpenAiServer, type Behaviour } from "./helpers/openai-server.js";
import { recordFigures } from "./helpers/reliability.js";
import { smallStore } from "./helpers/small-store.js";

const KEY = "sk-SENTINEL-5e2b";
const QUESTION = "How often should I feed a sourdough starter?";
const INCOMPLETE = "[answer incomplete: the model stopped with an error]";
let root: string;
let docs: string;
let index: string;
const injected: string[] = [];

beforeAll(async () => {
  root = await tempDir("rerank-rag-remote-faults-");
  docs = path.join(root, "docs");
  await writeCorpus(docs, TOPICS);
  index = path.join(root, "index");
  const run = await startCli(["ingest", docs, "--index", index]).done;
  expect(run.code, run.stderr).toBe(0);
});
afterAll(() => recordFigures("remote-faults", { faultsInjected: injected.length, kinds: injected, failures: 0 }));

function ask(env: Record<string, string>, args: string[] = []): Promise<CliRun> {
  return startCli(["ask", QUESTION, "--index", index, ...args], { env: cleanEnv(env) }).done;
}

async function withOpenAi<T>(behaviour: Behaviour, fn: (server: Awaited<ReturnType<typeof startOpenAiServer>>) => Promise<T>): Promise<T> {
  const server = await startOpenAiServer(behaviour);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** A port nothing listens on: a server's, after it closed. */
async function closedPort(): Promise<string> {
  const server = await startOpenAiServer({ kind: "hang" });
  await server.close();
  return server.baseURL;
}

/** The run failed cleanly: exit 1, the `error:` line matches, a hint, no stack trace, no key. */
function expectFailure(run: CliRun, provider: string, reason: RegExp): string {
  expect(run.code, run.stderr).toBe(1);
  const error = run.stderr.split("\n").find((line) => line.startsWith("error: ")) ?? "";
  expect(error).toMatch(new RegExp(`^error: ${provider}: `));
  expect(error).toMatch(reason);
  expect(run.stderr).toMatch(/^hint: /m);
  expect(run.stderr, "no stack trace").not.toMatch(/^\s+at /m);
  expect(run.stdout + run.stderr).not.toContain(KEY);
  return error;
}

async function until(condition: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; !condition() && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
  return condition();
}

describe("a stream that closes cleanly before its finish is an incomplete answer", () => {
  it("OpenAI-compatible: one chunk, no finish_reason, no [DONE]: marked, exit 1", async () => {
    await withOpenAi({ kind: "stream-then-end", tokens: ["Feed it "] }, async (server) => {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY });
      injected.push("openai: stream closed without a finish");
      expectFailure(run, "openai", /the answer stopped after 8 characters: the stream ended without a finish reason: the server closed it early/);
      expect(run.stdout).toContain("Feed it ");
      expect(run.stdout).toContain(INCOMPLETE);
    });
  });

  it("OpenAI-compatible: --json says incomplete: true", async () => {
    await withOpenAi({ kind: "stream-then-end", tokens: ["Feed it ", "daily"] }, async (server) => {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY }, ["--json"]);
      expect(run.code, run.stderr).toBe(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ answer: "Feed it daily", incomplete: true, error: expect.stringMatching(/without a finish reason/) });
    });
  });

  it("the library's chat model raises a ProviderError with reason incomplete; a finished stream passes", async () => {
    await withOpenAi({ kind: "stream-then-end", tokens: ["Feed it "] }, async (server) => {
      const llm = await createLlm(loadConfig({ RAG_LLM: "openai", OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY, RAG_MAX_RETRIES: 0 }, {}));
      const error = await (async () => {
        for await (const _ of await llm.stream("Hello")) void _;
      })().catch((e: unknown) => e);
      expect(ProviderError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ provider: "openai", reason: "incomplete", retryable: true, url: server.baseURL });
    });
    await withOpenAi({ kind: "stream", tokens: ["Feed it ", "daily."] }, async (server) => {
      const llm = await createLlm(loadConfig({ RAG_LLM: "openai", OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY }, {}));
      let text = "";
      for await (const chunk of await llm.stream("Hello")) text += chunk.text;
      expect(text).toBe("Feed it daily.");
    });
  });

  it("Cohere: text, then the stream closes without stream-end: marked, exit 1; with stream-end it answers", async () => {
    const server = await startCohereServer();
    try {
      const env = { COHERE_API_KEY: KEY, COHERE_BASE_URL: server.baseUrl, RAG_MAX_RETRIES: "0" };
      server.script({ chat: ["Feed it "], streamEnd: false });
      const cut = await ask(env, ["--llm", "cohere", "--reranker", "bm25"]);
      injected.push("cohere: chat stream closed without stream-end");
      expectFailure(cut, "cohere", /the answer stopped after 8 characters: the stream ended without its stream-end event: the server closed it early/);
      expect(cut.stdout).toContain(INCOMPLETE);

      server.script({ chat: ["Feed it ", "daily [1]."], streamEnd: true });
      const whole = await ask(env, ["--llm", "cohere", "--reranker", "bm25"]);
      expect(whole.code, whole.stderr).toBe(0);
      expect(whole.stdout).toContain("Feed it daily [1].");
      expect(whole.stdout).not.toContain("incomplete");
    } finally {
      await server.close();
    }
  });
});

describe("an answer has a total deadline and a length cap", () => {
  it("a server dripping a token every 300 ms is cut at RAG_ANSWER_TIMEOUT_MS, and the request is cancelled", async () => {
    await withOpenAi({ kind: "drip", token: "tok ", everyMs: 300, max: 100 }, async (server) => {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY, RAG_TIMEOUT_MS: "1000", RAG_ANSWER_TIMEOUT_MS: "1500" });
      injected.push("openai: slow drip past the answer deadline");
      expectFailure(run, "openai", /the answer stopped after \d+ characters: the answer took longer than 1\.5 s/);
      expect(run.stdout).toContain(INCOMPLETE);
      // ~5 tokens in 1.5 s, not the 100 the server would send over 30 s.
      const tokens = run.stdout.split("tok ").length - 1;
      expect(tokens).toBeGreaterThanOrEqual(2);
      expect(tokens).toBeLessThanOrEqual(10);
      expect(run.ms).toBeLessThan(15_000);
      expect(await until(() => server.cancelled() === 1), "the HTTP request was cancelled, not read to its end").toBe(true);
    });
  });

  it("keep-alive comments do not hold the answer open past the deadline", async () => {
    await withOpenAi({ kind: "keep-alive", tokens: ["Feed it "], everyMs: 200, max: 150 }, async (server) => {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY, RAG_TIMEOUT_MS: "1000", RAG_ANSWER_TIMEOUT_MS: "1500" });
      injected.push("openai: keep-alive comments");
      expectFailure(run, "openai", /the answer stopped after 8 characters: the answer took longer than 1\.5 s/);
      expect(run.stdout).toContain(INCOMPLETE);
      expect(run.ms).toBeLessThan(15_000);
      expect(await until(() => server.cancelled() === 1)).toBe(true);
    });
  });

  it("a stream that never ends is cut at RAG_ANSWER_MAX_CHARS", async () => {
    await withOpenAi({ kind: "drip", token: "lorem ", everyMs: 1, max: 20_000 }, async (server) => {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY, RAG_ANSWER_MAX_CHARS: "300" }, ["--json"]);
      injected.push("openai: endless answer");
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^error: openai: the answer stopped after 30\d characters: the answer passed 300 characters/m);
      const body = JSON.parse(run.stdout);
      expect(body).toMatchObject({ incomplete: true });
      expect(body.answer.length).toBeGreaterThanOrEqual(300);
      expect(body.answer.length).toBeLessThan(306);
      expect(await until(() => server.cancelled() === 1)).toBe(true);
    });
  });

  it("the answer chain stops when the caller's signal aborts, and cancels the request", async () => {
    await withOpenAi({ kind: "drip", token: "tok ", everyMs: 100, max: 300 }, async (server) => {
      const { store, stats } = await smallStore();
      const retriever = createRerankingRetriever({ vectorStore: store, reranker: "bm25", stats, fetchK: 8, topN: 3 });
      const llm = await createLlm(loadConfig({ RAG_LLM: "openai", OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY }, {}));
      // No evidence gate: this is about stopping a running model.
      const chain = createAnswerChain({ retriever, llm, minScore: null });
      const caller = new AbortController();
      let answer = "";
      const started = Date.now();
      const error = await (async () => {
        for await (const chunk of await chain.stream({ question: QUESTION }, { signal: caller.signal })) {
          if (chunk.answer) answer += chunk.answer;
          if (answer.length >= 8 && !caller.signal.aborted) caller.abort();
        }
      })().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "AbortError" });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(await until(() => server.cancelled() === 1)).toBe(true);
    });
  });
});

describe("embedding failures at ingest", () => {
  it("a refused connection names the provider, endpoint, reason and hint, and leaves no index folder", async () => {
    const fresh = path.join(await tempDir("rerank-rag-embed-"), "new", "index");
    const baseURL = await closedPort();
    const run = await startCli(["ingest", docs, "--index", fresh], {
      env: cleanEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: baseURL, RAG_MAX_RETRIES: "1", RAG_EMBEDDINGS: "openai" }),
    }).done;
    injected.push("openai embeddings: connection refused");
    const error = expectFailure(run, "openai", /could not reach http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\) after 2 attempts/);
    expect(error).not.toBe("error: Connection error.");
    await expect(fs.access(path.dirname(fresh)), "the folders ingest created are gone").rejects.toMatchObject({ code: "ENOENT" });
  });

  it("HTTP 500 is retried RAG_MAX_RETRIES times; a folder the user made stays, empty", async () => {
    const mine = path.join(await tempDir("rerank-rag-embed-"), "mine");
    await fs.mkdir(mine);
    const server = await startOpenAiServer(
      { kind: "hang" },
      { embeddingsBehaviour: { kind: "status", status: 500, body: { error: { message: "embedder down" } } } },
    );
    try {
      const run = await startCli(["ingest", docs, "--index", mine], {
        env: cleanEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.baseURL, RAG_MAX_RETRIES: "1", RAG_EMBEDDINGS: "openai" }),
      }).done;
      injected.push("openai embeddings: HTTP 500");
      expectFailure(run, "openai", /embeddings request failed with HTTP 500 after 2 attempts: embedder down/);
      expect(server.requests.filter((r) => r.url.endsWith("/embeddings"))).toHaveLength(2);
      expect(await fs.readdir(mine)).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it("a malformed embeddings body is an invalid response, not a bare SDK message", async () => {
    const server = await startOpenAiServer({ kind: "hang" }, { embeddingsBehaviour: { kind: "raw", body: "{not json" } });
    try {
      const fresh = path.join(await tempDir("rerank-rag-embed-"), "index");
      const run = await startCli(["ingest", docs, "--index", fresh], {
        env: cleanEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.baseURL, RAG_MAX_RETRIES: "0", RAG_EMBEDDINGS: "openai" }),
      }).done;
      expectFailure(run, "openai", /the server sent (a malformed|an invalid embeddings) response/);
      await expect(fs.access(fresh)).rejects.toMatchObject({ code: "ENOENT" });
    } finally {
      await server.close();
    }
  });

  it("the library's ingest and embedder raise ProviderErrors; a failed ingest leaves an existing index as it was", async () => {
    const server = await startOpenAiServer({ kind: "hang" });
    const broken = await startOpenAiServer({ kind: "hang" }, { embeddingsBehaviour: { kind: "status", status: 503, body: { error: { message: "busy" } } } });
    try {
      const dir = await tempDir("rerank-rag-embed-");
      const indexDir = path.join(dir, "index");
      const own = path.join(dir, "docs");
      await writeCorpus(own, TOPICS);
      const settings = { OPENAI_API_KEY: KEY, RAG_MAX_RETRIES: 0, RAG_EMBEDDINGS: "openai" as const };
      await ingest({ paths: [own], config: testConfig(indexDir, { ...settings, OPENAI_BASE_URL: server.baseURL }) });
      const before = (await fs.readdir(indexDir)).sort();
      expect(before).toContain(INDEX_MARKER_FILE);

      await fs.writeFile(path.join(own, "new-note.md"), "# Kites\n\nA kite needs steady wind of about 15 km/h.\n");
      const config = testConfig(indexDir, { ...settings, OPENAI_BASE_URL: broken.baseURL });
      const error = await ingest({ paths: [own], config }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "ProviderError", provider: "openai", reason: "server", statusCode: 503, url: broken.baseURL });
      expect((await fs.readdir(indexDir)).sort()).toEqual(before);

      const embeddings = await createPretrainedEmbeddings({ provider: "openai", model: "text-embedding-3-small" }, config);
      await expect(embeddings.embedQuery("kites")).rejects.toMatchObject({ name: "ProviderError", reason: "server", statusCode: 503 });
    } finally {
      await server.close();
      await broken.close();
    }
  });

  it("a garbage chat stream fails clearly without the SDK's own console lines", async () => {
    await withOpenAi({ kind: "stream-then-garbage", tokens: ["Feed it "] }, async (server) => {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY });
      expectFailure(run, "openai", /malformed response/);
      expect(run.stderr).not.toMatch(/Could not parse message into JSON|From chunk/);
    });
  });
});
