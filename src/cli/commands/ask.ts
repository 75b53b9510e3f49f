import type { DocumentInterface } from "@langchain/core/documents";
import { FirstStageCollector } from "../../../chains/first-stage-collector.js";
import type { RerankEvent } from "../../../chains/reranking-retriever.js";
import { ProviderError, RagError, UsageError } from "../../errors/index.js";
import { ChunkFilter, parseFilterArgs } from "../../store/chunk-filter.js";
import { resolveLlm } from "../../llms/registry.js";
import { judgeEvidence } from "../../rerankers/cut-off.js";
import { createPipeline } from "../../pipeline/create-pipeline.js";
import type { RagConfig } from "../../config/index.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { bold, dim, note, printable, yellow } from "../output.js";
import { belowCutOff, formatSourceLine, shownLabel, sourceJson } from "../sources.js";

/** `rerank-rag ask "<question>"` */
export async function runAsk(question: string, flags: CommonFlags): Promise<void> {
  // Checked before the index is opened, so an empty question is a usage error even without an index.
  if (!question.trim()) {
    throw new UsageError("The question is empty.", {
      hint: 'Ask about the indexed documents in your own words, e.g. rerank-rag ask "How do I rotate an API key?"',
    });
  }
  await askAndPrint(question, configFromFlags(flags), Boolean(flags.json), filterFromFlags(flags));
}

/** The --filter flags as one checked filter (a bad one fails before the index is opened); undefined without any. */
export function filterFromFlags(flags: CommonFlags): ChunkFilter | undefined {
  return flags.filter?.length ? new ChunkFilter(parseFilterArgs(flags.filter)) : undefined;
}

/** Streams the answer to stdout, then the sources with both orders. Shared with `demo`. */
export async function askAndPrint(question: string, config: RagConfig, json: boolean, filter?: ChunkFilter): Promise<void> {
  const pipeline = await createPipeline(config);
  if (!json) printPipeline(pipeline);
  let sources: DocumentInterface[] | null = null;
  let answered = true;
  let answer = "";
  // The "before re-ranking" list is the same retrieval's first stage, not a second (billed) one.
  const firstStage = new FirstStageCollector();
  try {
    for await (const chunk of await pipeline.chain.stream(question, { callbacks: [firstStage], ...(filter ? { configurable: { filter } } : {}) })) {
      if (chunk?.sources) sources = chunk.sources;
      if (chunk?.answered !== undefined) answered = chunk.answered;
      if (chunk?.answer) {
        if (!json && !answer) process.stdout.write(`\n`);
        answer += chunk.answer;
        if (!json) process.stdout.write(printable(chunk.answer, { multiline: true }));
      }
    }
  } catch (error) {
    if (!answer) throw error;
    const incomplete = stoppedAnswer(error, answer.length, resolveLlm(config).name);
    if (json) {
      const body = { question, answer, incomplete: true, error: incomplete.message, pipeline: pipeline.description, sources: (sources ?? []).map(sourceJson) };
      process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    } else {
      process.stdout.write(`\n${yellow("[answer incomplete: the model stopped with an error]")}\n`);
    }
    throw incomplete;
  }
  sources ??= [];
  const before = firstStageShown(sources, firstStage, config);
  const warning = sources.length === 0 ? emptyFilterWarning(filter) : undefined;
  if (warning && !json) note(yellow(`warning: ${warning}`));
  if (json) {
    const body = { question, answer, answered, pipeline: pipeline.description, ...sourcesJson(sources, before, firstStage), ...(warning ? { warning } : {}) };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  process.stdout.write("\n\n");
  printSources(sources, before, firstStage, config, answered);
}

/**
 * `rerank-rag search "<query>"`: the sources `ask` would answer from, after and before re-ranking,
 * and whether they pass the evidence gate; no model runs.
 */
export async function runSearch(query: string, flags: CommonFlags): Promise<void> {
  if (!query.trim()) throw new UsageError("The query is empty.", { hint: 'Search the indexed documents, e.g. rerank-rag search "rotate an API key"' });
  const config = configFromFlags(flags);
  const filter = filterFromFlags(flags);
  const pipeline = await createPipeline(config);
  if (!flags.json) printPipeline(pipeline);
  const firstStage = new FirstStageCollector();
  const sources = await pipeline.retriever.invoke(query, { callbacks: [firstStage], ...(filter ? { configurable: { filter } } : {}) });
  const { answered } = judgeEvidence(sources, config.RAG_MIN_SCORE);
  const before = firstStageShown(sources, firstStage, config);
  const warning = sources.length === 0 ? emptyFilterWarning(filter) : undefined;
  if (flags.json) {
    // answerable: whether `ask` would pass these sources to the model (the evidence gate).
    const body = { query, answerable: answered, pipeline: pipeline.description, ...sourcesJson(sources, before, firstStage), ...(warning ? { warning } : {}) };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return;
  }
  if (warning) note(yellow(`warning: ${warning}`));
  if (sources.length === 0) process.stdout.write("Nothing found.\n");
  printSources(sources, before, firstStage, config, answered);
}

/**
 * Why nothing was found when a filter was given: it matched no chunk (a source glob is matched
 * against the whole path, so "source=guides" names no file; "guides/**" names a folder's).
 */
function emptyFilterWarning(filter: ChunkFilter | undefined): string | undefined {
  if (!filter) return undefined;
  const bare = filter.sourceGlobs?.find((glob) => !/[*?[{]/.test(glob));
  const folder = bare
    ? ` A source glob is matched against a file's whole path: source=${bare.replace(/\/$/, "")}/** names everything under the folder ${bare}.`
    : "";
  return `No chunk matches the --filter given, so nothing was searched.${folder}`;
}

/** The first stage's top N as the lists show it: what re-ranking started from, or the sources themselves when it did not run. */
function firstStageShown(sources: DocumentInterface[], firstStage: FirstStageCollector, config: RagConfig): DocumentInterface[] {
  return wasReranked(config, firstStage) ? (firstStage.documents ?? []).slice(0, config.RAG_TOP_N) : sources;
}

const isReranking = (config: RagConfig) => config.RAG_RERANKER !== "none" && config.RAG_RERANK !== "off";
/** Whether this call re-ranked: configured to, and not skipped by `auto`. */
const wasReranked = (config: RagConfig, firstStage: FirstStageCollector) => isReranking(config) && (firstStage.rerank?.adaptive?.rerank ?? true);

/** The pipeline line and its notes, on stderr. */
function printPipeline(pipeline: { description: string; notes: readonly string[] }): void {
  note(dim(pipeline.description));
  for (const line of pipeline.notes) note(yellow(line));
}

/** The sources, the first stage's top N and what re-ranking did, for --json. */
function sourcesJson(sources: DocumentInterface[], before: DocumentInterface[], firstStage: FirstStageCollector) {
  return {
    sources: sources.map(sourceJson),
    firstStage: before.map(sourceJson),
    ...(firstStage.rerank ? { rerank: rerankJson(firstStage.rerank) } : {}),
  };
}

/** The sources after re-ranking (or as related, when they do not answer), then the first stage's top N before it. */
function printSources(sources: DocumentInterface[], before: DocumentInterface[], firstStage: FirstStageCollector, config: RagConfig, answered: boolean): void {
  if (sources.length === 0) return;
  const reranking = isReranking(config);
  const decision = firstStage.rerank?.adaptive;
  const reranked = wasReranked(config, firstStage);
  const warning: unknown = sources.find((doc) => doc.metadata.rerankWarning)?.metadata.rerankWarning;
  if (typeof warning === "string" && warning) note(yellow(`warning: ${printable(warning)}`));
  const why = decision ? ` — ${printable(decision.reason)}` : "";
  const stages = firstStage.rerank?.stages?.map((s) => `${s.reranker} ${s.candidates}→${s.returned} in ${s.ms} ms`).join(", then ");
  if (!answered) process.stdout.write(`${bold(`Related sources (${belowCutOff(sources)}: they do not answer the question)`)}\n`);
  else if (!reranking) process.stdout.write(`${bold("Sources (first-stage order, no re-ranking)")}\n`);
  else process.stdout.write(`${bold(reranked ? `Sources (after re-ranking${why})` : `Sources (first-stage order: re-ranking ${why.slice(3)})`)}\n`);
  // The last stage ranks all it gets; the top N are kept after it.
  if (reranked && stages) note(dim(`cascade: ${stages}; the top ${sources.length} kept`));
  sources.forEach((doc, i) => process.stdout.write(`${formatSourceLine(doc, i)}\n`));
  if (reranked) {
    process.stdout.write(`\n${bold(`First-stage top ${before.length} (before re-ranking)`)}\n`);
    before.forEach((doc, i) => process.stdout.write(`${i + 1}. ${shownLabel(doc)} ${dim(`(score ${Number(doc.metadata.retrievalScore).toFixed(3)})`)}\n`));
  }
}

/** The model failed mid-answer: the same failure, as data, saying how much of the answer arrived. */
function stoppedAnswer(error: unknown, characters: number, llm: string): ProviderError {
  const stopped = `the answer stopped after ${characters} characters`;
  if (ProviderError.isInstance(error)) {
    const { provider, detail, reason, statusCode, url, retryable, hint, setting, exitCode } = error;
    return new ProviderError(provider, `${stopped}: ${detail}`, { reason, statusCode, url, retryable, hint, setting, exitCode, cause: error });
  }
  const { hint, setting, exitCode } = RagError.isInstance(error) ? error : {};
  return new ProviderError(llm, `${stopped}: ${(error as Error)?.message ?? String(error)}`, { hint, setting, exitCode, cause: error });
}

/** What the re-ranking step did, for --json: the re-ranker, timing, the adaptive decision and each cascade stage. */
function rerankJson({ reranker, candidates, returned, ms, adaptive, stages }: RerankEvent) {
  return { reranker, candidates, returned, ms, ...(adaptive ? { adaptive } : {}), ...(stages ? { stages } : {}) };
}
