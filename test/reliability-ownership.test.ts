// The index directory is ours only when it says so: ingest never deletes, overwrites or
// ingests what it did not write (a folder that isn't an index, an empty --index, its own files).
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { INDEX_MARKER_FILE } from "../src/store/index-dir.js";
import { UsageError } from "../src/errors/index.js";
import { SMALL_FILE } from "./helpers/corpus.js";
import { runCli } from "./helpers/cli.js";
import { SAMPLE_DOCS, tempDir, writeCorpus } from "./helpers/fs.js";
import { workspace } from "./helpers/index.js";

/** Files a person might keep in a folder they mistake for an index folder, or keep beside one. */
const USER_FILES = {
  "snapshots/snapshot-photos/beach.md": "# Beach\n\nholiday photo notes",
  "snapshots/snapshot-backup.tar": "tar bytes",
  "CURRENT.tmp-notes.txt": "my notes",
} as const;

async function contentsOf(files: Record<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, file] of Object.entries(files)) out[name] = await fs.readFile(file, "utf8");
  return out;
}

describe("index ownership", () => {
  it("refuses a non-empty folder that is not an index, with exit 2, and deletes nothing in it", async () => {
    const root = await tempDir();
    const folder = path.join(root, "u");
    const files = await writeCorpus(folder, USER_FILES);
    const result = await runCli(["ingest", SAMPLE_DOCS, "--index", folder]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${folder} is not empty and is not a rerank-rag index`);
    expect(result.stderr).toMatch(/empty or new folder/);
    expect(await contentsOf(files)).toEqual(USER_FILES);
    expect((await fs.readdir(folder)).sort()).toEqual(["CURRENT.tmp-notes.txt", "snapshots"]);
  });

  it("marks a new index, and later clean-up keeps files it did not write, even with our names", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const marker = JSON.parse(await fs.readFile(path.join(ws.indexDir, INDEX_MARKER_FILE), "utf8"));
    expect(marker).toMatchObject({ kind: "rerank-rag-index", markerVersion: 1 });

    const files = await writeCorpus(ws.indexDir, USER_FILES);
    for (let round = 0; round < 3; round++) {
      await fs.appendFile(ws.files[SMALL_FILE]!, `\nround ${round}\n`);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.written).toBe(true);
    }
    expect(await contentsOf(files)).toEqual(USER_FILES);
    // Our own snapshots are still pruned to the live one and the one it replaced.
    const snapshots = (await fs.readdir(path.join(ws.indexDir, "snapshots"))).filter((e) => /^snapshot-[0-9a-z]+-\d+-[0-9a-f]{6}$/.test(e));
    expect(snapshots).toHaveLength(2);
  });

  it("recognises an index made before the marker by its manifest, and marks it", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    await fs.rm(path.join(ws.indexDir, INDEX_MARKER_FILE));
    await fs.appendFile(ws.files[SMALL_FILE]!, "\nchanged\n");
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.changed).toEqual([ws.files[SMALL_FILE]]);
    await expect(fs.access(path.join(ws.indexDir, INDEX_MARKER_FILE))).resolves.toBeUndefined();
  });

  it("refuses a folder whose CURRENT names no readable index, rather than taking it over", async () => {
    const ws = await workspace();
    await writeCorpus(ws.indexDir, { CURRENT: "snapshot-abc\n", "notes.md": "mine" });
    const error = await ingest({ paths: [ws.docs], config: ws.config }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("is not a rerank-rag index");
    expect(await fs.readFile(path.join(ws.indexDir, "notes.md"), "utf8")).toBe("mine");
  });

  it("writes into an existing empty folder", async () => {
    const ws = await workspace();
    await fs.mkdir(ws.indexDir);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.written).toBe(true);
  });
});

describe("empty index path", () => {
  it.each([[""], ["   "]])("rejects --index %j as a usage error and writes nothing", async (value) => {
    const cwd = await tempDir();
    const result = await runCli(["ingest", SAMPLE_DOCS, "--index", value], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--index (RAG_INDEX_DIR)");
    expect(result.stderr).toContain("must not be empty");
    expect(await fs.readdir(cwd)).toEqual([]);
  });
});

describe("self-ingest", () => {
  it("skips the index inside the ingested folder, however often it runs", async () => {
    const ws = await workspace();
    const inside = path.join(ws.docs, "idx");
    const config = { ...ws.config, RAG_INDEX_DIR: inside };
    const first = await ingest({ paths: [ws.docs], config });
    for (let run = 0; run < 3; run++) {
      const again = await ingest({ paths: [ws.docs], config });
      expect(again.written).toBe(false);
      expect(again.chunkCount).toBe(first.chunkCount);
      expect(again.skipped.filter((s) => s.path.startsWith(inside))).toEqual([
        { path: inside, reason: "the index being written (rerank-rag never ingests an index)" },
      ]);
    }
  });

  it("skips any other index folder in the tree, by its marker", async () => {
    const ws = await workspace();
    const other = path.join(ws.docs, "old-index");
    await ingest({ paths: [ws.docs], config: { ...ws.config, RAG_INDEX_DIR: other } });
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.skipped).toContainEqual({ path: other, reason: "a rerank-rag index (rerank-rag never ingests an index)" });
    expect([...report.added].filter((f) => f.startsWith(other))).toEqual([]);
  });

  it("never cites the index's own files in an answer", async () => {
    const ws = await workspace();
    const inside = path.join(ws.docs, "idx");
    for (let run = 0; run < 2; run++) {
      const result = await runCli(["ingest", ws.docs, "--index", inside]);
      expect(result.code).toBe(0);
    }
    const ask = await runCli(["ask", "docstore json chunk ids manifest", "--index", inside, "--json"]);
    expect(ask.code).toBe(0);
    const { sources, firstStage } = JSON.parse(ask.stdout) as Record<string, Array<{ path: string }>>;
    expect(sources!.length).toBeGreaterThan(0);
    expect([...sources!, ...firstStage!].filter((s) => s.path.startsWith(inside))).toEqual([]);
  });
});
