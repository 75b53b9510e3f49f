// Crash safety: SIGKILL a real `rerank-rag ingest` at random points and right after its temp
// snapshot dir appears (during save); the index must stay loadable, every file's chunks entirely
// its old or its new version, and the next ingest must clean up and not wait for the dead writer.
import crypto from "node:crypto";
import fsSync from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { RagConfig } from "../src/config/index.js";
import { ingest } from "../src/ingest/ingest.js";
import { fileHash } from "../src/ingest/plan.js";
import { INDEX_MARKER_FILE } from "../src/store/index-dir.js";
import { openIndex } from "../src/store/open-index.js";
import { cleanEnv, startCli, type CliRun } from "./helpers/cli.js";
import { SMALL_FILE } from "./helpers/corpus.js";
import { tempDir, testConfig } from "./helpers/fs.js";
import { workspace } from "./helpers/index.js";
import { recordFigures, seededRandom, sleep, stressCount } from "./helpers/reliability.js";

const KILLS = stressCount(5, 30);
const FILES = 300;
/** What the manifest records of a file's content. */
const contentHash = (text: string) => fileHash(Buffer.from(text));
const WORDS =
  "river stone lantern harbour meadow copper violin orchard glacier falcon pepper canyon willow marble tide ember quartz saddle thistle beacon cedar prism cobalt lagoon fern anvil compass harvest".split(
    " ",
  );

type Rng = ReturnType<typeof seededRandom>;

/** A small note: a title and three paragraphs; `edition` words make every version's text unique. */
function note(i: number, edition: number, rng: Rng): string {
  const sentence = () => Array.from({ length: rng.int(8, 14) }, () => (rng.next() < 0.08 ? `zq${edition}x${rng.int(0, 999)}` : rng.pick(WORDS))).join(" ");
  const paragraph = () => Array.from({ length: 4 }, () => `${sentence()}.`).join(" ");
  return `# Note ${i} edition ${edition}\n\n${paragraph()}\n\n${paragraph()} Edition ${edition} of note ${i}.\n\n${paragraph()}\n`;
}

interface Corpus {
  docs: string;
  /** Content on disk by absolute path. */
  disk: Map<string, string>;
  /** Every version ever written, by hash. */
  history: Map<string, string>;
}

async function writeNote(corpus: Corpus, file: string, content: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  corpus.disk.set(file, content);
  corpus.history.set(contentHash(content), content);
}

/** Rewrites ~25% of the notes (enough that the offline embedder refits: a full embed every run). */
async function changeSome(corpus: Corpus, edition: number, rng: Rng): Promise<void> {
  for (const [file] of corpus.disk) {
    if (rng.next() < 0.25) await writeNote(corpus, file, note(Number(/note-(\d+)/.exec(file)![1]), edition, rng));
  }
}

/**
 * Loads the live index, runs a search, and checks every file: its manifest hash is the version
 * last committed or the one now on disk, and its chunks (ids and texts in the docstore) all come
 * from exactly that version. Returns the hashes now committed.
 */
async function expectConsistent(config: RagConfig, corpus: Corpus, committed: Map<string, string>): Promise<Map<string, string>> {
  const index = await openIndex(config);
  expect(await index.vectorStore.similaritySearch("harbour lantern copper", 3)).toHaveLength(3);
  const chunksOf = new Map<string, Array<{ id: string; text: string }>>();
  for (const { document } of index.vectorStore.entries()) {
    const file = String(document.metadata.source);
    chunksOf.set(file, [...(chunksOf.get(file) ?? []), { id: String(document.metadata.chunkId), text: document.pageContent }]);
  }
  const problems: string[] = [];
  for (const [file, entry] of Object.entries(index.manifest.files)) {
    if (entry.hash !== committed.get(file) && entry.hash !== contentHash(corpus.disk.get(file) ?? "")) problems.push(`${file}: neither old nor new`);
    const content = corpus.history.get(entry.hash) ?? "";
    const prefix = crypto.createHash("sha256").update(`${file}\0${entry.hash}`).digest("hex").slice(0, 16);
    const chunks = chunksOf.get(file) ?? [];
    if (
      chunks
        .map((c) => c.id)
        .sort()
        .join() !== [...entry.chunkIds].sort().join()
    )
      problems.push(`${file}: chunk ids differ from the manifest`);
    for (const chunk of chunks) {
      if (!chunk.id.startsWith(`${prefix}-`) || !content.includes(chunk.text)) problems.push(`${file}: chunk ${chunk.id} is not from version ${entry.hash}`);
    }
  }
  for (const file of committed.keys()) if (!index.manifest.files[file]) problems.push(`${file}: lost`);
  for (const file of chunksOf.keys()) if (!index.manifest.files[file]) problems.push(`${file}: chunks without a manifest entry`);
  expect(problems.slice(0, 5)).toEqual([]);
  return new Map(Object.entries(index.manifest.files).map(([file, entry]) => [file, entry.hash]));
}

const entriesOf = (dir: string) => fs.readdir(dir).catch(() => [] as string[]);

describe("ingest under SIGKILL", () => {
  it(`keeps the index loadable and every file entirely old or new across ${KILLS} kills, and the next ingest cleans up without waiting`, async () => {
    const rng = seededRandom();
    const root = await tempDir("rerank-rag-crash-");
    const corpus: Corpus = { docs: path.join(root, "docs"), disk: new Map(), history: new Map() };
    const indexDir = path.join(root, "index");
    const snapshots = path.join(indexDir, "snapshots");
    const config = testConfig(indexDir); // chunk size 400 / overlap 60, as the CLI is told below
    const args = ["ingest", corpus.docs, "--index", indexDir, "--chunk-size", "400", "--chunk-overlap", "60"];
    const env = cleanEnv({ RAG_EMBEDDINGS: "offline" });
    for (let i = 0; i < FILES; i++) await writeNote(corpus, path.join(corpus.docs, `topic-${i % 12}`, `note-${i}.md`), note(i, 0, rng));

    const ingestToEnd = async () => {
      const run = await startCli(args, { env }).done;
      expect(run.code, run.stderr).toBe(0);
      return run;
    };
    await ingestToEnd();
    let committed = await expectConsistent(config, corpus, new Map());
    // Calibrate: how long a run with the same amount of change takes, start to exit.
    let edition = 1;
    await changeSome(corpus, edition++, rng);
    const duration = (await ingestToEnd()).ms;
    committed = await expectConsistent(config, corpus, committed);

    const phases: Record<string, number> = {};
    let kills = 0;
    let finishedFirst = 0;
    let staleTemps = 0;
    let locksLeft = 0;
    const runs: CliRun[] = [];
    for (let attempt = 0; kills < KILLS && attempt < KILLS * 3; attempt++) {
      await changeSome(corpus, edition++, rng);
      if (rng.next() < 0.2) await writeNote(corpus, path.join(corpus.docs, "added", `note-${FILES + attempt}.md`), note(FILES + attempt, edition, rng));
      const duringSave = attempt % 3 === 2;
      const before = await fs.readFile(path.join(indexDir, "CURRENT"), "utf8");
      const run = startCli(args, { env });
      let watcher: fsSync.FSWatcher | undefined;
      if (duringSave) {
        const pause = rng.int(0, 15);
        watcher = fsSync.watch(snapshots, (_event, name) => {
          if (String(name).startsWith(".tmp-")) setTimeout(() => run.child.kill("SIGKILL"), pause);
        });
      } else {
        setTimeout(() => run.child.kill("SIGKILL"), duration * (0.05 + 0.9 * rng.next()));
      }
      const result = await run.done;
      watcher?.close();
      runs.push(result);
      if (result.signal !== "SIGKILL") {
        expect(result.code, result.stderr).toBe(0);
        finishedFirst++;
        committed = await expectConsistent(config, corpus, committed);
        continue;
      }
      kills++;
      const temps = (await entriesOf(snapshots)).filter((e) => e.startsWith(".tmp-"));
      const moved = (await fs.readFile(path.join(indexDir, "CURRENT"), "utf8")) !== before;
      const last = run.lines
        .map((l) => /^(Reading|Embedding|Saving)/.exec(l.line)?.[1])
        .filter(Boolean)
        .at(-1);
      const phase = temps.length
        ? "save"
        : moved
          ? "after commit"
          : (({ Reading: "reading/fitting", Embedding: "embedding", Saving: "save" } as Record<string, string>)[last ?? ""] ?? "startup");
      phases[phase] = (phases[phase] ?? 0) + 1;
      staleTemps += temps.length;
      if ((await entriesOf(indexDir)).includes(".lock")) locksLeft++;
      committed = await expectConsistent(config, corpus, committed);
    }
    expect(kills).toBe(KILLS);

    const final = await ingestToEnd();
    committed = await expectConsistent(config, corpus, committed);
    for (const [file, content] of corpus.disk) expect(committed.get(file), file).toBe(contentHash(content));
    // Nothing left behind: no temp dirs or pointers, no lock, the live snapshot and at most its predecessor.
    expect((await entriesOf(snapshots)).filter((e) => !e.startsWith("snapshot-"))).toEqual([]);
    expect((await entriesOf(snapshots)).length).toBeLessThanOrEqual(2);
    expect((await entriesOf(indexDir)).sort()).toEqual(["CURRENT", INDEX_MARKER_FILE, "snapshots"]);
    // A dead writer's lock is taken over at once: no run ever waited for it.
    for (const run of [...runs, final]) expect(run.stderr).not.toContain("waiting for it to finish");
    expect(final.ms).toBeLessThan(duration * 3 + 5_000);
    expect(staleTemps, "at least one kill landed mid-save and left a temp dir for the next ingest to clean").toBeGreaterThan(0);

    await recordFigures("crash", {
      seed: rng.seed,
      files: corpus.disk.size,
      kills,
      byPhase: phases,
      finishedBeforeTheKill: finishedFirst,
      staleTempDirsCleaned: staleTemps,
      locksTakenOver: locksLeft,
      runMs: duration,
      failures: 0,
    });
  }, 600_000);

  it("keeps the snapshot a commit replaced, and drops one a killed writer renamed but never made live", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const snapshots = path.join(ws.indexDir, "snapshots");
    const [live] = await entriesOf(snapshots);
    // Killed between renaming its snapshot into place and switching CURRENT: newer by name than the live one.
    const orphan = path.join(snapshots, "snapshot-zzzzzzzz-1-000000");
    await fs.cp(path.join(snapshots, live!), orphan, { recursive: true });
    await fs.appendFile(ws.files[SMALL_FILE]!, "\nThe ferry is late on Sundays.\n");
    await ingest({ paths: [ws.docs], config: ws.config });
    const current = (await fs.readFile(path.join(ws.indexDir, "CURRENT"), "utf8")).trim();
    expect((await entriesOf(snapshots)).sort()).toEqual([live!, current].sort());
  });

  it("gives the next ingest a dead writer's lock at once, not after the stale timeout", async () => {
    const root = await tempDir("rerank-rag-crash-lock-");
    const corpus: Corpus = { docs: path.join(root, "docs"), disk: new Map(), history: new Map() };
    const rng = seededRandom(7);
    for (let i = 0; i < 40; i++) await writeNote(corpus, path.join(corpus.docs, `note-${i}.md`), note(i, 0, rng));
    const indexDir = path.join(root, "index");
    const args = ["ingest", corpus.docs, "--index", indexDir];
    const run = startCli(args);
    // Kill as soon as it holds the lock (it prints "Reading" right after taking it).
    while (!run.lines.some((l) => l.line.startsWith("Reading")) && run.child.exitCode === null) await sleep(5);
    run.child.kill("SIGKILL");
    expect((await run.done).signal).toBe("SIGKILL");
    expect(await entriesOf(indexDir)).toContain(".lock");
    const next = await startCli(args).done;
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toContain("waiting");
    expect(next.ms).toBeLessThan(10_000); // the stale-lock timeout alone is 15 s
    expect(await entriesOf(indexDir)).not.toContain(".lock");
  });
});
