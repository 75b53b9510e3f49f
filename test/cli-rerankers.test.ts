import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, REPO_ROOT, runCli } from "./helpers/cli.js";
import { startCohereServer } from "./helpers/cohere-server.js";
import { startRerankServer } from "./helpers/rerank-server.js";
import { makeModelsDir } from "./helpers/test-models.js";

const SEED = "How do I configure OAuth2 in the API?";
let work: string;
let index: string;
let generated: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-cli-rr-"));
  index = path.join(work, "index");
  generated = makeModelsDir({ "tiny-cross-encoder": { preset: "tiny" } });
  const result = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", index]);
  expect(result.code, result.stderr).toBe(0);
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
  await fs.rm(generated, { recursive: true, force: true });
});

describe("neural re-rankers from the CLI", () => {
  it("imports a model folder, lists it, and re-ranks offline with --reranker cross-encoder", async () => {
    const modelsDir = path.join(work, "models");
    const imported = await runCli(["models", "import", path.join(generated, "tiny-cross-encoder"), "--as", "test-org/tiny-ce", "--models-dir", modelsDir]);
    expect(imported.code, imported.stderr).toBe(0);
    const listed = await runCli(["models", "list", "--models-dir", modelsDir, "--json"]);
    expect(JSON.parse(listed.stdout).models.map((m: { id: string }) => m.id)).toEqual(["test-org/tiny-ce"]);

    const env = cleanEnv({ RAG_MODELS_DIR: modelsDir, RAG_RERANKER_MODEL: "test-org/tiny-ce", HF_ENDPOINT: "http://127.0.0.1:1/" });
    const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index, "--reranker", "cross-encoder", "--json"], { env });
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.pipeline).toContain("rerank=cross-encoder");
    expect(body.sources).toHaveLength(5);
    for (const source of body.sources) {
      expect(source.rerankScore).toBeGreaterThan(0);
      expect(source.rerankScore).toBeLessThan(1);
    }
  });

  it("picks the cross-encoder under auto once the default model is present", async () => {
    const modelsDir = path.join(work, "models-default");
    const imported = await runCli([
      "models",
      "import",
      path.join(generated, "tiny-cross-encoder"),
      "--as",
      "Xenova/ms-marco-MiniLM-L-6-v2",
      "--models-dir",
      modelsDir,
    ]);
    expect(imported.code, imported.stderr).toBe(0);
    const { code, stderr } = await runCli(["ask", SEED, "--index", index], { env: cleanEnv({ RAG_MODELS_DIR: modelsDir }) });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("→ rerank=cross-encoder (local) →");
  });

  it("falls back to BM25 under auto without a model, saying so in one line", async () => {
    const { code, stderr } = await runCli(["ask", SEED, "--index", index]);
    expect(code).toBe(0);
    const notes = stderr.split("\n").filter((line) => line.includes("no cross-encoder"));
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/rerank=bm25 \(offline\): no cross-encoder Xenova\/ms-marco-MiniLM-L-6-v2 in .*models pull/);
  });

  it("fails an explicit --reranker cross-encoder without a model, naming it and the three ways to provide it", async () => {
    const env = cleanEnv({ RAG_MODELS_DIR: path.join(work, "empty-models"), HF_ENDPOINT: "http://127.0.0.1:1/" });
    const { code, stderr } = await runCli(["ask", SEED, "--index", index, "--reranker", "cross-encoder"], { env });
    expect(code).toBe(2);
    expect(stderr).toContain("Xenova/ms-marco-MiniLM-L-6-v2");
    expect(stderr).toMatch(/models pull Xenova\/ms-marco-MiniLM-L-6-v2/);
    expect(stderr).toMatch(/models import <dir> --as Xenova\/ms-marco-MiniLM-L-6-v2/);
    expect(stderr).toContain("RAG_RERANKER_MODEL");
  });

  it("re-ranks with Cohere through COHERE_BASE_URL, and --no-rerank sends it nothing", async () => {
    const server = await startCohereServer();
    try {
      // Named: a Cohere key alone does not send the candidates anywhere (auto stays local).
      const env = cleanEnv({ RAG_RERANKER: "cohere", COHERE_API_KEY: "sk-SENTINEL-cli", COHERE_BASE_URL: server.baseUrl });
      const off = await runCli(["ask", SEED, "--index", index, "--no-rerank", "--llm", "extractive", "--json"], { env });
      expect(off.code, off.stderr).toBe(0);
      expect(server.requests).toHaveLength(0);
      const on = await runCli(["ask", SEED, "--index", index, "--llm", "extractive", "--json"], { env });
      expect(on.code, on.stderr).toBe(0);
      const body = JSON.parse(on.stdout);
      expect(body.pipeline).toContain(`rerank=cohere (${new URL(server.baseUrl).host})`);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]!.body.documents).toHaveLength(50);
      expect(on.stdout + on.stderr).not.toContain("sk-SENTINEL-cli");
    } finally {
      await server.close();
    }
  });

  it.each(["tei", "jina", "voyage"] as const)("re-ranks with --reranker %s through its base URL and key, sending only when named", async (wire) => {
    const server = await startRerankServer(wire);
    try {
      const NAME = wire.toUpperCase();
      const env = cleanEnv({ [`${NAME}_BASE_URL`]: server.baseUrl, [`${NAME}_API_KEY`]: `sk-SENTINEL-${wire}`, RAG_MODELS_DIR: path.join(work, "no-models") });
      const auto = await runCli(["ask", SEED, "--index", index, "--llm", "extractive", "--json"], { env });
      expect(auto.code, auto.stderr).toBe(0);
      expect(server.requests).toHaveLength(0);
      const on = await runCli(["ask", SEED, "--index", index, "--reranker", wire, "--llm", "extractive", "--json"], { env });
      expect(on.code, on.stderr).toBe(0);
      expect(JSON.parse(on.stdout).pipeline).toContain(`rerank=${wire}`);
      // TEI takes at most 32 texts a request by default, so its 50 candidates go as 32 + 18.
      const sent = server.requests.map((request) => (request.body[wire === "tei" ? "texts" : "documents"] as unknown[]).length);
      expect(sent.sort((a, b) => b - a)).toEqual(wire === "tei" ? [32, 18] : [50]);
      expect(on.stdout + on.stderr).not.toContain(`sk-SENTINEL-${wire}`);
    } finally {
      await server.close();
    }
  });

  it("keeps the first-stage order with a warning when Cohere fails and RAG_RERANK_ON_ERROR=fallback", async () => {
    const server = await startCohereServer();
    server.always({ status: 500, body: { message: "internal error" } });
    try {
      const env = cleanEnv({
        RAG_RERANKER: "cohere",
        COHERE_API_KEY: "k",
        COHERE_BASE_URL: server.baseUrl,
        RAG_RERANK_ON_ERROR: "fallback",
        RAG_MAX_RETRIES: "0",
      });
      const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index, "--llm", "extractive"], { env });
      expect(code, stderr).toBe(0);
      expect(stderr).toMatch(/warning: cohere re-rank failed .*first-stage order kept/);
      expect(stdout).toContain("Sources (after re-ranking)");
      const failing = await runCli(["ask", SEED, "--index", index, "--llm", "extractive"], { env: { ...env, RAG_RERANK_ON_ERROR: "error" } });
      expect(failing.code).toBe(1);
      expect(failing.stderr).toMatch(/cohere: .*500/);
    } finally {
      await server.close();
    }
  });
});
