import type { DocumentInterface } from "@langchain/core/documents";
import type { BaseLanguageModelInterface } from "@langchain/core/language_models/base";
import type { BasePromptTemplate } from "@langchain/core/prompts";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { createAnswerChain, createRerankingRetriever, type AnswerChainOptions } from "../../chains/index.js";
import { loadConfig } from "../../src/config/index.js";
import { createLlm } from "../../src/llms/registry.js";
import { openAiWarmUp } from "../../src/providers/openai-client.js";
import { Bm25Reranker } from "../../src/rerankers/bm25-reranker.js";
import type { CorpusStats } from "../../src/text/corpus-stats.js";
import { startOpenAiServer, type ServerTiming } from "./openai-server.js";
import { smallStore } from "./small-store.js";

/** The BM25 re-ranker after a fixed wait: a re-ranker as slow as a cross-encoder on a CPU, without using the CPU. */
class SlowReranker extends BaseDocumentCompressor {
  constructor(
    private readonly inner: BaseDocumentCompressor,
    private readonly ms: number,
  ) {
    super();
  }
  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    await new Promise((r) => setTimeout(r, this.ms));
    return this.inner.compressDocuments(documents, query);
  }
}

export interface OverlapRun {
  /** Milliseconds from the question to the answer's first token. */
  ttftMs: number;
  answer: string;
  warmUps: number;
  /** The requests that opened a connection (and paid its set-up). */
  firstOnConnection: string[];
}

/**
 * Time to the first answer token of one question through the real answer chain, with BM25 re-ranking
 * after a fixed wait, and with or without a warm-up beside retrieval and re-ranking.
 */
export async function timeToFirstToken({
  vectorStore,
  stats,
  llm,
  prompt,
  warmUp,
  rerankMs,
  question,
  fetchK = 8,
  topN = 3,
}: {
  vectorStore: VectorStoreInterface;
  stats: CorpusStats;
  llm: BaseLanguageModelInterface;
  prompt?: BasePromptTemplate;
  warmUp?: AnswerChainOptions["warmUp"];
  rerankMs: number;
  question: string;
  fetchK?: number;
  topN?: number;
}): Promise<{ ttftMs: number; answer: string }> {
  const retriever = createRerankingRetriever({ vectorStore, reranker: new SlowReranker(new Bm25Reranker({ stats }), rerankMs), fetchK, topN });
  const chain = createAnswerChain({ retriever, llm, prompt, warmUp });
  const started = performance.now();
  let ttftMs = 0;
  let answer = "";
  for await (const chunk of await chain.stream(question)) {
    if (chunk.answer && !answer) ttftMs = performance.now() - started;
    answer += chunk.answer ?? "";
  }
  return { ttftMs, answer };
}

/**
 * One question through the real answer chain and OpenAI client against a fresh local server
 * (a fresh origin, so no pooled connection carries over), with or without opening the
 * connection while the re-ranker works.
 */
export async function runOverlap({
  warmUp,
  rerankMs,
  timing,
  tokens = ["Create a client ", "in the dashboard ", "[1]."],
}: {
  warmUp: boolean | (() => Promise<unknown>);
  rerankMs: number;
  timing: ServerTiming;
  tokens?: string[];
}): Promise<OverlapRun> {
  const server = await startOpenAiServer({ kind: "stream", tokens }, { timing });
  try {
    const config = loadConfig({ RAG_LLM: "openai", OPENAI_BASE_URL: server.baseURL, OPENAI_API_KEY: "sk-test", RAG_MAX_RETRIES: "0" }, {});
    const { store, stats } = await smallStore();
    const { ttftMs, answer } = await timeToFirstToken({
      vectorStore: store,
      stats,
      llm: await createLlm(config),
      warmUp: warmUp === true ? openAiWarmUp(config) : warmUp || undefined,
      rerankMs,
      question: "How do I configure OAuth2 client credentials?",
    });
    return { ttftMs, answer, warmUps: server.warmUps(), firstOnConnection: server.firstOnConnection };
  } finally {
    await server.close();
  }
}
