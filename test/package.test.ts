// The package as an app gets it: `npm pack` the repository, install the tarball into a fresh
// sample app (offline, from the npm cache this machine installed the dependencies into), and
// type-check a file that imports every public subpath — and fails to import an internal one.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import os from "node:os";
import { describe, expect, it, onTestFinished } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";

const exec = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const repoPackage = JSON.parse(await fs.readFile(path.join(REPO_ROOT, "package.json"), "utf8"));

const SAMPLE = `
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { createAnswerChain, createRerankingRetriever, ExtractiveChatModel, loadConfig, type RagConfig } from "rerank-rag";
import { openPgvectorIndex, type PgvectorIndex } from "rerank-rag/pgvector";
import { RERANK_EVENT, RerankingRetriever, type RerankEvent, type RerankingRetrieverOptions } from "rerank-rag/chains";
import { Bm25Reranker, CohereReranker, CorpusStats, CrossEncoderReranker, createReranker, resolveReranker, type CrossEncoderRerankerOptions } from "rerank-rag/rerankers";
import { evaluate, ndcgAt, type EvalResult } from "rerank-rag/eval";

export function build(vectorStore: VectorStoreInterface, stats: CorpusStats): RerankingRetriever {
  const options: RerankingRetrieverOptions = { vectorStore, reranker: new Bm25Reranker({ stats }), fetchK: 20, topN: 3 };
  const retriever = createRerankingRetriever(options);
  createAnswerChain({ retriever, llm: new ExtractiveChatModel() });
  return retriever;
}

export const config: RagConfig = loadConfig({ RAG_STORE: "pgvector", RAG_PG_URL: "postgres://localhost/rag" });
export const open: (config: RagConfig) => Promise<PgvectorIndex> = openPgvectorIndex;
const crossEncoder: CrossEncoderRerankerOptions = { modelsDir: "/models", topN: 5 };
export const rerankers = [new CrossEncoderReranker(crossEncoder), CohereReranker, createReranker, resolveReranker(config)] as const;
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

async function ramDiskOr(fallback: string): Promise<string> {
  try {
    await fs.access("/dev/shm", fs.constants.W_OK);
    const { bavail, bsize } = await fs.statfs("/dev/shm");
    return bavail * bsize > 2 * 1024 ** 3 ? "/dev/shm" : fallback;
  } catch {
    return fallback;
  }
}

const TSCONFIG = {
  compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, types: ["node"] },
  include: ["index.ts"],
};

describe("the packed package", () => {
  it("installs from its tarball offline and type-checks every public subpath in a fresh app", { timeout: 240_000 }, async () => {
    // ~700 MB of node_modules: on a RAM disk where there is one, so the install's writes do not
    // slow down the disk syncs of tests running alongside.
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

    const app = path.join(dir, "sample-app");
    await fs.mkdir(app);
    const sample = {
      name: "sample-app",
      private: true,
      type: "module",
      dependencies: { "rerank-rag": `file:../${path.basename(filename)}`, "@types/node": repoPackage.devDependencies["@types/node"] },
    };
    await fs.writeFile(path.join(app, "package.json"), JSON.stringify(sample, null, 2));
    // The same npm settings as the repository (.npmrc): an optional peer of @langchain/community pins an old core.
    await fs.copyFile(path.join(REPO_ROOT, ".npmrc"), path.join(app, ".npmrc"));
    await fs.writeFile(path.join(app, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
    await fs.writeFile(path.join(app, "index.ts"), SAMPLE);

    // Offline: every dependency comes from the local npm cache. Install scripts (native builds) are
    // skipped: type-checking needs none of them.
    const install = await exec(npm, ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`npm install --offline failed (a dependency missing from the npm cache?):\n${error.stderr ?? error.message}`);
    });
    expect(install.stderr).not.toMatch(/ERR!/);
    const installed = JSON.parse(await fs.readFile(path.join(app, "node_modules", "rerank-rag", "package.json"), "utf8"));
    expect(installed.version).toBe(repoPackage.version);
    expect((await fs.lstat(path.join(app, "node_modules", "rerank-rag"))).isSymbolicLink()).toBe(false);

    const tsc = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
    const check = await exec(process.execPath, [tsc, "-p", app], { cwd: app }).catch((error: { stdout?: string; message: string }) => {
      throw new Error(`tsc failed in the sample app:\n${error.stdout ?? error.message}`);
    });
    expect(check.stdout).toBe("");
  });
});
