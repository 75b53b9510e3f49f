// Postgres + pgvector as the first stage, against the real Postgres server of `npm run db:start`
// (a database of its own): our PgvectorStore under the re-ranking retriever (and on a table laid
// out by LangChain's PGVectorStore), then the CLI's `ingest`/`ask --store pgvector` end to end.
import fs from "node:fs/promises";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRerankingRetriever } from "../chains/index.js";
import { loadConfig } from "../src/config/index.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { chunkUuid, PgvectorStore } from "../src/store/pgvector.js";
import { SMALL_FILE } from "./helpers/corpus.js";
import { cleanEnv, runCli } from "./helpers/cli.js";
import { workspace, type Workspace } from "./helpers/index.js";
import { NO_REAL_PG, startRealPg, type RealPg } from "./helpers/pg-real.js";
import { smallDocuments, smallStore } from "./helpers/small-store.js";

let pgServer: RealPg;
beforeAll(async () => {
  if (!NO_REAL_PG) pgServer = await startRealPg();
});
afterAll(async () => {
  await pgServer?.close();
});

const QUESTION = "How do I configure OAuth2 client credentials?";

const cosine = (a: number[], b: number[]) => {
  const dot = a.reduce((s, x, i) => s + x * b[i]!, 0);
  return dot / (Math.hypot(...a) * Math.hypot(...b));
};

describe.skipIf(NO_REAL_PG)("PgvectorStore as the first stage", () => {
  it("re-ranks its candidates, with cosine similarity (not distance) as retrievalScore", async () => {
    const { embeddings, stats } = await smallStore();
    const documents = smallDocuments();
    const store = await PgvectorStore.initialize(embeddings, {
      postgresConnectionOptions: { connectionString: pgServer.url },
      tableName: "lc_small_corpus",
      dimensions: embeddings.dimensions,
    });
    try {
      await store.addDocuments(documents);
      expect(await pgServer.query("SELECT count(*)::int AS n FROM lc_small_corpus")).toEqual([{ n: documents.length }]);

      const retriever = createRerankingRetriever({ vectorStore: store, reranker: "bm25", stats, fetchK: 6, topN: 3 });
      const reranked = await retriever.invoke(QUESTION);
      expect(reranked.map((d) => d.metadata.rerankRank)).toEqual([1, 2, 3]);
      expect(reranked[0]!.metadata.chunkId).toBe("oauth-config");
      for (const doc of reranked) expect(doc.metadata.retrievalRank).toBeLessThanOrEqual(6);

      // First stage alone: pgvector's cosine distance d, turned into the similarity 1 − d, best first.
      const firstStage = await retriever.invoke(QUESTION, { configurable: { rerank: false, topN: 6 } });
      const raw = await store.similaritySearchWithScore(QUESTION, 6);
      expect(firstStage.map((d) => d.metadata.chunkId)).toEqual(raw.map(([d]) => d.metadata.chunkId));
      const query = await embeddings.embedQuery(QUESTION);
      const byId = new Map(documents.map((d) => [d.metadata.chunkId, d.pageContent]));
      for (const [i, doc] of firstStage.entries()) {
        expect(doc.metadata.retrievalScore).toBeCloseTo(1 - raw[i]![1], 6);
        const [vector] = await embeddings.embedDocuments([byId.get(doc.metadata.chunkId)!]);
        expect(doc.metadata.retrievalScore).toBeCloseTo(cosine(query, vector!), 4);
      }
      const scores = firstStage.map((d) => Number(d.metadata.retrievalScore));
      expect(scores.every(Number.isFinite)).toBe(true);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      expect(raw[0]![1]).toBeLessThan(raw.at(-1)![1]); // the store itself returns distances, lower = better

      // Plain filter specs work like ChunkFilters; ids given are kept, deleted rows are gone.
      const only = await store.similaritySearch(QUESTION, 6, { chunkId: ["oauth-config", "api-keys"] });
      expect(only.map((d) => d.metadata.chunkId).sort()).toEqual(["api-keys", "oauth-config"]);
      const id = chunkUuid("extra");
      await store.addDocuments([new Document({ pageContent: "extra\0 row", metadata: { chunkId: "extra" } })], { ids: [id] });
      expect(await pgServer.query("SELECT text FROM lc_small_corpus WHERE id = $1", [id])).toEqual([{ text: "extra row" }]);
      await store.delete({ ids: [id] });
      expect(await pgServer.query("SELECT count(*)::int AS n FROM lc_small_corpus")).toEqual([{ n: documents.length }]);
    } finally {
      await store.end();
    }
  });

  it("reads a table written by LangChain's PGVectorStore (its DDL and INSERT, as @langchain/community 1.1 issues them)", async () => {
    const { embeddings } = await smallStore();
    const documents = smallDocuments();
    const vectors = await embeddings.embedDocuments(documents.map((d) => d.pageContent));
    await pgServer.query(`CREATE TABLE IF NOT EXISTS lc_community (
        "id" uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY, "text" text, "metadata" jsonb, "embedding" vector(${embeddings.dimensions}))`);
    for (const [i, doc] of documents.entries()) {
      await pgServer.query(`INSERT INTO lc_community("text", "embedding", "metadata") VALUES ($1, $2, $3)`, [
        doc.pageContent,
        `[${vectors[i]!.join(",")}]`,
        doc.metadata,
      ]);
    }
    const pool = new pg.Pool({ connectionString: pgServer.url });
    try {
      const store = new PgvectorStore(embeddings, { pool, tableName: "lc_community" });
      const retriever = createRerankingRetriever({ vectorStore: store, reranker: "none", fetchK: 3, topN: 3 });
      const found = await retriever.invoke(QUESTION);
      const query = await embeddings.embedQuery(QUESTION);
      const exact = documents
        .map((d, i) => ({ chunkId: d.metadata.chunkId, similarity: cosine(query, vectors[i]!) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, 3);
      expect(found.map((d) => d.metadata.chunkId)).toEqual(exact.map((e) => e.chunkId));
      for (const [i, doc] of found.entries()) expect(doc.metadata.retrievalScore).toBeCloseTo(exact[i]!.similarity, 4);
      await store.end(); // a pool passed in stays open
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe.skipIf(NO_REAL_PG)("rerank-rag ingest/ask --store pgvector", () => {
  let ws: Workspace;
  const TABLE = "cli_chunks";
  const pgFlags = () => ["--store", "pgvector", "--pg-url", pgServer.url, "--pg-table", TABLE];
  const ingestArgs = () => ["ingest", ws.docs, ...pgFlags(), "--chunk-size", "400", "--chunk-overlap", "60", "--json"];
  const rowsByFile = async (relativePath: string) =>
    pgServer.query<{ id: string; text: string }>(`SELECT id, text FROM ${TABLE} WHERE metadata->>'relativePath' = $1 ORDER BY id`, [relativePath]);
  const noSecrets = (...outputs: string[]) => outputs.forEach((o) => expect(o).not.toContain(pgServer.password));

  beforeAll(async () => {
    ws = await workspace();
  });

  it("ingests into Postgres: chunks with vectors, the file list and the fitted embedder", async () => {
    const result = await runCli(ingestArgs());
    expect(result.code, result.stderr).toBe(0);
    noSecrets(result.stdout, result.stderr);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ written: true, refitted: true, removed: [], changed: [], embedder: "offline-lsa" });
    expect(report.added).toHaveLength(Object.keys(ws.files).length);
    expect(report.embeddedChunks).toBe(report.chunkCount);
    expect(report).toMatchObject({ store: "pgvector", location: expect.stringContaining(`table ${TABLE}`) });

    const [{ n, dims }] = (await pgServer.query<{ n: number; dims: number }>(
      `SELECT count(*)::int AS n, max(vector_dims(embedding))::int AS dims FROM ${TABLE}`,
    )) as [{ n: number; dims: number }];
    expect(n).toBe(report.chunkCount);
    expect(dims).toBe(report.dimensions);
    const files = await pgServer.query<{ path: string; chunks: number }>(`SELECT path, cardinality(chunk_ids) AS chunks FROM ${TABLE}_files`);
    expect(files.map((f) => f.path).sort()).toEqual(Object.values(ws.files).sort());
    expect(files.reduce((sum, f) => sum + Number(f.chunks), 0)).toBe(n);
    const keys = (await pgServer.query<{ key: string }>(`SELECT key FROM ${TABLE}_meta ORDER BY key`)).map((r) => r.key);
    expect(keys).toEqual(["corpus-size", "embedder:offline-embedder.bin", "embedder:offline-embedder.json", "index"]);

    // Row ids are the chunk ids as uuids; metadata is the loader's and splitter's.
    const [row] = await pgServer.query<{ id: string; metadata: Record<string, unknown> }>(
      `SELECT id, metadata FROM ${TABLE} WHERE metadata->>'relativePath' = 'baking/sourdough.md' LIMIT 1`,
    );
    expect(row!.id).toBe(chunkUuid(String(row!.metadata.chunkId)));
    expect(row!.metadata).toMatchObject({ source: ws.files["baking/sourdough.md"], title: "Sourdough starter care", format: "md" });
  });

  it("answers from Postgres with re-ranked, cited sources", async () => {
    const result = await runCli(["ask", "How often should I feed a sourdough starter?", ...pgFlags(), "--json"]);
    expect(result.code, result.stderr).toBe(0);
    noSecrets(result.stdout, result.stderr);
    const body = JSON.parse(result.stdout);
    expect(body.pipeline).toMatch(
      /^embeddings=offline-lsa \(\d+-d, local\) → pgvector\+BM25 top 50 \(127\.0\.0\.1:\d+\) → rerank=bm25 \(local\) → top 5 → llm=extractive \(local\)$/,
    );
    expect(body.sources[0].source).toBe("baking/sourdough.md");
    expect(body.answer).toMatch(/\[1\]/);
    body.sources.forEach((s: Record<string, number>, i: number) => {
      expect(s.rerankRank).toBe(i + 1);
      expect(typeof s.rerankScore).toBe("number");
      expect(s.retrievalScore).toBeGreaterThan(-1.0001);
      expect(s.retrievalScore).toBeLessThan(1.0001);
    });
    expect(body.firstStage.map((s: Record<string, number>) => s.retrievalRank)).toEqual([1, 2, 3, 4, 5]);
  });

  it("re-ingests incrementally: nothing when unchanged, only changed files' chunks otherwise", async () => {
    const again = JSON.parse((await runCli(ingestArgs())).stdout);
    expect(again).toMatchObject({ written: false, embeddedChunks: 0, unchanged: Object.keys(ws.files).length });

    const keptBefore = await rowsByFile("outdoors/beekeeping.md");
    await fs.appendFile(ws.files[SMALL_FILE]!, "\nIn summer the ferry leaves the harbour twice in the morning.\n");
    await fs.rm(ws.files["games/chess-openings.md"]!);
    const result = await runCli(ingestArgs());
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      written: true,
      refitted: false,
      changed: [ws.files[SMALL_FILE]],
      removed: [ws.files["games/chess-openings.md"]],
      added: [],
    });

    const ferry = await rowsByFile(SMALL_FILE);
    expect(report.embeddedChunks).toBe(ferry.length);
    expect(ferry.some((r) => r.text.includes("twice in the morning"))).toBe(true);
    expect(await rowsByFile("games/chess-openings.md")).toEqual([]);
    expect(await rowsByFile("outdoors/beekeeping.md")).toEqual(keptBefore);
    const [{ n }] = (await pgServer.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${TABLE}`)) as [{ n: number }];
    expect(n).toBe(report.chunkCount);
    const files = await pgServer.query<{ path: string }>(`SELECT path FROM ${TABLE}_files`);
    expect(files.map((f) => f.path)).not.toContain(ws.files["games/chess-openings.md"]);
  });

  it("rebuilds from scratch, resizing the vector column, and an open pipeline follows the new fit", async () => {
    // A long-running app with the index open (from code, as createPipeline does for the CLI)…
    const config = loadConfig({ RAG_STORE: "pgvector", RAG_PG_URL: pgServer.url, RAG_PG_TABLE: TABLE, RAG_MODELS_DIR: path.join(ws.root, "none") }, {});
    const pipeline = await createPipeline(config);
    try {
      if (pipeline.store !== "pgvector") throw new Error(`expected a pgvector pipeline, got ${pipeline.store}`);
      expect("index" in pipeline).toBe(false);
      const before = await pipeline.retriever.invoke("When does the island ferry leave the harbour?");
      expect(before[0]!.metadata.relativePath).toBe(SMALL_FILE);
      expect(before[0]!.metadata.rerankRank).toBe(1);

      // …while another process rebuilds the index from one folder: a new fit with fewer dimensions.
      const result = await runCli([...ingestArgs(), "--rebuild"].map((a) => (a === ws.docs ? path.join(ws.docs, "baking") : a)));
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ written: true, refitted: true, added: [ws.files["baking/sourdough.md"]] });
      const [{ n, dims }] = (await pgServer.query<{ n: number; dims: number }>(
        `SELECT count(*)::int AS n, max(vector_dims(embedding))::int AS dims FROM ${TABLE}`,
      )) as [{ n: number; dims: number }];
      expect(n).toBe(report.chunkCount);
      expect(dims).toBe(report.dimensions);
      expect(dims).toBeLessThan(pipeline.pgvector.meta.embedder.dimensions);
      expect(await pgServer.query(`SELECT path FROM ${TABLE}_files`)).toEqual([{ path: ws.files["baking/sourdough.md"] }]);

      // The open pipeline embeds the next question with the new fit (a stale one would not even match the column's dimensions).
      const after = await pipeline.retriever.invoke("How often should I feed a sourdough starter?");
      expect(after.length).toBeGreaterThan(0);
      expect(after.map((d) => d.metadata.source)).toEqual(after.map(() => ws.files["baking/sourdough.md"]));
    } finally {
      await pipeline.close();
    }
    // Back to the whole corpus.
    expect((await runCli([...ingestArgs(), "--rebuild"])).code).toBe(0);
    expect(await pgServer.query(`SELECT count(*)::int AS n FROM ${TABLE}_files`)).toEqual([{ n: Object.keys(ws.files).length - 1 }]);
  });

  it("fails clearly, without printing the password, when there is no index or no URL", async () => {
    const missing = await runCli(["ask", "anything?", "--store", "pgvector", "--pg-url", pgServer.url, "--pg-table", "never_ingested"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No rerank-rag index found in 127\.0\.0\.1:\d+\/rr_test_\w+ table never_ingested/);
    expect(missing.stderr).toMatch(/ingest <paths…> --store pgvector/);
    noSecrets(missing.stdout, missing.stderr);

    const noUrl = await runCli(["ask", "anything?", "--store", "pgvector"], { env: cleanEnv() });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toMatch(/RAG_PG_URL.*required when RAG_STORE=pgvector/);

    const unreachable = await runCli(["ask", "anything?", "--store", "pgvector"], {
      env: cleanEnv({ RAG_PG_URL: `postgres://u:${pgServer.password}@127.0.0.1:1/db` }),
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/Cannot use Postgres at 127\.0\.0\.1:1\/db/);
    noSecrets(unreachable.stdout, unreachable.stderr);
  });
});
