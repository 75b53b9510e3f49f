import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import type { DocumentInterface } from "@langchain/core/documents";
import type { Serialized } from "@langchain/core/load/serializable";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { AIMessage } from "@langchain/core/messages";
import type { ChatGeneration, LLMResult } from "@langchain/core/outputs";
import { FirstStageCollector } from "../../chains/first-stage-collector.js";
import { FIRST_STAGE_TAG, RERANK_EVENT, type RerankEvent } from "../../chains/reranking-retriever.js";
import { LivePipeline } from "./live-pipeline.js";
import type { AskBody, SearchBody } from "./schemas.js";
import type { ServedPipeline, ServedReranker } from "./served-pipeline.js";

/** A source as the API shows it: where it is, its text, and its place before and after re-ranking. */
export interface SourceJson {
  /** Its number in the answer's citations ([1]…), after re-ranking. */
  n: number;
  path: unknown;
  heading: unknown;
  page: unknown;
  chunkId: unknown;
  retrievalRank: unknown;
  retrievalScore: unknown;
  rerankRank: unknown;
  rerankScore: unknown;
  text: string;
}

/** A first-stage candidate in the "before" list: no text (the page matches it to a source by chunkId). */
export type CandidateJson = Omit<SourceJson, "text" | "n" | "rerankRank" | "rerankScore">;

export function sourceJson(doc: DocumentInterface, index: number): SourceJson {
  const m = doc.metadata as Record<string, unknown>;
  return { n: index + 1, ...candidateJson(doc), rerankRank: m.rerankRank, rerankScore: m.rerankScore, text: doc.pageContent };
}

export function candidateJson(doc: DocumentInterface): CandidateJson {
  const m = doc.metadata as Record<string, unknown>;
  return {
    path: m.relativePath ?? m.source,
    heading: m.heading,
    page: m.page,
    chunkId: m.chunkId,
    retrievalRank: m.retrievalRank,
    retrievalScore: m.retrievalScore,
  };
}

/** Milliseconds each stage took in one request. */
export interface Timings {
  firstStageMs: number | null;
  rerankMs: number | null;
  /** From the request to the sources (first stage + re-rank + overheads). */
  retrievalMs: number;
  firstTokenMs: number | null;
  totalMs: number;
}

/** Times the first stage and reads the re-ranker's own time from its custom event. */
class StageTimer extends BaseCallbackHandler {
  name = "StageTimer";
  firstStageMs: number | null = null;
  rerankMs: number | null = null;
  private readonly started = new Map<string, number>();

  constructor() {
    // Only retriever and custom events are read: chain and LLM events (one per token) are not dispatched here.
    super({ _awaitHandler: true, ignoreChain: true, ignoreLLM: true });
  }

  override handleRetrieverStart(_retriever: Serialized, _query: string, runId: string, _parent?: string, tags?: string[]): void {
    if (tags?.includes(FIRST_STAGE_TAG)) this.started.set(runId, performance.now());
  }

  override handleRetrieverEnd(_documents: DocumentInterface[], runId: string): void {
    const started = this.started.get(runId);
    if (started === undefined) return;
    this.started.delete(runId);
    this.firstStageMs = round(performance.now() - started);
  }

  override handleCustomEvent(eventName: string, data: unknown): void {
    if (eventName === RERANK_EVENT) this.rerankMs = (data as RerankEvent).ms;
  }
}

/** Tokens as OpenAI reports them. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Adds up the token usage the LLM itself reported (LangChain's `usage_metadata`); null when it reported none. */
class UsageCounter extends BaseCallbackHandler {
  name = "UsageCounter";
  usage: Usage | null = null;

  constructor() {
    super({ _awaitHandler: true, ignoreChain: true, ignoreRetriever: true, ignoreCustomEvent: true });
  }

  override handleLLMEnd(output: LLMResult): void {
    for (const generation of output.generations.flat()) {
      const counted = ((generation as Partial<ChatGeneration>).message as AIMessage | undefined)?.usage_metadata;
      if (!counted) continue;
      const usage = (this.usage ??= { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
      usage.prompt_tokens += counted.input_tokens;
      usage.completion_tokens += counted.output_tokens;
      usage.total_tokens += counted.total_tokens;
    }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** What `/api/ask` streams, in order: sources, tokens, done (or error, from the route). */
export type AskEvent =
  | { type: "sources"; data: SourcesEvent }
  | { type: "token"; data: { text: string } }
  | { type: "done"; data: { answer: string; timings: Timings; noAnswer: boolean; usage?: Usage | null } };

export interface SourcesEvent {
  pipeline: string;
  snapshot: string | null;
  rerank: boolean;
  reranker: ServedReranker;
  sources: SourceJson[];
  /** The first stage's candidates in its own order, before re-ranking. */
  before: CandidateJson[];
}

/** A follow-up is asked together with the previous question, so "and how long does it last?" still finds its topic. */
export function questionWithHistory(question: string, history: AskBody["history"] = []): string {
  const previous = history
    .filter((turn) => turn.role === "user")
    .at(-1)
    ?.content.trim();
  return previous ? `${previous}\n${question}` : question;
}

/** The re-ranker a request asked for, its per-call settings, and the callbacks that watch the run. */
async function prepare(served: ServedPipeline, body: SearchBody, signal: AbortSignal) {
  const requested = body.rerank === false ? "none" : (body.reranker ?? served.reranker);
  const variant = await served.variant(requested);
  // variant() refused any name the server does not offer.
  const reranker = requested as ServedReranker;
  const firstStage = new FirstStageCollector();
  const timer = new StageTimer();
  // Per-call settings the re-ranking retriever and the answer chain read (minScore is also the evidence gate's).
  // "none" turns the shared retriever's re-ranking off; otherwise the request's mode (true or "auto"), else the variant's own.
  const configurable: Record<string, unknown> = reranker === "none" ? { rerank: false } : body.rerank === undefined ? {} : { rerank: body.rerank };
  for (const key of ["fetchK", "topN", "minScore", "filter"] as const) if (body[key] !== undefined) configurable[key] = body[key];
  const options: RunnableConfig = { signal, callbacks: [firstStage, timer], configurable };
  // The line for this request, from the settings the retriever will run with (not the server's defaults).
  const used = variant.retriever.settingsFor(options);
  const pipeline = served.describe({
    reranker: reranker === served.reranker ? undefined : reranker,
    rerank: used.rerank,
    fetchK: used.fetchK,
    topN: used.topN,
  });
  return { reranker, variant, firstStage, timer, options, pipeline };
}

/**
 * `/api/ask`: the answer to a question as events, on one leased snapshot from start to end. With
 * `countUsage`, `done` carries the LLM's reported token usage (only then: watching the LLM run costs a callback per token).
 */
export async function* askEvents(served: ServedPipeline, body: AskBody, signal: AbortSignal, { countUsage = false } = {}): AsyncGenerator<AskEvent> {
  const started = performance.now();
  const { reranker, variant, firstStage, timer, options, pipeline } = await prepare(served, body, signal);
  const counter = countUsage ? new UsageCounter() : undefined;
  if (counter) options.callbacks = [...(options.callbacks as BaseCallbackHandler[]), counter];
  const question = questionWithHistory(body.question, body.history);
  let answer = "";
  let retrievalMs = 0;
  let firstTokenMs: number | null = null;
  let sourcesCount = 0;
  let answered = true;
  for await (const chunk of await variant.chain.stream({ question }, options)) {
    if (chunk.sources) {
      retrievalMs = round(performance.now() - started);
      sourcesCount = chunk.sources.length;
      yield {
        type: "sources",
        data: {
          pipeline,
          snapshot: LivePipeline.snapshotOf(served),
          rerank: reranker !== "none",
          reranker,
          sources: chunk.sources.map(sourceJson),
          before: (firstStage.documents ?? []).map(candidateJson),
        },
      };
    }
    // The evidence gate's verdict: no source reached the re-ranker's cut-off, so no model ran.
    if (chunk.answered === false) answered = false;
    if (chunk.answer) {
      firstTokenMs ??= round(performance.now() - started);
      answer += chunk.answer;
      yield { type: "token", data: { text: chunk.answer } };
    }
  }
  const timings = { firstStageMs: timer.firstStageMs, rerankMs: timer.rerankMs, retrievalMs, firstTokenMs, totalMs: round(performance.now() - started) };
  yield { type: "done", data: { answer, timings, noAnswer: sourcesCount === 0 || !answered, ...(counter ? { usage: counter.usage } : {}) } };
}

/** `/api/search`: the candidates before and after re-ranking, no LLM. */
export async function search(served: ServedPipeline, body: SearchBody, signal: AbortSignal) {
  const started = performance.now();
  const { reranker, variant, firstStage, timer, options, pipeline } = await prepare(served, body, signal);
  const after = await variant.retriever.invoke(body.question, options);
  return {
    pipeline,
    snapshot: LivePipeline.snapshotOf(served),
    rerank: reranker !== "none",
    reranker,
    after: after.map(sourceJson),
    before: (firstStage.documents ?? []).map(candidateJson),
    timings: { firstStageMs: timer.firstStageMs, rerankMs: timer.rerankMs, totalMs: round(performance.now() - started) },
  };
}
