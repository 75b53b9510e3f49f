import type { DocumentInterface } from "@langchain/core/documents";
import type { BaseLanguageModelInterface } from "@langchain/core/language_models/base";
import type { BasePromptTemplate } from "@langchain/core/prompts";
import type { BaseRetrieverInterface } from "@langchain/core/retrievers";
import { RunnableLambda, RunnablePassthrough, RunnablePick, RunnableSequence, type Runnable, type RunnableConfig } from "@langchain/core/runnables";
import type { IterableReadableStream } from "@langchain/core/utils/stream";
import { secretsOf, UsageError } from "../src/errors/index.js";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../src/llms/prompt.js";
import { RedactingOutputParser } from "../src/llms/redacting-output-parser.js";

export type AnswerInput = string | { question: string };
export interface AnswerOutput {
  answer: string;
  sources: DocumentInterface[];
}

/** One `.stream()` chunk: `{ sources }` first, then `{ answer }` pieces; never both fields at once. */
export type AnswerChunk = Partial<AnswerOutput>;

/** The answer chain: `.invoke()` gives the whole AnswerOutput, `.stream()` yields AnswerChunks. */
export type AnswerChain = {
  stream(input: AnswerInput, options?: Partial<RunnableConfig>): Promise<IterableReadableStream<AnswerChunk>>;
} & Runnable<AnswerInput, AnswerOutput>;

export interface AnswerChainOptions {
  retriever: BaseRetrieverInterface;
  llm: BaseLanguageModelInterface;
  /** A prompt with `{sources}` and `{question}` variables; defaults to ANSWER_PROMPT. */
  prompt?: BasePromptTemplate;
  /**
   * Values replaced by `<redacted>` in the answer, streamed or not (a server can echo the key it
   * was sent). Default: the secrets in the environment (OPENAI_API_KEY, COHERE_API_KEY, HF_TOKEN,
   * passwords in OPENAI_BASE_URL, COHERE_BASE_URL, RAG_PG_URL, HF_ENDPOINT); `[]` turns it off.
   */
  secrets?: readonly string[];
}

export const NOTHING_RETRIEVED = "I could not find anything about this in the indexed documents.";

/**
 * The streaming answer chain: retrieve → prompt → LLM. `.stream()` yields `{ sources }`
 * first, then `{ answer }` chunks as the model produces them; `.invoke()` returns both.
 * With no sources it answers that nothing was found instead of asking the model to guess.
 * Secrets are redacted from the answer (see `secrets`); callbacks on the model's own run still
 * see its raw output.
 */
export function createAnswerChain({ retriever, llm, prompt = ANSWER_PROMPT, secrets = secretsOf(process.env) }: AnswerChainOptions): AnswerChain {
  const generate = RunnableLambda.from((input: { question: string; sources: DocumentInterface[] }) => ({
    question: formatQuestion(input.question),
    sources: formatSources(input.sources),
  }))
    .pipe(prompt)
    .pipe(llm)
    .pipe(new RedactingOutputParser(secrets));
  const answer = RunnableLambda.from((input: { question: string; sources: DocumentInterface[] }) =>
    input.sources.length === 0 ? NOTHING_RETRIEVED : generate,
  ).withConfig({ runName: "answer" });
  return RunnableSequence.from([
    RunnableLambda.from(normalizeInput).withConfig({ runName: "question" }),
    RunnablePassthrough.assign({
      sources: RunnableLambda.from((input: { question: string }) => input.question).pipe(retriever),
    }),
    RunnablePassthrough.assign({ answer }),
    new RunnablePick(["sources", "answer"]),
  ]).withConfig({ runName: "AnswerChain" }) as AnswerChain;
}

function normalizeInput(input: AnswerInput): { question: string } {
  const question = typeof input === "string" ? input : input?.question;
  if (typeof question !== "string" || !question.trim()) {
    throw new UsageError("The question is empty.", { hint: 'Ask something, e.g. rerank-rag ask "How do I configure OAuth2?"' });
  }
  return { question: question.trim() };
}
