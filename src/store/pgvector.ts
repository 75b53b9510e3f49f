import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Document } from "@langchain/core/documents";
import { Embeddings, type EmbeddingsInterface } from "@langchain/core/embeddings";
import { VectorStore } from "@langchain/core/vectorstores";
import pg from "pg";
import type { RagConfig } from "../config/index.js";
import { IndexError, IngestAbortedError, RagError, UsageError } from "../errors/index.js";
import { LsaEmbeddings } from "../embeddings/lsa/lsa-embeddings.js";
import { createPretrainedEmbeddings, type EmbedderSpec } from "../embeddings/registry.js";
import { analyze, termCounts } from "../text/analyzer.js";
import { BM25_DEFAULTS } from "../text/bm25.js";
import { contextualText } from "../text/contextual-text.js";
import { ACCEPTS_CHUNK_FILTER, toChunkFilter, type ChunkFilter, type ChunkFilterSpec, type ChunkFilterStore } from "./chunk-filter.js";
import { CorpusStats } from "../text/corpus-stats.js";
import { DEFAULT_HNSW } from "./hnsw-store.js";
import type { IndexChange, IndexWriter, PreviousIndex, WriterSession } from "./index-writer.js";
import { assertSameEmbedder, type Manifest, type ManifestFile } from "./manifest.js";

/*
 * The index in Postgres + pgvector, for several machines sharing one index. Five tables:
 *   <table>          the chunks, in the table layout of LangChain's PGVectorStore: id (uuid), text, metadata (jsonb), embedding vector(d),
 *                    with an HNSW index on the embedding (cosine)
 *   <table>_files    one row per ingested file: path, content hash, size, its chunks' ids (incremental ingest)
 *   <table>_postings the keyword index: one row per (term, chunk) with the term's count and the chunk's
 *                    length, analysed exactly as the local BM25 index does, so BM25 is scored in SQL alike
 *   <table>_terms    each term's document frequency, kept up to date at ingest (the BM25 re-ranker's idf)
 *   <table>_meta     how the index was built (embedder, splitter, HNSW graph), the corpus size, and the
 *                    offline embedder's fitted state: in the database, not in a local --index directory, so
 *                    every machine that queries embeds questions with exactly the fit that made the vectors,
 *                    and an ingest replaces vectors and fit in one transaction.
 * An ingest is one transaction under an advisory lock: readers see the old or the new index, never a mix,
 * and a second ingest into the same table waits. It analyses only the chunks it writes: postings, document
 * frequencies and corpus size change by the difference, never by re-reading the stored chunks.
 */

/** 2: keyword postings and document frequencies in tables, an HNSW index on the vectors. */
const FORMAT_VERSION = 2;
/** How often a writer waiting for another ingest's lock tries again. */
const LOCK_POLL_MS = 250;

/** What `<table>_meta` says about the index, checked on every open. */
export interface PgvectorMeta {
  formatVersion: number;
  createdAt: string;
  updatedAt: string;
  embedder: Manifest["embedder"];
  splitter: Manifest["splitter"];
  chunkCount: number;
  /** The HNSW graph's build parameters (pgvector's `m` and `ef_construction`), set when the index was built. */
  hnsw: { m: number; efConstruction: number };
  /** Changes whenever the offline embedder is refitted, so open indexes reload the fit. */
  fitId?: string;
}

/**
 * Extra conditions on the chunk table's columns (`id`, `text`, `metadata`) for a search, as SQL;
 * `param(value)` binds a value and returns its placeholder. Both searches apply it before their limit.
 */
export type SqlCondition = (param: (value: unknown) => string) => string;

/** The first stage's two rankings in the database, from one snapshot; the hybrid retriever fuses them. */
export interface PgvectorSearch {
  /**
   * The top k chunks by cosine distance to the embedded question (pgvector's HNSW index), and
   * the top k by BM25 over the postings tables (the local keyword index's analyser and parameters).
   */
  search(query: string, embed: () => Promise<number[]>, k: number, where?: SqlCondition): Promise<{ vector: Document[]; keyword: Document[] }>;
}

/** An opened pgvector index: a LangChain vector store plus what a query needs. */
export interface PgvectorIndex {
  /** Where, without credentials: `host:port/database table <table>`. */
  location: string;
  table: string;
  meta: PgvectorMeta;
  embeddings: Embeddings;
  vectorStore: PgvectorStore;
  stats: CorpusStats | null;
  search: PgvectorSearch;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

interface Target {
  url: string;
  table: string;
  location: string;
  /** The user it connects as (pg's default is the login name), for connection errors. */
  user: string;
  timeoutMs: number;
  /** pgvector's `hnsw.ef_search`: how many candidates an HNSW index scan keeps. */
  efSearch: number;
}

function target(config: RagConfig): Target {
  if (!config.RAG_PG_URL) {
    throw new UsageError("RAG_PG_URL is not set, but the pgvector store needs it.", {
      hint: "Pass --pg-url postgres://user:password@host:5432/db or set RAG_PG_URL (the environment keeps the password out of `ps`).",
    });
  }
  const url = new URL(config.RAG_PG_URL);
  const database = decodeURIComponent(url.pathname.replace(/^\//, "")) || "postgres";
  const efSearch = config.RAG_HNSW_EF_SEARCH ?? DEFAULT_HNSW.efSearch;
  return {
    url: config.RAG_PG_URL,
    table: config.RAG_PG_TABLE,
    location: `${url.hostname}:${url.port || 5432}/${database} table ${config.RAG_PG_TABLE}`,
    user: decodeURIComponent(url.username) || process.env.PGUSER || process.env.USER || "(your login name)",
    timeoutMs: config.RAG_TIMEOUT_MS,
    efSearch,
  };
}

const tables = (table: string) => ({
  chunks: table,
  files: `${table}_files`,
  meta: `${table}_meta`,
  postings: `${table}_postings`,
  terms: `${table}_terms`,
});

/**
 * How a pool's sessions scan the HNSW index, set when each connection opens (no round trip per query):
 *   filtered  iterative scans, so a filtered search (or one asking for more than ef_search rows) still
 *             fills its limit; the planner may pick a table scan for a selective filter
 *   nearest   the unfiltered search's fast path: one plain index walk (an iterative scan costs 2-3× as
 *             much), and never a table scan, which the planner prefers on small tables (it did at SciFact's
 *             5,223 rows) because it does not count reading the vectors out of TOAST (7× the walk there)
 */
type ScanMode = "filtered" | "nearest";

const SCAN_SETTINGS: Record<ScanMode, string> = {
  filtered: "-c hnsw.iterative_scan=strict_order",
  nearest: "-c hnsw.iterative_scan=off -c enable_seqscan=off",
};

/**
 * A pool that lets the process exit once its connections are idle (the CLI never has to end it).
 * Queries from a reader give up after RAG_TIMEOUT_MS, so a dropped connection fails instead of
 * hanging; an ingest's statements (index builds, waiting for another ingest) may take longer.
 */
function createPool(where: Target, { reader, scan = "filtered" }: { reader: boolean; scan?: ScanMode }): pg.Pool {
  return new pg.Pool({
    connectionString: where.url,
    allowExitOnIdle: true,
    max: 4,
    options: `-c hnsw.ef_search=${where.efSearch} ${SCAN_SETTINGS[scan]}`,
    connectionTimeoutMillis: where.timeoutMs,
    ...(reader ? { query_timeout: where.timeoutMs } : {}),
  });
}

const NETWORK_ERRORS = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH"]);

/** Connection and SQL failures as RagErrors that name the server, never the password; other errors pass through. */
function databaseError(error: unknown, where: Target): unknown {
  if (RagError.isInstance(error) || typeof error !== "object" || error === null) return error;
  const { code, message, severity } = error as { code?: string; message?: string; severity?: string };
  const fromPostgres = severity !== undefined;
  const timedOut = /^(Query read timeout|timeout expired|Connection terminated due to connection timeout)/.test(message ?? "");
  if (timedOut) {
    return new RagError(`Postgres at ${where.location} did not answer within ${where.timeoutMs} ms (${message}).`, {
      cause: error,
      hint: "Check the network to the server and that it is running; RAG_TIMEOUT_MS sets how long to wait.",
    });
  }
  if (!fromPostgres && !NETWORK_ERRORS.has(code ?? "") && !/^Connection terminated/.test(message ?? "")) return error;
  if (NETWORK_ERRORS.has(code ?? "") || code === "28P01" || code === "28000" || code === "3D000") {
    return new RagError(`Cannot use Postgres at ${where.location} as user ${where.user}: ${message ?? code}.`, {
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A chunk id as the uuid the id column needs: stable, so a chunk keeps its row id. */
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
  const where = chunkFilterCondition(filter, column)((value) => `$${firstParam + params.push(value) - 1}`);
  return { where, params };
}

/** A ChunkFilter as a SqlCondition on the jsonb metadata column (see chunkFilterSql). */
export function chunkFilterCondition(filter: ChunkFilter, column = "metadata"): SqlCondition {
  return (param) => {
    const clauses: string[] = [];
    if (filter.sourceGlobs) {
      const patterns = param(filter.sourcePatterns());
      clauses.push(`(${column}->>'relativePath' ~ ANY(${patterns}::text[]) OR ${column}->>'source' ~ ANY(${patterns}::text[]))`);
    }
    for (const { key, values } of filter.fields) {
      const k = param(key);
      clauses.push(`(jsonb_typeof(${column}->${k}) IN ('string', 'number', 'boolean') AND ${column}->>${k} = ANY(${param(values)}::text[]))`);
    }
    return clauses.length > 0 ? clauses.join(" AND ") : "TRUE";
  };
}

/** Rows per INSERT of chunks, so a large ingest never builds one huge statement. */
const CHUNK_BATCH = 500;

/** How PgvectorStore reaches its table: an existing pool (or a transaction's client), or options for a pool of its own. */
export interface PgvectorStoreArgs {
  tableName: string;
  pool?: pg.Pool | pg.PoolClient;
  postgresConnectionOptions?: pg.PoolConfig;
}

/**
 * A LangChain vector store over one pgvector table with the schema of @langchain/community's
 * PGVectorStore (id uuid, text, metadata jsonb, embedding vector(d), cosine distance), so tables
 * either class wrote stay readable by the other. Its own class because community's optional peers
 * pin transformers.js 3, which breaks installs next to 4. Filters (a ChunkFilter or its plain
 * spec) go into the query's WHERE, so k matching chunks come back; scores are cosine distances.
 */
export class PgvectorStore extends VectorStore implements ChunkFilterStore {
  declare FilterType: ChunkFilter | ChunkFilterSpec;
  readonly [ACCEPTS_CHUNK_FILTER] = true as const;
  readonly tableName: string;
  /** A transaction's client may stand in for the pool, so the store's writes join the transaction. */
  readonly pool: pg.Pool | pg.PoolClient;
  private readonly ownsPool: boolean;

  constructor(embeddings: EmbeddingsInterface, args: PgvectorStoreArgs) {
    super(embeddings, {});
    if (!args.pool && !args.postgresConnectionOptions) throw new UsageError("PgvectorStore needs `pool` or `postgresConnectionOptions`.");
    this.tableName = args.tableName;
    this.pool = args.pool ?? new pg.Pool(args.postgresConnectionOptions);
    this.ownsPool = !args.pool;
  }

  /** A store whose table (and the vector extension) exist, as PGVectorStore.initialize. */
  static async initialize(embeddings: EmbeddingsInterface, args: PgvectorStoreArgs & { dimensions?: number }): Promise<PgvectorStore> {
    const store = new PgvectorStore(embeddings, args);
    await store.ensureTableInDatabase(args.dimensions);
    return store;
  }

  /** Read as a distance store by the retriever (cosine distance → similarity). */
  _vectorstoreType(): string {
    return "pgvector";
  }

  /** Creates the extension and the table if missing (the dimensions let pgvector index the column). */
  async ensureTableInDatabase(dimensions?: number): Promise<void> {
    await this.pool.query("CREATE EXTENSION IF NOT EXISTS vector");
    await this.pool.query(
      `CREATE TABLE IF NOT EXISTS ${this.tableName} (
         id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY, text text, metadata jsonb, embedding vector${dimensions ? `(${dimensions})` : ""})`,
    );
  }

  async addDocuments(documents: Document[], options?: { ids?: string[] }): Promise<void> {
    await this.addVectors(await this.embeddings.embedDocuments(documents.map((doc) => doc.pageContent)), documents, options);
  }

  /** Inserts rows; without ids Postgres draws random uuids. NUL characters are dropped (Postgres text cannot hold them). */
  async addVectors(vectors: number[][], documents: Document[], options?: { ids?: string[] }): Promise<void> {
    const ids = options?.ids;
    if (vectors.length !== documents.length || (ids && ids.length !== vectors.length)) {
      throw new UsageError(`addVectors: ${vectors.length} vectors for ${documents.length} documents${ids ? ` and ${ids.length} ids` : ""}.`);
    }
    for (let start = 0; start < vectors.length; start += CHUNK_BATCH) {
      const end = Math.min(start + CHUNK_BATCH, vectors.length);
      const batch = documents.slice(start, end);
      await this.pool.query(
        `INSERT INTO ${this.tableName} (id, text, metadata, embedding)
         SELECT coalesce(id, gen_random_uuid()), text, metadata::jsonb, embedding::vector
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS r(id, text, metadata, embedding)`,
        [
          batch.map((_, i) => ids?.[start + i] ?? null),
          batch.map((doc) => doc.pageContent.replace(/\0/g, "")),
          batch.map((doc) => JSON.stringify(doc.metadata ?? {})),
          vectors.slice(start, end).map((vector) => `[${vector.join(",")}]`),
        ],
      );
    }
  }

  /** The k nearest chunks that pass the filter, with their cosine distances (lower = nearer). */
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: this["FilterType"]): Promise<[Document, number][]> {
    const checked = toChunkFilter(filter);
    const { where, params } = checked ? chunkFilterSql(checked, 3) : { where: "TRUE", params: [] };
    // Ordered by the operator itself, so the planner walks the HNSW index.
    const { rows } = await this.pool.query<{ id: string; text: string | null; metadata: Record<string, unknown>; distance: number | null }>(
      `SELECT id, text, metadata, embedding <=> $1::vector AS distance
       FROM ${this.tableName} WHERE ${where} ORDER BY embedding <=> $1::vector LIMIT $2`,
      [`[${query.join(",")}]`, k, ...params],
    );
    return rows.flatMap((row): Array<[Document, number]> =>
      row.distance === null || row.text === null ? [] : [[new Document({ pageContent: row.text, metadata: row.metadata, id: row.id }), row.distance]],
    );
  }

  override async delete({ ids }: { ids: string[] }): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.tableName} WHERE id = ANY($1::uuid[])`, [ids]);
  }

  /** Closes the pool the store opened itself; a pool passed in stays its owner's to close. */
  async end(): Promise<void> {
    if (this.ownsPool) await (this.pool as pg.Pool).end();
  }
}

function storeFor(embeddings: Embeddings, queryable: pg.Pool | pg.PoolClient, table: string): PgvectorStore {
  return new PgvectorStore(embeddings, { pool: queryable, tableName: table });
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

/** The BM25 re-ranker's statistics, as the last ingest left them: corpus size, total length and every term's document frequency. */
async function readStats(db: pg.Pool | pg.PoolClient, table: string): Promise<CorpusStats | null> {
  const size = await readCorpusSize(db, table);
  if (!size) return null;
  const terms = await db.query<{ term: string; df: number }>(`SELECT term, df FROM ${tables(table).terms}`);
  const df = new Map(terms.rows.map((row) => [row.term, row.df]));
  return new CorpusStats(size.docCount, size.docCount ? size.totalLength / size.docCount : 0, df);
}

/** The keyword index's corpus size, updated by each ingest's difference. */
interface CorpusSize {
  docCount: number;
  totalLength: number;
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

/** Opens the pgvector index for queries: the vector store, the embedder that built it and the BM25 statistics. */
export async function openPgvectorIndex(config: RagConfig): Promise<PgvectorIndex> {
  const where = target(config);
  const pool = createPool(where, { reader: true });
  const nearest = createPool(where, { reader: true, scan: "nearest" });
  const close = async () => {
    await Promise.all([pool.end(), nearest.end()]);
  };
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
      search: searchOf({ filtered: pool, nearest }, where),
      close,
    };
  } catch (error) {
    await close().catch(() => undefined);
    throw databaseError(error, where);
  }
}

/** A binder for SqlCondition: appends the value to `params` and returns its placeholder. */
const binder = (params: unknown[]) => (value: unknown) => `$${params.push(value)}`;

function searchOf(pools: Record<ScanMode, pg.Pool>, where: Target): PgvectorSearch {
  const t = tables(where.table);
  const run = async (vector: number[], query: string, k: number, condition?: SqlCondition) => {
    // A plain index walk returns at most ef_search rows, and fewer once a filter drops some.
    const pool = condition || k > where.efSearch ? pools.filtered : pools.nearest;
    const counts = termCounts(analyze(query));
    const { k1, b } = BM25_DEFAULTS;
    const params: unknown[] = [k, `[${vector.join(",")}]`, [...counts.keys()], [...counts.values()], k1, b];
    const vectorFilter = condition ? `WHERE ${condition(binder(params))}` : "";
    const keywordFilter = condition ? `AND p.chunk_id IN (SELECT id FROM ${t.chunks} WHERE ${condition(binder(params))})` : "";
    // One statement, so both rankings come from one snapshot (an ingest committing meanwhile is wholly in or out).
    // The vector CTE orders by the distance operator itself, so the planner walks the HNSW index (iteratively
    // when filtered); the keyword CTEs are bm25Idf and bm25TermScore (src/text/bm25.ts) over the postings tables,
    // each query term's idf computed once (materialized), not once per posting.
    const text = `WITH size AS (
         SELECT (value->>'docCount')::float8 AS n,
                coalesce(nullif((value->>'totalLength')::float8 / nullif((value->>'docCount')::float8, 0), 0), 1) AS avgdl
         FROM ${t.meta} WHERE key = 'corpus-size'),
       q AS (SELECT * FROM unnest($3::text[], $4::float8[]) AS q(term, qtf)),
       nearest AS (
         SELECT id, embedding <=> $2::vector AS distance FROM ${t.chunks} ${vectorFilter} ORDER BY embedding <=> $2::vector LIMIT $1),
       weights AS MATERIALIZED (
         SELECT t.term, q.qtf * ln(1 + (size.n - t.df + 0.5) / (t.df + 0.5)) AS weight
         FROM q JOIN ${t.terms} t ON t.term = q.term CROSS JOIN size),
       scored AS (
         SELECT p.chunk_id AS id,
                sum(w.weight * (p.tf * ($5::float8 + 1)) / (p.tf + $5::float8 * (1 - $6::float8 + $6::float8 * p.length / size.avgdl))) AS score
         FROM weights w JOIN ${t.postings} p ON p.term = w.term CROSS JOIN size
         WHERE true ${keywordFilter}
         GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT $1)
       SELECT 'vector' AS list, c.id, c.text, c.metadata, n.distance AS rank FROM nearest n JOIN ${t.chunks} c ON c.id = n.id
       UNION ALL
       SELECT 'keyword', c.id, c.text, c.metadata, -s.score FROM scored s JOIN ${t.chunks} c ON c.id = s.id
       ORDER BY list, rank, id`;
    // Unfiltered, the text is the same on every call: a named statement is parsed and planned once per connection.
    const name = condition ? undefined : `rerank-rag-search:${t.chunks}`;
    const { rows } = await pool.query<{ list: "vector" | "keyword"; id: string; text: string; metadata: Record<string, unknown> }>({
      name,
      text,
      values: params,
    });
    const ranked = { vector: [] as Document[], keyword: [] as Document[] };
    for (const row of rows) ranked[row.list].push(new Document({ pageContent: row.text, metadata: row.metadata, id: row.id }));
    return ranked;
  };
  return {
    async search(query, embed, k, condition) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await run(await embed(), query, k, condition);
        } catch (error) {
          // A refit committed between embedding the question and searching: embed again with the new fit.
          const stale = /different vector dimensions/.test((error as Error).message);
          if (!stale || attempt > 1) throw databaseError(error, where);
        }
      }
    },
  };
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
    // One round trip per question: the fit id alone, not the whole meta row.
    const { rows } = await this.pool.query<{ fitId: string | null }>(`SELECT value->>'fitId' AS "fitId" FROM ${tables(this.table).meta} WHERE key = 'index'`);
    const fitId = rows[0]?.fitId ?? undefined;
    if (rows.length > 0 && fitId !== this.fitId) {
      this.current = await readLsa(this.pool, this.table);
      this.fitId = fitId;
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
  const hnsw = { m: config.RAG_HNSW_M ?? DEFAULT_HNSW.M, efConstruction: config.RAG_HNSW_EF_CONSTRUCTION ?? DEFAULT_HNSW.efConstruction };
  return {
    store: "pgvector",
    location: where.location,
    async session(work, { onWait, signal }) {
      const pool = createPool(where, { reader: false });
      try {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const lock = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [`rerank-rag:${where.table}`]);
          if (!lock.rows[0]?.ok) {
            onWait?.();
            // Polled, not a blocking pg_advisory_xact_lock: an abort (Ctrl-C) must end the wait, and a blocked query cannot see it.
            for (let taken = false; !taken;) {
              await delay(LOCK_POLL_MS, undefined, { signal }).catch(() => undefined);
              IngestAbortedError.throwIfAborted(signal);
              const again = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok", [`rerank-rag:${where.table}`]);
              taken = again.rows[0]?.ok === true;
            }
          }
          const t = tables(where.table);
          await client.query(`CREATE TABLE IF NOT EXISTS ${t.meta} (key text PRIMARY KEY, value jsonb, bytes bytea)`);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${t.files} (path text PRIMARY KEY, hash text NOT NULL, size bigint NOT NULL, chunk_ids uuid[] NOT NULL)`,
          );
          // Tables written before duplicate chunks were stored once lack the column.
          await client.query(`ALTER TABLE ${t.files} ADD COLUMN IF NOT EXISTS duplicates jsonb`);
          await client.query(
            `CREATE TABLE IF NOT EXISTS ${t.postings} (term text NOT NULL, chunk_id uuid NOT NULL, tf real NOT NULL, length real NOT NULL, PRIMARY KEY (term, chunk_id))`,
          );
          await client.query(`CREATE INDEX IF NOT EXISTS ${t.postings}_chunk ON ${t.postings} (chunk_id)`);
          await client.query(`CREATE TABLE IF NOT EXISTS ${t.terms} (term text PRIMARY KEY, df integer NOT NULL)`);
          const result = await work(new PgvectorSession(client, where, hnsw));
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

/** Rows per INSERT of postings (five arrays of this length in one statement). */
const POSTINGS_BATCH = 20_000;

class PgvectorSession implements WriterSession {
  private meta: PgvectorMeta | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly where: Target,
    private readonly hnsw: PgvectorMeta["hnsw"],
  ) {}

  async previous(): Promise<PreviousIndex | null> {
    const { client, where } = this;
    const meta = await readMeta(client, where.table);
    if (!meta) return null;
    checkFormat(meta, where.location);
    this.meta = meta;
    const { rows } = await client.query<{ path: string; hash: string; size: string; chunk_ids: string[]; duplicates: ManifestFile["duplicates"] | null }>(
      `SELECT path, hash, size, chunk_ids, duplicates FROM ${tables(where.table).files}`,
    );
    const files = Object.fromEntries(
      rows.map((row) => [
        row.path,
        { hash: row.hash, size: Number(row.size), chunkIds: row.chunk_ids, ...(row.duplicates ? { duplicates: row.duplicates } : {}) },
      ]),
    );
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

  async commit(change: IndexChange, { signal }: { signal?: AbortSignal } = {}): Promise<void> {
    const { client, where } = this;
    const t = tables(where.table);
    const { embeddings, chunks, previous } = change;
    const dimensions = change.embedder.dimensions;
    const store = storeFor(embeddings, client, where.table);
    await store.ensureTableInDatabase(dimensions);
    // The graph's parameters are chosen when it is built: by a full rewrite, or on an index that has none yet.
    const hnsw = change.rewriteAll || !this.meta?.hnsw ? this.hnsw : this.meta.hnsw;
    const graph = `${t.chunks}_embedding_hnsw`;
    let size: CorpusSize = (previous && (await readCorpusSize(client, where.table))) || { docCount: 0, totalLength: 0 };
    if (change.rewriteAll) {
      // Building the graph once over all rows is much faster than growing it row by row.
      await client.query(`DROP INDEX IF EXISTS ${graph}`);
      await client.query(`DELETE FROM ${t.chunks}`);
      await client.query(`DELETE FROM ${t.postings}`);
      await client.query(`DELETE FROM ${t.terms}`);
      size = { docCount: 0, totalLength: 0 };
      // The dimensions follow the fit (the offline embedder has fewer on a small corpus).
      await client.query(`ALTER TABLE ${t.chunks} ALTER COLUMN embedding TYPE vector(${dimensions})`);
    } else {
      const dropped = change.dropped.flatMap((file) => previous?.files[file]?.chunkIds ?? []);
      if (dropped.length > 0) size = await this.dropChunks(dropped, size);
    }
    const written = chunks.flatMap((chunk, i) => (change.vectors[i] ? [{ chunk, vector: change.vectors[i] }] : []));
    if (written.length > 0) {
      const ids = written.map(({ chunk }) => chunk.id ?? chunkUuid(String(chunk.metadata.chunkId)));
      await store.addVectors(
        written.map((w) => w.vector),
        written.map((w) => w.chunk),
        { ids },
      );
      size = await this.addPostings(
        written.map((w) => w.chunk),
        ids,
        size,
      );
    }
    await client.query("SET LOCAL maintenance_work_mem = '256MB'");
    await client.query(
      `CREATE INDEX IF NOT EXISTS ${graph} ON ${t.chunks} USING hnsw (embedding vector_cosine_ops) WITH (m = ${hnsw.m}, ef_construction = ${hnsw.efConstruction})`,
    );
    await client.query(`DELETE FROM ${t.files} WHERE NOT (path = ANY($1::text[]))`, [Object.keys(change.files)]);
    for (const [file, entry] of Object.entries(change.files)) {
      // An unchanged file's row stays, unless it got back chunks it had left to another file's copy.
      if (JSON.stringify(previous?.files[file]) === JSON.stringify(entry)) continue;
      await client.query(
        `INSERT INTO ${t.files} (path, hash, size, chunk_ids, duplicates) VALUES ($1, $2, $3, $4::uuid[], $5::jsonb)
         ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash, size = EXCLUDED.size, chunk_ids = EXCLUDED.chunk_ids, duplicates = EXCLUDED.duplicates`,
        // A kept file lists the row ids read from this table; new chunks, their chunk ids.
        [
          file,
          entry.hash,
          entry.size,
          entry.chunkIds.map((id) => (UUID.test(id) ? id : chunkUuid(id))),
          entry.duplicates ? JSON.stringify(entry.duplicates) : null,
        ],
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
      hnsw,
      ...(refitted ? { fitId: crypto.randomUUID() } : this.meta?.fitId ? { fitId: this.meta.fitId } : {}),
    };
    if (!previous) await client.query(`DELETE FROM ${t.meta}`);
    await putMeta(client, where.table, "index", meta);
    await putMeta(client, where.table, "corpus-size", size);
    if (refitted) await writeLsa(client, where.table, embeddings);
    // The last moment to stop: the session rolls the transaction back on the throw.
    IngestAbortedError.throwIfAborted(signal);
  }

  /** Deletes chunks with their postings, lowering document frequencies and the corpus size by what they held. */
  private async dropChunks(ids: string[], size: CorpusSize): Promise<CorpusSize> {
    const t = tables(this.where.table);
    const gone = await this.client.query(`DELETE FROM ${t.chunks} WHERE id = ANY($1::uuid[])`, [ids]);
    const { rows } = await this.client.query<{ length: number | null }>(
      `SELECT sum(length)::float8 AS length FROM (SELECT DISTINCT chunk_id, length FROM ${t.postings} WHERE chunk_id = ANY($1::uuid[])) d`,
      [ids],
    );
    await this.client.query(
      `WITH gone AS (DELETE FROM ${t.postings} WHERE chunk_id = ANY($1::uuid[]) RETURNING term),
            counts AS (SELECT term, count(*)::int AS n FROM gone GROUP BY term)
       UPDATE ${t.terms} SET df = ${t.terms}.df - counts.n FROM counts WHERE ${t.terms}.term = counts.term`,
      [ids],
    );
    await this.client.query(`DELETE FROM ${t.terms} WHERE df <= 0`);
    return { docCount: size.docCount - (gone.rowCount ?? 0), totalLength: size.totalLength - (rows[0]?.length ?? 0) };
  }

  /** Analyses only the written chunks, exactly as the local keyword index does, and adds their postings and frequencies. */
  private async addPostings(chunks: Document[], ids: string[], size: CorpusSize): Promise<CorpusSize> {
    const t = tables(this.where.table);
    const lists = new Map<string, { ids: string[]; tfs: number[]; lengths: number[] }>();
    let totalLength = size.totalLength;
    for (const [i, chunk] of chunks.entries()) {
      const terms = analyze(contextualText(chunk));
      totalLength += terms.length;
      for (const [term, tf] of termCounts(terms)) {
        let list = lists.get(term);
        if (!list) lists.set(term, (list = { ids: [], tfs: [], lengths: [] }));
        list.ids.push(ids[i]!);
        list.tfs.push(tf);
        list.lengths.push(terms.length);
      }
    }
    // Inserted term by term, so a term's postings sit on neighbouring pages and a query reads few of them.
    const terms = [...lists.keys()].sort();
    let batch = { terms: [] as string[], ids: [] as string[], tfs: [] as number[], lengths: [] as number[] };
    const flush = async () => {
      if (batch.terms.length === 0) return;
      await this.client.query(`INSERT INTO ${t.postings} (term, chunk_id, tf, length) SELECT * FROM unnest($1::text[], $2::uuid[], $3::real[], $4::real[])`, [
        batch.terms,
        batch.ids,
        batch.tfs,
        batch.lengths,
      ]);
      batch = { terms: [], ids: [], tfs: [], lengths: [] };
    };
    for (const term of terms) {
      const list = lists.get(term)!;
      for (let p = 0; p < list.ids.length; p++) {
        batch.terms.push(term);
        batch.ids.push(list.ids[p]!);
        batch.tfs.push(list.tfs[p]!);
        batch.lengths.push(list.lengths[p]!);
      }
      if (batch.terms.length >= POSTINGS_BATCH) await flush();
    }
    await flush();
    for (let start = 0; start < terms.length; start += POSTINGS_BATCH) {
      const slice = terms.slice(start, start + POSTINGS_BATCH);
      await this.client.query(
        `INSERT INTO ${t.terms} (term, df) SELECT * FROM unnest($1::text[], $2::int[])
         ON CONFLICT (term) DO UPDATE SET df = ${t.terms}.df + EXCLUDED.df`,
        [slice, slice.map((term) => lists.get(term)!.ids.length)],
      );
    }
    return { docCount: size.docCount + chunks.length, totalLength };
  }
}

async function readCorpusSize(db: pg.Pool | pg.PoolClient, table: string): Promise<CorpusSize | null> {
  const { rows } = await db.query<{ value: CorpusSize }>(`SELECT value FROM ${tables(table).meta} WHERE key = 'corpus-size'`);
  return rows[0]?.value ?? null;
}
