// What an ingest takes in: ignore files (.ragignore, the tree's .gitignore) and --exclude are
// honoured with git's semantics, and a symlink never pulls in a file from outside the ingested folders.
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { discoverFiles } from "../src/ingest/discover.js";
import { ingest } from "../src/ingest/ingest.js";
import { loadConfig } from "../src/config/index.js";
import { TOPICS } from "./helpers/corpus.js";
import { cleanEnv, runCli } from "./helpers/cli.js";
import { tempDir, writeCorpus } from "./helpers/fs.js";
import { searchAll, workspace } from "./helpers/index.js";

const NOTE = "# Note\n\nA short note about copper kettles and quartz clocks.";

describe("ignore files", () => {
  it("honours nested .ragignore files: patterns relative to their folder, negation, directory patterns", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, {
      ".ragignore": "*.txt\n!keep.txt\ndrafts/\n",
      "a.md": NOTE,
      "notes.txt": NOTE,
      "keep.txt": NOTE,
      "drafts/x.md": NOTE,
      "drafts/deep/y.md": NOTE,
      "guides/.ragignore": "/local.md\n!notes.txt\n",
      "guides/b.md": NOTE,
      "guides/local.md": NOTE,
      "guides/notes.txt": NOTE,
      "guides/sub/local.md": NOTE,
      // `drafts/` names folders only: a file called drafts is not matched by it.
      "guides/drafts": NOTE,
    });
    const found = await discoverFiles([root]);
    expect(found.files).toEqual([f["a.md"]!, f["keep.txt"]!, f["guides/b.md"]!, f["guides/notes.txt"]!, f["guides/sub/local.md"]!].sort());
    // notes.txt, drafts/ (not walked) and guides/local.md: counted, not listed one by one.
    expect(found.ignored).toBe(3);
    expect(found.skipped).toEqual([{ path: f["guides/drafts"], reason: expect.stringMatching(/^unsupported file type/) }]);
  });

  it("honours the tree's .gitignore by default, and not with gitignore off; .ragignore still applies", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, {
      ".gitignore": "build/\n*.log.md\n",
      ".ragignore": "private.md\n",
      "a.md": NOTE,
      "run.log.md": NOTE,
      "build/out.md": NOTE,
      "private.md": NOTE,
    });
    const honoured = await discoverFiles([root]);
    expect(honoured.files).toEqual([f["a.md"]]);
    expect(honoured.ignored).toBe(3);
    const off = await discoverFiles([root], { gitignore: false });
    expect(off.files).toEqual([f["a.md"]!, f["build/out.md"]!, f["run.log.md"]!].sort());
    expect(off.ignored).toBe(1);
  });

  it("lets a .ragignore re-include what the same folder's .gitignore hides", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, { ".gitignore": "*.txt\n", ".ragignore": "!wanted.txt\n", "wanted.txt": NOTE, "other.txt": NOTE });
    const found = await discoverFiles([root]);
    expect(found.files).toEqual([f["wanted.txt"]]);
    expect(found.ignored).toBe(1);
  });

  it("lets a deeper ignore file re-include a folder an outer one ignores, as git does", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, { ".ragignore": "build/\n", "build/a.md": NOTE, "sub/.ragignore": "!build/\n", "sub/build/b.md": NOTE });
    const found = await discoverFiles([root]);
    expect(found.files).toEqual([f["sub/build/b.md"]]);
    expect(found.ignored).toBe(1);
  });

  it("applies exclude patterns relative to each given folder, over any negation in ignore files", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, {
      "one/.ragignore": "!*.md\n",
      "one/a.md": NOTE,
      "one/tmp/b.md": NOTE,
      "one/c.txt": NOTE,
      "two/tmp/d.md": NOTE,
      "two/nested/tmp/e.md": NOTE,
      "two/f.md": NOTE,
    });
    const found = await discoverFiles([path.join(root, "one"), path.join(root, "two")], { exclude: ["/tmp/", "*.txt", "a.md"] });
    expect(found.files).toEqual([f["two/f.md"]!, f["two/nested/tmp/e.md"]!].sort());
    // one/a.md, one/tmp/, one/c.txt, two/tmp/ (anchored: two/nested/tmp/ stays).
    expect(found.ignored).toBe(4);
  });

  it("reports an explicitly named file that is ignored as skipped, naming the ignore file and the pattern", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, { ".ragignore": "drafts/\n", "a.md": NOTE, "drafts/x.md": NOTE, ".gitignore": "secret-*.md\n", "secret-plan.md": NOTE });
    const found = await discoverFiles([root, f["drafts/x.md"]!, f["secret-plan.md"]!]);
    expect(found.files).toEqual([f["a.md"]]);
    expect(found.skipped).toEqual([
      { path: f["drafts/x.md"], reason: `ignored: matches "drafts/" in ${path.join(root, ".ragignore")}` },
      { path: f["secret-plan.md"], reason: `ignored: matches "secret-*.md" in ${path.join(root, ".gitignore")} (--no-gitignore to include it)` },
    ]);
    // A file given alone is checked against its own folder's ignore files.
    const alone = await discoverFiles([f["secret-plan.md"]!]);
    expect(alone.skipped).toEqual([{ path: f["secret-plan.md"], reason: expect.stringContaining('matches "secret-*.md"') }]);
    const excluded = await discoverFiles([f["a.md"]!], { exclude: ["a.md"] });
    expect(excluded.files).toEqual([]);
    expect(excluded.skipped).toEqual([{ path: f["a.md"], reason: 'ignored: matches --exclude "a.md"' }]);
  });

  it("skips a folder whose ignore file cannot be read, rather than ingest what it may hide", async () => {
    const root = await tempDir();
    const f = await writeCorpus(root, { "a.md": NOTE, "private/secret.md": NOTE });
    // A folder where the file should be: reading it fails (EISDIR), as an unreadable file would (EACCES).
    await fs.mkdir(path.join(root, "private", ".ragignore"));
    const found = await discoverFiles([root]);
    expect(found.files).toEqual([f["a.md"]]);
    expect(found.skipped).toEqual([
      { path: path.join(root, "private"), reason: `cannot read ${path.join(root, "private", ".ragignore")} (EISDIR), so nothing under it was ingested` },
    ]);
  });

  it("removes a previously indexed file once it is ignored, and counts it in the report", async () => {
    const ws = await workspace();
    const [relative, file] = Object.entries(ws.files)[0]!;
    await ingest({ paths: [ws.docs], config: ws.config });
    await fs.writeFile(path.join(ws.docs, ".ragignore"), `${relative}\n`);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.removed).toEqual([file]);
    expect(report.ignored).toBe(1);
    expect(report.skipped).toEqual([]);
    const sources = new Set((await searchAll(ws.config, "anything")).map((d) => String(d.metadata.source)));
    expect(sources.has(file)).toBe(false);
    expect(sources.size).toBe(Object.keys(TOPICS).length - 1);
  });
});

describe("symlinks", () => {
  async function treeWithLinks() {
    const work = await tempDir();
    const outside = await writeCorpus(path.join(work, "outside"), { "passwd.txt": "root:x:0:0:root:/root:/bin/bash", "more/notes.md": NOTE });
    const root = path.join(work, "tree");
    const f = await writeCorpus(root, { "a.md": NOTE, "real/b.md": NOTE });
    await fs.symlink(outside["passwd.txt"]!, path.join(root, "passwd.txt"));
    await fs.symlink(path.join(work, "outside", "more"), path.join(root, "more"));
    await fs.symlink("a.md", path.join(root, "a-link.md"));
    return { work, root, f, outside };
  }

  it("skips a symlink whose target is outside every given folder, with the reason; in-tree links still work", async () => {
    const { work, root, f, outside } = await treeWithLinks();
    const found = await discoverFiles([root]);
    expect(found.files).toEqual([f["a.md"]!, path.join(root, "a-link.md"), f["real/b.md"]!].sort());
    expect(found.skipped).toEqual(
      expect.arrayContaining([
        {
          path: path.join(root, "passwd.txt"),
          reason: `symlink to ${outside["passwd.txt"]} outside the ingested folders; pass --follow-symlinks to include it`,
        },
        {
          path: path.join(root, "more"),
          reason: `symlink to ${path.join(work, "outside", "more")} outside the ingested folders; pass --follow-symlinks to include it`,
        },
      ]),
    );
    expect(found.skipped).toHaveLength(2);
  });

  it("follows links leaving the tree with followSymlinks, and a link given by name always", async () => {
    const { root, f } = await treeWithLinks();
    const followed = await discoverFiles([root], { followSymlinks: true });
    expect(followed.files).toEqual(
      [f["a.md"]!, path.join(root, "a-link.md"), path.join(root, "more", "notes.md"), path.join(root, "passwd.txt"), f["real/b.md"]!].sort(),
    );
    expect(followed.skipped).toEqual([]);
    // A root that is itself a link is the user's choice, and so is everything under it.
    const named = await discoverFiles([path.join(root, "passwd.txt"), path.join(root, "more")]);
    expect(named.files).toEqual([path.join(root, "more", "notes.md"), path.join(root, "passwd.txt")]);
    expect(named.skipped).toEqual([]);
  });

  it("lets a link point into another given folder", async () => {
    const { work, root } = await treeWithLinks();
    const found = await discoverFiles([root, path.join(work, "outside")]);
    expect(found.files).toContain(path.join(root, "passwd.txt"));
    expect(found.skipped.filter((s) => /outside the ingested folders/.test(s.reason))).toEqual([]);
  });
});

describe("configuration", () => {
  it("reads RAG_GITIGNORE, RAG_EXCLUDE and RAG_FOLLOW_SYMLINKS, with safe defaults", () => {
    expect(loadConfig({}, {})).toMatchObject({ RAG_GITIGNORE: true, RAG_EXCLUDE: [], RAG_FOLLOW_SYMLINKS: false });
    const config = loadConfig({}, { RAG_GITIGNORE: "false", RAG_EXCLUDE: " drafts/ , *.log,", RAG_FOLLOW_SYMLINKS: "true" });
    expect(config).toMatchObject({ RAG_GITIGNORE: false, RAG_EXCLUDE: ["drafts/", "*.log"], RAG_FOLLOW_SYMLINKS: true });
    expect(() => loadConfig({}, { RAG_GITIGNORE: "maybe" })).toThrow(/RAG_GITIGNORE/);
  });
});

describe("the ingest command", () => {
  async function corpus() {
    const work = await tempDir();
    const docs = path.join(work, "docs");
    const f = await writeCorpus(docs, {
      ...TOPICS,
      ".gitignore": "generated/\n",
      "generated/api.md": NOTE,
      "drafts/plan.md": NOTE,
      "old/notes.md": NOTE,
    });
    return { work, docs, f, index: path.join(work, "index") };
  }

  it("takes --exclude more than once, reports the ignored count in --json and one summary line", async () => {
    const { docs, f, index } = await corpus();
    const result = await runCli(["ingest", docs, "--index", index, "--exclude", "drafts/", "--exclude", "old", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.added).toEqual(
      Object.keys(TOPICS)
        .map((r) => f[r])
        .sort(),
    );
    expect(report.ignored).toBe(3);
    expect(report.skipped).toEqual([]);
    expect(result.stderr).toContain("3 files or folders ignored (.ragignore, .gitignore, --exclude)");
    expect(result.stderr).not.toContain("drafts");
  }, 60_000);

  it("--no-gitignore and RAG_GITIGNORE=false take the .gitignore'd files in; RAG_EXCLUDE excludes", async () => {
    const { docs, f, index } = await corpus();
    const flag = await runCli(["ingest", docs, "--index", index, "--no-gitignore", "--json"]);
    expect(flag.code, flag.stderr).toBe(0);
    expect(JSON.parse(flag.stdout).added).toContain(f["generated/api.md"]);
    expect(JSON.parse(flag.stdout).ignored).toBe(0);

    const other = await corpus();
    const env = await runCli(["ingest", other.docs, "--index", other.index, "--json"], {
      env: cleanEnv({ RAG_GITIGNORE: "false", RAG_EXCLUDE: "drafts/,old/" }),
    });
    expect(env.code, env.stderr).toBe(0);
    const report = JSON.parse(env.stdout);
    expect(report.added).toContain(other.f["generated/api.md"]);
    expect(report.added).not.toContain(other.f["drafts/plan.md"]);
    expect(report.ignored).toBe(2);
  }, 60_000);

  it("skips a symlink out of the tree with its reason on stderr, and --follow-symlinks ingests it", async () => {
    const { work, docs, index } = await corpus();
    const secret = (await writeCorpus(path.join(work, "elsewhere"), { "passwd.txt": "root:x:0:0:root:/root:/bin/bash" }))["passwd.txt"]!;
    const link = path.join(docs, "passwd.txt");
    await fs.symlink(secret, link);
    const skipped = await runCli(["ingest", docs, "--index", index, "--json"]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(JSON.parse(skipped.stdout).skipped).toEqual([
      { path: link, reason: `symlink to ${secret} outside the ingested folders; pass --follow-symlinks to include it` },
    ]);
    expect(skipped.stderr).toContain(`symlink to ${secret} outside the ingested folders; pass --follow-symlinks to include it`);

    const followed = await runCli(["ingest", docs, "--index", index, "--follow-symlinks", "--json"]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(JSON.parse(followed.stdout)).toMatchObject({ added: [link], skipped: [] });
  }, 60_000);
});
