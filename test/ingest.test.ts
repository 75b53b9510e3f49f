import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { openIndex } from "../src/store/open-index.js";
import { UsageError } from "../src/errors/index.js";
import { SMALL_FILE, TOPICS } from "./helpers/corpus.js";
import { pseudoRandomBytes, tempDir, testConfig } from "./helpers/fs.js";
import { chunksBySource, searchAll, workspace } from "./helpers/index.js";

const sha256 = (bytes: Buffer | string) => crypto.createHash("sha256").update(bytes).digest("hex");
const readCurrent = (indexDir: string) => fs.readFile(path.join(indexDir, "CURRENT"), "utf8");

describe("ingest: first run and no-op re-runs", () => {
  it("writes an index whose manifest lists every file with its hash and chunk ids", async () => {
    const ws = await workspace();
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    const files = Object.values(ws.files).sort();
    expect(report).toMatchObject({ written: true, refitted: true, added: files, changed: [], removed: [], embedder: "offline-lsa" });
    expect(report.embeddedChunks).toBe(report.chunkCount);
    expect(report.chunkCount).toBeGreaterThan(Object.keys(TOPICS).length);

    const index = await openIndex(ws.config);
    expect(Object.keys(index.manifest.files).sort()).toEqual(files);
    for (const [relative, file] of Object.entries(ws.files)) {
      const entry = index.manifest.files[file]!;
      expect(entry.hash).toBe(sha256(TOPICS[relative as keyof typeof TOPICS]));
      expect(entry.chunkIds.length).toBeGreaterThan(0);
    }
    const allIds = Object.values(index.manifest.files).flatMap((f) => f.chunkIds);
    expect(new Set(allIds).size).toBe(report.chunkCount);
    expect(index.manifest.chunkCount).toBe(report.chunkCount);
    expect(index.vectorStore.size).toBe(report.chunkCount);

    const [top] = await index.vectorStore.similaritySearch("feeding a sourdough starter with rye flour", 1);
    expect(top!.metadata.source).toBe(ws.files["baking/sourdough.md"]);
  });

  it("skips unchanged files on re-ingest: nothing embedded, nothing written", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const before = await readCurrent(ws.indexDir);
    const again = await ingest({ paths: [ws.docs], config: ws.config });
    expect(again).toMatchObject({ written: false, embeddedChunks: 0, added: [], changed: [], removed: [], refitted: false });
    expect(again.unchanged).toBe(Object.keys(TOPICS).length);
    expect(await readCurrent(ws.indexDir)).toBe(before);
  });
});

describe("ingest: incremental updates", () => {
  it("re-embeds only the changed file's chunks", async () => {
    const ws = await workspace();
    const first = await ingest({ paths: [ws.docs], config: ws.config });
    const before = await openIndex(ws.config);
    const changed = ws.files[SMALL_FILE]!;
    // Only words the fitted embedder knows, so it is reused rather than refitted.
    await fs.writeFile(changed, "# Island ferry timetable\n\nThe island ferry returns to the harbour at eight in the evening.\n");

    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report).toMatchObject({ written: true, changed: [changed], added: [], removed: [], refitted: false });
    expect(report.unchanged).toBe(Object.keys(TOPICS).length - 1);
    const after = await openIndex(ws.config);
    expect(report.embeddedChunks).toBe(after.manifest.files[changed]!.chunkIds.length);
    expect(report.chunkCount).toBe(first.chunkCount - before.manifest.files[changed]!.chunkIds.length + report.embeddedChunks);
    for (const file of Object.values(ws.files).filter((f) => f !== changed)) {
      expect(after.manifest.files[file]).toEqual(before.manifest.files[file]);
    }
    const hits = await after.vectorStore.similaritySearch("ferry returns to the harbour in the evening", 3);
    expect(hits.some((d) => d.metadata.source === changed && d.pageContent.includes("returns to the harbour"))).toBe(true);
    const stale = (await searchAll(ws.config, "ferry harbour kiosk tickets")).filter((d) => d.pageContent.includes("kiosk"));
    expect(stale).toEqual([]);
  });

  it("reports an added file and makes it searchable", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const added = path.join(ws.docs, "outdoors", "apiary-by-bicycle.md");
    // Words the embedder already knows: a small addition does not refit it, so new words would not embed.
    const text = "# Bicycle hive\n\nCarry the smoker and the hive frames, and lube the chain before the ride.\n";
    await fs.writeFile(added, text);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report).toMatchObject({ written: true, added: [added], changed: [], removed: [], refitted: false, embeddedChunks: 1 });
    const [top] = await searchAll(ws.config, text);
    expect(top!.metadata.source).toBe(added);
    expect(top!.metadata.relativePath).toBe(path.join("outdoors", "apiary-by-bicycle.md"));
  });

  it("refits the offline embedder when new files bring words it has never seen", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const added = path.join(ws.docs, "music", "theremin.md");
    const text = "# Theremin\n\nA theremin is played without contact: antennas sense the hands, pitch and volume change with distance.\n";
    await fs.mkdir(path.dirname(added), { recursive: true });
    await fs.writeFile(added, text);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report).toMatchObject({ written: true, added: [added], refitted: true, embeddedChunks: report.chunkCount });
    const [top] = await searchAll(ws.config, "theremin antennas pitch");
    expect(top!.metadata.source).toBe(added);
  });

  it("reports a deleted file as removed and drops its chunks from search results", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const deleted = ws.files["geology/volcanoes.md"]!;
    await fs.rm(deleted);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report).toMatchObject({ written: true, removed: [deleted], added: [], changed: [] });
    const results = await searchAll(ws.config, "magma eruption lava volcano");
    expect(results.length).toBe(report.chunkCount);
    expect(results.filter((d) => d.metadata.source === deleted)).toEqual([]);
    expect((await openIndex(ws.config)).manifest.files).not.toHaveProperty(deleted);
  });

  it("keeps both of two files with identical content, and drops only the deleted one", async () => {
    const ws = await workspace({ ...TOPICS, "outdoors/beekeeping.old.md": TOPICS["outdoors/beekeeping.md"] });
    await ingest({ paths: [ws.docs], config: ws.config });
    const original = ws.files["outdoors/beekeeping.md"]!;
    const copy = ws.files["outdoors/beekeeping.old.md"]!;
    const perFile = (await openIndex(ws.config)).manifest.files[original]!.chunkIds.length;
    const initial = await chunksBySource(ws.config, "honey bee queen hive");
    expect([initial.get(original), initial.get(copy)]).toEqual([perFile, perFile]);

    await fs.rm(copy);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.removed).toEqual([copy]);
    const counts = await chunksBySource(ws.config, "honey bee queen hive");
    expect(counts.get(copy)).toBeUndefined();
    expect(counts.get(original)).toBe(perFile);
  });
});

describe("ingest: files that fail to load", () => {
  it("skips a file that fails to load, with its path and reason, and ingests the others", async () => {
    const ws = await workspace({ ...TOPICS, "scans/broken.pdf": pseudoRandomBytes(2048), "bin/blob.md": Buffer.from([1, 0, 2, 0]) });
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.skipped).toEqual(
      expect.arrayContaining([
        { path: ws.files["scans/broken.pdf"], reason: expect.stringContaining("corrupt or unreadable PDF") },
        { path: ws.files["bin/blob.md"], reason: expect.stringContaining("binary") },
      ]),
    );
    expect(report.added).toHaveLength(Object.keys(TOPICS).length);
    const manifest = (await openIndex(ws.config)).manifest;
    expect(manifest.files).not.toHaveProperty(ws.files["scans/broken.pdf"]!);
  });

  it("keeps the previously indexed version of a file that is now corrupt", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const victim = ws.files["crafts/knitting.md"]!;
    const oldEntry = (await openIndex(ws.config)).manifest.files[victim];
    await fs.writeFile(victim, Buffer.concat([Buffer.from("# Knitting\n"), Buffer.alloc(16)]));
    // Change another file too, so a new snapshot is written without the corrupt one's new bytes.
    await fs.appendFile(ws.files[SMALL_FILE]!, "\nA second kiosk opens at the pier in summer.\n");

    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.written).toBe(true);
    expect(report.skipped).toEqual([{ path: victim, reason: expect.stringMatching(/binary.*kept the previously indexed version/) }]);
    expect(report.changed).toEqual([ws.files[SMALL_FILE]]);
    expect((await openIndex(ws.config)).manifest.files[victim]).toEqual(oldEntry);
    const [top] = await searchAll(ws.config, "knit purl stitch stockinette yarn");
    expect(top!.metadata.source).toBe(victim);
  });

  it("refuses a directory where no file loads, creating no index", async () => {
    const ws = await workspace({ "a.md": "", "b.pdf": pseudoRandomBytes(512) });
    await expect(ingest({ paths: [ws.docs], config: ws.config })).rejects.toThrow(UsageError);
    await expect(fs.access(path.join(ws.indexDir, "CURRENT"))).rejects.toThrow();
  });
});

describe("ingest: settings that must match the index", () => {
  it("re-embeds everything with rebuild: true", async () => {
    const ws = await workspace();
    const first = await ingest({ paths: [ws.docs], config: ws.config });
    const report = await ingest({ paths: [ws.docs], config: ws.config, rebuild: true });
    expect(report).toMatchObject({ written: true, refitted: true, changed: [], unchanged: 0 });
    expect(report.added).toHaveLength(Object.keys(TOPICS).length);
    expect(report.embeddedChunks).toBe(first.chunkCount);
  });

  it("refuses another embedder than the one that built the index, naming both", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const openai = testConfig(ws.indexDir, { RAG_EMBEDDINGS: "openai", OPENAI_API_KEY: "sk-test-not-a-real-key" });
    const error = await ingest({ paths: [ws.docs], config: openai }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("offline-lsa");
    expect((error as Error).message).toContain("openai:text-embedding-3-small");
    await expect(openIndex(openai)).rejects.toThrow(UsageError);
  });

  it("refuses a chunk-size change without rebuild, and accepts it with rebuild", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const bigger = testConfig(ws.indexDir, { RAG_CHUNK_SIZE: 800 });
    const error = await ingest({ paths: [ws.docs], config: bigger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/chunk size 400.*not 800/);
    expect((error as UsageError).hint).toContain("--rebuild");
    const rebuilt = await ingest({ paths: [ws.docs], config: bigger, rebuild: true });
    expect((await openIndex(bigger)).manifest.splitter.chunkSize).toBe(800);
    expect(rebuilt.written).toBe(true);
  });

  it("refuses an empty directory and creates no index", async () => {
    const root = await tempDir();
    const empty = path.join(root, "empty");
    await fs.mkdir(empty);
    const indexDir = path.join(root, "index");
    const error = await ingest({ paths: [empty], config: testConfig(indexDir) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    await expect(fs.access(indexDir)).rejects.toThrow();
  });
});

describe("ingest: concurrency", () => {
  it("lets two concurrent ingests of one index finish, the second waiting for the first", async () => {
    const ws = await workspace();
    let waits = 0;
    const onWait = () => waits++;
    const [a, b] = await Promise.all([
      ingest({ paths: [ws.docs], config: ws.config, onWait }),
      ingest({ paths: [ws.docs], config: ws.config, onWait }),
    ]);
    expect(waits).toBe(1);
    expect([a.written, b.written].sort()).toEqual([false, true]);
    expect(a.chunkCount).toBe(b.chunkCount);
    const index = await openIndex(ws.config);
    expect(index.vectorStore.size).toBe(a.chunkCount);
    expect(Object.keys(index.manifest.files)).toHaveLength(Object.keys(TOPICS).length);
    const snapshots = await fs.readdir(path.join(ws.indexDir, "snapshots"));
    expect(snapshots).toEqual([(await readCurrent(ws.indexDir)).trim()]);
    await expect(fs.access(path.join(ws.indexDir, ".lock"))).rejects.toThrow();
  });
});
