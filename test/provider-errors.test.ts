// ProviderError as data: reason, status code, redacted URL and retryable, read from real clients
// talking to local servers that speak the OpenAI and Cohere wire protocols.
import { inspect } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { HumanMessage } from "@langchain/core/messages";
import { cliHint } from "../src/cli/hints.js";
import { loadConfig } from "../src/config/index.js";
import { ProviderError, redactUrl, type RagError } from "../src/errors/index.js";
import { createLlm } from "../src/llms/registry.js";
import { createCohereReranker } from "../src/rerankers/cohere-reranker.js";
import { startCohereServer, type CohereBehaviour } from "./helpers/cohere-server.js";
import { startOpenAiServer, type Behaviour } from "./helpers/openai-server.js";
import { smallDocuments } from "./helpers/small-store.js";

const KEY = "sk-SENTINEL-9c1d";
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function caught(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ProviderError.isInstance(error), String(error)).toBe(true);
  const provider = error as ProviderError;
  // The key is never in any field, the cause included.
  expect(inspect(provider, { depth: 8 })).not.toContain(KEY);
  return provider;
}

async function openAiFailure(behaviour: Behaviour, settings: Record<string, string> = {}) {
  const server = await startOpenAiServer(behaviour);
  closers.push(server.close);
  const config = loadConfig({ RAG_LLM: "openai", OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.baseURL, RAG_MAX_RETRIES: 0, ...settings }, {});
  const llm = await createLlm(config);
  const error = await caught(
    (async () => {
      for await (const chunk of await llm.stream([new HumanMessage("How often should I feed a sourdough starter?")])) void chunk;
    })(),
  );
  return { error, server };
}

async function cohereFailure(behaviour: CohereBehaviour | "closed", settings: Record<string, string | number> = {}) {
  const server = await startCohereServer();
  if (behaviour === "closed") await server.close();
  else {
    server.always(behaviour);
    closers.push(server.close);
  }
  const config = loadConfig({ COHERE_API_KEY: KEY, COHERE_BASE_URL: server.baseUrl, RAG_MAX_RETRIES: 0, RAG_TIMEOUT_MS: 2000, ...settings }, {});
  const error = await caught(createCohereReranker(config).compressDocuments(smallDocuments().slice(0, 3), "oauth2 client credentials"));
  return { error, server };
}

describe("ProviderError from the OpenAI-compatible chat model", () => {
  it("carries the status, the endpoint and retryable for a server error", async () => {
    const { error, server } = await openAiFailure({ kind: "status", status: 500, body: { error: { message: "the model crashed" } } });
    expect(error).toMatchObject({ provider: "openai", reason: "server", statusCode: 500, retryable: true, url: server.baseURL, exitCode: 1 });
    expect(error.detail).toBe("chat request failed with HTTP 500: the model crashed");
    expect(error.message).toBe(`openai: ${error.detail}`);
    // A library caller is pointed at settings, not at CLI flags.
    expect(error).toMatchObject({ setting: "RAG_LLM", hint: expect.stringContaining("RAG_LLM=extractive") });
    expect(error.hint).not.toContain("--");
  });

  it("marks a rejected key as not retryable, exit 2, with the key redacted from the server's echo", async () => {
    const { error } = await openAiFailure({ kind: "status", status: 401, body: { error: { message: `Incorrect API key provided: ${KEY}` } } });
    expect(error).toMatchObject({ reason: "auth", statusCode: 401, retryable: false, exitCode: 2, setting: "OPENAI_API_KEY" });
    expect(error.detail).toContain("Incorrect API key provided: <redacted>");
  });

  it("reports a stream that stalls mid-answer as retryable, without a status", async () => {
    const { error } = await openAiFailure({ kind: "stream-then-stall", tokens: ["Feed it "] }, { RAG_TIMEOUT_MS: "400" });
    expect(error).toMatchObject({ reason: "stalled", retryable: true, statusCode: undefined, setting: "RAG_TIMEOUT_MS" });
    expect(error.detail).toMatch(/stalled: no data for 400 ms/);
  });

  it("reports an event stream with no answer text as an invalid response", async () => {
    const { error } = await openAiFailure({ kind: "raw", body: "{not json" });
    expect(error).toMatchObject({ reason: "invalid-response", retryable: false, setting: "OPENAI_BASE_URL" });
  });
});

describe("ProviderError from the Cohere re-ranker", () => {
  it.each([
    {
      name: "rate limiting",
      behaviour: { status: 429, body: { message: "slow down" } },
      fields: { reason: "rate-limit", statusCode: 429, retryable: true, exitCode: 1 },
    },
    {
      name: "an unknown model",
      behaviour: { status: 400, body: { message: "model 'nope' not found" } },
      fields: { reason: "bad-request", statusCode: 400, retryable: false, exitCode: 2, setting: "RAG_RERANKER_MODEL" },
    },
    {
      name: "a server error",
      behaviour: { status: 503, body: { message: "down" } },
      fields: { reason: "server", statusCode: 503, retryable: true, setting: "RAG_RERANKER" },
    },
    { name: "a body that is not JSON", behaviour: { raw: "{not json" }, fields: { reason: "invalid-response", statusCode: undefined, retryable: false } },
    { name: "a server that never answers", behaviour: { hang: true }, fields: { reason: "timeout", statusCode: undefined, retryable: true } },
  ] satisfies Array<{ name: string; behaviour: CohereBehaviour; fields: Record<string, unknown> }>)(
    "carries the fields for $name",
    async ({ behaviour, fields }) => {
      // A short timeout only where it is the point: a loaded machine may take longer to answer.
      const { error, server } = await cohereFailure(behaviour, "hang" in behaviour ? { RAG_TIMEOUT_MS: 300 } : {});
      expect(error).toMatchObject({ provider: "cohere", url: server.baseUrl, ...fields });
    },
  );

  it("reports a refused connection as retryable, naming the code", async () => {
    const { error, server } = await cohereFailure("closed");
    expect(error).toMatchObject({ reason: "connection", retryable: true, statusCode: undefined, url: server.baseUrl });
    expect(error.detail).toBe(`could not reach ${server.baseUrl} (ECONNREFUSED)`);
  });
});

describe("redactUrl", () => {
  it("drops credentials and the query string and redacts secrets in the path", () => {
    expect(redactUrl(`https://user:pw@llm.example.com/v1?api_key=${KEY}`, [KEY])).toBe("https://llm.example.com/v1");
    expect(redactUrl(`https://llm.example.com/keys/${KEY}/v1`, [KEY])).toBe("https://llm.example.com/keys/<redacted>/v1");
  });
});

describe("cliHint", () => {
  it("adds the command-line flag for the option or setting a library hint names", () => {
    expect(cliHint({ hint: "Set fetchK to at least topN, e.g. 50.", setting: "fetchK" })).toBe(
      "Set fetchK to at least topN, e.g. 50. On the command line: --fetch-k.",
    );
    expect(cliHint({ hint: "Try again later, or set RAG_RERANKER=bm25 (offline).", setting: "RAG_RERANKER" })).toMatch(/On the command line: --reranker\.$/);
    expect(cliHint({ hint: "Raise RAG_TIMEOUT_MS.", setting: "RAG_TIMEOUT_MS" })).toBe("Raise RAG_TIMEOUT_MS.");
    // A hint that already names the flag (a bad flag's value) is not told it again.
    const configError = (overrides: Record<string, string>, env: Record<string, string>) => {
      try {
        loadConfig(overrides, env);
      } catch (error) {
        return error as RagError;
      }
      throw new Error("expected an error");
    };
    const fromFlag = configError({ RAG_FETCH_K: "abc" }, {});
    expect(cliHint(fromFlag)).toBe(fromFlag.hint);
    expect(fromFlag.hint).toContain("--fetch-k");
    const fromEnv = configError({}, { RAG_FETCH_K: "abc" });
    expect(cliHint(fromEnv)).toMatch(/RAG_FETCH_K.*On the command line: --fetch-k\.$/);
  });
});
