import fs from "node:fs/promises";
import path from "node:path";
import cliProgress from "cli-progress";
import { RagError, UsageError } from "../../errors/index.js";
import { evaluate, formatResultTable, loadDataset, renderHtmlReport } from "../../eval/index.js";
import { isCascadeSpec, parseCascade, splitSpecList } from "../../config/index.js";
import { ADAPTIVE } from "../../eval/evaluate.js";
import { formatVerdict, verdictFor } from "../../eval/verdict.js";
import { parseMinScore } from "../../rerankers/cut-off.js";
import { RERANKERS } from "../../rerankers/registry.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { packageRoot } from "../package-info.js";
import { dim, note, yellow } from "../output.js";

export interface EvalFlags extends CommonFlags {
  split?: string;
  latencyBudget?: string;
  variants?: string;
  limit?: string;
  cacheDir: string;
  docs?: string;
  report?: string;
}

/** `rerank-rag eval <dataset>` */
export async function runEval(target: string, flags: EvalFlags): Promise<void> {
  // The cut-off's own parser first: its message says what a cut-off may be. The config carries it on (flag over RAG_MIN_SCORE), as for ask.
  parseMinScore(flags.minScore, "--min-score");
  const config = configFromFlags(flags);
  const variants = flags.variants === undefined ? undefined : splitSpecList(flags.variants);
  for (const v of variants ?? []) {
    const spec = v.startsWith(ADAPTIVE) ? v.slice(ADAPTIVE.length) : v;
    if (isCascadeSpec(spec)) parseCascade(spec);
    else if (!Object.hasOwn(RERANKERS, spec)) {
      throw new UsageError(`Unknown variant "${v}" in --variants.`, {
        hint: `Use a comma-separated list of ${Object.keys(RERANKERS).join(", ")}, cascades such as bm25:20,cross-encoder, and adaptive:<re-ranker>.`,
      });
    }
  }
  const latencyBudgetMs = flags.latencyBudget === undefined ? undefined : Number(flags.latencyBudget);
  if (latencyBudgetMs !== undefined && !(latencyBudgetMs >= 0)) {
    throw new UsageError(`--latency-budget must be a number of milliseconds ≥ 0, got ${flags.latencyBudget}.`, { hint: "e.g. --latency-budget 250" });
  }
  const limit = flags.limit === undefined ? undefined : Number(flags.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit must be a positive whole number, got ${flags.limit}.`);
  if (flags.report) await checkReportPath(flags.report);
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
  const thresholds = latencyBudgetMs === undefined ? {} : { latencyBudgetMs };
  const verdicts = verdictFor(result, thresholds);
  // The results first: a report that cannot be written must not cost the run's figures.
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...result, verdict: verdicts }, null, 2)}\n`);
  } else {
    const { settings } = result;
    note(
      dim(
        `embeddings=${settings.embedder} → ${config.RAG_STORE === "pgvector" ? "pgvector" : "HNSW"}${settings.firstStage === "hybrid" ? "+BM25" : ""} top ${settings.fetchK} → {${result.variants.map((v) => v.name).join(", ")}} → top ${settings.topN}`,
      ),
    );
    process.stdout.write(`${formatResultTable(result)}\n\n${formatVerdict(verdicts, thresholds)}\n`);
  }
  if (flags.report) {
    await fs.writeFile(flags.report, renderHtmlReport(result, verdicts)).catch((error: Error) => {
      throw new RagError(`Could not write the report ${flags.report}: ${error.message}`, {
        hint: "The results are printed above. Free space or pick another --report path and run again (the index is cached, so indexing is skipped).",
      });
    });
    if (!flags.json) note(`report: ${flags.report}`);
  }
}

/** Fails before the evaluation, which can take minutes, when the report could not be written after it. */
async function checkReportPath(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const [target, folder] = await Promise.all([fs.stat(file).catch(() => null), fs.stat(dir).catch(() => null)]);
  const problem = target?.isDirectory()
    ? { what: `${file} is a folder`, fix: `Give a file name in it, e.g. --report ${path.join(file, "report.html")}.` }
    : !folder
      ? { what: `its folder ${dir} does not exist`, fix: `Create the folder first (mkdir -p ${dir}) or pick another --report path.` }
      : !folder.isDirectory()
        ? { what: `${dir} is not a folder`, fix: "Pick a --report path inside a folder." }
        : await fs.access(target ? file : dir, fs.constants.W_OK).then(
            () => null,
            () => ({ what: `${target ? file : dir} is not writable`, fix: "Pick a --report path in a folder you can write to." }),
          );
  if (problem) throw new UsageError(`Cannot write the report ${file}: ${problem.what}.`, { hint: problem.fix });
}
