import path from "node:path";
import { Document } from "@langchain/core/documents";
import { LlamaCppChatModel } from "../../src/llms/llama-cpp-chat-model.js";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../../src/llms/prompt.js";
import { QUICK, REPO, summarize, type Stats } from "../harness.js";
import { SAMPLE_QUESTION, sampleCandidates } from "./corpus.js";

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
  const llm = new LlamaCppChatModel({ modelPath: BENCH_GGUF, gpu: "off", threads: Number(process.env.RAG_LLM_THREADS) || 1, maxTokens: 64, contextSize: 8192 });
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
  };
}
