import path from "node:path";
import { Document } from "@langchain/core/documents";
import { loadConfig } from "../../src/config/index.js";
import { LlamaCppChatModel } from "../../src/llms/llama-cpp-chat-model.js";
import { ANSWER_PROMPT, formatQuestion, formatSources, QUESTION_FIRST_PROMPT, SOURCES_SLOT } from "../../src/llms/prompt.js";
import { openIndex } from "../../src/store/open-index.js";
import { timeToFirstToken } from "../../test/helpers/overlap.js";
import { measureInterleaved, QUICK, REPO, summarize, type Stats } from "../harness.js";
import { SAMPLE_INDEX, SAMPLE_QUESTION, sampleCandidates } from "./corpus.js";

export const BENCH_GGUF = path.resolve(REPO, "..", "shared", "models", "stories260K.gguf");

export interface LlmRow {
  model: string;
  threads: number;
  loadMs: number;
  promptTokens: number;
  firstTokenMs: Stats;
  promptTokensPerSecond: number;
  answerTokens: number;
  tokensPerSecond: number;
  /** Time to first token through the answer chain, with and without evaluating the prompt's prefix while re-ranking runs. */
  overlap?: LlmOverlap;
}

export interface LlmOverlap {
  /** The re-ranker's fixed wait, run beside the warm-up. */
  rerankMs: number;
  /** Tokens of the prompt before the sources (system prompt and question, in the chat template), and of the whole prompt. */
  prefixTokens: number;
  promptTokens: number;
  without: Stats;
  with: Stats;
  identical: boolean;
}

/** A re-ranker's duration: the cross-encoder on 10 candidates of the sample corpus on this CPU takes ~1.4 s (docs/bench.md). */
const OVERLAP_RERANK_MS = 1000;

/**
 * Time to first token of the sample question through the real answer chain (sample index, top 50 →
 * BM25 re-ranking after a fixed wait → top 5 → the local model with QUESTION_FIRST_PROMPT), with and
 * without the prefix warm-up, interleaved. The wait uses no CPU (a remote re-ranker, or one on
 * other cores), so the figure measures the overlap, not the machine's load.
 */
async function overlapCase(llm: LlamaCppChatModel): Promise<LlmOverlap> {
  const index = await openIndex(loadConfig({ RAG_INDEX_DIR: SAMPLE_INDEX, RAG_EMBEDDINGS: "offline" }));
  const answers = new Set<string>();
  const run = (warm: boolean) => async () => {
    const { ttftMs, answer } = await timeToFirstToken({
      vectorStore: index.vectorStore,
      stats: index.stats!,
      llm,
      prompt: QUESTION_FIRST_PROMPT,
      warmUp: warm ? llm.prefixWarmUp(QUESTION_FIRST_PROMPT) : undefined,
      rerankMs: OVERLAP_RERANK_MS,
      question: SAMPLE_QUESTION,
      fetchK: 50,
      topN: 5,
    });
    answers.add(answer);
    return ttftMs;
  };
  const stats = await measureInterleaved({ without: { warmup: run(false), run: run(false) }, with: { warmup: run(true), run: run(true) } }, QUICK ? 3 : 5);
  const { model } = await llm.load();
  const count = async (sources: string) => {
    const messages = (await QUESTION_FIRST_PROMPT.invoke({ question: formatQuestion(SAMPLE_QUESTION), sources })).toChatMessages();
    return model.tokenize(
      messages
        .map((m) => m.text)
        .join("\n")
        .split(SOURCES_SLOT)[0]!,
    ).length;
  };
  const top = await index.vectorStore.similaritySearch(SAMPLE_QUESTION, 5);
  return {
    rerankMs: OVERLAP_RERANK_MS,
    prefixTokens: await count(SOURCES_SLOT),
    promptTokens: await count(formatSources(top)),
    without: stats.without,
    with: stats.with,
    identical: answers.size === 1,
  };
}

/**
 * The local LLM on the answer chain's real prompt (the sample corpus's top 5 for the sample question):
 * load time in a fresh process, time to first token (mostly the prompt's evaluation), and generation speed.
 * The context is large enough for the whole prompt (stories260K's tokens are short), so nothing is trimmed.
 */
export async function llmCase(): Promise<LlmRow> {
  const docs = (await sampleCandidates(5)).map((text) => new Document({ pageContent: text, metadata: { relativePath: "docs" } }));
  const messages = (await ANSWER_PROMPT.invoke({ question: formatQuestion(SAMPLE_QUESTION), sources: formatSources(docs) })).toChatMessages();
  const started = performance.now();
  // One thread: llama.cpp's threads spin-wait, and on a shared machine a second one that loses its core stalls the other.
  const llm = new LlamaCppChatModel({
    modelPath: BENCH_GGUF,
    gpu: "off",
    threads: Number(process.env.RAG_LLM_THREADS) || 1,
    maxTokens: 64,
    contextSize: 8192,
    // A shared machine can take minutes over one answer; the bench measures it rather than stopping it.
    timeoutMs: 900_000,
  });
  const shared = await llm.load();
  const loadMs = performance.now() - started;
  const promptTokens = shared.model.tokenize(messages.map((m) => m.text).join("\n")).length;
  const firstToken: number[] = [];
  const rates: number[] = [];
  let answerTokens = 0;
  for (let run = 0; run < (QUICK ? 2 : 5); run++) {
    const begin = performance.now();
    let first = 0;
    let answer = "";
    for await (const chunk of await llm.stream(messages)) {
      first ||= performance.now();
      answer += chunk.text;
    }
    const end = performance.now();
    answerTokens = shared.model.tokenize(answer).length;
    firstToken.push(first - begin);
    rates.push((1000 * Math.max(answerTokens - 1, 1)) / Math.max(end - first, 1e-3));
  }
  const overlap = await overlapCase(llm);
  await llm.dispose();
  const ttft = summarize(firstToken);
  return {
    model: path.basename(BENCH_GGUF),
    threads: llm.threads,
    loadMs,
    promptTokens,
    firstTokenMs: ttft,
    promptTokensPerSecond: (1000 * promptTokens) / ttft.p50,
    answerTokens,
    tokensPerSecond: summarize(rates).p50,
    overlap,
  };
}
