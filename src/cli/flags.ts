import { loadConfig, unknownEnvSettings, type ConfigOverrides, type RagConfig } from "../config/index.js";
import { note, yellow } from "./output.js";

let envChecked = false;

/** Flags shared by the commands; each maps onto one configuration key. */
export interface CommonFlags {
  index?: string;
  embeddings?: string;
  reranker?: string;
  /** --rerank [on|off|auto] (true when given bare), --no-rerank (false). */
  rerank?: boolean | string;
  llm?: string;
  firstStage?: string;
  fetchK?: string;
  topN?: string;
  /** `key=value` filters (ask, demo): parsed by parseFilterArgs. */
  filter?: string[];
  minScore?: string;
  chunkSize?: string;
  chunkOverlap?: string;
  gitignore?: boolean;
  exclude?: string[];
  followSymlinks?: boolean;
  allowSecrets?: boolean;
  store?: string;
  pgUrl?: string;
  pgTable?: string;
  json?: boolean;
}

/** Configuration from flags over environment over defaults (one schema validates all). */
export function configFromFlags(flags: CommonFlags, extra: ConfigOverrides = {}): RagConfig {
  // Once per run: a misspelt variable in .env would otherwise be ignored without a word.
  if (!envChecked) for (const warning of unknownEnvSettings()) note(yellow(`warning: ${warning}`));
  envChecked = true;
  return loadConfig({
    RAG_INDEX_DIR: flags.index,
    RAG_EMBEDDINGS: flags.embeddings,
    RAG_RERANKER: flags.rerank === false ? "none" : flags.reranker,
    RAG_RERANK: flags.rerank === true ? "on" : typeof flags.rerank === "string" ? flags.rerank : undefined,
    RAG_LLM: flags.llm,
    RAG_FIRST_STAGE: flags.firstStage,
    RAG_FETCH_K: flags.fetchK,
    RAG_TOP_N: flags.topN,
    RAG_MIN_SCORE: flags.minScore,
    RAG_CHUNK_SIZE: flags.chunkSize,
    RAG_CHUNK_OVERLAP: flags.chunkOverlap,
    // Commander defaults --no-gitignore's value to true: only its use may override the environment.
    RAG_GITIGNORE: flags.gitignore === false ? "false" : undefined,
    RAG_EXCLUDE: flags.exclude,
    RAG_FOLLOW_SYMLINKS: flags.followSymlinks ? "true" : undefined,
    RAG_ALLOW_SECRETS: flags.allowSecrets ? "true" : undefined,
    RAG_STORE: flags.store,
    RAG_PG_URL: flags.pgUrl,
    RAG_PG_TABLE: flags.pgTable,
    ...extra,
  });
}
