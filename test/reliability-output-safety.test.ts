// Output safety: what documents, file names and servers send is shown, never obeyed. Human output
// carries no terminal control codes (titles, screen clears, cursor moves) from a document, a file
// name or a streamed answer; no configured secret is printed or returned, even one a hostile server
// streams back a few characters at a time; and a URL is never shown with its credentials.
import path from "node:path";
import { ChatOpenAI } from "@langchain/openai";
import { describe, expect, it } from "vitest";
import { createAnswerChain, createRerankingRetriever } from "../chains/index.js";
import { loadConfig } from "../src/config/index.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { cleanEnv, startCli, type CliRun } from "./helpers/cli.js";
import { startCohereServer } from "./helpers/cohere-server.js";
import { TOPICS } from "./helpers/corpus.js";
import { filesUnder, tempDir, writeCorpus } from "./helpers/fs.js";
import { startHubServer } from "./helpers/hub-server.js";
import { startOpenAiServer } from "./helpers/openai-server.js";
import { smallStore } from "./helpers/small-store.js";

const KEY = "sk-SENTINEL-7f3a9c2e";
const COHERE_KEY = "co-SENTINEL-4b1d8e6f";
const HF_TOKEN = "hf_SENTINELtoken0042";
const PASSWORD = "pwSENTINEL42";
const QUERY_TOKEN = "tokSENTINEL4242";
/** Control characters that must not reach a terminal: C0 but newline and tab, DEL, C1. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Fails naming each control character found, as \xNN. */
function expectNoControlCodes(text: string, where: string): void {
  const found = [...new Set(text.match(CONTROL) ?? [])].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
  expect(found, where).toEqual([]);
}

function expectNoSecret(run: CliRun, name: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(run.stdout + run.stderr, `${name}: ${secret}`).not.toContain(secret);
}

// A file name and a document carrying the codes a hostile corpus would use: set the window title
// (OSC … BEL), clear the screen (CSI 2J), bell, backspace, carriage return, DEL, an 8-bit CSI (C1).
const EVIL_NAME = "zephyr/evil\u001b]0;pwned\u0007\nname.md";
const EVIL_DOC = `# Starter \u001b[2J care

The zephyr starter \u001b]0;hijack\u0007 is fed daily with zephyr flour\u0007\b\u007f\r and warm \u009b31m water.
`;
const BROKEN_JSON = "broken/bad\u001b[2J\nname.json";
const QUESTION = "How is the zephyr starter fed?";

async function evilCorpus() {
  const root = await tempDir("rerank-rag-output-");
  const docs = path.join(root, "docs");
  await writeCorpus(docs, { ...TOPICS, [EVIL_NAME]: EVIL_DOC, [BROKEN_JSON]: "{not json \u001b]0;x\u0007" });
  return { root, docs, index: path.join(root, "index") };
}

describe("control codes from documents and file names", () => {
  it("ask shows them escaped in the answer, the source lines and the first-stage list; a newline in a name stays on its line; --json keeps them exact", async () => {
    const { docs, index } = await evilCorpus();
    const ingest = await startCli(["ingest", docs, "--index", index]).done;
    expect(ingest.code, ingest.stderr).toBe(0);
    expectNoControlCodes(ingest.stdout + ingest.stderr, "ingest");
    // The skipped file's line names it on one line, its reason after it.
    expect(ingest.stderr).toMatch(/^skipped .*broken\/bad\\x1b\[2J\\nname\.json: invalid JSON/m);

    const args = ["ask", QUESTION, "--index", index, "--llm", "extractive", "--reranker", "bm25"];
    const human = await startCli(args).done;
    expect(human.code, human.stderr).toBe(0);
    expectNoControlCodes(human.stdout + human.stderr, "ask");
    // The whole sentence is quoted: a carriage return inside a paragraph is a wrapped line, joined.
    expect(human.stdout).toContain("The zephyr starter \\x1b]0;hijack\\x07 is fed daily with zephyr flour\\x07\\b\\x7f and warm \\x9b31m water. [1]");
    const label = "zephyr/evil\\x1b]0;pwned\\x07\\nname.md § Starter \\x1b[2J care";
    expect(human.stdout.split("\n").filter((line) => line.includes(label))).toEqual([
      expect.stringMatching(/^\[1\] zephyr\/evil/),
      expect.stringMatching(/^1\. zephyr\/evil.*\(score /),
    ]);

    const json = await startCli([...args, "--json"]).done;
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).not.toContain("\u001b");
    const body = JSON.parse(json.stdout);
    expect(body.sources[0].source).toBe(EVIL_NAME);
    expect(body.sources[0].heading).toBe("Starter \u001b[2J care");
    expect(body.answer).toContain("The zephyr starter \u001b]0;hijack\u0007 is fed daily");
  }, 120_000);

  it("errors that quote a path show its control codes escaped", async () => {
    const root = await tempDir("rerank-rag-output-");
    const missing = path.join(root, "gone\u001b]0;pwned\u0007\ndocs");
    const runs = {
      ingest: await startCli(["ingest", missing, "--index", path.join(root, "index")]).done,
      ask: await startCli(["ask", QUESTION, "--index", missing]).done,
    };
    for (const [name, run] of Object.entries(runs)) {
      expect(run.code, name).not.toBe(0);
      expect(run.stderr, name).toContain("gone\\x1b]0;pwned\\x07\\ndocs");
      expectNoControlCodes(run.stdout + run.stderr, name);
    }
  }, 60_000);

  it("a streamed answer with an escape sequence split across tokens reaches the terminal escaped, and --json exact", async () => {
    const { docs, index } = await evilCorpus();
    expect((await startCli(["ingest", docs, "--index", index]).done).code).toBe(0);
    // ESC at the end of one token, "]0;" in the next: escaping each token's ESC on its own must hold.
    const tokens = ["Feed the starter ", "\u001b", "]0;hijack", "\u0007 daily", " \u001b[", "2J", "\r", "\u009b", "31m [1].", "\nDone\tok"];
    const server = await startOpenAiServer({ kind: "stream", tokens });
    try {
      const env = cleanEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.baseURL, RAG_MAX_RETRIES: "0" });
      const args = ["ask", QUESTION, "--index", index, "--llm", "openai", "--reranker", "bm25"];
      const human = await startCli(args, { env }).done;
      expect(human.code, human.stderr).toBe(0);
      expectNoControlCodes(human.stdout + human.stderr, "ask");
      expect(human.stdout).toContain("Feed the starter \\x1b]0;hijack\\x07 daily \\x1b[2J\\r\\x9b31m [1].\nDone\tok");
      const json = await startCli([...args, "--json"], { env }).done;
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout).answer).toBe(tokens.join(""));
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe("a key streamed back by the server", () => {
  it("is redacted from the answer in human output, --json and the library's streamed and invoked answer", async () => {
    const { docs, index } = await evilCorpus();
    expect((await startCli(["ingest", docs, "--index", index]).done).code).toBe(0);
    const server = await startOpenAiServer({ kind: "echo-authorization", before: "Your header was ", after: " [1].", chunkSize: 3 });
    try {
      const env = cleanEnv({ OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.baseURL, RAG_MAX_RETRIES: "0" });
      const args = ["ask", QUESTION, "--index", index, "--llm", "openai", "--reranker", "bm25"];
      const human = await startCli(args, { env }).done;
      const json = await startCli([...args, "--json"], { env }).done;
      expect([human.code, json.code], human.stderr + json.stderr).toEqual([0, 0]);
      // The key was really sent and echoed, so not showing it is redaction, not luck.
      expect(server.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(human.stdout).toContain("Your header was Bearer <redacted> [1].");
      expect(JSON.parse(json.stdout).answer).toBe("Your header was Bearer <redacted> [1].");
      expectNoSecret(human, "human", [KEY]);
      expectNoSecret(json, "json", [KEY]);

      // The library: the pipeline's chain redacts every configured secret by default.
      const config = loadConfig({ RAG_INDEX_DIR: index, RAG_LLM: "openai", RAG_RERANKER: "bm25", OPENAI_API_KEY: KEY, OPENAI_BASE_URL: server.baseURL }, {});
      const pipeline = await createPipeline(config);
      try {
        const chunks: string[] = [];
        for await (const chunk of await pipeline.chain.stream(QUESTION)) if (chunk.answer) chunks.push(chunk.answer);
        expect(chunks.length).toBeGreaterThan(1);
        expect(chunks.join("")).toBe("Your header was Bearer <redacted> [1].");
        expect((await pipeline.chain.invoke(QUESTION)).answer).toBe("Your header was Bearer <redacted> [1].");
      } finally {
        await pipeline.close();
      }
    } finally {
      await server.close();
    }
  }, 120_000);

  it("is caught wherever the stream splits it, twice in one answer, and a key's prefix alone passes through", async () => {
    const { store, stats } = await smallStore();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "bm25", stats, fetchK: 8, topN: 3 });
    // The answer ends with the key's first characters: not a key, so they must come out at the end.
    const after = ` and again Bearer ${KEY}; that is all: ${KEY.slice(0, 9)}`;
    const expected = `key: Bearer <redacted> and again Bearer <redacted>; that is all: ${KEY.slice(0, 9)}`;
    for (const chunkSize of [1, 2, 3, 5, 7, 11, 64]) {
      const server = await startOpenAiServer({ kind: "echo-authorization", before: "key: ", after, chunkSize });
      try {
        const llm = new ChatOpenAI({ model: "test-model", apiKey: KEY, configuration: { baseURL: server.baseURL }, maxRetries: 0 });
        const chain = createAnswerChain({ retriever, llm, secrets: [KEY] });
        const chunks: string[] = [];
        for await (const chunk of await chain.stream("How do I configure OAuth2?")) if (chunk.answer) chunks.push(chunk.answer);
        expect(chunks.join(""), `chunks of ${chunkSize}`).toBe(expected);
      } finally {
        await server.close();
      }
    }
  }, 60_000);
});

describe("credentials in URLs", () => {
  /** A port nothing listens on: a server's, after it closed. */
  async function closedPort(): Promise<number> {
    const server = await startOpenAiServer({ kind: "hang" });
    await server.close();
    return Number(new URL(server.baseURL).port);
  }

  it("are never shown: not in 'could not reach', hints, models pull, config errors, --json or files written", async () => {
    const { root, docs, index } = await evilCorpus();
    expect((await startCli(["ingest", docs, "--index", index]).done).code).toBe(0);
    const port = await closedPort();
    const refused = `http://127.0.0.1:${port}`;
    const openai = await startOpenAiServer({ kind: "stream", tokens: ["ok [1]."] });
    const cohere = await startCohereServer();
    const hub = await startHubServer({});
    const secrets = [KEY, COHERE_KEY, HF_TOKEN, PASSWORD, QUERY_TOKEN];
    const base = { OPENAI_API_KEY: KEY, COHERE_API_KEY: COHERE_KEY, HF_TOKEN, RAG_MAX_RETRIES: "0", RAG_TIMEOUT_MS: "5000" };
    const env = (extra: Record<string, string>) => cleanEnv({ ...base, ...extra });
    const ask = (extra: Record<string, string>, args: string[]) => startCli(["ask", QUESTION, "--index", index, ...args], { env: env(extra) }).done;
    const pull = (endpoint: string) =>
      startCli(["models", "pull", "Xenova/tiny", "--models-dir", path.join(root, "models")], { env: env({ HF_ENDPOINT: endpoint }) }).done;
    const openaiLlm = ["--llm", "openai", "--reranker", "bm25"];
    try {
      const runs = {
        openaiUserinfo: await ask({ OPENAI_BASE_URL: `http://user:${PASSWORD}@127.0.0.1:${port}/v1?api_key=${QUERY_TOKEN}` }, openaiLlm),
        openaiRefused: await ask({ OPENAI_BASE_URL: `${refused}/v1?api_key=${QUERY_TOKEN}` }, openaiLlm),
        openaiRefusedJson: await ask({ OPENAI_BASE_URL: `${refused}/v1?access_token=${QUERY_TOKEN}` }, [...openaiLlm, "--json"]),
        openaiServer: await ask({ OPENAI_BASE_URL: `${openai.baseURL}?key=${QUERY_TOKEN}` }, [...openaiLlm, "--json"]),
        openaiBadUrl: await ask({ OPENAI_BASE_URL: `http://user:${PASSWORD}@[bad/v1?key=${QUERY_TOKEN}` }, openaiLlm),
        cohereUserinfo: await ask({ COHERE_BASE_URL: `http://user:${PASSWORD}@${cohere.baseUrl.slice(7)}` }, ["--llm", "extractive", "--reranker", "cohere"]),
        cohereRefused: await ask({ COHERE_BASE_URL: `${refused}/?token=${QUERY_TOKEN}` }, ["--llm", "extractive", "--reranker", "cohere"]),
        cohereLlm: await ask({ COHERE_BASE_URL: `${refused}/?sig=${QUERY_TOKEN}` }, ["--llm", "cohere", "--reranker", "bm25"]),
        hubUserinfo: await pull(`http://user:${PASSWORD}@${hub.url.slice(7)}`),
        hubRefused: await pull(`${refused}/?token=${QUERY_TOKEN}`),
        hubServer: await pull(`${hub.url}/?access_token=${QUERY_TOKEN}`),
        hubBadScheme: await pull(`ftp://user:${PASSWORD}@127.0.0.1/?token=${QUERY_TOKEN}`),
      };
      for (const [name, run] of Object.entries(runs)) {
        expectNoSecret(run, name, secrets);
        expect(run.stdout + run.stderr, name).not.toMatch(/\/\/user[:@]/);
      }
      const errors = Object.fromEntries(Object.entries(runs).map(([name, run]) => [name, run.stderr.split("\n").find((line) => line.startsWith("error: "))]));
      expect(errors).toEqual({
        openaiUserinfo: `error: Invalid OPENAI_BASE_URL="${refused}/v1": must not contain user:password@ (HTTP clients refuse such URLs); set the key in OPENAI_API_KEY`,
        openaiRefused: expect.stringContaining(`openai: could not reach ${refused}/v1 (`),
        openaiRefusedJson: expect.stringContaining(`openai: could not reach ${refused}/v1 (`),
        openaiServer: undefined,
        openaiBadUrl: `error: Invalid OPENAI_BASE_URL="http://[bad/v1": Invalid URL`,
        cohereUserinfo: `error: Invalid COHERE_BASE_URL="${cohere.baseUrl}": must not contain user:password@ (HTTP clients refuse such URLs); set the key in COHERE_API_KEY`,
        cohereRefused: expect.stringMatching(/^error: cohere: /),
        cohereLlm: expect.stringMatching(/^error: cohere: /),
        hubUserinfo: `error: Invalid HF_ENDPOINT="${hub.url}": it must not contain user:password@.`,
        hubRefused: expect.stringContaining(`${refused}/ is unreachable`),
        hubServer: expect.stringContaining(`Model Xenova/tiny was not found on ${hub.url}/`),
        hubBadScheme: `error: Invalid HF_ENDPOINT="ftp://127.0.0.1": expected an http(s) URL.`,
      });
      expect(runs.openaiServer.code, runs.openaiServer.stderr).toBe(0);
      for (const { file, bytes } of await filesUnder(root)) for (const secret of secrets) expect(bytes.includes(secret), file).toBe(false);
    } finally {
      await Promise.all([openai.close(), cohere.close(), hub.close()]);
    }
  }, 180_000);
});
