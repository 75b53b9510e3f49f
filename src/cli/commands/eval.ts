import fs from "node:fs/promises";
import path from "node:path";
import cliProgress from "cli-progress";
import { UsageError } from "../../errors/index.js";
import { evaluate, formatResultTable, loadDataset, renderHtmlReport } from "../../eval/index.js";
import { RERANKERS, type ConcreteReranker } from "../../rerankers/registry.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { packageRoot } from "../package-info.js";
import { dim, note, yellow } from "../output.js";

export interface EvalFlags extends CommonFlags {
  split: string;
  variants?: string;
  limit?: string;
  cacheDir: string;
  docs?: string;
  report?: string;
}

/** `rerank-rag eval <dataset>` */
export async function runEval(target: string, flags: EvalFlags): Promise<void> {
  const config = configFromFlags(flags);
  const variants = flags.variants
    ?.split(",")
    .map((v) => v.trim())
    .filter(Boolean) as ConcreteReranker[] | undefined;
  for (const v of variants ?? []) {
    if (!Object.hasOwn(RERANKERS, v)) {
      throw new UsageError(`Unknown variant "${v}" in --variants.`, { hint: `Use a comma-separated list of ${Object.keys(RERANKERS).join(", ")}.` });
    }
  }
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit must be a positive whole number, got ${flags.limit}.`);
  const docsDir = flags.docs ?? path.join(packageRoot(), "data", "docs");
  const dataset = await loadDataset(target, { split: flags.split, cacheDir: flags.cacheDir, docsDir });
  for (const warning of dataset.warnings ?? []) note(yellow(`warning: ${warning}`));
  if (!flags.json) note(dim(`dataset ${dataset.name}: ${dataset.queries.length} queries; indexing the corpus (cached in ${flags.cacheDir})…`));
  const bar = new cliProgress.SingleBar(
    { format: "Evaluating |{bar}| {value}/{total} queries | ETA {eta_formatted}", stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const result = await evaluate({
    dataset,
    config,
    variants,
    cacheDir: flags.cacheDir,
    limit,
    minScore: config.RAG_MIN_SCORE,
    onProgress: (done, total) => {
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
  }).finally(() => bar.stop());
  if (flags.report) {
    await fs.writeFile(flags.report, renderHtmlReport(result));
    if (!flags.json) note(`report: ${flags.report}`);
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const { settings } = result;
  note(
    dim(
      `embeddings=${settings.embedder} → ${settings.firstStage === "hybrid" ? "HNSW+BM25" : "HNSW"} top ${settings.fetchK} → {${result.variants.map((v) => v.name).join(", ")}} → top ${settings.topN}`,
    ),
  );
  process.stdout.write(`${formatResultTable(result)}\n`);
}
