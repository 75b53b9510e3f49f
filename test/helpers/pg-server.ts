// A real Postgres wire-protocol server for tests: PGlite (Postgres compiled to WASM) with the
// pgvector extension, behind PGLiteSocketServer on 127.0.0.1. Clients (pg, PGVectorStore, the
// CLI in a child process) connect to it exactly as to a Postgres server.
import { PGlite } from "@electric-sql/pglite";
import { vector } from "@electric-sql/pglite-pgvector";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";

/** The password in the URL: PGlite accepts any, and tests check it is never printed. */
export const PG_PASSWORD = "pw-s3cret-do-not-print";

export async function startPgServer() {
  const db = await PGlite.create({ extensions: { vector } });
  // PGVectorStore and pg pools open several connections; PGlite multiplexes them.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 32 });
  let connections = 0;
  server.addEventListener("connection", () => connections++);
  await server.start();
  const url = `postgres://postgres:${PG_PASSWORD}@${server.getServerConn()}/postgres`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    url,
    /** A pool for the test's own checks. */
    pool,
    query: async <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await pool.query<R>(sql, params)).rows,
    /** Client connections accepted so far. */
    connections: () => connections,
    close: async () => {
      await pool.end();
      await server.stop();
      await db.close();
    },
  };
}
