import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import {
  configSchema,
  EMBEDDINGS_PROVIDERS,
  LLM_PROVIDERS,
  RERANKER_PROVIDERS,
  loadConfig,
  unknownEnvSettings,
  type ConfigKey,
  type ConfigOverrides,
} from "../src/config/index.js";
import { RagError, UsageError } from "../src/errors/index.js";
import { EMBEDDERS, resolveEmbedder } from "../src/embeddings/registry.js";
import { LLMS, resolveLlm } from "../src/llms/registry.js";
import { DEFAULT_COHERE_RERANK_MODEL } from "../src/rerankers/cohere-reranker.js";
import { DEFAULT_CROSS_ENCODER } from "../src/rerankers/cross-encoder-reranker.js";
import { RERANKERS, resolveReranker } from "../src/rerankers/registry.js";
import { whereRuns } from "../src/providers/endpoint.js";
import { DEFAULT_MIN_SCORES } from "../src/rerankers/cut-off.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { makeModelsDir } from "./helpers/test-models.js";

function usageError(fn: () => unknown): RagError {
  try {
    fn();
  } catch (error) {
    if (RagError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("loadConfig", () => {
  it("uses defaults: fetchK 50, topN 5, auto providers", () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({ RAG_FETCH_K: 50, RAG_TOP_N: 5, RAG_RERANKER: "auto", RAG_LLM: "auto", RAG_EMBEDDINGS: "auto" });
  });

  it("lets flags override the environment, and the environment override defaults", () => {
    const env = { RAG_TOP_N: "7", RAG_FETCH_K: "30" };
    expect(loadConfig({}, env)).toMatchObject({ RAG_TOP_N: 7, RAG_FETCH_K: 30 });
    expect(loadConfig({ RAG_TOP_N: "3" }, env)).toMatchObject({ RAG_TOP_N: 3, RAG_FETCH_K: 30 });
  });

  it("names the flag, the key and the allowed values for an unknown provider", () => {
    const error = usageError(() => loadConfig({ RAG_RERANKER: "colbert" }, {}));
    expect(error.exitCode).toBe(2);
    expect(error.message).toContain("--reranker (RAG_RERANKER)");
    expect(error.message).toContain('"cross-encoder"');
  });

  it("names the environment key for a bad environment value", () => {
    const error = usageError(() => loadConfig({}, { RAG_LLM: "gpt5" }));
    expect(error.message).toMatch(/^Invalid RAG_LLM="gpt5"/);
  });

  it("rejects topN 0 and fetchK below topN", () => {
    expect(usageError(() => loadConfig({ RAG_TOP_N: "0" }, {})).message).toContain("RAG_TOP_N");
    expect(usageError(() => loadConfig({ RAG_TOP_N: "10", RAG_FETCH_K: "5" }, {})).message).toContain("at least RAG_TOP_N (10)");
  });

  it("names the key to change in setting, for every kind of bad value", () => {
    expect(usageError(() => loadConfig({ RAG_FETCH_K: "abc" }, {})).setting).toBe("RAG_FETCH_K");
    expect(usageError(() => loadConfig({}, { RAG_RERANK: "none" })).setting).toBe("RAG_RERANK");
    expect(usageError(() => loadConfig({ RAG_TOP_N: "10", RAG_FETCH_K: "5" }, {})).setting).toBe("RAG_FETCH_K");
    expect(usageError(() => loadConfig({}, { RAG_STORE: "pgvector" })).setting).toBe("RAG_PG_URL");
    expect(usageError(() => loadConfig({}, { OPENAI_BASE_URL: "not a url" })).setting).toBe("OPENAI_BASE_URL");
  });

  it("refuses an unknown setting in code, suggesting the nearest, and warns of one in the environment", () => {
    const error = (() => {
      try {
        loadConfig({ RAG_RERANKERS: "cohere" } as ConfigOverrides, {});
      } catch (e) {
        return e as UsageError;
      }
    })();
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.message).toBe("Unknown setting RAG_RERANKERS (did you mean RAG_RERANKER?).");
    expect(error!.setting).toBe("RAG_RERANKERS");
    expect(() => loadConfig({ SOMETHING_ELSE: "x" } as ConfigOverrides, {})).toThrow(/^Unknown setting SOMETHING_ELSE\.$/);
    expect(unknownEnvSettings({ RAG_TOPN: "3", RAG_TOP_N: "3", RAG_TEST_PG_URL: "postgres://x", HOME: "/root" })).toEqual([
      "RAG_TOPN is set but is no rerank-rag setting (did you mean RAG_TOP_N?); it is ignored.",
    ]);
  });

  it("never echoes an API key in an error", () => {
    const error = usageError(() => loadConfig({}, { OPENAI_API_KEY: "sk-SENTINEL", OPENAI_BASE_URL: "not a url" }));
    expect(error.message).not.toContain("sk-SENTINEL");
    expect(error.message).toContain("OPENAI_BASE_URL");
  });
});

describe("auto resolution", () => {
  it("picks the offline providers when nothing is configured", () => {
    const config = loadConfig({ RAG_MODELS_DIR: "/nonexistent" }, {});
    expect(resolveEmbedder(config)).toEqual({ provider: "offline" });
    expect(resolveReranker(config).name).toBe("bm25");
    expect(resolveLlm(config)).toEqual({ name: "extractive" });
  });

  it("takes a configured OpenAI-compatible server for the LLM, but sends documents to no service that was not named", () => {
    const env = { OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", OPENAI_API_KEY: "sk-k", COHERE_API_KEY: "k" };
    const config = loadConfig({ RAG_MODELS_DIR: "/nonexistent" }, env);
    expect(resolveLlm(config)).toEqual({ name: "openai", model: "gpt-4o-mini" });
    // Keys in the environment do not make `auto` ship every candidate or every chunk to Cohere or OpenAI.
    expect(resolveReranker(config).name).toBe("bm25");
    expect(resolveEmbedder(config).provider).toBe("offline");
    // Named, they are used.
    const named = loadConfig({ RAG_MODELS_DIR: "/nonexistent", RAG_RERANKER: "cohere", RAG_EMBEDDINGS: "openai" }, env);
    expect(resolveReranker(named).name).toBe("cohere");
    expect(resolveEmbedder(named)).toEqual({ provider: "openai", model: "text-embedding-3-small" });
  });

  it("picks the local cross-encoder and local embeddings when their models are on disk", () => {
    const modelsDir = makeModelsDir({ "Xenova/ms-marco-MiniLM-L-6-v2": { preset: "tiny" }, "Xenova/all-MiniLM-L6-v2": { preset: "tiny" } });
    onTestFinished(() => fs.rmSync(modelsDir, { recursive: true, force: true }));
    const config = loadConfig({ RAG_MODELS_DIR: modelsDir }, { COHERE_API_KEY: "k", OPENAI_API_KEY: "sk-k" });
    expect(resolveReranker(config).name).toBe("cross-encoder");
    expect(resolveEmbedder(config)).toEqual({ provider: "transformers", model: "Xenova/all-MiniLM-L6-v2" });
  });

  it("says where each stage runs: local, or the host that receives the text ", () => {
    const config = loadConfig({}, { OPENAI_BASE_URL: "http://127.0.0.1:11434/v1", COHERE_API_KEY: "k" });
    expect(["offline", "transformers", "bm25", "cross-encoder", "none", "extractive"].map((name) => whereRuns(config, name))).toEqual(Array(6).fill("local"));
    expect(whereRuns(config, "openai")).toBe("127.0.0.1:11434");
    expect(whereRuns(config, "cohere")).toBe("api.cohere.com");
    expect(whereRuns(config, "some-new-service")).toBe("remote");
  });

  it("fails fast on an unknown provider name, listing the valid ones", () => {
    expect(() => loadConfig({ RAG_RERANKER: "bogus" }, {})).toThrow(/RAG_RERANKER.*(bm25|cross-encoder)/s);
    expect(() => resolveReranker(loadConfig({}, {}), "bogus" as never)).toThrow(
      /Unknown re-ranker "bogus".*"bm25", "cross-encoder", "cohere", "tei", "jina", "voyage", "none"/,
    );
  });
});

describe("provider tables", () => {
  it("list the config's names in its order, and give the default models the classes use", () => {
    expect(["auto", ...Object.keys(RERANKERS)]).toEqual(RERANKER_PROVIDERS);
    expect(["auto", ...Object.keys(EMBEDDERS)]).toEqual(EMBEDDINGS_PROVIDERS);
    expect(["auto", ...Object.keys(LLMS)]).toEqual(LLM_PROVIDERS);
    expect(Object.isFrozen(RERANKERS) && Object.isFrozen(EMBEDDERS) && Object.isFrozen(LLMS)).toBe(true);
    // The classes keep their own defaults (they may not import the table that lazily imports them).
    expect(RERANKERS["cross-encoder"].defaultModel).toBe(DEFAULT_CROSS_ENCODER);
    expect(RERANKERS.cohere.defaultModel).toBe(DEFAULT_COHERE_RERANK_MODEL);
  });
});

describe(".env.example", () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, ".env.example"), "utf8");
  /** The comment above a key's line (shared by the keys listed right under it), as one line. */
  const commentFor = (key: string): string => {
    const lines = text.split("\n");
    let at = lines.findIndex((line) => line.startsWith(`${key}=`));
    expect(at, `${key} in .env.example`).toBeGreaterThan(0);
    while (at > 0 && /^[A-Z_]+=/.test(lines[at - 1]!)) at--;
    const comment: string[] = [];
    for (let i = at - 1; i >= 0 && lines[i]!.startsWith("#"); i--) comment.unshift(lines[i]!.replace(/^#\s?/, ""));
    return comment.join(" ");
  };
  const enumOptions = (schema: z.ZodType): readonly string[] | null => {
    if (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) return enumOptions(schema.unwrap() as z.ZodType);
    return schema instanceof z.ZodEnum ? (schema.options as string[]) : null;
  };

  it("lists every key of the schema, and only those", () => {
    const keys = [...text.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]!);
    expect(keys.sort()).toEqual(Object.keys(configSchema.shape).sort());
  });

  it.each(Object.keys(configSchema.shape).filter((key) => enumOptions(configSchema.shape[key as ConfigKey] as z.ZodType)))(
    "names exactly the values %s accepts, as a | b | c",
    (key) => {
      const options = enumOptions(configSchema.shape[key as ConfigKey] as z.ZodType)!;
      // Words joined by |, each maybe followed by a parenthetical; a trailing "| …" marks a partial list.
      const list = /[\w.-]+(?:\s*\([^)]*\))?(?:\s*\|\s*(?:[\w.-]+|…)(?:\s*\([^)]*\))?)+/.exec(commentFor(key));
      expect(list, `a | b | c list above ${key}`).not.toBeNull();
      const named = list![0]
        .replace(/\([^)]*\)/g, "")
        .split("|")
        .map((word) => word.trim());
      const partial = named.at(-1) === "…";
      const values = partial ? named.slice(0, -1) : named;
      for (const value of values) expect(options, `${key}=${value}, as .env.example names it`).toContain(value);
      if (!partial) expect(values.sort()).toEqual([...options].sort());
    },
  );

  it("quotes the calibrated cut-offs the code uses", () => {
    const { bm25, "cross-encoder": crossEncoder, cohere } = DEFAULT_MIN_SCORES;
    expect(commentFor("RAG_MIN_SCORE")).toContain(`(bm25 ${bm25}, cross-encoder ${crossEncoder}, cohere ${cohere})`);
  });
});
