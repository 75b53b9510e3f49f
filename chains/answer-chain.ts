import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { BaseLanguageModelInterface } from "@langchain/core/language_models/base";
import type { BasePromptTemplate } from "@langchain/core/prompts";
import type { BaseRetrieverInterface } from "@langchain/core/retrievers";
import { RunnableLambda, RunnablePassthrough, RunnablePick, RunnableSequence, type Runnable, type RunnableConfig } from "@langchain/core/runnables";
import type { IterableReadableStream } from "@langchain/core/utils/stream";
import { secretsOf, UsageError } from "../src/errors/index.js";
import { describeValue } from "../src/util/describe-value.js";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../src/llms/prompt.js";
import { RedactingOutputParser } from "../src/llms/redacting-output-parser.js";
import { isBelowCutOff, judgeEvidence, parseMinScore, resolveMinScore, type MinScoreSetting } from "../src/rerankers/cut-off.js";

export type AnswerInput = string | { question: string };
export interface AnswerOutput {
  answer: string;
  /** Sources best first; when the evidence gate declined, they are the closest ones, each marked `belowCutOff: true`. */
  sources: DocumentInterface[];
  /** False when nothing was retrieved or no source reached the re-ranker's cut-off: the model was not called. */
  answered: boolean;
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
  /**
   * Work the answer needs anyway, run while the retriever (and its re-ranker) works, e.g.
   * opening the connection to a remote LLM (`openAiWarmUp`) or evaluating a local model's prompt
   * up to the sources (`LlamaCppChatModel.prefixWarmUp`), so generation does not pay for it
   * after re-ranking. It gets the question and the call's abort signal. Generation starts when
   * both are done; a failure is ignored (the model's own request reports any real problem), and
   * the answer is the same with or without it. When it resolves to a function, the chain calls
   * it if the model is not called (nothing retrieved, the evidence gate declined), to free what
   * the warm-up holds for the answer.
   */
  warmUp?: (input: { question: string }, options: { signal?: AbortSignal }) => Promise<unknown>;
  /**
   * The evidence gate's cut-off: when no re-ranked source reaches it, the chain answers
   * NOT_ANSWERED without calling the model. "auto" (default): the re-ranker's calibrated cut-off;
   * a number: a score on the re-ranker's scale; null: no gate. Per call: `configurable.minScore`.
   */
  minScore?: MinScoreSetting;
}

export const NOTHING_RETRIEVED = "I could not find anything about this in the indexed documents.";
export const NOT_ANSWERED = "The indexed documents do not answer this question. The closest sources are listed as related, not as an answer.";

type Retrieved = { question: string; sources: DocumentInterface[]; warmUp?: unknown };

/**
 * The streaming answer chain: retrieve → prompt → LLM. `.stream()` yields `{ sources }`
 * first, then `{ answer }` chunks as the model produces them; `.invoke()` returns both.
 * With no sources it answers that nothing was found instead of asking the model to guess; when
 * no source reaches the re-ranker's cut-off it answers NOT_ANSWERED, the model never called.
 * Secrets are redacted from the answer (see `secrets`); callbacks on the model's own run still
 * see its raw output.
 */
export function createAnswerChain({
  retriever,
  llm,
  prompt = ANSWER_PROMPT,
  secrets = secretsOf(process.env),
  warmUp,
  minScore = "auto",
}: AnswerChainOptions): AnswerChain {
  requirePart(
    retriever,
    "retriever",
    "a LangChain retriever",
    'Pass createRerankingRetriever({ vectorStore, reranker: "bm25" }), or any retriever (vectorStore.asRetriever()).',
  );
  requirePart(
    llm,
    "llm",
    "a LangChain chat model",
    'Pass e.g. new ChatOpenAI({ model: "gpt-4o-mini" }), or new ExtractiveChatModel() to answer offline by quoting the sources.',
  );
  const chainMinScore = parseMinScore(minScore, "minScore");
  // The call's minScore is the gate's: the retriever keeps the sources below it, to list them as related.
  const gateSetting = (config?: RunnableConfig): MinScoreSetting => {
    const value: unknown = config?.configurable?.minScore;
    return value === undefined ? chainMinScore : parseMinScore(value, "configurable.minScore");
  };
  const retrieve = RunnableLambda.from(async (input: { question: string }, config?: RunnableConfig) => {
    const { minScore: _gate, ...configurable } = { ...config?.configurable };
    const docs = await retriever.invoke(input.question, { ...config, configurable });
    const cutOff = resolveMinScore(docs, gateSetting(config));
    return docs.map((doc) =>
      isBelowCutOff(doc, cutOff) ? new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, belowCutOff: true }, id: doc.id }) : doc,
    );
  });
  const gate = RunnableLambda.from(({ sources }: Retrieved, config?: RunnableConfig) => judgeEvidence(sources, gateSetting(config)).answered);
  const generate = RunnableLambda.from((input: { question: string; sources: DocumentInterface[] }) => ({
    question: formatQuestion(input.question),
    sources: formatSources(input.sources),
  }))
    .pipe(prompt)
    .pipe(llm)
    .pipe(new RedactingOutputParser(secrets));
  // The evidence gate: the model runs only when some source reaches the cut-off.
  const answer = RunnableLambda.from(async (input: Retrieved & { answered: boolean }) => {
    if (input.sources.length > 0 && input.answered) return generate;
    if (typeof input.warmUp === "function") await (input.warmUp as () => unknown)();
    return input.sources.length === 0 ? NOTHING_RETRIEVED : NOT_ANSWERED;
  }).withConfig({ runName: "answer" });
  return RunnableSequence.from([
    RunnableLambda.from(normalizeInput).withConfig({ runName: "question" }),
    RunnablePassthrough.assign({
      sources: retrieve.withConfig({ runName: "retrieve" }),
      // Side by side with retrieval; dropped from the output by the pick below.
      ...(warmUp
        ? {
            warmUp: RunnableLambda.from((input: { question: string }, config?: RunnableConfig) =>
              warmUp(input, { signal: config?.signal }).then(
                (held) => (typeof held === "function" ? held : true),
                () => false,
              ),
            ).withConfig({ runName: "warm_up" }),
          }
        : {}),
    }),
    RunnablePassthrough.assign({ answered: gate.withConfig({ runName: "evidence_gate" }) }),
    RunnablePassthrough.assign({ answer }),
    new RunnablePick(["sources", "answered", "answer"]),
  ]).withConfig({ runName: "AnswerChain" }) as AnswerChain;
}

/** A part the chain calls, checked up front: missing or wrong, it would fail deep inside LangChain ("reading 'middle'"). */
function requirePart(value: unknown, setting: string, what: string, hint: string): void {
  if (typeof (value as { invoke?: unknown } | undefined)?.invoke === "function") return;
  throw new UsageError(`createAnswerChain needs \`${setting}\`, ${what}; got ${describeValue(value)}.`, { setting, hint });
}

function normalizeInput(input: AnswerInput): { question: string } {
  const question: unknown = typeof input === "object" && input !== null ? input.question : input;
  if (typeof question !== "string") {
    throw new UsageError(`The question must be a string, or { question: string }; got ${describeValue(question)}.`, {
      hint: 'Pass the question as text: chain.invoke("How do I configure OAuth2?") or chain.invoke({ question: "How do I configure OAuth2?" }).',
    });
  }
  if (!question.trim()) {
    throw new UsageError("The question is empty.", { hint: 'Ask something, e.g. rerank-rag ask "How do I configure OAuth2?"' });
  }
  return { question: question.trim() };
}
