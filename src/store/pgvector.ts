import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PGVectorStore } from "@langchain/community/vectorstores/pgvector";
import { Document } from "@langchain/core/documents";
import { Embeddings } from "@langchain/core/embeddings";
import pg from "pg";
import type { RagConfig } from "../config/index.js";
import { IndexError, RagError, UsageError } from "../errors/index.js";
import { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import { createPretrainedEmbeddings, type EmbedderSpec } from "../embeddings/registry.js";
import { contextualText } from "../text/contextual-text.js";
import { ACCEPTS_CHUNK_FILTER, ChunkFilter, type ChunkFilterStore } from "./chunk-filter.js";
import { CorpusStats } from "../text/corpus-stats.js";
import type { IndexChange, IndexWriter, PreviousIndex, WriterSession } from "./index-writer.js";
import { assertSameEmbedder, type Manifest } from "./manifest.js";

/*
 * The index in Postgres + pgvector, for several machines sharing one index. Three tables:
 *   <table>         LangChain's PGVectorStore table: id (uuid), text, metadata (jsonb), embedding vector(d)
 *   <table>_files   one row per ingested file: path, content hash, size, its chunks' ids (incremental ingest)
 *   <table>_meta    how the index was built (embedder, splitter), BM25 corpus statistics, and the offline
 *                   embedder's fitted state: in the database, not in a local --index directory, so every
 *                   machine that queries embeds questions with exactly the fit that made the vectors, and an
 *                   ingest replaces vectors and fit in one transaction.
 * An ingest is one transaction under an advisory lock: readers see the old or the new index, never a mix,
 * and a second ingest into the same table waits.
 */

const FORMAT_VERSION = 1;

/** What `<table>_meta` says about the index, checked on every open. */
export interface PgvectorMeta {
  formatVersion: number;
  createdAt: string;
  updatedAt: string;
  embedder: Manifest["embedder"];
  splitter: Manifest["splitter"];
  chunkCount: number;
  /** Changes whenever the offline embedder is refitted, so open indexes reload the fit. */
  fitId?: string;
}

/** An opened pgvector index: a LangChain PGVectorStore plus what a query needs. */
export interface PgvectorIndex {
  /** Where, without credentials: `host:port/database table <table>`. */
  location: string;
  table: string;
  meta: PgvectorMeta;
  embeddings: Embeddings;
  vectorStore: PGVectorStore;
  stats: CorpusStats | null;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

interface Target {
  url: string;
  table: string;
  location: string;
}

function target(config: RagConfig): Target {
  if (!config.RAG_PG_URL) {
    throw new UsageError("RAG_PG_URL is not set, but the pgvector store needs it.", {
      hint: "Pass --pg-url postgres://user:password@host:5432/db or set RAG_PG_URL (the environment keeps the password out of `ps`).",
    });
  }
  const url = new URL(config.RAG_PG_URL);
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres";
  return { url: config.RAG_PG_URL, table: config.RAG_PG_TABLE, location: `${url.hostname}:${url.port || 5432}/${database} table ${config.RAG_PG_TABLE}` };
}

const tables = (table: string) => ({ chunks: table, files: `${table}_files`, meta: `${table}_meta` });

/** A pool that lets the process exit once its connections are idle (the CLI never has to end it). */
function createPool(url: string): pg.Pool {
  return new pg.Pool({ connectionString: url, allowExitOnIdle: true, max: 4 });
}

const NETWORK_ERRORS = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH"]);

/** Connection and SQL failures as RagErrors that name the server, never the password; other errors pass through. */
function databaseError(error: unknown, where: Target): unknown {
  if (RagError.isInstance(error) || typeof error !== "object" || error === null) return error;
  const { code, message, severity } = error as { code?: string; message?: string; severity?: string };
  const fromPostgres = severity !== undefined || /^Error inserting: /.test(message ?? "");
  if (!fromPostgres && !NETWORK_ERRORS.has(code ?? "") && !/^Connection terminated/.test(message ?? "")) return error;
  if (NETWORK_ERRORS.has(code ?? "") || code === "28P01" || code === "28000" || code === "3D000") {
    return new RagError(`Cannot use Postgres at ${where.location}: ${message ?? code}.`, {
      cause: error,
      hint: "Check RAG_PG_URL / --pg-url (host, port, database, user and password) and that the server is running.",
    });
  }
  if (/extension "vector"|type "vector" does not exist/.test(message ?? "")) {
    return new RagError(`The Postgres server at ${where.location} has no pgvector extension: ${message}`, {
      cause: error,
      hint: "Install pgvector on the server (https://github.com/pgvector/pgvector), or use a server image that has it (e.g. pgvector/pgvector).",
    });
  }
  return new RagError(`Postgres at ${where.location} failed: ${message ?? code ?? "no error message"}`, { cause: error });
}

/** A chunk id as the uuid PGVectorStore's id column needs: stable, so a chunk keeps its row id. */
export function chunkUuid(chunkId: string): string {
  const hex = crypto.createHash("sha256").update(chunkId).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * A ChunkFilter as a SQL condition on the jsonb metadata column, with its parameters numbered
 * from `firstParam`: source globs through picomatch's regular expressions (Postgres's `~` reads
 * them), other keys as text equality with one of the values, scalars only (as ChunkFilter.matches).
 */
export function chunkFilterSql(filter: ChunkFilter, firstParam: number, column = "metadata"): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const param = (value: unknown) => `$${firstParam + params.push(value) - 1}`;
  const clauses: string[] = [];
  if (filter.sourceGlobs) {
    const patterns = param(filter.sourcePatterns());
    clauses.push(`(${column}->>'relativePath' ~ ANY(${patterns}::text[]) OR ${column}->>'source' ~ ANY(${patterns}::text[]))`);
  }
  for (const { key, values } of filter.fields) {
    const k = param(key);
    clauses.push(`(jsonb_typeof(${column}->${k}) IN ('string', 'number', 'boolean') AND ${column}->>${k} = ANY(${param(values)}::text[]))`);
  }
  return { where: clauses.length > 0 ? clauses.join(" AND ") : "TRUE", params };
}

/** LangChain's PGVectorStore, also taking a ChunkFilter: applied in the query's WHERE, so k matching chunks come back. */
export class FilteringPgVectorStore extends PGVectorStore implements ChunkFilterStore {
  readonly [ACCEPTS_CHUNK_FILTER] = true as const;

  override async similaritySearchVectorWithScore(query: number[], k: number, filter?: this["FilterType"] | ChunkFilter): Promise<[Document, number][]> {
    if (!ChunkFilter.isInstance(filter)) return super.similaritySearchVectorWithScore(query, k, filter);
    const { where, params } = chunkFilterSql(filter, 3, `"${this.metadataColumnName}"`);
    const { rows } = await this.pool.query<Record<string, unknown>>(
      `SELECT "${this.idColumnName}" AS id, "${this.contentColumnName}" AS text, "${this.metadataColumnName}" AS metadata,
              "${this.vectorColumnName}" ${this.computedOperatorString} $1 AS distance
       FROM ${this.computedTableName} WHERE ${where} ORDER BY distance ASC LIMIT $2`,
      [`[${query.join(",")}]`, k, ...params],
    );
    return rows.map((row) => [
      new Document({ pageContent: String(row.text), metadata: row.metadata as Record<string, unknown>, id: String(row.id) }),
      Number(row.distance),
    ]);
  }
}

function storeFor(embeddings: Embeddings, queryable: pg.Pool | pg.PoolClient, table: string): PGVectorStore {
  // A transaction's client stands in for the pool, so the store's writes join the transaction.
  return new FilteringPgVectorStore(embeddings, { pool: queryable as pg.Pool, tableName: table, distanceStrategy: "cosine" });
}

async function tableExists(db: pg.Pool | pg.PoolClient, table: string): Promise<boolean> {
  const { rows } = await db.query<{ found: string | null }>("SELECT to_regclass($1)::text AS found", [table]);
  return rows[0]?.found != null;
}

async function readMeta(db: pg.Pool | pg.PoolClient, table: string): Promise<PgvectorMeta | null> {
  const { meta } = tables(table);
  if (!(await tableExists(db, meta))) return null;
  const { rows } = await db.query<{ value: PgvectorMeta }>(`SELECT value FROM ${meta} WHERE key = 'index'`);
  return rows[0]?.value ?? null;
}

async function readStats(db: pg.Pool | pg.PoolClient, table: string): Promise<CorpusStats | null> {
  const { rows } = await db.query<{ value: { docCount: number; averageLength: number; df: Record<string, number> } }>(
    `SELECT value FROM ${tables(table).meta} WHERE key = 'corpus-stats'`,
  );
  const body = rows[0]?.value;
  return body ? new CorpusStats(body.docCount, body.averageLength, new Map(Object.entries(body.df))) : null;
}

/** The offline embedder's files (LsaEmbeddings.save) are kept as rows `embedder:<file>`. */
async function readLsa(db: pg.Pool | pg.PoolClient, table: string): Promise<LsaEmbeddings> {
  const { rows } = await db.query<{ key: string; bytes: Buffer }>(`SELECT key, bytes FROM ${tables(table).meta} WHERE key LIKE 'embedder:%'`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-lsa-"));
  try {
    for (const row of rows) await fs.writeFile(path.join(dir, path.basename(row.key.slice("embedder:".length))), row.bytes);
    return await LsaEmbeddings.load(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function writeLsa(client: pg.PoolClient, table: string, embeddings: LsaEmbeddings): Promise<void> {
  const { meta } = tables(table);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-lsa-"));
  try {
    await embeddings.save(dir);
    await client.query(`DELETE FROM ${meta} WHERE key LIKE 'embedder:%'`);
    for (const file of await fs.readdir(dir)) {
      await client.query(`INSERT INTO ${meta} (key, bytes) VALUES ($1, $2)`, [`embedder:${file}`, await fs.readFile(path.join(dir, file))]);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function putMeta(client: pg.PoolClient, table: string, key: string, value: unknown): Promise<void> {
  await client.query(`INSERT INTO ${tables(table).meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, [
    key,
    JSON.stringify(value),
  ]);
}

function checkFormat(meta: PgvectorMeta, where: string): void {
  if (meta.formatVersion !== FORMAT_VERSION) {
    throw new IndexError(`The index in ${where} has format version ${JSON.stringify(meta.formatVersion)}, which this version cannot read.`, {
      hint: "Rebuild it with `rerank-rag ingest --rebuild --store pgvector <paths…>`.",
    });
  }
}

/** Opens the pgvector index for queries: the PGVectorStore, the embedder that built it and the BM25 statistics. */
export async function openPgvectorIndex(config: RagConfig): Promise<PgvectorIndex> {
  const where = target(config);
  const pool = createPool(where.url);
  try {
    const meta = await readMeta(pool, where.table);
    if (!meta) {
      throw new IndexError(`No rerank-rag index found in ${where.location}.`, {
        hint: "Run `rerank-rag ingest <paths…> --store pgvector` first (or pass --pg-table to point at an existing one).",
      });
    }
    checkFormat(meta, where.location);
    assertSameEmbedder(config, meta.embedder, where.location);
    const spec: EmbedderSpec = { provider: meta.embedder.provider, model: meta.embedder.model };
    const embeddings =
      spec.provider === "offline"
        ? new FollowingLsaEmbeddings(await readLsa(pool, where.table), meta.fitId, pool, where.table)
        : await createPretrainedEmbeddings(spec, config);
    return {
      location: where.location,
      table: where.table,
      meta,
      embeddings,
      vectorStore: storeFor(embeddings, pool, where.table),
      stats: await readStats(pool, where.table),
      close: () => pool.end(),
    };
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw databaseError(error, where);
  }
}

/**
 * The offline embedder of an open pgvector index. Another machine's ingest may refit it (and
 * re-embed every row) while this process runs; each call checks the fit id (one small query)
 * and loads the new fit first, so questions are never embedded with a stale fit.
 */
class FollowingLsaEmbeddings extends Embeddings {
  constructor(
    private current: LsaEmbeddings,
    private fitId: string | undefined,
    private readonly pool: pg.Pool,
    private readonly table: string,
  ) {
    super({});
  }

  private async fit(): Promise<LsaEmbeddings> {
    const meta = await readMeta(this.pool, this.table);
    if (meta && meta.fitId !== this.fitId) {
      this.current = await readLsa(this.pool, this.table);
      this.fitId = meta.fitId;
    }
    return this.current;
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.fit()).embedQuery(text);
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return (await this.fit()).embedDocuments(texts);
  }
}

/**
 * Writes the index to Postgres: an ingest is one transaction under an advisory lock on the
 * table, so readers see the old or the new index and a second ingest waits. Kept files keep
 * their rows; a refitted offline embedder rewrites every row.
 */
export function pgvectorWriter(config: RagConfig): IndexWriter {
  const where = target(config);
  return {
    store: "pgvector",
    location: where.location,
    async session(work, { onWait }) {
      const pool = createPool(where.url);
      try {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const lock = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [`rerank-rag:${where.table}`]);
          if (!lock.rows[0]?.ok) {
            onWait?.();
            await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`rerank-rag:${where.table}`]);
          }
          const t = tables(where.table);
          await client.query(`CREATE TABLE IF NOT EXISTS ${t.meta} (key text PRIMARY KEY, value jsonb, bytes bytea)`);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${t.files} (path text PRIMARY KEY, hash text NOT NULL, size bigint NOT NULL, chunk_ids uuid[] NOT NULL)`,
          );
          const result = await work(new PgvectorSession(client, where));
          await client.query("COMMIT");
          return result;
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      } catch (error) {
        throw databaseError(error, where);
      } finally {
        await pool.end();
      }
    },
  };
}

class PgvectorSession implements WriterSession {
  private meta: PgvectorMeta | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly where: Target,
  ) {}

  async previous(): Promise<PreviousIndex | null> {
    const { client, where } = this;
    const meta = await readMeta(client, where.table);
    if (!meta) return null;
    checkFormat(meta, where.location);
    this.meta = meta;
    const { rows } = await client.query<{ path: string; hash: string; size: string; chunk_ids: string[] }>(
      `SELECT path, hash, size, chunk_ids FROM ${tables(where.table).files}`,
    );
    const files = Object.fromEntries(rows.map((row) => [row.path, { hash: row.hash, size: Number(row.size), chunkIds: row.chunk_ids }]));
    return { ...meta, files, fittedEmbedder: () => readLsa(client, where.table) };
  }

  async keptChunks(previous: PreviousIndex, files: readonly string[]): Promise<Document[]> {
    const { chunks } = tables(this.where.table);
    if (!(await tableExists(this.client, chunks))) return [];
    const ids = files.flatMap((file) => previous.files[file]!.chunkIds);
    const { rows } = await this.client.query<{ id: string; text: string; metadata: Record<string, unknown> }>(
      `SELECT id, text, metadata FROM ${chunks} WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((row) => new Document({ pageContent: row.text, metadata: row.metadata, id: row.id }));
  }

  async commit(change: IndexChange): Promise<void> {
    const { client, where } = this;
    const t = tables(where.table);
    const { embeddings, chunks, previous } = change;
    const dimensions = change.embedder.dimensions;
    const store = storeFor(embeddings, client, where.table);
    await store.ensureTableInDatabase(dimensions);
    if (change.rewriteAll) {
      await client.query(`DELETE FROM ${t.chunks}`);
      // The dimensions follow the fit (the offline embedder has fewer on a small corpus).
      await client.query(`ALTER TABLE ${t.chunks} ALTER COLUMN embedding TYPE vector(${dimensions})`);
    } else {
      const dropped = change.dropped.flatMap((file) => previous?.files[file]?.chunkIds ?? []);
      if (dropped.length > 0) await client.query(`DELETE FROM ${t.chunks} WHERE id = ANY($1::uuid[])`, [dropped]);
    }
    const written = chunks.flatMap((chunk, i) => (change.vectors[i] ? [{ chunk, vector: change.vectors[i] }] : []));
    if (written.length > 0) {
      const ids = written.map(({ chunk }) => chunk.id ?? chunkUuid(String(chunk.metadata.chunkId)));
      await store.addVectors(
        written.map((w) => w.vector),
        written.map((w) => w.chunk),
        { ids },
      );
    }
    await client.query(`DELETE FROM ${t.files} WHERE NOT (path = ANY($1::text[]))`, [Object.keys(change.files)]);
    for (const [file, entry] of Object.entries(change.files)) {
      if (previous?.files[file]?.hash === entry.hash) continue;
      await client.query(
        `INSERT INTO ${t.files} (path, hash, size, chunk_ids) VALUES ($1, $2, $3, $4::uuid[])
         ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash, size = EXCLUDED.size, chunk_ids = EXCLUDED.chunk_ids`,
        [file, entry.hash, entry.size, entry.chunkIds.map(chunkUuid)],
      );
    }

    const refitted = change.rewriteAll && embeddings instanceof LsaEmbeddings;
    const now = new Date().toISOString();
    const meta: PgvectorMeta = {
      formatVersion: FORMAT_VERSION,
      createdAt: this.meta?.createdAt ?? now,
      updatedAt: now,
      embedder: change.embedder,
      splitter: change.splitter,
      chunkCount: chunks.length,
      ...(refitted ? { fitId: crypto.randomUUID() } : this.meta?.fitId ? { fitId: this.meta.fitId } : {}),
    };
    if (!previous) await client.query(`DELETE FROM ${t.meta}`);
    await putMeta(client, where.table, "index", meta);
    const stats = CorpusStats.fromTexts(chunks.map(contextualText));
    await putMeta(client, where.table, "corpus-stats", {
      docCount: stats.docCount,
      averageLength: stats.averageLength,
      df: Object.fromEntries(stats.documentFrequency),
    });
    if (refitted) await writeLsa(client, where.table, embeddings);
  }
}
