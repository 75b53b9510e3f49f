// What `npm pack` ships and declares, checked without installing (test/package.test.ts installs the
// tarball): the demo's corpus is in it, since `npx rerank-rag demo` ingests it from the installed
// package, and the evaluation sets, which only a checkout's `eval` runs use, are not (their format's
// guide is, as eval's hints name it); a dependency
// asking for a newer Node than ours is named where README's Install section explains npm's warning.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";

const exec = promisify(execFile);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

describe("npm pack", () => {
  it("ships the demo's corpus and the QA format's guide, and not the evaluation sets", async () => {
    const { stdout } = await exec(npm, ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO_ROOT });
    const [{ files, size }] = JSON.parse(stdout) as [{ files: Array<{ path: string }>; size: number }];
    const shipped = new Set(files.map((f) => f.path));
    const corpus = await fs.readdir(path.join(REPO_ROOT, "data", "docs"), { recursive: true, withFileTypes: true });
    const demoFiles = corpus.filter((e) => e.isFile()).map((e) => path.relative(REPO_ROOT, path.join(e.parentPath, e.name)).split(path.sep).join("/"));
    expect(demoFiles.length).toBeGreaterThan(30);
    for (const file of demoFiles) expect(shipped.has(file), `${file} in the package`).toBe(true);
    // The corpus's README says its facts are invented; it travels with it.
    expect(shipped.has("data/README.md")).toBe(true);
    // Of the evaluation sets only the QA format's guide, which eval's hints point at in an installed package.
    expect([...shipped].filter((f) => f.startsWith("data/eval/"))).toEqual(["data/eval/README.md"]);
    // The tarball stays small: the corpus adds about 0.2 MB compressed.
    expect(size / 1024 ** 2).toBeLessThan(2.5);
  });
});

/** The installed package.json of `name` as Node resolves it from `from`, with its folder. */
async function resolvePackage(name: string, from: string): Promise<{ dir: string; pkg: PackageJson } | null> {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name);
    const text = await fs.readFile(path.join(candidate, "package.json"), "utf8").catch(() => null);
    if (text) return { dir: candidate, pkg: JSON.parse(text) as PackageJson };
    if (path.dirname(dir) === dir) return null;
  }
}
type PackageJson = { name: string; version: string; engines?: { node?: string }; dependencies?: Record<string, string> };

/** Whether an engines.node range lets Node `major` in: some alternative's lower bound is at most it (enough for >=, ^ and ~ ranges). */
const admits = (range: string, major: number) => range.split("||").some((alternative) => Number(/(\d+)/.exec(alternative)?.[1] ?? 0) <= major);

describe("engines", () => {
  it("README's Install section names every installed dependency that declares a newer Node than ours", async () => {
    const own = JSON.parse(await fs.readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as PackageJson;
    const ourMajor = Number(/(\d+)/.exec(own.engines!.node!)![1]);
    const seen = new Map<string, PackageJson>();
    const visit = async (name: string, from: string): Promise<void> => {
      const found = await resolvePackage(name, from);
      if (!found || seen.has(found.dir)) return;
      seen.set(found.dir, found.pkg);
      for (const dependency of Object.keys(found.pkg.dependencies ?? {})) await visit(dependency, found.dir);
    };
    for (const dependency of Object.keys(own.dependencies ?? {})) await visit(dependency, REPO_ROOT);
    const newer = [...seen.values()].filter((pkg) => pkg.engines?.node && !admits(pkg.engines.node, ourMajor));
    const readme = await fs.readFile(path.join(REPO_ROOT, "README.md"), "utf8");
    const install = /^## Install\n([\s\S]*?)^## /m.exec(readme)![1]!;
    expect(install).toContain("EBADENGINE");
    for (const pkg of newer) expect(install, `${pkg.name} (engines.node ${pkg.engines!.node}) named in README's Install`).toContain(`\`${pkg.name}\``);
  });
});
