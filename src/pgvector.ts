// The Postgres + pgvector entry point, `rerank-rag/pgvector`: apart from `rerank-rag`, so
// importing that one never loads `pg`.
export { openPgvectorIndex, PgvectorStore, chunkFilterSql, type PgvectorIndex, type PgvectorMeta, type PgvectorStoreArgs } from "./store/pgvector.js";
