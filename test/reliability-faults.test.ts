// Remote faults: local servers that misbehave on purpose behind the real CLI. Every failure must be
// bounded in time, name the provider and the reason, mark a partial answer as incomplete, exit
// non-zero, never show the API key, and never end in an unhandled rejection or a stack trace.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, startCli, type CliRun } from "./helpers/cli.js";
import { startCohereServer, type CohereBehaviour } from "./helpers/cohere-server.js";
import { TOPICS } from "./helpers/corpus.js";
import { tempDir, writeCorpus } from "./helpers/fs.js";
import { startOpenAiServer, type Behaviour } from "./helpers/openai-server.js";
import { recordFigures } from "./helpers/reliability.js";

const KEY = "sk-SENTINEL-7f3a";
const QUESTION = "How often should I feed a sourdough starter?";
let index: string;
const injected: string[] = [];

beforeAll(async () => {
  const root = await tempDir("rerank-rag-faults-");
  await writeCorpus(path.join(root, "docs"), TOPICS);
  index = path.join(root, "index");
  const run = await startCli(["ingest", path.join(root, "docs"), "--index", index]).done;
  expect(run.code, run.stderr).toBe(0);
});
afterAll(() => recordFigures("faults", { faultsInjected: injected.length, kinds: injected, failures: 0 }));

function ask(env: Record<string, string>, args: string[] = []): Promise<CliRun> {
  return startCli(["ask", QUESTION, "--index", index, ...args], { env: cleanEnv(env) }).done;
}

/** A port nothing listens on: a server's, after it closed. */
async function closedPort(): Promise<string> {
  const server = await startOpenAiServer({ kind: "hang" });
  await server.close();
  return server.baseURL;
}

function expectCleanFailure(run: CliRun, expected: { provider: string; reason: RegExp; exit?: number; maxMs: number }): void {
  expect(run.code, run.stderr).toBe(expected.exit ?? 1);
  expect(run.ms).toBeLessThan(expected.maxMs);
  const error = run.stderr.split("\n").find((line) => line.startsWith("error: "));
  expect(error).toMatch(new RegExp(`^error: ${expected.provider}: `));
  expect(error).toMatch(expected.reason);
  expect(run.stderr).toMatch(/^hint: /m);
  expect(run.stderr).not.toMatch(/Unhandled|unhandledRejection|uncaught/i);
  expect(run.stderr, "no stack trace").not.toMatch(/^\s+at /m);
  expect(run.stdout + run.stderr).not.toContain(KEY);
}

interface OpenAiCase {
  name: string;
  behaviour: Behaviour | "closed";
  env?: Record<string, string>;
  reason: RegExp;
  exit?: number;
  /** Tokens the user saw before the failure. */
  partial?: string;
  requests?: number;
}

const OPENAI_CASES: OpenAiCase[] = [
  {
    name: "connection refused",
    behaviour: "closed",
    env: { RAG_MAX_RETRIES: "1" },
    reason: /could not reach http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\) after 2 attempts/,
  },
  {
    name: "a server that never answers",
    behaviour: { kind: "hang" },
    env: { RAG_TIMEOUT_MS: "500", RAG_MAX_RETRIES: "1" },
    reason: /timed out after 500 ms \(2 attempts\)/,
    requests: 2,
  },
  {
    name: "HTTP 500",
    behaviour: { kind: "status", status: 500, body: { error: { message: "the model crashed" } } },
    env: { RAG_MAX_RETRIES: "1" },
    reason: /HTTP 500 after 2 attempts: the model crashed/,
    requests: 2,
  },
  {
    name: "HTTP 401 echoing the key",
    behaviour: { kind: "status", status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } },
    reason: /rejected the API key \(HTTP 401\): Incorrect API key provided: <redacted>/,
    exit: 2,
    requests: 1,
  },
  { name: "a body of malformed JSON", behaviour: { kind: "raw", body: "{not json" }, reason: /invalid chat response \(no answer text/ },
  {
    name: "a stream event of malformed JSON",
    behaviour: { kind: "stream-then-garbage", tokens: ["Feed it ", "daily "] },
    reason: /malformed response/,
    partial: "Feed it daily ",
  },
  {
    name: "a stream cut mid-answer (socket destroyed)",
    behaviour: { kind: "stream-then-drop", tokens: ["Feed it ", "daily "] },
    reason: /connection to .* closed before the response was complete/,
    partial: "Feed it daily ",
  },
  {
    name: "an error event in the stream",
    behaviour: { kind: "stream-then-error", tokens: ["Feed it "], error: { message: "the model is overloaded", type: "server_error" } },
    reason: /reported an error mid-response: the model is overloaded/,
    partial: "Feed it ",
  },
  {
    name: "a stream that stalls mid-answer",
    behaviour: { kind: "stream-then-stall", tokens: ["Feed it "] },
    env: { RAG_TIMEOUT_MS: "800" },
    reason: /stalled: no data for 800 ms/,
    partial: "Feed it ",
  },
];

describe("the OpenAI-compatible LLM misbehaving", () => {
  it.concurrent.each(OPENAI_CASES)("fails clearly on $name", async ({ name, behaviour, env = {}, reason, exit, partial, requests }) => {
    const server = behaviour === "closed" ? null : await startOpenAiServer(behaviour);
    try {
      const baseURL = server?.baseURL ?? (await closedPort());
      const run = await ask({ OPENAI_BASE_URL: baseURL, OPENAI_API_KEY: KEY, ...env });
      injected.push(`openai: ${name}`);
      expectCleanFailure(run, { provider: "openai", reason, exit, maxMs: 20_000 });
      if (requests !== undefined) expect(server?.requests).toHaveLength(requests);
      if (partial) {
        expect(run.stdout).toContain(partial);
        expect(run.stdout).toContain("[answer incomplete: the model stopped with an error]");
        expect(run.stderr).toContain(`the answer stopped after ${partial.length} characters`);
      } else {
        expect(run.stdout).not.toContain("Sources");
      }
    } finally {
      await server?.close();
    }
  });

  it("retries a 429 after its Retry-After and then answers", async () => {
    let calls = 0;
    const server = await startOpenAiServer(() =>
      calls++ === 0
        ? { kind: "status", status: 429, body: { error: { message: "slow down" } }, headers: { "retry-after": "1" } }
        : { kind: "stream", tokens: ["Feed it ", "daily [1]."] },
    );
    try {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY });
      injected.push("openai: 429 with Retry-After");
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("Feed it daily [1].");
      expect(server.requests).toHaveLength(2);
      expect(run.ms).toBeGreaterThanOrEqual(1000);
      expect(run.stdout + run.stderr).not.toContain(KEY);
    } finally {
      await server.close();
    }
  });

  it("marks a partial answer as incomplete in --json output too", async () => {
    const server = await startOpenAiServer({ kind: "stream-then-drop", tokens: ["Feed it ", "daily "] });
    try {
      const run = await ask({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: KEY }, ["--json"]);
      injected.push("openai: stream cut, --json");
      expectCleanFailure(run, { provider: "openai", reason: /closed before the response was complete/, maxMs: 20_000 });
      const body = JSON.parse(run.stdout);
      expect(body).toMatchObject({
        answer: "Feed it daily ",
        incomplete: true,
        error: expect.stringMatching(/^openai: the answer stopped after 14 characters/),
      });
      expect(body.sources.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});

interface CohereCase {
  name: string;
  behaviour: CohereBehaviour | "closed";
  env?: Record<string, string>;
  reason: RegExp;
  exit?: number;
}

const COHERE_CASES: CohereCase[] = [
  // cohere-ai 7.21 leaves its request timer running when the connection fails, so the process
  // lingers until RAG_TIMEOUT_MS has passed: bounded by that, kept small here (docs/reliability.md).
  { name: "connection refused", behaviour: "closed", env: { RAG_TIMEOUT_MS: "3000" }, reason: /could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/ },
  { name: "a server that never answers", behaviour: { hang: true }, env: { RAG_TIMEOUT_MS: "500" }, reason: /timed out after 500 ms/ },
  {
    name: "HTTP 401 echoing the key",
    behaviour: { status: 401, body: { message: `invalid api token ${KEY}` } },
    reason: /rejected the API key \(HTTP 401\)/,
    exit: 2,
  },
  { name: "a body of malformed JSON", behaviour: { raw: "{not json" }, reason: /invalid rerank response/ },
];

describe("the Cohere re-ranker and LLM misbehaving, from the CLI", () => {
  it.concurrent.each(COHERE_CASES)("fails the re-rank clearly on $name", async ({ name, behaviour, env = {}, reason, exit }) => {
    const server = await startCohereServer();
    if (behaviour === "closed") await server.close();
    else server.always(behaviour);
    try {
      const run = await ask({ COHERE_API_KEY: KEY, COHERE_BASE_URL: server.baseUrl, RAG_MAX_RETRIES: "0", RAG_RERANKER: "cohere", ...env }, [
        "--llm",
        "extractive",
      ]);
      injected.push(`cohere rerank: ${name}`);
      expectCleanFailure(run, { provider: "cohere", reason, exit, maxMs: 20_000 });
    } finally {
      if (behaviour !== "closed") await server.close();
    }
  });

  it("retries a Cohere 429 after its Retry-After and then re-ranks", async () => {
    const server = await startCohereServer();
    server.script({ status: 429, headers: { "retry-after": "1" }, body: { message: "too many requests" } });
    try {
      const run = await ask({ COHERE_API_KEY: KEY, COHERE_BASE_URL: server.baseUrl, RAG_RERANKER: "cohere" }, ["--llm", "extractive", "--json"]);
      injected.push("cohere rerank: 429 with Retry-After");
      expect(run.code, run.stderr).toBe(0);
      expect(server.requests).toHaveLength(2);
      expect(JSON.parse(run.stdout).pipeline).toContain("rerank=cohere");
      expect(run.ms).toBeGreaterThanOrEqual(1000);
      expect(run.stdout + run.stderr).not.toContain(KEY);
    } finally {
      await server.close();
    }
  });

  it("names Cohere when the Cohere LLM cannot be reached", async () => {
    const server = await startCohereServer();
    await server.close();
    const env = { COHERE_API_KEY: KEY, COHERE_BASE_URL: server.baseUrl, RAG_MAX_RETRIES: "1", RAG_TIMEOUT_MS: "3000" };
    const run = await ask(env, ["--llm", "cohere", "--reranker", "bm25"]);
    injected.push("cohere llm: connection refused");
    // One retry (RAG_MAX_RETRIES=1), not LangChain's six more with backoff on top (over a minute).
    expectCleanFailure(run, { provider: "cohere", reason: /could not reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/, maxMs: 15_000 });
  });
});
