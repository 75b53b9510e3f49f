import { spawn } from "node:child_process";
import { once } from "node:events";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { IndexDir } from "../src/store/index-dir.js";
import { openIndex } from "../src/store/open-index.js";
import { IndexError } from "../src/errors/index.js";
import { SMALL_FILE } from "./helpers/corpus.js";
import { tempDir, testConfig } from "./helpers/fs.js";
import { workspace, type Workspace } from "./helpers/index.js";

const snapshotsOf = (ws: Workspace) => fs.readdir(path.join(ws.indexDir, "snapshots"));
const modeOf = async (p: string) => ((await fs.stat(p)).mode & 0o777).toString(8);
const current = async (ws: Workspace) => (await fs.readFile(path.join(ws.indexDir, "CURRENT"), "utf8")).trim();

async function ingested(): Promise<Workspace> {
  const ws = await workspace();
  await ingest({ paths: [ws.docs], config: ws.config });
  return ws;
}

/** Edits the small corpus file so the next ingest writes a new snapshot. */
async function touchCorpus(ws: Workspace, line: string): Promise<void> {
  await fs.appendFile(ws.files[SMALL_FILE]!, `\n${line}\n`);
}

async function expectSearchable(ws: Workspace): Promise<void> {
  const index = await openIndex(ws.config);
  const [top] = await index.vectorStore.similaritySearch("chess opening castle knights bishops", 1);
  expect(top!.metadata.source).toBe(ws.files["games/chess-openings.md"]);
}

async function openError(ws: Workspace): Promise<IndexError> {
  const error = await openIndex(ws.config).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(IndexError);
  return error as IndexError;
}

describe("IndexDir: atomic snapshots", () => {
  it("leaves the previous index live when writing a snapshot fails, and removes the failed temp dir", async () => {
    const ws = await ingested();
    const live = await current(ws);
    const dir = new IndexDir(ws.indexDir);
    const attempt = dir.withWriteLock(() =>
      dir.commitSnapshot(async (d) => {
        await fs.writeFile(path.join(d, "hnswlib.index"), "half a graph");
        throw new Error("disk full");
      }),
    );
    await expect(attempt).rejects.toThrow("disk full");
    expect(await current(ws)).toBe(live);
    expect(await snapshotsOf(ws)).toEqual([live]);
    await expect(fs.access(path.join(ws.indexDir, ".lock"))).rejects.toThrow();
    await expectSearchable(ws);
  });

  it("survives what a SIGKILL mid-save leaves behind, and cleans it up on the next ingest", async () => {
    const ws = await ingested();
    const staleDir = path.join(ws.indexDir, "snapshots", ".tmp-snapshot-m0abc12-4242-a1b2c3");
    const stalePointer = path.join(ws.indexDir, "CURRENT.tmp-123");
    await fs.mkdir(staleDir);
    await fs.writeFile(path.join(staleDir, "hnswlib.index"), "junk from a killed writer");
    await fs.writeFile(stalePointer, "snapshot-m0abc12-4242-a1b2c3\n");
    await expectSearchable(ws);

    await touchCorpus(ws, "Ferries run hourly on bank holidays.");
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.written).toBe(true);
    await expect(fs.access(staleDir)).rejects.toThrow();
    await expect(fs.access(stalePointer)).rejects.toThrow();
    expect((await snapshotsOf(ws)).filter((e) => e.startsWith("."))).toEqual([]);
    await expectSearchable(ws);
  });

  it("keeps only the live and the previous snapshot after three ingests", async () => {
    const ws = await ingested();
    const names = [await current(ws)];
    for (const line of ["The ferry café sells tea.", "Dogs travel free on the ferry."]) {
      await touchCorpus(ws, line);
      expect((await ingest({ paths: [ws.docs], config: ws.config })).written).toBe(true);
      names.push(await current(ws));
    }
    expect(new Set(names).size).toBe(3);
    expect((await snapshotsOf(ws)).sort()).toEqual([names[1], names[2]].sort());
    // The previous snapshot is complete: a reader that resolved it before the switch can still load it.
    const previous = path.join(ws.indexDir, "snapshots", names[1]!);
    expect((await fs.readdir(previous)).sort()).toEqual((await fs.readdir(path.join(ws.indexDir, "snapshots", names[2]!))).sort());
  });

  it("creates index files with mode 0600 and directories with mode 0700", async () => {
    const ws = await ingested();
    const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;
    const snapshot = path.join(ws.indexDir, "snapshots", await current(ws));
    for (const dir of [ws.indexDir, path.join(ws.indexDir, "snapshots"), snapshot]) {
      expect({ dir, mode: (await mode(dir)).toString(8) }).toEqual({ dir, mode: "700" });
    }
    const files = [path.join(ws.indexDir, "CURRENT"), ...(await fs.readdir(snapshot)).map((f) => path.join(snapshot, f))];
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) expect({ file, mode: (await mode(file)).toString(8) }).toEqual({ file, mode: "600" });
  });

  it("leaves the process umask alone: two concurrent ingests in one process, files still owner-only under umask 022", async () => {
    const previous = process.umask(0o022);
    try {
      const [a, b] = await Promise.all([workspace(), workspace()]);
      await Promise.all([ingest({ paths: [a.docs], config: a.config }), ingest({ paths: [b.docs], config: b.config })]);
      expect(process.umask().toString(8)).toBe("22");
      for (const ws of [a, b]) {
        const snapshot = path.join(ws.indexDir, "snapshots", await current(ws));
        for (const dir of [ws.indexDir, path.join(ws.indexDir, "snapshots"), snapshot]) expect({ dir, mode: await modeOf(dir) }).toEqual({ dir, mode: "700" });
        for (const file of (await fs.readdir(snapshot)).map((f) => path.join(snapshot, f)))
          expect({ file, mode: await modeOf(file) }).toEqual({ file, mode: "600" });
      }
    } finally {
      process.umask(previous);
    }
  });
});

describe("IndexDir: the write lock", () => {
  /** A pid no process has: one that just exited. */
  async function exitedPid(): Promise<number> {
    const child = spawn(process.execPath, ["-e", ""]);
    await once(child, "exit");
    return child.pid!;
  }

  it("never exists without its owner record: the lock directory appears with owner.json already in it", async () => {
    const ws = await ingested();
    const dir = new IndexDir(ws.indexDir);
    const lockDir = path.join(ws.indexDir, ".lock");
    // inotify reports the lock's arrival; reading straight away must find who holds it.
    const seen: string[] = [];
    const watcher = fsSync.watch(ws.indexDir, (_event, name) => {
      // Its release renames it away, which reports ".lock" too: only a present lock is read.
      if (name === ".lock" && fsSync.existsSync(lockDir)) seen.push(fsSync.readdirSync(lockDir).join(","));
    });
    try {
      await dir.withWriteLock(async () => {
        const owner = JSON.parse(await fs.readFile(path.join(lockDir, "owner.json"), "utf8"));
        expect(owner).toEqual({ pid: process.pid, host: os.hostname() });
        expect(await modeOf(lockDir)).toBe("700");
        await sleep(50);
      });
    } finally {
      watcher.close();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[0]).toBe("owner.json");
    expect((await fs.readdir(ws.indexDir)).filter((e) => e.startsWith(".lock"))).toEqual([]);
  });

  it("takes over at once an owner-less lock directory (what a writer killed between mkdir and its record used to leave)", async () => {
    const ws = await ingested();
    await fs.mkdir(path.join(ws.indexDir, ".lock"));
    // Waiting at all would mean waiting out the 15 s stale-lock rule.
    let waited = false;
    await new IndexDir(ws.indexDir).withWriteLock(() => Promise.resolve(), { onWait: () => (waited = true) });
    expect(waited).toBe(false);
    await expect(fs.access(path.join(ws.indexDir, ".lock"))).rejects.toThrow();
  });

  it("removes a dead writer's half-prepared lock, and leaves a live writer's alone", async () => {
    const ws = await ingested();
    const dead = path.join(ws.indexDir, `.lock.tmp-${await exitedPid()}-a1b2c3`);
    const live = path.join(ws.indexDir, `.lock.tmp-${process.ppid}-d4e5f6`);
    for (const temp of [dead, live]) await fs.mkdir(temp);
    await fs.writeFile(path.join(dead, "owner.json"), "{");
    await touchCorpus(ws, "Ferries run hourly on bank holidays.");
    await ingest({ paths: [ws.docs], config: ws.config });
    await expect(fs.access(dead)).rejects.toThrow();
    await fs.access(live);
  });
});

describe("openIndex: damaged or missing indexes", () => {
  it("reports a missing index with a hint to run `rerank-rag ingest`", async () => {
    const root = await tempDir();
    const error = await openIndex(testConfig(path.join(root, "never-built"))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IndexError);
    expect((error as IndexError).message).toContain("No index found");
    expect((error as IndexError).hint).toContain("rerank-rag ingest");
  });

  it("reports a CURRENT file naming garbage as corrupt, with a hint", async () => {
    const ws = await ingested();
    await fs.writeFile(path.join(ws.indexDir, "CURRENT"), "../../etc/passwd\n");
    const error = await openError(ws);
    expect(error.message).toMatch(/CURRENT is corrupt/);
    expect(error.hint).toContain("rerank-rag ingest");
  });

  it("reports a CURRENT file naming a vanished snapshot as a missing manifest", async () => {
    const ws = await ingested();
    await fs.writeFile(path.join(ws.indexDir, "CURRENT"), "snapshot-gone-1\n");
    expect((await openError(ws)).message).toMatch(/manifest .* missing/);
  });

  it("reports a truncated manifest.json as a damaged manifest", async () => {
    const ws = await ingested();
    const manifest = path.join(ws.indexDir, "snapshots", await current(ws), "manifest.json");
    const bytes = await fs.readFile(manifest);
    await fs.writeFile(manifest, bytes.subarray(0, bytes.length >> 1));
    const error = await openError(ws);
    expect(error.message).toContain("manifest");
    expect(error.hint).toContain("--rebuild");
  });

  it("reports a manifest of an unknown format version", async () => {
    const ws = await ingested();
    const manifest = path.join(ws.indexDir, "snapshots", await current(ws), "manifest.json");
    const body = JSON.parse(await fs.readFile(manifest, "utf8"));
    await fs.writeFile(manifest, JSON.stringify({ ...body, formatVersion: 99 }));
    expect((await openError(ws)).message).toContain("formatVersion 99");
  });

  it.each([
    ["hnswlib.index", /vector index .* cannot be loaded/],
    ["docstore.json", /vector index .* cannot be loaded/],
    ["offline-embedder.bin", /offline embedder state .* cannot be read/],
    ["offline-embedder.json", /offline embedder state .* cannot be read/],
    ["corpus-stats.json", /corpus-stats|statistics|cannot be (read|loaded)/],
  ])("reports %s truncated to half as an IndexError, not a crash, in an index without checksums", async (file, message) => {
    const ws = await ingested();
    // Indexes written before checksums rely on each loader's own checks.
    const manifest = path.join(ws.indexDir, "snapshots", await current(ws), "manifest.json");
    const { checksums: _dropped, ...old } = JSON.parse(await fs.readFile(manifest, "utf8"));
    await fs.writeFile(manifest, JSON.stringify(old));
    const target = path.join(ws.indexDir, "snapshots", await current(ws), file);
    const bytes = await fs.readFile(target);
    await fs.writeFile(target, bytes.subarray(0, bytes.length >> 1));
    const error = await openError(ws);
    expect(error.message).toMatch(message);
    expect(error.hint).toContain("--rebuild");
  });

  it("fails an incremental ingest over a damaged index with an IndexError, and recovers with rebuild", async () => {
    const ws = await ingested();
    const target = path.join(ws.indexDir, "snapshots", await current(ws), "hnswlib.index");
    await fs.truncate(target, 64);
    await touchCorpus(ws, "Ferries are replaced by a bus during repairs.");
    const error = await ingest({ paths: [ws.docs], config: ws.config }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IndexError);
    expect((error as IndexError).hint).toContain("--rebuild");
    const rebuilt = await ingest({ paths: [ws.docs], config: ws.config, rebuild: true });
    expect(rebuilt.written).toBe(true);
    await expectSearchable(ws);
  });
});
