// Concurrency: readers during rewrites, two writers on one index, and many queries in one process.
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { DocumentInterface } from "@langchain/core/documents";
import { ingest } from "../src/ingest/ingest.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { IndexDir } from "../src/store/index-dir.js";
import { openIndex } from "../src/store/open-index.js";
import { REPO_ROOT, startCli } from "./helpers/cli.js";
import { SMALL_FILE, TOPICS } from "./helpers/corpus.js";
import { tempDir, testConfig, writeCorpus } from "./helpers/fs.js";
import { workspace } from "./helpers/index.js";
import { recordFigures, seededRandom, sleep, stressCount } from "./helpers/reliability.js";

const REWRITES = stressCount(3, 12);
const WRITER_PAIRS = stressCount(1, 5);
const QUERIES = stressCount(30, 80);
/** Copies of the topic notes per writer: enough work (3-4 s) that the second writer, started while the first holds the lock, still meets it. */
const COPIES = 80;

/** The topic notes, each paragraph stamped with the edition, so any chunk tells which ingest wrote it. */
function edition(n: number): Record<string, string> {
  return Object.fromEntries(
    Object.entries(TOPICS).map(([file, text]) => [file, text.replace(/\n\n/g, `\n\nedition-${n} `) + `\n\nedition-${n} closing note.\n`]),
  );
}

const editionsIn = (sources: Array<{ text: string }>) => new Set(sources.map((s) => /edition-(\d+)/.exec(s.text)?.[1] ?? "none"));

describe("readers while an ingest rewrites the index", () => {
  it("answers every `ask` from one consistent snapshot, old or new, while ingest rewrites the index", async () => {
    const root = await tempDir("rerank-rag-conc-");
    const docs = path.join(root, "docs");
    const index = path.join(root, "index");
    await writeCorpus(docs, edition(0));
    expect((await startCli(["ingest", docs, "--index", index]).done).code).toBe(0);

    let writing = true;
    const writer = (async () => {
      for (let n = 1; n <= REWRITES; n++) {
        await writeCorpus(docs, edition(n));
        const run = await startCli(["ingest", docs, "--index", index]).done;
        expect(run.code, run.stderr).toBe(0);
      }
      writing = false;
    })();
    const reader = async (question: string) => {
      const seen: number[] = [];
      while (writing) {
        const run = await startCli(["ask", question, "--index", index, "--json"]).done;
        expect(run.code, run.stderr).toBe(0);
        const body = JSON.parse(run.stdout) as { sources: Array<{ text: string }>; firstStage: Array<{ text: string }> };
        expect(body.sources.length).toBeGreaterThan(0);
        const editions = editionsIn([...body.sources, ...body.firstStage]);
        expect([...editions], "sources from one snapshot").toHaveLength(1);
        seen.push(Number([...editions][0]));
      }
      return seen;
    };
    const [, first, second] = await Promise.all([writer, reader("How do I feed a sourdough starter?"), reader("Which telescope should I buy first?")]);
    const asks = [...first, ...second];
    expect(asks.length).toBeGreaterThanOrEqual(2);
    for (const seen of [first, second]) expect(seen).toEqual([...seen].sort((a, b) => a - b)); // never back in time
    await recordFigures("concurrency-readers", { rewrites: REWRITES, asks: asks.length, editionsSeen: [...new Set(asks)].length, failures: 0 });
  }, 300_000);
});

describe("a reader slower than two ingests", () => {
  it("opens the new snapshot when the one it resolved is pruned while it loads", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const spy = vi.spyOn(IndexDir.prototype, "openCurrent").mockImplementationOnce(async function (this: IndexDir) {
      // The once-implementation is used up by now: this call reaches the real method.
      const stale = await IndexDir.prototype.openCurrent.call(this);
      // Two ingests finish while this reader is between resolving CURRENT and loading the files.
      for (const line of ["Ferries run late on Fridays.", "Ferries carry bicycles free."]) {
        await fs.appendFile(ws.files[SMALL_FILE]!, `\n${line}\n`);
        await ingest({ paths: [ws.docs], config: ws.config });
      }
      await expect(fs.access(stale.snapshot)).rejects.toThrow();
      return stale;
    });
    try {
      const index = await openIndex(ws.config);
      expect(index.snapshot).toBe(await new IndexDir(ws.indexDir).currentSnapshot());
      expect((await index.vectorStore.similaritySearch("ferry bicycles", 1)).length).toBe(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe("two ingest processes on one index", () => {
  it("makes the second wait with a message, never lets both write, and keeps both corpora", async () => {
    const rng = seededRandom();
    const root = await tempDir("rerank-rag-writers-");
    const index = path.join(root, "index");
    const snapshots = path.join(index, "snapshots");
    const dirs = [path.join(root, "a"), path.join(root, "b")];
    const copiesOf = [COPIES, 2];
    let maxTemps = 0;
    let waits = 0;
    for (let pair = 0; pair < WRITER_PAIRS; pair++) {
      for (const [d, dir] of dirs.entries()) {
        const files: Record<string, string> = {};
        // The first writes a large tree, the second a small one: the second reaches the lock in a
        // fraction of the time the first holds it, however slowly this machine starts processes.
        for (const [file, text] of Object.entries(edition(pair * 2 + d))) for (let copy = 0; copy < copiesOf[d]!; copy++) files[`${copy}/${file}`] = text;
        await writeCorpus(dir, files);
      }
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const temps = (await fs.readdir(snapshots).catch(() => [] as string[])).filter((e) => e.startsWith(".tmp-"));
          maxTemps = Math.max(maxTemps, temps.length);
          await sleep(3);
        }
      })();
      // The second starts while the first holds the lock (it prints "Reading" once it has it),
      // at a random moment of its work: it must wait, whatever the first is doing then.
      const started = [Date.now(), 0];
      const first = startCli(["ingest", dirs[0]!, "--index", index]);
      while (!first.lines.some((l) => l.line.startsWith("Reading")) && first.child.exitCode === null) await sleep(5);
      await sleep(rng.int(0, 300));
      started[1] = Date.now();
      const second = startCli(["ingest", dirs[1]!, "--index", index]);
      const runs = await Promise.all(
        [first, second].map(async (run, i) => ({ result: await run.done, lines: run.lines.map((l) => ({ at: started[i]! + l.at, line: l.line })) })),
      );
      polling = false;
      await poller;
      for (const { result } of runs) expect(result.code, result.stderr).toBe(0);
      const waited = runs.filter(({ result }) => result.stderr.includes("Another ingest is writing"));
      expect(waited, "the second waits, the first does not").toEqual([runs[1]]);
      waits++;
      // The waiting one started reading only after the other had finished embedding.
      const other = runs[0]!;
      const readAt = waited[0]!.lines.find((l) => l.line.startsWith("Reading"))!.at;
      const savedAt = other.lines.find((l) => l.line.startsWith("Saving"))?.at ?? other.lines.find((l) => l.line.startsWith("Index"))!.at;
      expect(readAt).toBeGreaterThanOrEqual(savedAt);
      // No lost update: the index holds both corpora, so the second built on the first's snapshot.
      const opened = await openIndex(testConfig(index, { RAG_CHUNK_SIZE: 1500, RAG_CHUNK_OVERLAP: 200 }));
      const files = Object.keys(opened.manifest.files);
      expect(files.filter((f) => f.startsWith(dirs[0]! + path.sep))).toHaveLength(copiesOf[0]! * Object.keys(TOPICS).length);
      expect(files.filter((f) => f.startsWith(dirs[1]! + path.sep))).toHaveLength(copiesOf[1]! * Object.keys(TOPICS).length);
      expect(opened.vectorStore.size).toBe(opened.manifest.chunkCount);
      expect((await fs.readdir(snapshots)).filter((e) => !e.startsWith("snapshot-"))).toEqual([]);
      expect(await fs.readdir(index)).not.toContain(".lock");
    }
    expect(maxTemps, "never two snapshots being written at once").toBeLessThanOrEqual(1);
    await recordFigures("concurrency-writers", { seed: rng.seed, pairs: WRITER_PAIRS, waits, maxConcurrentTempDirs: maxTemps, failures: 0 });
  }, 300_000);
});

describe("many queries in one process", () => {
  it("gives concurrent retriever.invoke and chain.invoke calls the same results as sequential ones", async () => {
    const rng = seededRandom();
    const root = await tempDir("rerank-rag-inproc-");
    const config = testConfig(path.join(root, "index"));
    await ingest({ paths: [path.join(REPO_ROOT, "data", "docs")], config });
    const pipeline = await createPipeline(config);
    const questions = (await fs.readFile(path.join(REPO_ROOT, "data", "eval", "qa.jsonl"), "utf8"))
      .split("\n")
      .filter(Boolean)
      .slice(0, QUERIES)
      .map((line) => (JSON.parse(line) as { question: string }).question);
    const settings = [{}, { rerank: false, topN: 3, fetchK: 20 }, { topN: 8 }];
    const key = (docs: DocumentInterface[]) => docs.map((d) => `${d.metadata.chunkId}:${d.metadata.rerankScore ?? "-"}:${d.metadata.retrievalRank}`).join("|");

    const expected = new Map<string, string>();
    for (const question of questions) {
      for (const [s, configurable] of settings.entries()) expected.set(`${s}\0${question}`, key(await pipeline.retriever.invoke(question, { configurable })));
    }
    const calls = [1, 2, 3].flatMap(() => questions.flatMap((question) => settings.map((configurable, s) => ({ question, s, configurable }))));
    calls.sort(() => rng.next() - 0.5);
    const results = await Promise.all(
      calls.map(async (c) => ({ ...c, got: key(await pipeline.retriever.invoke(c.question, { configurable: c.configurable })) })),
    );
    const mismatches = results.filter((r) => r.got !== expected.get(`${r.s}\0${r.question}`));
    expect(mismatches.map((m) => `${m.s} ${m.question}`)).toEqual([]);

    const answers = questions.slice(0, 10);
    const sequential: string[] = [];
    for (const question of answers) sequential.push((await pipeline.chain.invoke(question)).answer);
    const parallel = await Promise.all(answers.map(async (question) => (await pipeline.chain.invoke(question)).answer));
    expect(parallel).toEqual(sequential);
    await recordFigures("concurrency-in-process", {
      seed: rng.seed,
      concurrentRetrieverCalls: calls.length,
      concurrentChainCalls: answers.length,
      failures: 0,
    });
  }, 120_000);
});
