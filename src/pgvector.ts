// The Postgres + pgvector entry point, `rerank-rag/pgvector`: apart from `rerank-rag`, so
// importing that one never loads `pg`.
export { openPgvectorIndex, FilteringPgVectorStore, chunkFilterSql, type PgvectorIndex, type PgvectorMeta } from "./store/pgvector.js";
