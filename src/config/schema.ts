import os from "node:os";
import path from "node:path";
import { closest, distance } from "fastest-levenshtein";
import { z } from "zod";
import { redactUrl, UsageError } from "../errors/index.js";
import { DEVICES, EMBEDDINGS_PROVIDERS, LLM_PROVIDERS, RERANKER_PROVIDERS, STORES } from "./names.js";
import { isCascadeSpec, parseCascade, type RerankerSpec } from "./reranker-spec.js";

const positiveInt = z.coerce.number().int().positive();
/** A directory path; a leading `~` is the home directory (shells don't expand it inside .env). */
const directory = z
  .string()
  // An empty path would resolve to the current folder.
  .refine((value) => value.trim() !== "", "must not be empty or blank: name a folder, e.g. .rerank-rag/index")
  .transform((value) => (value === "~" || value.startsWith("~/") ? path.join(os.homedir(), value.slice(1)) : value));
const flag = z.stringbool({ truthy: ["true", "1", "yes"], falsy: ["false", "0", "no"] });
const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((value) => (value ? value : undefined));
/** An HTTP API's base URL: fetch refuses one with user:password@, so it is a config error, not a failed request. */
const baseUrl = (keyName: string) =>
  optionalText.pipe(
    z
      .url()
      .refine((url) => !/^[^/?#]*\/\/[^/?#]*@/.test(url), `must not contain user:password@ (HTTP clients refuse such URLs); set the key in ${keyName}`)
      .optional(),
  );

/**
 * Every setting, keyed by its environment variable. CLI flags map onto the same keys,
 * so one schema validates both and an error can always name the key.
 */
export const configSchema = z
  .object({
    RAG_INDEX_DIR: directory.default(".rerank-rag/index"),
    RAG_EMBEDDINGS: z.enum(EMBEDDINGS_PROVIDERS).default("auto"),
    RAG_EMBEDDINGS_MODEL: optionalText,
    /** Where local (transformers) embeddings and the cross-encoder run: cpu, or a GPU (cuda, webgpu, dml). */
    RAG_EMBEDDINGS_DEVICE: z.enum(DEVICES).default("cpu"),
    /** One re-ranker, or a cascade of them, cheap first (`bm25:20,cross-encoder`). */
    RAG_RERANKER: z
      .string()
      .trim()
      .default("auto")
      .superRefine((value, ctx) => {
        if ((RERANKER_PROVIDERS as readonly string[]).includes(value)) return;
        if (!isCascadeSpec(value)) {
          const names = RERANKER_PROVIDERS.map((name) => JSON.stringify(name)).join(", ");
          ctx.addIssue({ code: "custom", message: `allowed values are ${names}, or a cascade such as "bm25:20,cross-encoder"` });
          return;
        }
        try {
          parseCascade(value);
        } catch (error) {
          ctx.addIssue({ code: "custom", message: (error as Error).message });
        }
      })
      .transform((value) => value as RerankerSpec),
    /** Re-rank every question (on), none (off), or only those the first stage is unsure about (auto). */
    RAG_RERANK: z.enum(["on", "off", "auto"]).default("on"),
    RAG_RERANKER_MODEL: optionalText,
    /**
     * Cross-encoder: tokens per (question, passage) pair (the passage is cut to fit), at most
     * this many pairs and padded tokens per forward pass, and worker threads (0: one per core, up to 4).
     */
    RAG_RERANKER_MAX_LENGTH: positiveInt.min(8).max(8192).default(512),
    RAG_RERANKER_BATCH_SIZE: positiveInt.max(512).default(8),
    RAG_RERANKER_BATCH_TOKENS: positiveInt.max(65536).default(512),
    RAG_RERANKER_WORKERS: z.coerce.number().int().min(0).max(64).default(0),
    /** Cross-encoder weights: fp32, or q8 (int8, about twice as fast on CPUs with VNNI) where the export has it. */
    RAG_RERANKER_DTYPE: z.enum(["fp32", "q8", "fp16", "int8", "uint8", "q4"]).default("fp32"),
    RAG_RERANKER_DEVICE: z.enum(DEVICES).default("cpu"),
    /** What a remote re-ranker failure does: fail the query, or keep the first-stage order with a warning. */
    RAG_RERANK_ON_ERROR: z.enum(["error", "fallback"]).default("error"),
    RAG_LLM: z.enum(LLM_PROVIDERS).default("auto"),
    RAG_LLM_MODEL: optionalText,
    /** While re-ranking runs, open a remote model's connection, or evaluate a local GGUF model's prompt up to the sources, so the answer's first token comes sooner. */
    RAG_LLM_WARM_UP: flag.default(true),
    /** llama-cpp: GPU offload when node-llama-cpp finds a GPU, CPU threads (0: one per core), tokens per answer (prompt and answer; default the model's, at most 4096), answer tokens. */
    RAG_LLM_GPU: z.enum(["auto", "off"]).default("auto"),
    RAG_LLM_THREADS: z.coerce.number().int().min(0).max(256).default(0),
    RAG_LLM_CONTEXT_SIZE: positiveInt.min(64).max(1_048_576).optional(),
    RAG_LLM_MAX_TOKENS: positiveInt.max(65536).default(512),
    /** First stage: HNSW alone, or HNSW and BM25 fused by reciprocal rank. */
    RAG_FIRST_STAGE: z.enum(["vector", "hybrid"]).default("hybrid"),
    RAG_FETCH_K: positiveInt.max(1000).default(50),
    /** HNSW graph: links per node and build-time candidate list (new indexes), search-time candidate list (every query). */
    RAG_HNSW_M: positiveInt.min(4).max(128).optional(),
    RAG_HNSW_EF_CONSTRUCTION: positiveInt.min(10).max(2000).optional(),
    RAG_HNSW_EF_SEARCH: positiveInt.min(10).max(5000).optional(),
    RAG_TOP_N: positiveInt.max(100).default(5),
    /** The evidence gate's cut-off: "auto" (the re-ranker's calibrated one), or a score on the re-ranker's scale (0: never decline). */
    RAG_MIN_SCORE: z.union([z.literal("auto"), z.coerce.number().min(0).max(1000)]).default("auto"),
    RAG_CHUNK_SIZE: positiveInt.min(100).max(20000).default(1500),
    RAG_CHUNK_OVERLAP: z.coerce.number().int().min(0).default(200),
    /** What ingest reads: the tree's .gitignore files (.ragignore always), patterns excluded, links leaving the tree. */
    RAG_GITIGNORE: flag.default(true),
    /** gitignore patterns relative to each ingested folder: comma-separated in the environment, a list from flags. */
    RAG_EXCLUDE: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .transform((value) => (typeof value === "string" ? value.split(",") : (value ?? [])).map((p) => p.trim()).filter(Boolean)),
    RAG_FOLLOW_SYMLINKS: flag.default(false),
    /** Ingest files that look like they contain a secret (credentials by name, keys and tokens in the text). */
    RAG_ALLOW_SECRETS: flag.default(false),
    /** Where chunks and vectors live: the local HNSW index directory, or a Postgres table with pgvector. */
    RAG_STORE: z.enum(STORES).default("hnsw"),
    /** Postgres connection URL for RAG_STORE=pgvector (secret: never printed). */
    RAG_PG_URL: optionalText.pipe(z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" }).optional()),
    /** Table for RAG_STORE=pgvector; the file list and embedder state live in `<table>_files` and `<table>_meta`. */
    RAG_PG_TABLE: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,47}$/, "must be a lowercase SQL identifier: letters, digits and _, at most 48 characters")
      .default("rerank_rag_chunks"),
    RAG_MODELS_DIR: directory.default(path.join(os.homedir(), ".cache", "rerank-rag", "models")),
    RAG_TIMEOUT_MS: positiveInt.default(30000),
    RAG_MAX_RETRIES: z.coerce.number().int().min(0).max(10).default(2),
    /** The whole answer, first request to last token, retries included: a server that drips or sends keep-alives is cut here. */
    RAG_ANSWER_TIMEOUT_MS: positiveInt.default(120_000),
    /** An answer longer than this is cut (a runaway model); 20,000 characters is about 5,000 tokens, several times a long cited answer. */
    RAG_ANSWER_MAX_CHARS: positiveInt.default(20_000),
    /** `serve`: the token every /api and /v1 request must bring (Authorization: Bearer …); required to listen beyond loopback (secret: never printed). */
    RAG_SERVER_TOKEN: optionalText,
    /** `serve`: browser origins allowed to call the API (CORS), comma-separated; none by default. */
    RAG_SERVER_CORS_ORIGINS: z
      .string()
      .optional()
      .transform((value) =>
        (value ?? "")
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean),
      ),
    OPENAI_API_KEY: optionalText,
    OPENAI_BASE_URL: baseUrl("OPENAI_API_KEY"),
    COHERE_API_KEY: optionalText,
    COHERE_BASE_URL: baseUrl("COHERE_API_KEY"),
    /** Remote re-rank servers, used only when named (--reranker tei|jina|voyage): a TEI server's root, Jina's and Voyage's APIs. */
    TEI_BASE_URL: baseUrl("TEI_API_KEY"),
    TEI_API_KEY: optionalText,
    JINA_API_KEY: optionalText,
    JINA_BASE_URL: baseUrl("JINA_API_KEY"),
    VOYAGE_API_KEY: optionalText,
    VOYAGE_BASE_URL: baseUrl("VOYAGE_API_KEY"),
  })
  .refine((c) => c.RAG_FETCH_K >= c.RAG_TOP_N, {
    path: ["RAG_FETCH_K"],
    error: (issue) => `must be at least RAG_TOP_N (${(issue.input as { RAG_TOP_N: number }).RAG_TOP_N}): the re-ranker keeps topN of the fetchK candidates`,
  })
  .refine((c) => c.RAG_STORE !== "pgvector" || c.RAG_PG_URL !== undefined, {
    path: ["RAG_PG_URL"],
    message: "is required when RAG_STORE=pgvector (e.g. postgres://user:password@host:5432/db)",
  })
  .refine((c) => c.RAG_CHUNK_OVERLAP < c.RAG_CHUNK_SIZE, {
    path: ["RAG_CHUNK_OVERLAP"],
    message: "must be smaller than RAG_CHUNK_SIZE",
  });

export type RagConfig = z.infer<typeof configSchema>;
export type ConfigKey = keyof z.input<typeof configSchema>;
export type ConfigOverrides = Partial<Record<ConfigKey, string | number | readonly string[] | undefined>>;

/** Which CLI flag sets a key, so errors can name what the user typed. */
export const FLAG_FOR_KEY: Partial<Record<ConfigKey, string>> = {
  RAG_INDEX_DIR: "--index",
  RAG_EMBEDDINGS: "--embeddings",
  RAG_RERANKER: "--reranker",
  RAG_RERANK: "--rerank",
  RAG_LLM: "--llm",
  RAG_FETCH_K: "--fetch-k",
  RAG_TOP_N: "--top-n",
  RAG_MIN_SCORE: "--min-score",
  RAG_CHUNK_SIZE: "--chunk-size",
  RAG_CHUNK_OVERLAP: "--chunk-overlap",
  RAG_GITIGNORE: "--no-gitignore",
  RAG_EXCLUDE: "--exclude",
  RAG_FOLLOW_SYMLINKS: "--follow-symlinks",
  RAG_ALLOW_SECRETS: "--allow-secrets",
  RAG_STORE: "--store",
  RAG_PG_URL: "--pg-url",
  RAG_PG_TABLE: "--pg-table",
};

/**
 * Resolves configuration: explicit overrides (CLI flags) win over the environment,
 * which wins over defaults. Throws a UsageError naming the key and the allowed values.
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): RagConfig {
  const unknown = Object.keys(overrides).find((key) => !(key in configSchema.shape));
  if (unknown !== undefined) {
    throw new UsageError(`Unknown setting ${unknown}${nearestSetting(unknown)}.`, {
      setting: unknown,
      hint: "The settings are listed in .env.example and in the README's Configuration table.",
    });
  }
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(configSchema.shape) as ConfigKey[]) {
    const fromFlag = overrides[key];
    // An empty variable (as in a copied .env.example) means "not set".
    raw[key] = fromFlag !== undefined ? fromFlag : env[key] || undefined;
  }
  const parsed = configSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0]) as ConfigKey;
  const where = overrides[key] !== undefined && FLAG_FOR_KEY[key] ? `${FLAG_FOR_KEY[key]} (${key})` : key;
  const value = raw[key];
  // A connection URL may carry a password, any URL a user name or a key in its query.
  const shown = key.endsWith("_API_KEY") || key === "RAG_PG_URL" ? "<hidden>" : JSON.stringify(key.endsWith("_URL") ? redactUrl(String(value), []) : value);
  throw new UsageError(`Invalid ${where}=${shown}: ${describeIssue(issue)}`, {
    setting: key,
    hint: `Fix ${where} on the command line or in your environment/.env (see .env.example).`,
  });
}

/** " (did you mean RAG_RERANKER?)" for a name a typo away from a setting, else "". */
function nearestSetting(name: string): string {
  const near = closest(name, Object.keys(configSchema.shape));
  return distance(name, near) <= 3 ? ` (did you mean ${near}?)` : "";
}

/**
 * A warning for each RAG_ variable in the environment that is no setting (a typo in .env would
 * otherwise be ignored without a word). RAG_TEST_ variables belong to the test suite.
 */
export function unknownEnvSettings(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.keys(env)
    .filter((name) => name.startsWith("RAG_") && !name.startsWith("RAG_TEST_") && !(name in configSchema.shape))
    .map((name) => `${name} is set but is no rerank-rag setting${nearestSetting(name)}; it is ignored.`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value" && "values" in issue) {
    return `allowed values are ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return issue.message;
}

/** The value of a required secret, or a UsageError naming the key and who needs it. */
export function requireKey(value: string | undefined, key: string, role: string): string {
  if (!value) {
    throw new UsageError(`${key} is not set, but the ${role} provider needs it.`, {
      setting: key,
      hint: `Set ${key} in your environment or .env, or choose an offline provider.`,
    });
  }
  return value;
}
