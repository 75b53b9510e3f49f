// The real Postgres + pgvector server of `npm run db:start` (scripts/db.sh): its URL comes from
// RAG_TEST_PG_URL or .pg/url. Each test file gets a database of its own, dropped at the end, so
// files running in parallel never see each other's tables. Without a server the suites that
// need one skip with a message saying how to start it; with RAG_TEST_PG_REQUIRED=1 (CI) a
// missing server is a failure instead.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { REPO_ROOT } from "./cli.js";

function serverUrl(): string | null {
  if (process.env.RAG_TEST_PG_URL) return process.env.RAG_TEST_PG_URL;
  try {
    return fs.readFileSync(path.join(REPO_ROOT, ".pg", "url"), "utf8").trim();
  } catch {
    return null;
  }
}

const URL_FOUND = serverUrl();

/** Why the real-server suites skip, or null when a server is configured. */
export const NO_REAL_PG = URL_FOUND ? null : "no Postgres server: run `npm run db:start` (or set RAG_TEST_PG_URL)";
if (NO_REAL_PG && process.env.RAG_TEST_PG_REQUIRED === "1") {
  throw new Error(`RAG_TEST_PG_REQUIRED=1 but there is ${NO_REAL_PG}.`);
}
if (NO_REAL_PG) console.warn(`Skipping the real-Postgres tests: ${NO_REAL_PG}.`);

export type RealPg = Awaited<ReturnType<typeof startRealPg>>;

/** A fresh database on the real server, with the pgvector extension. */
export async function startRealPg() {
  if (!URL_FOUND) throw new Error(`Cannot start the real-Postgres tests: ${NO_REAL_PG}.`);
  const admin = new pg.Client({ connectionString: URL_FOUND });
  await admin.connect();
  const database = `rr_test_${crypto.randomBytes(6).toString("hex")}`;
  try {
    await admin.query(`CREATE DATABASE ${database}`);
  } finally {
    await admin.end();
  }
  const url = new URL(URL_FOUND);
  url.pathname = `/${database}`;
  const pool = new pg.Pool({ connectionString: url.href, max: 4 });
  await pool.query("CREATE EXTENSION IF NOT EXISTS vector");
  return {
    url: url.href,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    host: url.hostname,
    port: Number(url.port),
    /** A pool for the test's own checks. */
    pool,
    query: async <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await pool.query<R>(sql, params)).rows,
    close: async () => {
      await pool.end();
      const client = new pg.Client({ connectionString: URL_FOUND });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
