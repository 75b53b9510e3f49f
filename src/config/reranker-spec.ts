import { UsageError } from "../errors/index.js";
import { RERANKER_PROVIDERS, type RerankerProviderName } from "./names.js";

/** A cascade of re-rankers, cheap first: `bm25:20,cross-encoder` keeps BM25's top 20 for the cross-encoder. */
export type CascadeSpec = `${string},${string}`;
/** What RAG_RERANKER and `--reranker` take: one re-ranker's name or a cascade. */
export type RerankerSpec = RerankerProviderName | CascadeSpec;

/** One stage of a cascade: a re-ranker, and how many of its best it hands on (every stage but the last). */
export interface CascadeStageSpec {
  name: Exclude<RerankerProviderName, "none">;
  keep?: number;
}

const EXAMPLE = "e.g. bm25:20,cross-encoder (BM25 keeps 20 candidates for the cross-encoder)";
const STAGE_NAMES = RERANKER_PROVIDERS.filter((name) => name !== "none");

export const isCascadeSpec = (spec: string): spec is CascadeSpec => spec.includes(",");

/**
 * The stages of a cascade spec: `name:keep` for every stage but the last, which keeps what the
 * retriever asks for (topN). Throws a UsageError naming the bad stage.
 */
export function parseCascade(spec: string): CascadeStageSpec[] {
  const parts = spec.split(",").map((part) => part.trim());
  if (parts.length < 2) throw new UsageError(`A cascade needs at least two re-rankers, got "${spec}".`, { setting: "RAG_RERANKER", hint: `Write ${EXAMPLE}.` });
  return parts.map((part, i) => {
    const last = i === parts.length - 1;
    const [name = "", keep, ...rest] = part.split(":");
    if (!(STAGE_NAMES as readonly string[]).includes(name) || rest.length > 0) {
      throw new UsageError(`Unknown re-ranker "${part}" in the cascade "${spec}".`, {
        setting: "RAG_RERANKER",
        hint: `Each stage is one of ${STAGE_NAMES.join(", ")}, with :<count> on every stage but the last; ${EXAMPLE}.`,
      });
    }
    if (last && keep !== undefined) {
      throw new UsageError(`The last stage of the cascade "${spec}" has a count (${part}); its count is topN.`, {
        setting: "RAG_RERANKER",
        hint: `Drop ":${keep}" from ${name}; ${EXAMPLE}.`,
      });
    }
    if (last) return { name: name as CascadeStageSpec["name"] };
    const count = Number(keep);
    if (keep === undefined || !Number.isInteger(count) || count < 1) {
      throw new UsageError(`Stage "${part}" of the cascade "${spec}" needs a whole count of candidates to keep.`, {
        setting: "RAG_RERANKER",
        hint: `Write ${name}:20 to hand its best 20 to the next stage; ${EXAMPLE}.`,
      });
    }
    return { name: name as CascadeStageSpec["name"], keep: count };
  });
}

/**
 * A comma-separated list of re-ranker specs (as `eval --variants` takes) split into specs: a
 * stage with a count (`bm25:20`) is not the end of a cascade, so it joins the next item.
 */
export function splitSpecList(list: string): string[] {
  const specs: string[] = [];
  let pending: string[] = [];
  for (const item of list.split(",").map((part) => part.trim())) {
    if (!item) continue;
    pending.push(item);
    if (!/:\d+$/.test(item)) {
      specs.push(pending.join(","));
      pending = [];
    }
  }
  if (pending.length > 0) specs.push(pending.join(","));
  return specs;
}
