// What `npm pack` ships, checked without installing (test/package.test.ts installs the tarball):
// the demo's corpus is in it, since `npx rerank-rag demo` ingests it from the installed package,
// and the evaluation sets, which only a checkout's `eval` runs use, are not.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";

const exec = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

describe("npm pack", () => {
  it("ships the demo's corpus, and not the evaluation sets", async () => {
    const { stdout } = await exec(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT });
    const [{ files, size }] = JSON.parse(stdout) as [{ files: Array<{ path: string }>; size: number }];
    const shipped = new Set(files.map((f) => f.path));
    const corpus = await fs.readdir(path.join(REPO_ROOT, "data", "docs"), { recursive: true, withFileTypes: true });
    const demoFiles = corpus.filter((e) => e.isFile()).map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
    expect(demoFiles.length).toBeGreaterThan(30);
    for (const file of demoFiles) expect(shipped.has(file), `${file} in the package`).toBe(true);
    // The corpus's README says its facts are invented; it travels with it.
    expect(shipped.has("data/README.md")).toBe(true);
    expect([...shipped].filter((f) => f.startsWith("data/eval/"))).toEqual([]);
    // The tarball stays small: the corpus adds about 0.2 MB compressed.
    expect(size / 1024 ** 2).toBeLessThan(2.5);
  });
});
