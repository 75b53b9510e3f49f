// What a cold start loads, so start-up laziness cannot silently regress: `--version` and `--help`
// load no dependency but the argument parser, importing the package loads no Postgres driver or
// model runtime, and `ask` on the offline stack loads only what it runs. The module graph is
// checked on the compiled sources (the bundle keeps their lazy-import boundaries as chunks), then
// the shipped bundle itself. Not timed: the `startup` bench case measures the milliseconds; this
// checks the module lists, which do not vary.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, cleanEnv, REPO_ROOT, runCli } from "./helpers/cli.js";

const exec = promisify(execFile);
const RECORDER = path.join(REPO_ROOT, "test", "helpers", "record-loads.mjs");
/** The unbundled command, whose imports name their packages. */
const SOURCE_CLI = path.join(REPO_ROOT, "dist", "src", "cli", "bin.js");
let work: string;

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-startup-"));
});
afterAll(() => fs.rm(work, { recursive: true, force: true }));

/** The module URLs a node process loaded, as recorded. */
async function urlsLoaded(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<string[]> {
  const log = path.join(work, `loads-${Math.random().toString(36).slice(2)}.txt`);
  await exec(process.execPath, ["--import", RECORDER, ...args], { cwd: REPO_ROOT, env: { ...env, RECORD_LOADS: log } });
  const urls = (await fs.readFile(log, "utf8")).split("\n").filter(Boolean);
  expect(
    urls.some((url) => url.includes("/dist/")),
    "the recorder saw the package's own modules",
  ).toBe(true);
  return urls;
}

/** The npm packages a node process loaded (by name). */
async function packagesLoaded(args: string[], env?: NodeJS.ProcessEnv): Promise<Set<string>> {
  const urls = await urlsLoaded(args, env);
  return new Set(urls.flatMap((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1] ?? []));
}

async function ingestSample(): Promise<string> {
  const index = path.join(work, "index");
  const ingested = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", index]);
  expect(ingested.code, ingested.stderr).toBe(0);
  return index;
}

const OFFLINE_ASK = ["ask", "How do I configure OAuth2?", "--reranker", "bm25", "--llm", "extractive"];

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

describe("start-up laziness (module graph)", () => {
  it("rerank-rag --version loads no dependency", async () => {
    expect([...(await packagesLoaded([SOURCE_CLI, "--version"]))]).toEqual([]);
  });

  it("rerank-rag --help loads no dependency but commander and dotenv", async () => {
    const loaded = await packagesLoaded([SOURCE_CLI, "--help"]);
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
    const loaded = await packagesLoaded([SOURCE_CLI, ...OFFLINE_ASK, "--index", await ingestSample()]);
    expect(loaded.has("hnswlib-node"), "the ask ran its HNSW search").toBe(true);
    expect([...HEAVY.filter((name) => name !== "hnswlib-node"), "ml-matrix", "proper-lockfile"].filter((name) => loaded.has(name))).toEqual([]);
  });
});

describe("the shipped command (dist/bin bundle)", () => {
  it("--version answers before the CLI's main module loads, with nothing from node_modules", async () => {
    const urls = await urlsLoaded([CLI, "--version"]);
    expect(urls.filter((url) => url.includes("/node_modules/"))).toEqual([]);
    expect(urls.filter((url) => path.basename(url).startsWith("main-"))).toEqual([]);
  });

  it("--help loads none of the commands' chunks", async () => {
    const chunks = (await urlsLoaded([CLI, "--help"])).filter((url) => url.includes("/dist/bin/"));
    const commands = ["ask-", "ingest-", "eval-", "demo-", "models-", "check-"];
    expect(chunks.filter((url) => commands.some((name) => path.basename(url).startsWith(name)))).toEqual([]);
  });

  it("offline ask runs from the bundle and loads no external runtime but hnswlib-node", async () => {
    const loaded = await packagesLoaded([CLI, ...OFFLINE_ASK, "--index", await ingestSample()]);
    // hnswlib-node finds its native addon through `bindings`.
    expect([...loaded].filter((name) => !["hnswlib-node", "bindings", "file-uri-to-path"].includes(name))).toEqual([]);
  });
});
