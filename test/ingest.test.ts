// The ingest specification, run against every store's writer: one algorithm decides what is
// read, embedded, kept and removed; the local index directory and Postgres only store it.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Document } from "@langchain/core/documents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingest, type IngestEvent } from "../src/ingest/ingest.js";
import { skippedLine } from "../src/cli/commands/ingest.js";
import { MAX_FILE_BYTES } from "../src/ingest/loaders.js";
import { discoverFiles } from "../src/ingest/discover.js";
import { fileHash, planFiles } from "../src/ingest/plan.js";
import { openIndex } from "../src/store/open-index.js";
import { IngestAbortedError, NothingToIngestError, UsageError } from "../src/errors/index.js";
import type { ConfigOverrides } from "../src/config/index.js";
import { HANDBOOK, SMALL_FILE, TOPICS } from "./helpers/corpus.js";
import { pseudoRandomBytes, tempDir, testConfig, writeCorpus } from "./helpers/fs.js";
import { searchAll as searchIndex, workspace, type Workspace } from "./helpers/index.js";
import { startPgServer } from "./helpers/pg-server.js";
import { storeUnderTest, type StoreKind } from "./helpers/stores.js";
import { ingestAbortedWhileLocked } from "./helpers/write-lock.js";

const sha256 = (bytes: Buffer | string) => crypto.createHash("sha256").update(bytes).digest("hex");

let pgServer: Awaited<ReturnType<typeof startPgServer>>;
beforeAll(async () => {
  pgServer = await startPgServer();
});
afterAll(async () => {
  await pgServer?.close();
});

describe.each<StoreKind>(["hnsw", "pgvector"])("ingest into %s", (kind) => {
  const store = storeUnderTest(kind, () => pgServer);
  const setup = (files: Record<string, string | Buffer> = TOPICS, overrides: ConfigOverrides = {}) => workspace(files, { ...store.overrides(), ...overrides });
  const state = async (ws: Workspace) => (await store.probe().state(ws.config))!;
  const searchAll = (ws: Workspace, query: string, k?: number): Promise<Document[]> => store.probe().search(ws.config, query, k);
  const chunksBySource = async (ws: Workspace, query: string) => {
    const counts = new Map<string, number>();
    for (const doc of await searchAll(ws, query)) counts.set(String(doc.metadata.source), (counts.get(String(doc.metadata.source)) ?? 0) + 1);
    return counts;
  };

  describe("first run and no-op re-runs", () => {
    it("writes an index whose file table lists every file with its hash and chunk ids", async () => {
      const ws = await setup();
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      const files = Object.values(ws.files).sort();
      expect(report).toMatchObject({ store: kind, written: true, refitted: true, added: files, changed: [], removed: [], embedder: "offline-lsa" });
      expect(report.embeddedChunks).toBe(report.chunkCount);
      expect(report.chunkCount).toBeGreaterThan(Object.keys(TOPICS).length);

      const index = await state(ws);
      expect(Object.keys(index.files).sort()).toEqual(files);
      for (const [relative, file] of Object.entries(ws.files)) {
        const entry = index.files[file]!;
        expect(entry.hash).toBe(fileHash(Buffer.from(TOPICS[relative as keyof typeof TOPICS])));
        expect(entry.chunkIds.length).toBeGreaterThan(0);
      }
      const allIds = Object.values(index.files).flatMap((f) => f.chunkIds);
      expect(new Set(allIds).size).toBe(report.chunkCount);
      expect(index.chunkCount).toBe(report.chunkCount);
      expect(await searchAll(ws, "anything")).toHaveLength(report.chunkCount);

      const [top] = await searchAll(ws, "feeding a sourdough starter with rye flour", 1);
      expect(top!.metadata.source).toBe(ws.files["baking/sourdough.md"]);
    });

    it("skips unchanged files on re-ingest: nothing embedded, nothing written", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const before = (await state(ws)).version;
      const again = await ingest({ paths: [ws.docs], config: ws.config });
      expect(again).toMatchObject({ written: false, embeddedChunks: 0, added: [], changed: [], removed: [], refitted: false });
      expect(again.unchanged).toBe(Object.keys(TOPICS).length);
      expect((await state(ws)).version).toBe(before);
    });

    it("reports progress in order: every file read, then embedding (announced before the fit), then saving", async () => {
      const ws = await setup();
      const events: IngestEvent[] = [];
      await ingest({ paths: [ws.docs], config: ws.config, onEvent: (e) => events.push(e) });
      const phases = events.map((e) => e.phase).filter((p, i, all) => p !== all[i - 1]);
      expect(phases).toEqual(["read", "embed", "save"]);
      expect(events.filter((e) => e.phase === "read")).toHaveLength(Object.keys(TOPICS).length);
      const firstEmbed = events.find((e) => e.phase === "embed")!;
      expect(firstEmbed).toMatchObject({ done: 0, files: Object.keys(TOPICS).length });
    });
  });

  describe("incremental updates", () => {
    it("re-embeds only the changed file's chunks", async () => {
      const ws = await setup();
      const first = await ingest({ paths: [ws.docs], config: ws.config });
      const before = await state(ws);
      const changed = ws.files[SMALL_FILE]!;
      // Only words the fitted embedder knows, so it is reused rather than refitted.
      await fs.writeFile(changed, "# Island ferry timetable\n\nThe island ferry returns to the harbour at eight in the evening.\n");

      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report).toMatchObject({ written: true, changed: [changed], added: [], removed: [], refitted: false });
      expect(report.unchanged).toBe(Object.keys(TOPICS).length - 1);
      const after = await state(ws);
      expect(report.embeddedChunks).toBe(after.files[changed]!.chunkIds.length);
      expect(report.chunkCount).toBe(first.chunkCount - before.files[changed]!.chunkIds.length + report.embeddedChunks);
      for (const file of Object.values(ws.files).filter((f) => f !== changed)) expect(after.files[file]).toEqual(before.files[file]);
      const hits = await searchAll(ws, "ferry returns to the harbour in the evening", 3);
      expect(hits.some((d) => d.metadata.source === changed && d.pageContent.includes("returns to the harbour"))).toBe(true);
      const stale = (await searchAll(ws, "ferry harbour kiosk tickets")).filter((d) => d.pageContent.includes("kiosk"));
      expect(stale).toEqual([]);
    });

    it("reports an added file and makes it searchable", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const added = path.join(ws.docs, "outdoors", "apiary-by-bicycle.md");
      // Words the embedder already knows: a small addition does not refit it, so new words would not embed.
      const text = "# Bicycle hive\n\nCarry the smoker and the hive frames, and lube the chain before the ride.\n";
      await fs.writeFile(added, text);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report).toMatchObject({ written: true, added: [added], changed: [], removed: [], refitted: false, embeddedChunks: 1 });
      const [top] = await searchAll(ws, text, 1);
      expect(top!.metadata.source).toBe(added);
      expect(top!.metadata.relativePath).toBe(path.join("outdoors", "apiary-by-bicycle.md"));
    });

    it("refits the offline embedder when new files bring words it has never seen", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const added = path.join(ws.docs, "music", "theremin.md");
      const text = "# Theremin\n\nA theremin is played without contact: antennas sense the hands, pitch and volume change with distance.\n";
      await fs.mkdir(path.dirname(added), { recursive: true });
      await fs.writeFile(added, text);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report).toMatchObject({ written: true, added: [added], refitted: true, embeddedChunks: report.chunkCount });
      expect(report.refitReason).toMatch(/^\d+% of the new text's words unknown to it \(over 10%\)$/);
      const [top] = await searchAll(ws, "theremin antennas pitch", 1);
      expect(top!.metadata.source).toBe(added);
    });

    it("refits once small additions add up to a fifth of the fit, not only when one ingest brings that many", async () => {
      const ws = await setup();
      const { chunkCount: fittedOn } = await ingest({ paths: [ws.docs], config: ws.config });
      // Sentences the embedder knows, paired in an order no existing chunk has: new, known words.
      const sentences = Object.values(TOPICS).flatMap((text) => text.split(/(?<=\.)\s+/).filter((s) => !s.startsWith("#")));
      const refits: boolean[] = [];
      const reasons: Array<string | undefined> = [];
      for (let i = 0; refits.length <= fittedOn / 5; i++) {
        await fs.writeFile(path.join(ws.docs, `note-${i}.md`), `# Bicycle chain maintenance\n\n${sentences[i + 1]} ${sentences[i]}\n`);
        const report = await ingest({ paths: [ws.docs], config: ws.config });
        expect(report).toMatchObject({ written: true, embeddedChunks: report.refitted ? report.chunkCount : 1 });
        refits.push(report.refitted);
        reasons.push(report.refitReason);
      }
      // Each ingest alone adds one chunk; together they pass a fifth of the fit on the last one.
      expect(refits.indexOf(true)).toBe(Math.floor(fittedOn / 5));
      const grown = refits.length;
      expect(reasons.at(-1)).toBe(`${grown} chunks embedded since its fit on ${fittedOn} (over 20%)`);
      expect(reasons.slice(0, -1).every((r) => r === undefined)).toBe(true);
    });

    it("reports a deleted file as removed and drops its chunks from search results", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const deleted = ws.files["geology/volcanoes.md"]!;
      await fs.rm(deleted);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report).toMatchObject({ written: true, removed: [deleted], added: [], changed: [] });
      const results = await searchAll(ws, "magma eruption lava volcano");
      expect(results.length).toBe(report.chunkCount);
      expect(results.filter((d) => d.metadata.source === deleted)).toEqual([]);
      expect((await state(ws)).files).not.toHaveProperty(deleted);
    });

    it("stores two files with identical content once, and keeps the text when either is deleted", async () => {
      const ws = await setup({ ...TOPICS, "outdoors/beekeeping.old.md": TOPICS["outdoors/beekeeping.md"] });
      const first = await ingest({ paths: [ws.docs], config: ws.config });
      const original = ws.files["outdoors/beekeeping.md"]!;
      const copy = ws.files["outdoors/beekeeping.old.md"]!;
      const perFile = (await state(ws)).files[original]!.chunkIds.length + (await state(ws)).files[copy]!.chunkIds.length;
      expect(first.duplicateChunks).toBe(perFile);
      const initial = await chunksBySource(ws, "honey bee queen hive");
      expect((initial.get(original) ?? 0) + (initial.get(copy) ?? 0)).toBe(perFile);

      // Whichever holds the stored copy, deleting one file leaves every chunk in the other.
      await fs.rm(original);
      expect((await ingest({ paths: [ws.docs], config: ws.config })).removed).toEqual([original]);
      const afterOne = await chunksBySource(ws, "honey bee queen hive");
      expect([afterOne.get(original), afterOne.get(copy)]).toEqual([undefined, perFile]);
      await fs.writeFile(original, TOPICS["outdoors/beekeeping.md"]);
      await ingest({ paths: [ws.docs], config: ws.config });
      await fs.rm(copy);
      expect((await ingest({ paths: [ws.docs], config: ws.config })).removed).toEqual([copy]);
      const afterOther = await chunksBySource(ws, "honey bee queen hive");
      expect([afterOther.get(original), afterOther.get(copy)]).toEqual([perFile, undefined]);
    });
  });

  describe("exact duplicate chunks", () => {
    const handbook = () => setup({ ...TOPICS, ...HANDBOOK });
    /** The sources of the stored chunks that hold `phrase`. */
    const holding = async (ws: Workspace, phrase: string) =>
      (await searchAll(ws, phrase)).filter((d) => d.pageContent.replace(/\s+/g, " ").includes(phrase)).map((d) => d.metadata.source);

    it("stores a chunk repeated in another file once, keeps the copy in the smaller file, and says how many were dropped", async () => {
      const ws = await handbook();
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.duplicateChunks).toBe(2);
      expect(await holding(ws, "cone six after nine hours")).toEqual([ws.files["studio/kiln.md"]]);
      expect(await holding(ws, "winding every thread under even tension")).toEqual([ws.files["studio/loom.md"]]);
      expect(await holding(ws, "studio handbook on one page")).toEqual([ws.files["studio/all.html"]]);
      const index = await state(ws);
      expect(index.chunkCount).toBe(report.chunkCount);
      expect(await searchAll(ws, "anything")).toHaveLength(report.chunkCount);
      expect(index.files[ws.files["studio/all.html"]!]!.duplicates).toHaveLength(2);
      // Nothing changed: nothing written, the same count reported.
      expect(await ingest({ paths: [ws.docs], config: ws.config })).toMatchObject({ written: false, duplicateChunks: 2 });
    });

    it("brings the twin's copy back when the file holding the stored copy is deleted", async () => {
      const ws = await handbook();
      await ingest({ paths: [ws.docs], config: ws.config });
      await fs.rm(ws.files["studio/kiln.md"]!);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report).toMatchObject({ removed: [ws.files["studio/kiln.md"]], duplicateChunks: 1, embeddedChunks: 1 });
      expect(await holding(ws, "cone six after nine hours")).toEqual([ws.files["studio/all.html"]]);
      expect(await holding(ws, "winding every thread under even tension")).toEqual([ws.files["studio/loom.md"]]);
      expect(await searchAll(ws, "anything")).toHaveLength(report.chunkCount);
      const index = await state(ws);
      expect(index.chunkCount).toBe(report.chunkCount);
      expect(index.files[ws.files["studio/all.html"]!]!.chunkIds).toHaveLength(2);
      const [top] = await searchAll(ws, "kiln cone six glaze pyrometer spy hole", 1);
      expect(top!.metadata.source).toBe(ws.files["studio/all.html"]);
    });

    it("brings the twin's copy back when the file holding the stored copy changes", async () => {
      const ws = await handbook();
      await ingest({ paths: [ws.docs], config: ws.config });
      await fs.writeFile(ws.files["studio/kiln.md"]!, "# Kiln firing\n\nThe kiln is being rebuilt; firing resumes in the spring.\n");
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report).toMatchObject({ changed: [ws.files["studio/kiln.md"]], duplicateChunks: 1 });
      expect(await holding(ws, "cone six after nine hours")).toEqual([ws.files["studio/all.html"]]);
      expect(await holding(ws, "firing resumes in the spring")).toEqual([ws.files["studio/kiln.md"]]);
      expect(await searchAll(ws, "anything")).toHaveLength(report.chunkCount);
    });

    it("forgets the text once every file holding it is gone", async () => {
      const ws = await handbook();
      await ingest({ paths: [ws.docs], config: ws.config });
      await fs.rm(ws.files["studio/kiln.md"]!);
      await fs.rm(ws.files["studio/all.html"]!);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.duplicateChunks).toBe(0);
      expect(await holding(ws, "cone six after nine hours")).toEqual([]);
      expect(await holding(ws, "winding every thread under even tension")).toEqual([ws.files["studio/loom.md"]]);
      expect(await searchAll(ws, "anything")).toHaveLength(report.chunkCount);
    });
  });

  describe("files that fail to load", () => {
    it("skips a file that fails to load, with its path and reason, and ingests the others", async () => {
      const ws = await setup({ ...TOPICS, "scans/broken.pdf": pseudoRandomBytes(2048), "bin/blob.md": Buffer.from([1, 0, 2, 0]) });
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.skipped).toEqual(
        expect.arrayContaining([
          { path: ws.files["scans/broken.pdf"], reason: expect.stringContaining("corrupt or unreadable PDF") },
          { path: ws.files["bin/blob.md"], reason: expect.stringContaining("binary") },
        ]),
      );
      expect(report.added).toHaveLength(Object.keys(TOPICS).length);
      expect((await state(ws)).files).not.toHaveProperty(ws.files["scans/broken.pdf"]!);
    });

    it("skips a file over the size limit without reading it", async () => {
      const ws = await setup();
      const huge = path.join(ws.docs, "huge.txt");
      // Sparse: the size is there, the bytes are not; a reader would pull 64 MB of zeros.
      await fs.writeFile(huge, "");
      await fs.truncate(huge, MAX_FILE_BYTES + 1);
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.skipped).toEqual([{ path: huge, reason: expect.stringContaining("larger than 64 MB") }]);
      expect(report.added).toHaveLength(Object.keys(TOPICS).length);
    });

    it("keeps the previously indexed version of a file that is now corrupt", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const victim = ws.files["crafts/knitting.md"]!;
      const oldEntry = (await state(ws)).files[victim];
      await fs.writeFile(victim, Buffer.concat([Buffer.from("# Knitting\n"), Buffer.alloc(16)]));
      // Change another file too, so a new version is written without the corrupt one's new bytes.
      await fs.appendFile(ws.files[SMALL_FILE]!, "\nA second kiosk opens at the pier in summer.\n");

      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.written).toBe(true);
      expect(report.skipped).toEqual([{ path: victim, reason: expect.stringMatching(/binary.*kept the previously indexed version/) }]);
      expect(report.changed).toEqual([ws.files[SMALL_FILE]]);
      expect((await state(ws)).files[victim]).toEqual(oldEntry);
      const [top] = await searchAll(ws, "knit purl stitch stockinette yarn", 1);
      expect(top!.metadata.source).toBe(victim);
    });

    it("refuses a directory where no file loads, creating no index, with each file's reason as data", async () => {
      const ws = await setup({ "a.md": "", "b.pdf": pseudoRandomBytes(512) });
      const error = await ingest({ paths: [ws.docs], config: ws.config }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NothingToIngestError);
      expect(error).toBeInstanceOf(UsageError);
      expect(error).toMatchObject({
        exitCode: 2,
        message: `Nothing to ingest under ${ws.docs}: all 2 files found were skipped (1 no text content, 1 corrupt or unreadable PDF); the index was not changed.`,
        skipped: [
          { path: ws.files["a.md"], reason: expect.stringContaining("no text content") },
          { path: ws.files["b.pdf"], reason: expect.stringContaining("corrupt or unreadable PDF") },
        ],
        ignored: 0,
        warnings: [],
      });
      expect((error as NothingToIngestError).hint).toContain("Supported: .md .markdown");
      expect(await store.probe().state(ws.config)).toBeNull();
    });

    it("leaves an existing index as it was when every file of another folder is skipped", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const before = await state(ws);
      const junk = path.join(ws.root, "junk");
      await fs.mkdir(junk);
      await fs.writeFile(path.join(junk, "blob.txt"), Buffer.from([1, 0, 2, 0]));
      await fs.writeFile(path.join(junk, "logo.png"), "not text");
      const error = await ingest({ paths: [junk], config: ws.config }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NothingToIngestError);
      expect((error as NothingToIngestError).skipped.map((s) => path.basename(s.path))).toEqual(["logo.png", "blob.txt"]);
      expect(await state(ws)).toEqual(before);
      const [top] = await searchAll(ws, "knit purl stitch stockinette yarn", 1);
      expect(top!.metadata.source).toBe(ws.files["crafts/knitting.md"]);
    });
  });

  describe("aborting", () => {
    /** Notes enough for several embedding batches, one topic each. */
    const notes = (count: number) =>
      Object.fromEntries(
        Array.from({ length: count }, (_, i) => [
          `notes/note-${i}.md`,
          `# Note ${i}\n\nLogbook entry ${i}: the tide turned at ${i % 12} o'clock and the gulls came back.\n`,
        ]),
      );

    it("stops after the first embedding batch when the signal aborts, leaving the previous index live and searchable", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const before = await state(ws);
      const topBefore = (await searchAll(ws, "knit purl stitch stockinette yarn", 3)).map((d) => d.metadata.chunkId);
      await writeCorpus(ws.docs, notes(150));
      const abort = new AbortController();
      const batches: number[] = [];
      const error = await ingest({
        paths: [ws.docs],
        config: ws.config,
        signal: abort.signal,
        onEvent: (event) => {
          if (event.phase !== "embed" || event.done === 0) return;
          batches.push(event.done);
          abort.abort(new Error("test: stop"));
        },
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IngestAbortedError);
      expect(error).toMatchObject({ name: "AbortError", message: "Interrupted: the index was not changed.", cause: new Error("test: stop") });
      expect(batches).toEqual([64]);
      expect(await state(ws)).toEqual(before);
      expect((await searchAll(ws, "knit purl stitch stockinette yarn", 3)).map((d) => d.metadata.chunkId)).toEqual(topBefore);
      // The ingest after it writes as if the aborted one had never run.
      const report = await ingest({ paths: [ws.docs], config: ws.config });
      expect(report.added).toHaveLength(150);
    });

    it("stops while saving, before the new index goes live, leaving nothing of it behind", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const before = await state(ws);
      await writeCorpus(ws.docs, notes(3));
      const abort = new AbortController();
      const save = (event: IngestEvent) => event.phase === "save" && abort.abort();
      await expect(ingest({ paths: [ws.docs], config: ws.config, signal: abort.signal, onEvent: save })).rejects.toThrow(IngestAbortedError);
      expect(await state(ws)).toEqual(before);
      if (kind === "hnsw") {
        const current = (await fs.readFile(path.join(ws.indexDir, "CURRENT"), "utf8")).trim();
        expect(await fs.readdir(path.join(ws.indexDir, "snapshots"))).toEqual([current]);
      }
      expect((await ingest({ paths: [ws.docs], config: ws.config })).added).toHaveLength(3);
    });

    // PGlite serves every connection from one session, so its advisory locks do not exclude each
    // other: pgvector-server.test.ts checks the same on a real Postgres server.
    it.skipIf(kind === "pgvector")("stops while waiting for another ingest's lock, at once, not when the lock comes free", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      await writeCorpus(ws.docs, notes(2));
      const outcome = await ingestAbortedWhileLocked(ws.config, { paths: [ws.docs] });
      expect(outcome).toBeInstanceOf(IngestAbortedError);
    });

    it("does not start when the signal is already aborted", async () => {
      const ws = await setup();
      const error = await ingest({ paths: [ws.docs], config: ws.config, signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IngestAbortedError);
      expect(await store.probe().state(ws.config)).toBeNull();
    });
  });

  describe("settings that must match the index", () => {
    it("re-embeds everything with rebuild: true", async () => {
      const ws = await setup();
      const first = await ingest({ paths: [ws.docs], config: ws.config });
      const report = await ingest({ paths: [ws.docs], config: ws.config, rebuild: true });
      expect(report).toMatchObject({ written: true, refitted: true, changed: [], unchanged: 0 });
      expect(report.added).toHaveLength(Object.keys(TOPICS).length);
      expect(report.embeddedChunks).toBe(first.chunkCount);
      expect((await state(ws)).chunkCount).toBe(first.chunkCount);
    });

    it("refuses another embedder than the one that built the index, naming both", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const openai = { ...ws.config, RAG_EMBEDDINGS: "openai" as const, OPENAI_API_KEY: "sk-test-not-a-real-key" };
      const error = await ingest({ paths: [ws.docs], config: openai }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toContain("offline-lsa");
      expect((error as Error).message).toContain("openai:text-embedding-3-small");
    });

    it("refuses a chunk-size change without rebuild, and accepts it with rebuild", async () => {
      const ws = await setup();
      await ingest({ paths: [ws.docs], config: ws.config });
      const bigger = { ...ws.config, RAG_CHUNK_SIZE: 800 };
      const error = await ingest({ paths: [ws.docs], config: bigger }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(/chunk size 400.*not 800/);
      expect((error as UsageError).hint).toContain("--rebuild");
      const rebuilt = await ingest({ paths: [ws.docs], config: bigger, rebuild: true });
      expect((await state(ws)).splitter.chunkSize).toBe(800);
      expect(rebuilt.written).toBe(true);
    });
  });
});

describe("ingest: the store follows RAG_STORE", () => {
  it("writes to Postgres, not to a local index directory, when the config says pgvector", async () => {
    const ws = await workspace(TOPICS, storeUnderTest("pgvector", () => pgServer).overrides());
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report).toMatchObject({ store: "pgvector", written: true, location: expect.stringContaining(`table ${ws.config.RAG_PG_TABLE}`) });
    await expect(fs.access(ws.indexDir)).rejects.toThrow();
  });
});

describe("ingest into hnsw: the index directory", () => {
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

  it("lets two concurrent ingests of one index finish, the second waiting for the first", async () => {
    const ws = await workspace();
    let waits = 0;
    const onWait = () => waits++;
    const [a, b] = await Promise.all([ingest({ paths: [ws.docs], config: ws.config, onWait }), ingest({ paths: [ws.docs], config: ws.config, onWait })]);
    expect(waits).toBe(1);
    expect([a.written, b.written].sort()).toEqual([false, true]);
    expect(a.chunkCount).toBe(b.chunkCount);
    const index = await openIndex(ws.config);
    expect(index.vectorStore.size).toBe(a.chunkCount);
    expect(Object.keys(index.manifest.files)).toHaveLength(Object.keys(TOPICS).length);
    const current = (await fs.readFile(path.join(ws.indexDir, "CURRENT"), "utf8")).trim();
    expect(await fs.readdir(path.join(ws.indexDir, "snapshots"))).toEqual([current]);
    await expect(fs.access(path.join(ws.indexDir, ".lock"))).rejects.toThrow();
  });
});

describe("ingest: UTF-16 files", () => {
  it("indexes UTF-16 files with a byte-order mark as text, searchable by their words, and skips one without", async () => {
    const withBom = (s: string) => Buffer.from(`\uFEFF${s}`, "utf16le");
    const ws = await workspace({
      ...TOPICS,
      "kitchen/marmalade.md": withBom("# Seville marmalade\n\nBitter Seville oranges are boiled whole with sugar until the marmalade sets on a cold saucer.\n"),
      "crafts/origami.txt": withBom("Origami cranes are folded from square sheets of washi paper without cuts or glue.\n").swap16(),
      "crafts/no-bom.txt": Buffer.from("Quilting joins three layers of fabric with running stitches.\n", "utf16le"),
    });
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.added).toEqual(expect.arrayContaining([ws.files["kitchen/marmalade.md"], ws.files["crafts/origami.txt"]]));
    expect(report.skipped).toEqual([
      { path: ws.files["crafts/no-bom.txt"], reason: expect.stringContaining("iconv -f UTF-16LE -t UTF-8 no-bom.txt > no-bom.utf8.txt") },
    ]);
    const [marmalade] = await searchIndex(ws.config, "Seville oranges marmalade saucer");
    expect(marmalade!.metadata.source).toBe(ws.files["kitchen/marmalade.md"]);
    expect(marmalade!.pageContent).toContain("Bitter Seville oranges are boiled whole");
    const [origami] = await searchIndex(ws.config, "origami cranes washi paper");
    expect(origami!.metadata.source).toBe(ws.files["crafts/origami.txt"]);
    expect(origami!.pageContent).toContain("Origami cranes are folded from square sheets of washi paper");
  });
});

describe("ingest: skipped files", () => {
  it("states the skipped-file count by reason", async () => {
    const root = await tempDir();
    await fs.writeFile(path.join(root, "refunds.md"), "# Refunds\n\nRefunds reach the card within five to ten business days.\n");
    await fs.writeFile(path.join(root, "logo.png"), "not text");
    await fs.writeFile(path.join(root, "chart.svg"), "<svg/>");
    const report = await ingest({ paths: [root], config: testConfig(path.join(root, "index")) });
    expect(skippedLine(report.skipped)).toBe("Skipped 2 files: 2 unsupported file type.");
    expect(skippedLine([])).toBe("Skipped 0 files.");
  });
});

describe("text extraction versions", () => {
  it("reads again a file the index recorded under an older text extraction, saying so, and passes over one under the current", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "guide.md");
    const bytes = Buffer.from("# Guide\n\nA delivery attempt fails if your endpoint:\n\n- does not respond within 10 seconds.\n");
    await fs.writeFile(file, bytes);
    const discovery = await discoverFiles([dir]);
    const splitter = { chunkSize: 500, chunkOverlap: 0 };
    const entry = (hash: string) => ({ [file]: { hash, size: bytes.length, chunkIds: ["old"] } });

    // Indexes from before the version existed recorded the bytes' sha256 alone.
    const older = await planFiles(discovery, entry(sha256(bytes)), splitter);
    expect(older).toMatchObject({ changed: [file], reextracted: [file], unchanged: 0 });
    expect(older.fresh[0]!.chunks[0]!.pageContent).toContain("fails if your endpoint:\n\n- does not respond");

    const current = await planFiles(discovery, entry(fileHash(bytes)), splitter);
    expect(current).toMatchObject({ changed: [], reextracted: [], kept: [file], unchanged: 1, fresh: [] });
    // Other bytes under the older extraction: a change of content, not only of extraction.
    const edited = await planFiles(discovery, entry(sha256(Buffer.concat([bytes, Buffer.from("More.\n")]))), splitter);
    expect(edited).toMatchObject({ changed: [file], reextracted: [] });
    expect(fileHash(bytes)).not.toBe(sha256(bytes));
  });
});

describe("ingest: its options", () => {
  it("refuses paths that are not a list of paths, or a missing config, with a UsageError saying how to call it", async () => {
    const config = testConfig(path.join(await tempDir(), "index"));
    for (const [options, message] of [
      [{ paths: "./docs", config }, /ingest needs `paths`, a list of files or folders; got the string "\.\/docs": put it in a list\./],
      [{ paths: [42], config }, /ingest needs `paths`, a list of files or folders; got an array\./],
      [{ paths: ["./docs"] }, /ingest needs `config`, the configuration loadConfig\(\) returns; got undefined\./],
    ] as const) {
      const error = (await ingest(options as never).catch((e: unknown) => e)) as UsageError;
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toMatch(message);
      expect(error.hint).toContain('ingest({ paths: ["./docs"], config: loadConfig() })');
    }
  });
});
