import type { DocumentInterface } from "@langchain/core/documents";
import type { BaseLanguageModelInterface } from "@langchain/core/language_models/base";
import type { BasePromptTemplate } from "@langchain/core/prompts";
import type { BaseRetrieverInterface } from "@langchain/core/retrievers";
import { RunnableLambda, RunnablePassthrough, RunnablePick, RunnableSequence, type Runnable } from "@langchain/core/runnables";
import { secretsOf, UsageError } from "../src/errors/index.js";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../src/llms/prompt.js";
import { RedactingOutputParser } from "../src/llms/redacting-output-parser.js";

export type AnswerInput = string | { question: string };
export interface AnswerOutput {
  answer: string;
  sources: DocumentInterface[];
}

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
  /**
   * Work the answer needs anyway, run while the retriever (and its re-ranker) works, e.g.
   * opening the connection to a remote LLM (`openAiWarmUp`), so generation does not pay for it
   * after re-ranking. Generation starts when both are done; a failure is ignored (the model's
   * own request reports any real problem), and the answer is the same with or without it.
   */
  warmUp?: () => Promise<unknown>;
}

export const NOTHING_RETRIEVED = "I could not find anything about this in the indexed documents.";

/**
 * The streaming answer chain: retrieve → prompt → LLM. `.stream()` yields `{ sources }`
 * first, then `{ answer }` chunks as the model produces them; `.invoke()` returns both.
 * With no sources it answers that nothing was found instead of asking the model to guess.
 * Secrets are redacted from the answer (see `secrets`); callbacks on the model's own run still
 * see its raw output.
 */
export function createAnswerChain({
  retriever,
  llm,
  prompt = ANSWER_PROMPT,
  secrets = secretsOf(process.env),
  warmUp,
}: AnswerChainOptions): Runnable<AnswerInput, AnswerOutput> {
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
      // Side by side with retrieval; dropped from the output by the pick below.
      ...(warmUp
        ? {
            warmUp: RunnableLambda.from(() =>
              warmUp().then(
                () => true,
                () => false,
              ),
            ).withConfig({ runName: "warm_up" }),
          }
        : {}),
    }),
    RunnablePassthrough.assign({ answer }),
    new RunnablePick(["sources", "answer"]),
  ]).withConfig({ runName: "AnswerChain" }) as Runnable<AnswerInput, AnswerOutput>;
}

function normalizeInput(input: AnswerInput): { question: string } {
  const question = typeof input === "string" ? input : input?.question;
  if (typeof question !== "string" || !question.trim()) {
    throw new UsageError("The question is empty.", { hint: 'Ask something, e.g. rerank-rag ask "How do I configure OAuth2?"' });
  }
  return { question: question.trim() };
}
