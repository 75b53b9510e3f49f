// What a cold start loads, so start-up laziness cannot silently regress: `--version` and `--help`
// load no dependency but the argument parser, importing the package loads no Postgres driver or
// model runtime, and `ask` on the offline stack loads only what it runs. Not timed: the `startup`
// bench case measures the milliseconds; this checks the module lists, which do not vary.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, REPO_ROOT, runCli } from "./helpers/cli.js";

const exec = promisify(execFile);
const RECORDER = path.join(REPO_ROOT, "test", "helpers", "record-loads.mjs");
let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-startup-"));
});
afterAll(() => fs.rm(work, { recursive: true, force: true }));

/** The npm packages a node process loaded (by name), from the module URLs it recorded. */
async function packagesLoaded(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<Set<string>> {
  const log = path.join(work, `loads-${Math.random().toString(36).slice(2)}.txt`);
  await exec(process.execPath, ["--import", RECORDER, ...args], { cwd: REPO_ROOT, env: { ...env, RECORD_LOADS: log } });
  const urls = (await fs.readFile(log, "utf8")).split("\n").filter(Boolean);
  expect(
    urls.some((url) => url.includes("/dist/")),
    "the recorder saw the package's own modules",
  ).toBe(true);
  return new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
}

const HEAVY = [
  "pg",
  "pg-pool",
  "onnxruntime-node",
  "onnxruntime-common",
  "@huggingface/transformers",
  "cohere-ai",
  "@langchain/cohere",
  "@langchain/openai",
  "hnswlib-node",
];

describe("start-up laziness", () => {
  it.each([["--version"], ["--help"]])("rerank-rag %s loads no dependency but commander and dotenv", async (flag) => {
    const loaded = await packagesLoaded([CLI, flag]);
    expect([...loaded].sort()).toEqual(["commander", "dotenv"]);
  });

  it('import("rerank-rag") loads neither pg nor a model runtime nor a remote client', async () => {
    const loaded = await packagesLoaded(["--input-type=module", "-e", 'await import("rerank-rag")']);
    expect(loaded.has("@langchain/core"), "the import itself was recorded").toBe(true);
    expect(HEAVY.filter((name) => loaded.has(name))).toEqual([]);
  });

  it('import("rerank-rag/pgvector") is where pg loads', async () => {
    const loaded = await packagesLoaded(["--input-type=module", "-e", 'await import("rerank-rag/pgvector")']);
    expect(loaded.has("pg")).toBe(true);
  });

  it("ask on the offline stack loads only what it runs (no Postgres, model runtime, remote client, SVD or lock library)", async () => {
    const index = path.join(work, "index");
    const ingested = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", index]);
    expect(ingested.code, ingested.stderr).toBe(0);
    const loaded = await packagesLoaded([CLI, "ask", "How do I configure OAuth2?", "--index", index, "--reranker", "bm25", "--llm", "extractive"]);
    expect(loaded.has("hnswlib-node"), "the ask ran its HNSW search").toBe(true);
    expect([...HEAVY.filter((name) => name !== "hnswlib-node"), "ml-matrix", "proper-lockfile"].filter((name) => loaded.has(name))).toEqual([]);
  });
});
