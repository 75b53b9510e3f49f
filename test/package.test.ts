// The package as an app gets it: `npm pack` the repository and install the tarball into a fresh
// sample app the way a user would (`npm install rerank-rag @langchain/core`: no flags, no npm
// settings, install scripts run; from the npm cache first, the registry for what `npm ci` does not
// cache: the version lists a range such as langchain@^1.5 needs). Then: only what a BM25 + OpenAI-compatible app needs is installed, the public
// subpaths and the README's Install snippets type-check under skipLibCheck: false, a BM25
// pipeline runs; then, with every optional package added in one plain `npm install`, the
// cross-encoder runs on a generated model, alone and over Postgres + pgvector, and every TypeScript
// snippet of README.md and docs/*.md type-checks. Every relative link of the shipped Markdown
// points into the tarball.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import os from "node:os";
import { describe, expect, it, onTestFinished } from "vitest";
import { writeTestModel } from "../scripts/test-models/write-model.js";
import { OPTIONAL_PACKAGES } from "../src/errors/index.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { startPgServer } from "./helpers/pg-server.js";

const exec = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const repoPackage = JSON.parse(await fs.readFile(path.join(REPO_ROOT, "package.json"), "utf8"));

const SAMPLE = `
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { createAnswerChain, createRerankingRetriever, ExtractiveChatModel, loadConfig, type RagConfig } from "rerank-rag";
import { RERANK_EVENT, RerankingRetriever, type RerankEvent, type RerankingRetrieverOptions } from "rerank-rag/chains";
import { Bm25Reranker, CorpusStats, CrossEncoderReranker, createReranker, resolveReranker, type CrossEncoderRerankerOptions } from "rerank-rag/rerankers";
import { evaluate, ndcgAt, type EvalResult } from "rerank-rag/eval";

export function build(vectorStore: VectorStoreInterface, stats: CorpusStats): RerankingRetriever {
  const options: RerankingRetrieverOptions = { vectorStore, reranker: new Bm25Reranker({ stats }), fetchK: 20, topN: 3 };
  const retriever = createRerankingRetriever(options);
  createAnswerChain({ retriever, llm: new ExtractiveChatModel() });
  return retriever;
}

export const config: RagConfig = loadConfig({ RAG_STORE: "pgvector", RAG_PG_URL: "postgres://localhost/rag" });
const crossEncoder: CrossEncoderRerankerOptions = { modelsDir: "/models", topN: 5, device: "cpu", dtype: "q8" };
export const rerankers = [new CrossEncoderReranker(crossEncoder), createReranker, resolveReranker(config)] as const;
export const event: { name: string; payload?: RerankEvent } = { name: RERANK_EVENT };
export const score: number = ndcgAt(["a"], new Map([["a", 1]]), 10);
export const run: typeof evaluate = evaluate;
export type Result = EvalResult;

// The types are real, not \`any\`:
// @ts-expect-error topN is a number
createRerankingRetriever({ vectorStore: undefined as unknown as VectorStoreInterface, topN: "5" });
// Only the exported subpaths resolve:
// @ts-expect-error internal modules are not part of the package's surface
import("rerank-rag/dist/src/store/pgvector.js");
`;

/** The Cohere and pgvector subpaths, type-checked once their packages are installed. */
const OPTIONAL_SAMPLE = `
import { CohereClient } from "cohere-ai";
import pg from "pg";
import { loadConfig, LsaEmbeddings } from "rerank-rag";
import { CohereReranker, createCohereReranker } from "rerank-rag/cohere";
import { openPgvectorIndex, PgvectorStore, type PgvectorIndex } from "rerank-rag/pgvector";

export const cohere = [new CohereReranker({ client: new CohereClient({ token: "k" }), topN: 3 }), createCohereReranker(loadConfig({ COHERE_API_KEY: "k" }))];
export const store = new PgvectorStore(LsaEmbeddings.fit(["a b", "b c"], { dimensions: 2 }), { pool: new pg.Pool(), tableName: "docs" });
export const open: (config: ReturnType<typeof loadConfig>) => Promise<PgvectorIndex> = openPgvectorIndex;
`;

/** Runs the pipeline the README's Install section describes, offline: BM25 or a cross-encoder, the extractive LLM; in Postgres when given its URL. */
const RUN = `
import { createPipeline, ingest, loadConfig } from "rerank-rag";
const [reranker, model, pgUrl] = process.argv.slice(2);
const store = pgUrl ? { RAG_STORE: "pgvector", RAG_PG_URL: pgUrl, RAG_PG_TABLE: "app_chunks" } : { RAG_INDEX_DIR: "idx-" + reranker };
const config = loadConfig({ ...store, RAG_RERANKER: reranker, RAG_RERANKER_MODEL: model, RAG_MODELS_DIR: "models", RAG_LLM: "extractive" }, {});
await ingest({ paths: ["docs"], config });
const pipeline = await createPipeline(config);
let answer = "";
for await (const chunk of await pipeline.chain.stream({ question: "How do I rotate an API key?" })) answer += chunk.answer ?? "";
const [top] = await pipeline.retriever.invoke("How do I rotate an API key?");
console.log(JSON.stringify({ pipeline: pipeline.description, answer, top: top?.metadata.source, rerankScore: top?.metadata.rerankScore }));
await pipeline.close();
`;

/**
 * The ```ts blocks of a Markdown text, each as a module to type-check. A block may be preceded by
 * `<!-- ts-context: … -->`, declarations the surrounding prose supplies (`declare const vectorStore:
 * VectorStoreInterface;`), prepended when checking and invisible when rendered; or by
 * `<!-- not-checked: why -->` for a deliberate fragment, which is skipped (keep these few).
 */
function tsSnippets(markdown: string): Array<{ code: string; line: number }> {
  const blocks = markdown.matchAll(/(?:^<!-- (ts-context|not-checked): ([\s\S]*?) -->\n)?^```ts\n([\s\S]*?)^```/gm);
  return [...blocks].flatMap((m) => {
    const line = markdown.slice(0, m.index).split("\n").length;
    if (m[1] === "not-checked") return [];
    return [{ code: (m[1] === "ts-context" ? `${m[2]}\n` : "") + m[3]!, line }];
  });
}

/** README.md's "Install" section, which must type-check with no optional package installed. */
async function installSection(): Promise<string> {
  const readme = await fs.readFile(path.join(REPO_ROOT, "README.md"), "utf8");
  return /^## Install\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? "";
}

/** Relative link targets of a Markdown file (no URLs, no in-page anchors), resolved to package paths. */
async function relativeLinks(file: string): Promise<string[]> {
  const text = await fs.readFile(path.join(REPO_ROOT, file), "utf8");
  const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^([a-z]+:|#)/i.test(t));
  return targets.map((t) => path.posix.normalize(path.posix.join(path.posix.dirname(file), t.split("#")[0]!)));
}

/** Bytes under a folder (apparent sizes, as du --apparent-size). */
async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await fs.readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await fs.stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** A package and every package it depends on, as installed (flat node_modules). */
async function closure(app: string, name: string, seen = new Set<string>()): Promise<Set<string>> {
  if (seen.has(name)) return seen;
  const manifest = path.join(app, "node_modules", name, "package.json");
  const pkg = JSON.parse(await fs.readFile(manifest, "utf8").catch(() => "null")) as { dependencies?: Record<string, string> } | null;
  if (!pkg) return seen;
  seen.add(name);
  for (const dep of Object.keys(pkg.dependencies ?? {})) await closure(app, dep, seen);
  return seen;
}

async function ramDiskOr(fallback: string): Promise<string> {
  try {
    await fs.access("/dev/shm", fs.constants.W_OK);
    const { bavail, bsize } = await fs.statfs("/dev/shm");
    return bavail * bsize > 2 * 1024 ** 3 ? "/dev/shm" : fallback;
  } catch {
    return fallback;
  }
}

// skipLibCheck: false, so every declaration file our types reach is checked too.
const tsconfig = (files: string[]) => ({
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: false, types: ["node"] },
  files,
});

const npmInstall = (cwd: string, args: string[] = []) =>
  exec(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...args], { cwd, maxBuffer: 16 * 1024 * 1024 }).catch(
    (error: { stderr?: string; message: string }) => {
      throw new Error(`npm install failed in the sample app:\n${error.stderr ?? error.message}`);
    },
  );

const typeCheck = async (app: string, files: string[]) => {
  await fs.writeFile(path.join(app, "tsconfig.json"), JSON.stringify(tsconfig(files), null, 2));
  const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
  const check = await exec(process.execPath, [tsc, "-p", app], { cwd: app }).catch((error: { stdout?: string; message: string }) => {
    throw new Error(`tsc failed in the sample app:\n${error.stdout ?? error.message}`);
  });
  expect(check.stdout).toBe("");
};

const runPipeline = async (app: string, ...args: string[]) =>
  JSON.parse((await exec(process.execPath, ["run.mjs", ...args], { cwd: app })).stdout) as {
    pipeline: string;
    answer: string;
    top: string;
    rerankScore?: number;
  };

describe("the packed package", () => {
  it(
    "installs with no flags, runs BM25, then the cross-encoder alone and over pgvector once every optional package is added",
    { timeout: 900_000 },
    async () => {
      // node_modules on a RAM disk where there is one, so the install's writes do not slow down
      // the disk syncs of tests running alongside.
      const dir = await fs.mkdtemp(path.join(await ramDiskOr(os.tmpdir()), "rerank-rag-pack-"));
      onTestFinished(() => fs.rm(dir, { recursive: true, force: true }));
      // The tarball exactly as `npm publish` would upload it (dist/ is built by `npm test`; skip the prepare rebuild).
      const { stdout: packed } = await exec(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: REPO_ROOT });
      const [{ filename, files }] = JSON.parse(packed) as [{ filename: string; files: Array<{ path: string }> }];
      const shipped = files.map((f) => f.path);
      for (const subpath of Object.values<{ types: string; default: string }>(repoPackage.exports)) {
        expect(shipped).toContain(subpath.types.replace(/^\.\//, ""));
        expect(shipped).toContain(subpath.default.replace(/^\.\//, ""));
      }
      expect(shipped.some((f) => f.startsWith("test/") || f.startsWith("src/") || f.endsWith(".test.js"))).toBe(false);
      // Development scripts (the test-model generator needs a dev dependency) stay out of the tarball.
      expect(shipped.filter((f) => f.startsWith("dist/scripts/"))).toEqual([]);
      // Every relative link of the shipped Markdown (README.md, docs/*.md) points into the tarball: a file, or a folder with files.
      const markdown = shipped.filter((f) => f === "README.md" || /^docs\/.*\.md$/.test(f));
      expect(markdown.length).toBeGreaterThan(1);
      let links = 0;
      for (const file of markdown) {
        for (const link of await relativeLinks(file)) {
          links++;
          const found = link.endsWith("/") ? shipped.some((f) => f.startsWith(link)) : shipped.includes(link);
          expect(found, `${file} links to ${link}, which is not in the package`).toBe(true);
        }
      }
      expect(links).toBeGreaterThan(10);

      // The optional peers, the error messages' install hint and the repository's own versions agree.
      const optional = Object.keys(repoPackage.peerDependenciesMeta).sort();
      expect(Object.keys(OPTIONAL_PACKAGES).sort()).toEqual(optional);
      for (const name of optional) expect(OPTIONAL_PACKAGES[name as keyof typeof OPTIONAL_PACKAGES]).toBe(repoPackage.peerDependencies[name]);

      const app = path.join(dir, "sample-app");
      await fs.mkdir(app);
      const sample = {
        name: "sample-app",
        private: true,
        type: "module",
        dependencies: {
          "rerank-rag": `file:../${path.basename(filename)}`,
          "@langchain/core": repoPackage.peerDependencies["@langchain/core"],
          "@types/node": repoPackage.devDependencies["@types/node"],
        },
      };
      await fs.writeFile(path.join(app, "package.json"), JSON.stringify(sample, null, 2));
      // No .npmrc, no --legacy-peer-deps, no --ignore-scripts: hnswlib-node builds, as for a user.
      const install = await npmInstall(app);
      expect(install.stderr).not.toMatch(/ERR!|ERESOLVE/);
      const installed = JSON.parse(await fs.readFile(path.join(app, "node_modules", "rerank-rag", "package.json"), "utf8"));
      expect(installed.version).toBe(repoPackage.version);
      expect((await fs.lstat(path.join(app, "node_modules", "rerank-rag"))).isSymbolicLink()).toBe(false);

      // Light: none of the optional packages (nor onnxruntime, sharp, the AWS SDK), and under
      // 100 MB beyond LangChain's core and what it brings.
      const present = async (name: string) =>
        fs.access(path.join(app, "node_modules", name)).then(
          () => true,
          () => false,
        );
      for (const heavy of [...optional, "onnxruntime-node", "onnxruntime-web", "sharp", "@aws-sdk/core", "langchain"]) {
        expect(await present(heavy), `${heavy} installed for a BM25 app`).toBe(false);
      }
      const langchain = await closure(app, "@langchain/core");
      let ours = 0;
      for (const entry of await fs.readdir(path.join(app, "node_modules"))) {
        const names = entry.startsWith("@") ? (await fs.readdir(path.join(app, "node_modules", entry))).map((n) => `${entry}/${n}`) : [entry];
        for (const name of names)
          if (!langchain.has(name) && name !== "@types/node" && !name.startsWith(".")) ours += await sizeOf(path.join(app, "node_modules", name));
      }
      expect(ours / 1024 ** 2, "MB of node_modules beyond @langchain/core's").toBeLessThan(100);

      // Types: every public subpath and the README's Install snippets, with no optional package installed.
      await fs.writeFile(path.join(app, "index.ts"), SAMPLE);
      const installBlocks = tsSnippets(await installSection());
      expect(installBlocks.length).toBeGreaterThanOrEqual(2);
      await Promise.all(installBlocks.map(({ code }, i) => fs.writeFile(path.join(app, `install-${i}.ts`), code)));
      await typeCheck(app, ["index.ts", ...installBlocks.map((_, i) => `install-${i}.ts`)]);

      // A BM25 pipeline runs, from import() and, on Node >= 20.19, from require().
      await fs.mkdir(path.join(app, "docs"));
      await fs.writeFile(path.join(app, "docs", "keys.md"), "# Keys\n\nRotate an API key with `keys rotate`: the old key stays valid for 24 hours.\n");
      await fs.writeFile(path.join(app, "docs", "oauth.md"), "# OAuth2\n\nConfigure OAuth2 client credentials in settings.yaml under auth.\n");
      await fs.writeFile(path.join(app, "run.mjs"), RUN);
      const bm25 = await runPipeline(app, "bm25");
      expect(bm25.pipeline).toContain("rerank=bm25 (local)");
      expect(bm25.answer).toContain("keys rotate");
      expect(bm25.top).toMatch(/keys\.md$/);
      const required = await exec(
        process.execPath,
        [
          "-e",
          "const { createPipeline } = require('rerank-rag'); const r = require('rerank-rag/rerankers'); console.log(typeof createPipeline, typeof r.Bm25Reranker)",
        ],
        { cwd: app },
      );
      expect(required.stdout.trim()).toBe("function function");
      // The cross-encoder without its package says what to install.
      await expect(runPipeline(app, "cross-encoder", "test-org/tiny-cross-encoder")).rejects.toThrow(/npm install @huggingface\/transformers/);

      // Every optional package at once, in one plain `npm install` (no --legacy-peer-deps), with
      // @types/pg for the pgvector entry's types and langchain for the README's agent snippet.
      // onnxruntime-node's install script downloads CUDA libraries from NuGet on Linux x64; an
      // app without a GPU (or network) denies it in its allowScripts.
      const withOptional = { ...sample, allowScripts: { "onnxruntime-node": false } };
      await fs.writeFile(path.join(app, "package.json"), JSON.stringify(withOptional, null, 2));
      const extras = [...optional.filter((name) => name !== "node-llama-cpp"), "@types/pg", "langchain"];
      const added = await npmInstall(
        app,
        extras.map((name) => `${name}@${repoPackage.devDependencies[name]}`),
      );
      expect(added.stderr).not.toMatch(/ERR!|ERESOLVE/);
      writeTestModel(path.join(app, "models", "test-org", "tiny-cross-encoder"), { preset: "tiny" });
      const crossEncoder = await runPipeline(app, "cross-encoder", "test-org/tiny-cross-encoder");
      expect(crossEncoder.pipeline).toContain("rerank=cross-encoder (local)");
      expect(crossEncoder.rerankScore).toBeGreaterThan(0);
      expect(crossEncoder.answer.length).toBeGreaterThan(0);

      // pgvector and transformers.js together: ingest into Postgres (PGlite with pgvector, over the wire) and re-rank with the cross-encoder.
      const pg = await startPgServer();
      onTestFinished(() => pg.close());
      const inPostgres = await runPipeline(app, "cross-encoder", "test-org/tiny-cross-encoder", pg.url);
      expect(inPostgres.pipeline).toMatch(/pgvector\+BM25 top \d+ \(127\.0\.0\.1:\d+\) → rerank=cross-encoder \(local\)/);
      expect(inPostgres.rerankScore).toBeGreaterThan(0);
      expect(inPostgres.top).toMatch(/(keys|oauth)\.md$/);
      expect(await pg.query("SELECT count(*)::int AS n FROM app_chunks")).toEqual([{ n: 2 }]);

      // Every TypeScript snippet of the README and the docs, and the optional subpaths, under skipLibCheck: false.
      const snippets: string[] = [];
      for (const file of markdown) {
        for (const { code, line } of tsSnippets(await fs.readFile(path.join(REPO_ROOT, file), "utf8"))) {
          const name = `snippet-${file.replace(/\W+/g, "-")}-${line}.ts`;
          await fs.writeFile(path.join(app, name), code);
          snippets.push(name);
        }
      }
      expect(snippets.length).toBeGreaterThanOrEqual(9);
      await fs.writeFile(path.join(app, "optional.ts"), OPTIONAL_SAMPLE);
      await typeCheck(app, ["index.ts", "optional.ts", ...snippets]);
    },
  );
});
