// Several machines, one index: ingest and ask processes against the real Postgres server of
// `npm run db:start` at once, a killed ingest, a connection that goes silent, bad credentials;
// and the hybrid first stage in SQL against the local keyword index and a full recount.
import fs from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type RagConfig } from "../src/config/index.js";
import { IngestAbortedError } from "../src/errors/index.js";
import { ingest } from "../src/ingest/ingest.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { Bm25Index } from "../src/store/bm25-index.js";
import { openPgvectorIndex } from "../src/store/pgvector.js";
import { contextualText } from "../src/text/contextual-text.js";
import { CorpusStats } from "../src/text/corpus-stats.js";
import { HANDBOOK, TOPICS } from "./helpers/corpus.js";
import { cleanEnv, runCli, startCli } from "./helpers/cli.js";
import { workspace, type Workspace } from "./helpers/index.js";
import { NO_REAL_PG, startRealPg, type RealPg } from "./helpers/pg-real.js";
import { ingestAbortedWhileLocked } from "./helpers/write-lock.js";

let pgServer: RealPg;
let corpusA: Workspace;
let corpusB: Workspace;

/** Many short notes, so an ingest of B takes long enough for other processes to act during it. */
function largerCorpus(): Record<string, string> {
  const files: Record<string, string> = Object.fromEntries(Object.entries(TOPICS).map(([file, text]) => [`v2/${file}`, text]));
  const words = ["harbour", "ferry", "starter", "compost", "telescope", "chain", "hive", "glacier", "violin", "lantern", "orchard", "canal"];
  for (let i = 0; i < 400; i++) {
    const body = Array.from({ length: 60 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(" ");
    files[`filler/note-${i}.md`] = `# Note ${i}\n\n${body} number ${i}.\n`;
  }
  return files;
}

beforeAll(async () => {
  if (NO_REAL_PG) return;
  pgServer = await startRealPg();
  corpusA = await workspace();
  corpusB = await workspace(largerCorpus());
}, 120_000);
afterAll(async () => {
  await pgServer?.close();
});

const flags = (table: string, url = pgServer.url) => ["--store", "pgvector", "--pg-url", url, "--pg-table", table];
const ingestArgs = (ws: Workspace, table: string, ...extra: string[]) => ["ingest", ws.docs, ...flags(table), "--json", ...extra];
const configFor = (table: string, overrides: Record<string, string> = {}): RagConfig =>
  loadConfig({ RAG_STORE: "pgvector", RAG_PG_URL: pgServer.url, RAG_PG_TABLE: table, RAG_MODELS_DIR: "/nonexistent", ...overrides }, {});

/** The files the index lists, sorted. */
const listedFiles = async (table: string) => (await pgServer.query<{ path: string }>(`SELECT path FROM ${table}_files ORDER BY path`)).map((r) => r.path);

/** Every table of the index agrees with the others: what a committed ingest leaves, never a half-written one. */
async function expectConsistent(table: string) {
  const [counts] = await pgServer.query<{ chunks: number; listed: number; sources: number; files: number; size: number }>(
    `SELECT (SELECT count(*)::int FROM ${table}) AS chunks,
            (SELECT coalesce(sum(cardinality(chunk_ids)), 0)::int FROM ${table}_files) AS listed,
            (SELECT count(DISTINCT metadata->>'source')::int FROM ${table}) AS sources,
            (SELECT count(*)::int FROM ${table}_files WHERE cardinality(chunk_ids) > 0) AS files,
            (SELECT (value->>'docCount')::int FROM ${table}_meta WHERE key = 'corpus-size') AS size`,
  );
  expect(counts!.listed).toBe(counts!.chunks);
  expect(counts!.sources).toBe(counts!.files);
  // A file that stores no chunk left every one to a copy from another file.
  const empty = await pgServer.query(`SELECT path FROM ${table}_files WHERE cardinality(chunk_ids) = 0 AND coalesce(jsonb_array_length(duplicates), 0) = 0`);
  expect(empty).toEqual([]);
  expect(counts!.size).toBe(counts!.chunks);
  const orphans = await pgServer.query(`SELECT 1 FROM ${table}_postings p WHERE NOT EXISTS (SELECT 1 FROM ${table} c WHERE c.id = p.chunk_id) LIMIT 1`);
  expect(orphans).toEqual([]);
  const wrongDf = await pgServer.query(
    `SELECT 1 FROM ${table}_terms t FULL JOIN (SELECT term, count(*)::int AS n FROM ${table}_postings GROUP BY term) p USING (term)
     WHERE t.df IS DISTINCT FROM p.n LIMIT 1`,
  );
  expect(wrongDf).toEqual([]);
}

describe.skipIf(NO_REAL_PG)("pgvector on a real Postgres server: several processes, one index", () => {
  it("runs two ingests into one table at once: one waits for the other, and the result is consistent", async () => {
    const table = "two_ingests";
    const first = startCli(ingestArgs(corpusA, table));
    const second = startCli(ingestArgs(corpusB, table));
    const [a, b] = await Promise.all([first.done, second.done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const written = [JSON.parse(a.stdout), JSON.parse(b.stdout)].filter((r) => r.written);
    expect(written.length).toBeGreaterThanOrEqual(1);
    // Each ingest keeps the files under its paths in line and leaves other files alone: in any order, both corpora.
    const expected = [...Object.values(corpusA.files), ...Object.values(corpusB.files)].sort();
    expect(await listedFiles(table)).toEqual(expected);
    await expectConsistent(table);
  }, 180_000);

  it("stops an ingest waiting for another's transaction when its signal aborts, at once", async () => {
    const config = configFor("lock_abort");
    await ingest({ paths: [corpusA.docs], config });
    const outcome = await ingestAbortedWhileLocked(config, { paths: [corpusA.docs], rebuild: true });
    expect(outcome).toBeInstanceOf(IngestAbortedError);
    await expectConsistent("lock_abort");
  });

  it("answers asks from several processes during a rebuild from the old or the new corpus, never a mix", async () => {
    const table = "ask_during_ingest";
    expect((await runCli(ingestArgs(corpusA, table))).code).toBe(0);
    const rebuild = startCli(ingestArgs(corpusB, table, "--rebuild"));
    let finished = false;
    void rebuild.done.then(() => (finished = true));
    const answers: string[][] = [];
    do {
      const round = await Promise.all(
        [1, 2, 3].map(() => runCli(["ask", "When does the ferry leave the harbour?", ...flags(table), "--json"], { timeoutMs: 90_000 })),
      );
      for (const result of round) {
        expect(result.code, result.stderr).toBe(0);
        answers.push(JSON.parse(result.stdout).firstStage.map((s: { source: string }) => s.source));
      }
    } while (!finished);
    expect((await rebuild.done).code).toBe(0);
    for (const sources of answers) {
      const inB = (s: string) => s.startsWith("v2/") || s.startsWith("filler/");
      const fromA = sources.every((s) => !inB(s));
      const fromB = sources.every(inB);
      expect(fromA || fromB, `a mix of corpora: ${sources.join(", ")}`).toBe(true);
    }
    await expectConsistent(table);
  }, 300_000);

  it("leaves the previous index when an ingest is killed mid-transaction", async () => {
    const table = "killed_ingest";
    expect((await runCli(ingestArgs(corpusA, table))).code).toBe(0);
    const before = await pgServer.query(`SELECT id, text FROM ${table} ORDER BY id`);
    const files = await listedFiles(table);
    const ingest = startCli(ingestArgs(corpusB, table, "--rebuild"));
    // Wait until its transaction holds the lock and has written rows (it has a transaction id), then kill it.
    for (;;) {
      const writing = await pgServer.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()`,
      );
      if (writing.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    ingest.child.kill("SIGKILL");
    expect((await ingest.done).signal).toBe("SIGKILL");
    expect(await listedFiles(table)).toEqual(files);
    expect(await pgServer.query(`SELECT id, text FROM ${table} ORDER BY id`)).toEqual(before);
    await expectConsistent(table);
    // The server rolled the transaction back and released the lock: the next ingest goes through.
    const next = await runCli(ingestArgs(corpusA, table));
    expect(next.code, next.stderr).toBe(0);
  }, 180_000);

  it("fails clearly within RAG_TIMEOUT_MS when the connection goes silent mid-query", async () => {
    const table = "silent_connection";
    expect((await runCli(ingestArgs(corpusA, table))).code).toBe(0);
    // A TCP proxy to the server that can stop passing bytes without closing anything, like a dead network path.
    let silent = false;
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(pgServer.port, pgServer.host);
      for (const s of [client, upstream]) sockets.add(s);
      client.on("data", (d) => silent || upstream.write(d));
      upstream.on("data", (d) => silent || client.write(d));
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const url = new URL(pgServer.url);
    url.port = String((proxy.address() as net.AddressInfo).port);
    const pipeline = await createPipeline(
      loadConfig({ RAG_STORE: "pgvector", RAG_PG_URL: url.href, RAG_PG_TABLE: table, RAG_MODELS_DIR: "/nonexistent", RAG_TIMEOUT_MS: "1500" }, {}),
    );
    try {
      expect((await pipeline.retriever.invoke("When does the ferry leave?")).length).toBeGreaterThan(0);
      silent = true;
      const started = Date.now();
      const error = await pipeline.retriever.invoke("How do I feed a sourdough starter?").catch((e: Error) => e);
      const ms = Date.now() - started;
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/Postgres at 127\.0\.0\.1:\d+\/rr_test_\w+ table silent_connection did not answer within 1500 ms/);
      expect((error as Error).message).not.toContain(pgServer.password);
      expect(ms).toBeGreaterThanOrEqual(1400);
      expect(ms).toBeLessThan(1500 + 1000);
    } finally {
      for (const s of sockets) s.destroy();
      await pipeline.close().catch(() => undefined);
      proxy.close();
    }
  }, 120_000);

  it("names the user and host, never the password, when the credentials are wrong", async () => {
    const url = new URL(pgServer.url);
    url.password = "wrong-Pa55word-never-print";
    const result = await runCli(["ask", "anything?", "--store", "pgvector", "--pg-table", "whatever"], { env: cleanEnv({ RAG_PG_URL: url.href }) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`Cannot use Postgres at 127\\.0\\.0\\.1:${url.port}/rr_test_\\w+ table whatever as user ${pgServer.user}`));
    expect(result.stderr).toMatch(/password authentication failed/);
    for (const secret of ["wrong-Pa55word-never-print", pgServer.password]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });
});

describe.skipIf(NO_REAL_PG)("the hybrid first stage in SQL", () => {
  const table = "hybrid_sql";
  let ws: Workspace;
  beforeAll(async () => {
    if (NO_REAL_PG) return;
    ws = await workspace();
    expect((await runCli(["ingest", ws.docs, ...flags(table), "--chunk-size", "400", "--chunk-overlap", "60"])).code).toBe(0);
  }, 120_000);

  const allChunks = async () => {
    const rows = await pgServer.query<{ id: string; text: string; metadata: Record<string, unknown> }>(`SELECT id, text, metadata FROM ${table} ORDER BY id`);
    return rows.map((r) => ({ pageContent: r.text, metadata: r.metadata, id: r.id }));
  };

  it("ranks by BM25 in the database exactly as the local keyword index does", async () => {
    const index = await openPgvectorIndex(configFor(table));
    try {
      const docs = await allChunks();
      const local = Bm25Index.fromDocuments(docs);
      for (const question of ["sourdough starter hooch rye flour", "chain lube cassette wear", "queen lays eggs in spring"]) {
        const { keyword } = await index.search.search(question, () => index.embeddings.embedQuery(question), 5);
        const expected = local.search(question, 5).map((hit) => docs[hit.index]!.id);
        expect(new Set(keyword.map((d) => d.id))).toEqual(new Set(expected));
        expect(keyword[0]!.id).toBe(expected[0]);
      }
    } finally {
      await index.close();
    }
  });

  it("walks the HNSW index unfiltered even on a table small enough for the planner to prefer a table scan, with the exact neighbours", async () => {
    const hnswScans = async () =>
      Number(
        (await pgServer.query<{ n: string }>(`SELECT idx_scan AS n FROM pg_stat_user_indexes WHERE indexrelname = $1`, [`${table}_embedding_hnsw`]))[0]!.n,
      );
    const before = await hnswScans();
    const index = await openPgvectorIndex(configFor(table));
    try {
      for (const question of ["When does the ferry leave the harbour?", "queen lays eggs in spring"]) {
        const embedding = await index.embeddings.embedQuery(question);
        const { vector } = await index.search.search(question, () => Promise.resolve(embedding), 5);
        // pgServer's own session scans the table: the exact five nearest distances (compared as distances, as equal ones tie).
        const distances = (where: string, ...params: unknown[]) =>
          pgServer
            .query<{ d: number }>(`SELECT embedding <=> $1::vector AS d FROM ${table} ${where} ORDER BY d LIMIT 5`, [`[${embedding.join(",")}]`, ...params])
            .then((rows) => rows.map((r) => r.d.toFixed(6)));
        expect(
          await distances(
            "WHERE id = ANY($2::uuid[])",
            vector.map((d) => d.id),
          ),
        ).toEqual(await distances(""));
      }
    } finally {
      await index.close();
    }
    // A backend publishes its counters when it goes idle or exits.
    await expect.poll(hnswScans, { timeout: 5_000 }).toBeGreaterThanOrEqual(before + 2);
  });

  it("keeps the BM25 statistics equal to a full recount through incremental ingests", async () => {
    await fs.appendFile(path.join(ws.docs, "notes/ferry-timetable.md"), "\nOn Sundays the ferry leaves the harbour at noon, weather permitting.\n");
    await fs.rm(path.join(ws.docs, "games/chess-openings.md"));
    await fs.writeFile(path.join(ws.docs, "notes/ferry-summer.md"), "# Summer ferry\n\nIn summer the ferry leaves the harbour twice in the morning.\n");
    const result = await runCli(["ingest", ws.docs, ...flags(table), "--chunk-size", "400", "--chunk-overlap", "60", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ written: true, refitted: false });
    const index = await openPgvectorIndex(configFor(table));
    try {
      const recount = CorpusStats.fromTexts((await allChunks()).map(contextualText));
      expect(index.stats!.docCount).toBe(recount.docCount);
      expect(index.stats!.averageLength).toBeCloseTo(recount.averageLength, 6);
      expect(new Map([...index.stats!.documentFrequency].sort())).toEqual(new Map([...recount.documentFrequency].sort()));
    } finally {
      await index.close();
    }
    await expectConsistent(table);
  });

  it("builds the HNSW graph with the configured m and ef_construction, recorded with the index", async () => {
    const result = await runCli(["ingest", ws.docs, ...flags(table), "--chunk-size", "400", "--chunk-overlap", "60", "--rebuild"], {
      env: cleanEnv({ RAG_HNSW_M: "8", RAG_HNSW_EF_CONSTRUCTION: "40" }),
    });
    expect(result.code, result.stderr).toBe(0);
    const [index] = await pgServer.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = $1`, [`${table}_embedding_hnsw`]);
    expect(index!.indexdef).toMatch(/USING hnsw \(embedding vector_cosine_ops\) WITH \(m='8', ef_construction='40'\)/);
    const [meta] = await pgServer.query<{ hnsw: unknown }>(`SELECT value->'hnsw' AS hnsw FROM ${table}_meta WHERE key = 'index'`);
    expect(meta!.hnsw).toEqual({ m: 8, efConstruction: 40 });
  });

  it("fills fetchK rows with a small hnsw.ef_search, filtered or asking for more than ef_search (iterative index scans)", async () => {
    const iterTable = "iterative_scan";
    expect((await runCli(["ingest", ws.docs, ...flags(iterTable), "--chunk-size", "400", "--chunk-overlap", "60"])).code).toBe(0);
    // Enough rows that the planner walks the HNSW index: random unit vectors, one in ten marked to be filtered out.
    const [{ dims }] = (await pgServer.query<{ dims: number }>(`SELECT max(vector_dims(embedding))::int AS dims FROM ${iterTable}`)) as [{ dims: number }];
    await pgServer.query(
      `INSERT INTO ${iterTable} (id, text, metadata, embedding)
       SELECT gen_random_uuid(), 'filler ' || i, jsonb_build_object('kind', CASE WHEN i % 10 = 0 THEN 'hidden' ELSE 'filler' END),
              (SELECT array_agg(random() - 0.5)::vector FROM generate_series(1, $1) WHERE i > 0)
       FROM generate_series(1, 4000) AS i`,
      [dims],
    );
    await pgServer.query(`ANALYZE ${iterTable}`);
    const index = await openPgvectorIndex(configFor(iterTable, { RAG_HNSW_EF_SEARCH: "10" }));
    try {
      const question = "When does the ferry leave the harbour?";
      const shown = (param: (value: unknown) => string) => `metadata->>'kind' IS DISTINCT FROM ${param("hidden")}`;
      const { vector } = await index.search.search(question, () => index.embeddings.embedQuery(question), 40, shown);
      // Without iterative scans, ef_search 10 caps an index scan at 10 candidates, fewer after the filter.
      expect(vector).toHaveLength(40);
      expect(vector.every((d) => d.metadata.kind !== "hidden")).toBe(true);
      // Unfiltered, a plain index walk would stop at ef_search rows: asking for more scans iteratively too.
      const unfiltered = await index.search.search(question, () => index.embeddings.embedQuery(question), 40);
      expect(unfiltered.vector).toHaveLength(40);
    } finally {
      await index.close();
    }
  });
});

describe.skipIf(NO_REAL_PG)("pgvector on a real Postgres server: exact duplicate chunks, from the CLI", () => {
  it("stores a repeated chunk once, says so in the summary and --json, and keeps the text while one file holding it is left", async () => {
    const table = "duplicates";
    const ws = await workspace({ ...TOPICS, ...HANDBOOK });
    const run = async () => {
      const result = await runCli([...ingestArgs(ws, table), "--chunk-size", "400", "--chunk-overlap", "60"]);
      expect(result.code, result.stderr).toBe(0);
      return { report: JSON.parse(result.stdout) as { duplicateChunks: number }, stderr: result.stderr };
    };
    const holding = async (phrase: string) =>
      (await pgServer.query<{ source: string }>(`SELECT metadata->>'source' AS source FROM ${table} WHERE text LIKE $1`, [`%${phrase}%`])).map((r) => r.source);

    const first = await run();
    expect(first.report.duplicateChunks).toBe(2);
    expect(first.stderr).toContain("2 duplicate chunks dropped");
    expect(await holding("cone six after nine hours")).toEqual([ws.files["studio/kiln.md"]]);
    await expectConsistent(table);

    await fs.rm(ws.files["studio/kiln.md"]!);
    expect((await run()).report.duplicateChunks).toBe(1);
    expect(await holding("cone six after nine hours")).toEqual([ws.files["studio/all.html"]]);
    await expectConsistent(table);

    await fs.rm(ws.files["studio/all.html"]!);
    expect((await run()).report.duplicateChunks).toBe(0);
    expect(await holding("cone six after nine hours")).toEqual([]);
    expect(await holding("winding every thread under even tension")).toEqual([ws.files["studio/loom.md"]]);
    await expectConsistent(table);
  }, 120_000);
});
