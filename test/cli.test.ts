import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv, REPO_ROOT, runCli, startCli } from "./helpers/cli.js";
import { startOpenAiServer } from "./helpers/openai-server.js";
import { loadConfig } from "../src/config/index.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { NOT_ANSWERED } from "../chains/index.js";
import { DEFAULT_MIN_SCORES } from "../src/rerankers/cut-off.js";

const SEED = "How do I configure OAuth2 in the API?";

/** Resolves once `condition` holds, checking every 20 ms; fails after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
let work: string;
let index: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-cli-"));
  index = path.join(work, "index");
  const result = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", index]);
  expect(result.code, result.stderr).toBe(0);
});
afterAll(() => fs.rm(work, { recursive: true, force: true }));

describe("rerank-rag ingest + ask", () => {
  it("summarises the ingest and skips everything on a second run", async () => {
    const again = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", index]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/Index is up to date \(0 new, 0 changed, 0 removed, 4\d unchanged\)/);
  });

  it("counts in the singular for one file and one chunk", async () => {
    const one = path.join(work, "one");
    await fs.mkdir(one);
    await fs.writeFile(path.join(one, "note.md"), "# Note\n\nThe ferry leaves at eight.\n");
    const result = await runCli(["ingest", one, "--index", path.join(work, "one-index")]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("Reading 1 file…");
    expect(result.stderr).toContain("Embedding 1 chunk from 1 file…");
  });

  it("declines a question the documents do not answer, listing the closest sources as related", async () => {
    const question = "Which wine pairs best with grilled salmon?";
    const { code, stdout, stderr } = await runCli(["ask", question, "--index", index, "--json"]);
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    expect(body).toMatchObject({ answered: false, answer: NOT_ANSWERED });
    expect(body.sources.length).toBeGreaterThan(0);
    for (const source of body.sources) expect(source).toMatchObject({ belowCutOff: true, cutOff: DEFAULT_MIN_SCORES.bm25 });
    const forced = await runCli(["ask", question, "--index", index, "--json", "--min-score", "0"]);
    expect(JSON.parse(forced.stdout).answered).toBe(true);
    const text = await runCli(["ask", question, "--index", index]);
    expect(text.stdout).toContain(NOT_ANSWERED);
    // The score the gate held against the cut-off is shown, not only bm25's relative rerank score.
    const best = Math.max(...body.sources.map((s: { evidenceScore: number }) => s.evidenceScore));
    expect(text.stdout).toContain(`Related sources (best evidence ${best.toFixed(2)} < cut-off ${DEFAULT_MIN_SCORES.bm25}: they do not answer the question)`);
    expect(text.stdout).toMatch(/rerank \d\.\d{3} {2}evidence \d\.\d{2} {2}first stage #1/);
  });

  it("answers the seed question with the OAuth2 configuration page as the top source", async () => {
    const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index, "--json"]);
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.sources[0].source).toBe("authentication/oauth2-client-credentials.md");
    expect(body.sources[0].heading).toBe("Configuring OAuth2 client credentials");
    expect(body.sources).toHaveLength(5);
    expect(body.firstStage).toHaveLength(5);
    expect(body.answer).toMatch(/\[1\]/);
    expect(body.pipeline).toMatch(
      /^embeddings=offline-lsa \(\d+-d, local\) → HNSW\+BM25 top 50 \(local\) → rerank=bm25 \(local\) → top 5 → llm=extractive \(local\)$/,
    );
    expect(typeof body.sources[0].rerankScore).toBe("number");
  });

  it("streams a human answer, then the sources after and before re-ranking", async () => {
    const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index]);
    expect(code).toBe(0);
    expect(stderr).toContain("→ rerank=bm25 (local) →");
    expect(stdout).toContain("Sources (after re-ranking)");
    expect(stdout).toContain("[1] authentication/oauth2-client-credentials.md § OAuth2 client credentials › Configuring OAuth2 client credentials");
    expect(stdout).toContain("First-stage top 5 (before re-ranking)");
    expect(stdout.indexOf("[1]")).toBeLessThan(stdout.indexOf("Sources"));
  });

  it("shows the first-stage order with --no-rerank", async () => {
    const { code, stdout } = await runCli(["ask", SEED, "--index", index, "--no-rerank", "--json", "--top-n", "3"]);
    expect(code).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.pipeline).toContain("rerank=none");
    expect(body.sources.map((s: { retrievalRank: number }) => s.retrievalRank)).toEqual([1, 2, 3]);
    expect(body.sources.every((s: { rerankScore?: number }) => s.rerankScore === undefined)).toBe(true);
    // The evidence gate still judges them, and the list says by what.
    expect(body.sources.every((s: { evidenceScore?: number }) => typeof s.evidenceScore === "number")).toBe(true);
    const human = await runCli(["ask", SEED, "--index", index, "--no-rerank", "--top-n", "3"]);
    expect(human.stdout).toMatch(/\n {4}evidence \d\.\d\d {2}first stage #1 \(score /);
  });

  it("search lists the sources ask would answer from, after and before re-ranking, without an answer", async () => {
    const human = await runCli(["search", SEED, "--index", index]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^Sources \(after re-ranking\)\n\[1\] authentication\/oauth2-client-credentials\.md/);
    expect(human.stdout).toContain("First-stage top 5 (before re-ranking)");
    expect(human.stdout).not.toContain("Extractive answer");
    const json = await runCli(["search", SEED, "--index", index, "--json", "--top-n", "3"]);
    const body = JSON.parse(json.stdout);
    expect(body).toMatchObject({ query: SEED, answerable: true });
    expect(body.sources).toHaveLength(3);
    expect(body.firstStage).toHaveLength(3);
    expect(body.answer).toBeUndefined();
    const offTopic = JSON.parse((await runCli(["search", "What is the capital of France?", "--index", index, "--json"])).stdout);
    expect(offTopic.answerable).toBe(false);
    const empty = await runCli(["search", " ", "--index", index]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain("The query is empty.");
  });

  it("searches only the chunks --filter names, inside the first stage, and rejects a malformed one", async () => {
    const { code, stdout, stderr } = await runCli([
      "ask",
      SEED,
      "--index",
      index,
      "--json",
      "--filter",
      "source=webhooks/**,errors/**",
      "--filter",
      "format=md",
    ]);
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    const sources = [...body.sources, ...body.firstStage].map((s: { source: string }) => s.source);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.every((s) => /^(webhooks|errors)\//.test(s))).toBe(true);
    const none = await runCli(["ask", SEED, "--index", index, "--json", "--filter", "source=nowhere/**"]);
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout).sources).toEqual([]);
    expect(JSON.parse(none.stdout).warning).toBe("No chunk matches the --filter given, so nothing was searched.");
    // A folder named without /** matches no file: the warning says how to name it.
    const folder = await runCli(["search", SEED, "--index", index, "--filter", "source=webhooks"]);
    expect(folder.code, folder.stderr).toBe(0);
    expect(folder.stderr).toContain("source=webhooks/** names everything under the folder webhooks.");
    expect(folder.stdout).toBe("Nothing found.\n");
    const bad = await runCli(["ask", SEED, "--index", index, "--filter", "lang=en", "--filter", "lang=fr"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Invalid filter: --filter names lang twice; list its values once, comma-separated (lang=a,b).");
  });

  it("decides per question with --rerank auto, and says what it decided and why in --json and the source list", async () => {
    const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index, "--rerank", "auto", "--json"]);
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.pipeline).toContain("rerank=bm25 (local; auto: skipped when the first stage is sure)");
    const { adaptive } = body.rerank as { adaptive: { rerank: boolean; reason: string; signals: { topAgree: boolean } } };
    expect(adaptive.reason).toMatch(adaptive.rerank ? /^re-ranked: / : /^skipped: first stage sure/);
    expect(adaptive.rerank).toBe(!adaptive.signals.topAgree);
    // Skipped: the first-stage order, no re-rank scores.
    expect(body.sources.some((s: { rerankScore?: number }) => s.rerankScore !== undefined)).toBe(adaptive.rerank);
    const human = await runCli(["ask", SEED, "--index", index, "--rerank", "auto"], { env: cleanEnv({ NO_COLOR: "1" }) });
    expect(human.stdout).toContain(
      adaptive.rerank ? `Sources (after re-ranking — ${adaptive.reason})` : `Sources (first-stage order: re-ranking ${adaptive.reason})`,
    );
  });

  it("runs a cascade from --reranker bm25:10,bm25 and reports each stage", async () => {
    const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index, "--reranker", "bm25:10,bm25", "--json"]);
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.pipeline).toContain("rerank=bm25:10 → bm25 (local) → top 5");
    expect(body.rerank.stages.map((s: { candidates: number; returned: number }) => [s.candidates, s.returned])).toEqual([
      [50, 10],
      [10, 10],
    ]);
    const human = await runCli(["ask", SEED, "--index", index, "--reranker", "bm25:10,bm25"]);
    expect(human.stderr).toMatch(/cascade: bm25 50→10 in [\d.]+ ms, then bm25 10→10 in [\d.]+ ms; the top 5 kept/);
    const bad = await runCli(["ask", SEED, "--index", index, "--reranker", "bm25,cohere"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Stage "bm25" of the cascade "bm25,cohere" needs a whole count of candidates to keep');
  });

  it("streams from an OpenAI-compatible server given by OPENAI_BASE_URL", async () => {
    const server = await startOpenAiServer({ kind: "stream", tokens: ["Create ", "an OAuth2 client ", "[1]."] });
    try {
      const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", index], { env: cleanEnv({ OPENAI_BASE_URL: server.baseURL }) });
      expect(code, stderr).toBe(0);
      expect(stdout).toContain("Create an OAuth2 client [1].");
      expect(stderr).toContain("llm=openai:gpt-4o-mini");
      expect(server.requests.map((r) => r.body.stream)).toEqual([true]);
    } finally {
      await server.close();
    }
  });
});

describe("rerank-rag ask with a remote embedder", () => {
  it("embeds the question once and lists the same first stage as a separate first-stage call", async () => {
    const server = await startOpenAiServer({ kind: "stream", tokens: ["Create ", "a client ", "[1]."] });
    try {
      const env = cleanEnv({ OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: "sk-test", RAG_EMBEDDINGS: "openai", RAG_RERANKER: "bm25" });
      const remote = path.join(work, "openai-index");
      const ingested = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", remote], { env });
      expect(ingested.code, ingested.stderr).toBe(0);
      const embeddingCalls = () => server.requests.filter((r) => r.url.endsWith("/embeddings"));
      const before = embeddingCalls().length;

      const { code, stdout, stderr } = await runCli(["ask", SEED, "--index", remote, "--json"], { env });
      expect(code, stderr).toBe(0);
      // One query embedding, billed once: the "before re-ranking" list comes from the same retrieval.
      expect(
        embeddingCalls()
          .slice(before)
          .map((r) => r.body.input),
      ).toEqual([SEED]);
      const body = JSON.parse(stdout);

      const pipeline = await createPipeline(loadConfig({ RAG_INDEX_DIR: remote }, env));
      const expected = await pipeline.retriever.invoke(SEED, { configurable: { rerank: false } });
      const ids = (docs: Array<{ chunkId?: unknown; metadata?: Record<string, unknown> }>) => docs.map((d) => d.chunkId ?? d.metadata?.chunkId);
      expect(body.firstStage).toHaveLength(5);
      expect(ids(body.firstStage)).toEqual(ids(expected));
      expect(body.firstStage.map((s: { retrievalScore: number }) => s.retrievalScore)).toEqual(expected.map((d) => d.metadata.retrievalScore));
      expect(body.sources.map((s: { retrievalRank: number }) => s.retrievalRank)).not.toEqual([1, 2, 3, 4, 5]);
    } finally {
      await server.close();
    }
  });
});

describe("rerank-rag errors", () => {
  it("exits 1 with a hint when asked before any ingest", async () => {
    const { code, stderr } = await runCli(["ask", SEED, "--index", path.join(work, "nothing-here")]);
    expect(code).toBe(1);
    expect(stderr).toContain("No index found");
    expect(stderr).toContain("rerank-rag ingest");
  });

  it("exits 2 for an unknown provider, listing the choices", async () => {
    const { code, stderr } = await runCli(["ask", SEED, "--index", index, "--reranker", "colbert"]);
    expect(code).toBe(2);
    expect(stderr).toContain('allowed values are "auto", "bm25", "cross-encoder", "cohere", "tei", "jina", "voyage", "none", or a cascade');
  });

  it("exits 2 for a nonexistent path and for an empty directory", async () => {
    const missing = await runCli(["ingest", path.join(work, "missing"), "--index", path.join(work, "i2")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Path not found");
    const empty = path.join(work, "empty");
    await fs.mkdir(empty);
    const result = await runCli(["ingest", empty, "--index", path.join(work, "i2")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("No supported files found");
  });

  it("exits 2 when every file found is skipped, listing each one's reason and leaving the index as it was", async () => {
    const junk = path.join(work, "junk");
    await fs.mkdir(junk);
    await fs.writeFile(path.join(junk, "logo.png"), "not text");
    await fs.writeFile(path.join(junk, "blob.txt"), Buffer.from([1, 0, 2, 0]));
    const current = await fs.readFile(path.join(index, "CURRENT"), "utf8");

    const human = await runCli(["ingest", junk, "--index", index]);
    expect(human.code).toBe(2);
    expect(human.stdout).toBe("");
    expect(human.stderr).toContain(`skipped ${path.join(junk, "logo.png")}: unsupported file type (supported: .md .markdown`);
    expect(human.stderr).toContain(`skipped ${path.join(junk, "blob.txt")}: binary content`);
    expect(human.stderr).toContain(
      `error: Nothing to ingest under ${junk}: all 2 files found were skipped (1 unsupported file type, 1 binary content); the index was not changed.`,
    );
    expect(human.stderr).toMatch(/hint: Supported: \.md .*\. Each skipped file.s reason says what would let it in\./);
    expect(human.stderr).not.toMatch(/Indexed|chunks/);

    const json = await runCli(["ingest", junk, "--index", index, "--json"]);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      written: false,
      error: expect.stringContaining("Nothing to ingest"),
      hint: expect.stringContaining("Supported:"),
      skipped: [
        { path: path.join(junk, "logo.png"), reason: expect.stringContaining("unsupported file type") },
        { path: path.join(junk, "blob.txt"), reason: expect.stringContaining("binary content") },
      ],
      ignored: 0,
      warnings: [],
    });
    expect(await fs.readFile(path.join(index, "CURRENT"), "utf8")).toBe(current);
    const ask = await runCli(["ask", SEED, "--index", index, "--json"]);
    expect(JSON.parse(ask.stdout).sources[0].source).toBe("authentication/oauth2-client-credentials.md");
  });

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("stops an ingest on %s with exit code %i, leaving the previous index live and answering as before", async (signal, exitCode) => {
    const big = path.join(work, `big-${signal}`);
    await fs.mkdir(big);
    // Enough files that reading them alone takes well over the time the signal needs to arrive.
    for (let i = 0; i < 3000; i++) {
      const text = `# Ledger ${i}\n\nShipment ${i} of copper wire left the warehouse on pallet ${i % 40} and reached the depot in ${i % 9} days.\n`;
      await fs.writeFile(path.join(big, `ledger-${i}.md`), text);
    }
    const before = await runCli(["ask", SEED, "--index", index, "--json"]);
    const snapshots = await fs.readdir(path.join(index, "snapshots"));
    const current = await fs.readFile(path.join(index, "CURRENT"), "utf8");

    const run = startCli(["ingest", big, "--index", index]);
    await until(() => run.lines.some(({ line }) => line.startsWith("Reading 3000 files")), 30_000);
    run.child.kill(signal);
    const result = await run.done;
    expect(result.code, result.stderr).toBe(exitCode);
    expect(result.stderr).toContain("Interrupted: the index was not changed.");
    expect(result.stderr).not.toContain("Indexed");
    expect(await fs.readFile(path.join(index, "CURRENT"), "utf8")).toBe(current);
    expect(await fs.readdir(path.join(index, "snapshots"))).toEqual(snapshots);
    await expect(fs.access(path.join(index, ".lock"))).rejects.toThrow();
    const after = await runCli(["ask", SEED, "--index", index, "--json"]);
    const { answer, sources } = JSON.parse(before.stdout);
    expect(JSON.parse(after.stdout)).toMatchObject({ answer, sources });
  });

  it("exits 2 when a chosen provider's API key is missing", async () => {
    const { code, stderr } = await runCli(["ask", SEED, "--index", index, "--llm", "openai"]);
    expect(code).toBe(2);
    expect(stderr).toContain("OPENAI_API_KEY is not set");
  });

  it("exits 2 when the index was built with another embedder", async () => {
    const { code, stderr } = await runCli(["ask", SEED, "--index", index], { env: cleanEnv({ RAG_EMBEDDINGS: "openai", OPENAI_API_KEY: "sk-x" }) });
    expect(code).toBe(2);
    expect(stderr).toContain("was built with embeddings=offline-lsa");
  });

  it("exits 1 within the timeout when the LLM server is unreachable", async () => {
    const started = Date.now();
    const { code, stderr } = await runCli(["ask", SEED, "--index", index], {
      env: cleanEnv({ OPENAI_BASE_URL: "http://127.0.0.1:9/v1", RAG_TIMEOUT_MS: "2000", RAG_MAX_RETRIES: "0" }),
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/error:.*(Connection|ECONNREFUSED|connect)/i);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("prints help and exits 0", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    for (const command of ["ingest", "ask", "demo"]) expect(stdout).toContain(command);
  });
});
