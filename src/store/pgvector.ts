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
import { createPretrainedEmbeddings, embedderId, embedderRecord, resolveEmbedder, type EmbedderSpec } from "../embeddings/registry.js";
import { splitDocuments } from "../ingest/chunker.js";
import { discoverFiles, isUnder } from "../ingest/discover.js";
import { emptyReport, type IngestOptions, type IngestReport } from "../ingest/ingest.js";
import { loadFile } from "../ingest/loaders.js";
import { contextualText } from "../text/contextual-text.js";
import { CorpusStats } from "../text/corpus-stats.js";
import type { Manifest } from "./manifest.js";

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
/** The same refit policy as the HNSW ingest (src/ingest/ingest.ts). */
const REFIT_SHARE = 0.2;
const MIN_COVERAGE = 0.9;
const EMBED_BATCH = 64;

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
  return new RagError(`Postgres at ${where.location} failed: ${message ?? String(error)}`, { cause: error });
}

/** A chunk id as the uuid PGVectorStore's id column needs: stable, so a chunk keeps its row id. */
export function chunkUuid(chunkId: string): string {
  const hex = crypto.createHash("sha256").update(chunkId).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function storeFor(embeddings: Embeddings, queryable: pg.Pool | pg.PoolClient, table: string): PGVectorStore {
  // A transaction's client stands in for the pool, so the store's writes join the transaction.
  return new PGVectorStore(embeddings, { pool: queryable as pg.Pool, tableName: table, distanceStrategy: "cosine" });
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
  await client.query(
    `INSERT INTO ${tables(table).meta} (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [key, JSON.stringify(value)],
  );
}

/** A query must use the embedder that built the index; `auto` means "whatever built it". */
function assertSameEmbedder(config: RagConfig, meta: PgvectorMeta, where: string): void {
  if (config.RAG_EMBEDDINGS === "auto") return;
  const requested = embedderId(resolveEmbedder(config));
  if (requested !== meta.embedder.id) {
    throw new UsageError(`The index in ${where} was built with embeddings=${meta.embedder.id} (${meta.embedder.dimensions}-d), not ${requested}.`, {
      hint: "Drop --embeddings/RAG_EMBEDDINGS to use the index's own embedder, or rebuild with `rerank-rag ingest --rebuild --store pgvector`.",
    });
  }
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
    assertSameEmbedder(config, meta, where.location);
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

interface FileChunks {
  file: string;
  hash: string;
  size: number;
  chunks: Document[];
}

/**
 * `rerank-rag ingest --store pgvector`: the same files, loaders, splitter and incremental rules as
 * the HNSW ingest, written to Postgres in one transaction. New and changed files are embedded;
 * unchanged ones keep their rows; files gone from under the paths lose theirs. When the offline
 * embedder is refitted, every row is re-embedded with the new fit.
 */
export async function ingestPgvector(options: IngestOptions): Promise<IngestReport> {
  const { config, rebuild = false, onEvent, onWait } = options;
  const where = target(config);
  const discovery = await discoverFiles(options.paths, { indexDir: options.config.RAG_INDEX_DIR });
  if (discovery.files.length === 0) {
    throw new UsageError(`No supported files found under ${options.paths.join(", ")}; the index was not changed.`, {
      hint: `Supported: .md .txt .html .pdf .json .jsonl.${discovery.skipped.length ? ` Skipped: ${discovery.skipped.length} file(s).` : ""}`,
    });
  }
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
      const report = await ingestLocked(client, where, config, rebuild, discovery, onEvent);
      await client.query("COMMIT");
      return report;
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
}

async function ingestLocked(
  client: pg.PoolClient,
  where: Target,
  config: RagConfig,
  rebuild: boolean,
  discovery: Awaited<ReturnType<typeof discoverFiles>>,
  onEvent: IngestOptions["onEvent"],
): Promise<IngestReport> {
  const t = tables(where.table);
  await client.query(`CREATE TABLE IF NOT EXISTS ${t.meta} (key text PRIMARY KEY, value jsonb, bytes bytea)`);
  await client.query(`CREATE TABLE IF NOT EXISTS ${t.files} (path text PRIMARY KEY, hash text NOT NULL, size bigint NOT NULL, chunk_ids uuid[] NOT NULL)`);
  const splitter = { chunkSize: config.RAG_CHUNK_SIZE, chunkOverlap: config.RAG_CHUNK_OVERLAP };
  const previous = rebuild ? null : await readMeta(client, where.table);
  if (previous) {
    checkFormat(previous, where.location);
    assertSameEmbedder(config, previous, where.location);
    const built = previous.splitter;
    if (built.chunkSize !== splitter.chunkSize || built.chunkOverlap !== splitter.chunkOverlap) {
      throw new UsageError(
        `The index in ${where.location} was split with chunk size ${built.chunkSize}/overlap ${built.chunkOverlap}, not ${splitter.chunkSize}/${splitter.chunkOverlap}.`,
        { hint: "Use the same --chunk-size/--chunk-overlap, or pass --rebuild to re-split everything." },
      );
    }
  }
  const spec: EmbedderSpec = previous ? { provider: previous.embedder.provider, model: previous.embedder.model } : resolveEmbedder(config);
  const oldFiles = new Map<string, { hash: string; size: number; chunkIds: string[] }>();
  if (previous) {
    const { rows } = await client.query<{ path: string; hash: string; size: string; chunk_ids: string[] }>(`SELECT path, hash, size, chunk_ids FROM ${t.files}`);
    for (const row of rows) oldFiles.set(row.path, { hash: row.hash, size: Number(row.size), chunkIds: row.chunk_ids });
  }

  const report = emptyReport(`pgvector ${where.location}`, discovery.skipped, spec, previous?.embedder.dimensions ?? 0);

  // Read, hash, load and split exactly as the HNSW ingest does.
  const fresh: FileChunks[] = [];
  const keptFiles = new Set<string>();
  let done = 0;
  for (const file of discovery.files) {
    onEvent?.({ phase: "read", done: done++, total: discovery.files.length });
    const known = oldFiles.get(file);
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(file);
    } catch (error) {
      report.skipped.push({ path: file, reason: `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
      if (known) keptFiles.add(file);
      continue;
    }
    const hash = crypto.createHash("sha256").update(bytes).digest("hex");
    if (known?.hash === hash) {
      keptFiles.add(file);
      report.unchanged++;
      continue;
    }
    try {
      const loaded = await loadFile(file, bytes);
      report.warnings.push(...loaded.warnings.map((w) => `${file}: ${w}`));
      const idPrefix = crypto.createHash("sha256").update(`${file}\0${hash}`).digest("hex").slice(0, 16);
      const chunks = await splitDocuments(loaded.documents, splitter, idPrefix);
      const relativePath = relativeToRoot(file, discovery.roots);
      for (const chunk of chunks) chunk.metadata.relativePath = relativePath;
      fresh.push({ file, hash, size: bytes.length, chunks });
      (known ? report.changed : report.added).push(file);
    } catch (error) {
      report.skipped.push({ path: file, reason: (error as Error).message + (known ? " (kept the previously indexed version)" : "") });
      if (known) keptFiles.add(file);
    }
  }
  const seen = new Set(discovery.files);
  for (const file of oldFiles.keys()) {
    if (seen.has(file)) continue;
    if (isUnder(file, discovery.roots)) report.removed.push(file);
    else keptFiles.add(file);
  }
  // Rows that go: those of changed and removed files.
  const dropped = new Set<string>();
  for (const file of [...report.changed, ...report.removed]) for (const id of oldFiles.get(file)?.chunkIds ?? []) dropped.add(id);

  if (previous && fresh.length === 0 && report.removed.length === 0) {
    report.chunkCount = previous.chunkCount;
    return report;
  }
  const freshChunks = fresh.flatMap((f) => f.chunks);
  // Kept chunks come back from the table (their text and metadata are all a refit or the statistics need).
  const keptChunks: Document[] = [];
  if (previous && (await tableExists(client, t.chunks))) {
    const { rows } = await client.query<{ id: string; text: string; metadata: Record<string, unknown> }>(`SELECT id, text, metadata FROM ${t.chunks}`);
    for (const row of rows) if (!dropped.has(row.id)) keptChunks.push(new Document({ pageContent: row.text, metadata: row.metadata, id: row.id }));
  }
  report.chunkCount = keptChunks.length + freshChunks.length;
  if (report.chunkCount === 0 && !previous) {
    throw new UsageError("None of the files could be ingested; the index was not created.", {
      hint: "See the skipped files above for the reason each was rejected.",
    });
  }

  const allTexts = [...keptChunks, ...freshChunks].map(contextualText);
  let embeddings: Embeddings;
  let refit = false;
  if (spec.provider === "offline") {
    const fitted = previous ? await readLsa(client, where.table) : null;
    const freshTexts = freshChunks.map(contextualText);
    const coverage = freshTexts.length ? freshTexts.reduce((sum, text) => sum + (fitted?.coverage(text) ?? 0), 0) / freshTexts.length : 1;
    if (fitted && freshChunks.length / Math.max(1, fitted.fittedOnChunks) <= REFIT_SHARE && coverage >= MIN_COVERAGE) {
      embeddings = fitted;
    } else {
      embeddings = LsaEmbeddings.fit(allTexts);
      refit = true;
    }
  } else {
    embeddings = await createPretrainedEmbeddings(spec, config);
  }
  report.refitted = refit;

  // A new fit changes every vector: re-embed the kept rows too.
  const rewriteAll = !previous || refit;
  const toWrite = rewriteAll ? [...keptChunks, ...freshChunks] : freshChunks;
  const vectors: number[][] = [];
  for (let start = 0; start < toWrite.length; start += EMBED_BATCH) {
    onEvent?.({ phase: "embed", done: start, total: toWrite.length, files: fresh.length });
    vectors.push(...(await embeddings.embedDocuments(toWrite.slice(start, start + EMBED_BATCH).map(contextualText))));
  }
  onEvent?.({ phase: "embed", done: toWrite.length, total: toWrite.length, files: fresh.length });
  report.embeddedChunks = toWrite.length;
  const dimensions = vectors[0]?.length ?? previous?.embedder.dimensions ?? 1;
  report.dimensions = dimensions;

  onEvent?.({ phase: "save" });
  const store = storeFor(embeddings, client, where.table);
  await store.ensureTableInDatabase(dimensions);
  if (rewriteAll) {
    await client.query(`DELETE FROM ${t.chunks}`);
    // The dimensions follow the fit (the offline embedder has fewer on a small corpus).
    await client.query(`ALTER TABLE ${t.chunks} ALTER COLUMN embedding TYPE vector(${dimensions})`);
    await client.query(`DELETE FROM ${t.files} WHERE NOT (path = ANY($1::text[]))`, [[...keptFiles]]);
  } else if (dropped.size > 0) {
    await client.query(`DELETE FROM ${t.chunks} WHERE id = ANY($1::uuid[])`, [[...dropped]]);
  }
  if (toWrite.length > 0) {
    const ids = toWrite.map((doc) => doc.id ?? chunkUuid(String(doc.metadata.chunkId)));
    await store.addVectors(vectors, toWrite, { ids });
  }
  if (report.removed.length > 0) await client.query(`DELETE FROM ${t.files} WHERE path = ANY($1::text[])`, [report.removed]);
  for (const f of fresh) {
    await client.query(
      `INSERT INTO ${t.files} (path, hash, size, chunk_ids) VALUES ($1, $2, $3, $4::uuid[])
       ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash, size = EXCLUDED.size, chunk_ids = EXCLUDED.chunk_ids`,
      [f.file, f.hash, f.size, f.chunks.map((c) => chunkUuid(String(c.metadata.chunkId)))],
    );
  }

  const now = new Date().toISOString();
  const meta: PgvectorMeta = {
    formatVersion: FORMAT_VERSION,
    createdAt: previous?.createdAt ?? now,
    updatedAt: now,
    embedder: embedderRecord(spec, dimensions, embeddings),
    splitter,
    chunkCount: report.chunkCount,
    ...(refit ? { fitId: crypto.randomUUID() } : previous?.fitId ? { fitId: previous.fitId } : {}),
  };
  if (rebuild) await client.query(`DELETE FROM ${t.meta}`);
  await putMeta(client, where.table, "index", meta);
  const stats = CorpusStats.fromTexts(allTexts);
  await putMeta(client, where.table, "corpus-stats", { docCount: stats.docCount, averageLength: stats.averageLength, df: Object.fromEntries(stats.documentFrequency) });
  if (embeddings instanceof LsaEmbeddings && refit) await writeLsa(client, where.table, embeddings);
  report.written = true;
  return report;
}

function relativeToRoot(file: string, roots: readonly string[]): string {
  const root = roots.filter((r) => isUnder(file, [r])).sort((a, b) => b.length - a.length)[0];
  return !root || root === file ? path.basename(file) : path.relative(root, file);
}
