// Re-ranking in a plain LCEL pipeline: switched off per chain (`withConfig`) or per call
// (`configurable`), and visible in `streamEvents` (v2): the retriever's start/end events
// carry the settings and the documents with their ranks and scores, and the re-ranking
// step reports what it did as a custom event.
//
//   npx tsx examples/lcel-toggle.ts
import type { DocumentInterface } from "@langchain/core/documents";
import { StringOutputParser } from "@langchain/core/output_parsers";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { RunnableLambda, RunnablePassthrough, RunnableSequence, type Runnable } from "@langchain/core/runnables";
import type { StreamEvent } from "@langchain/core/tracers/log_stream";
import { createRerankingRetriever, ExtractiveChatModel, RERANK_EVENT, SYSTEM_PROMPT } from "rerank-rag";
import { isMain, offlineStore, QUESTION } from "./corpus.js";

const prompt = ChatPromptTemplate.fromMessages([
  ["system", SYSTEM_PROMPT],
  ["human", "<sources>\n{sources}\n</sources>\n\n<question>\n{question}\n</question>"],
]);

const numbered = (docs: DocumentInterface[]) =>
  docs.map((d, i) => `<source id="${i + 1}" from="${d.metadata.relativePath}">\n${d.pageContent}\n</source>`).join("\n");

export async function buildChain() {
  const { vectorStore, stats } = await offlineStore();
  const retriever = createRerankingRetriever({ vectorStore, reranker: "bm25", stats, fetchK: 8, topN: 3 });
  // { question } → { question, docs } → { question, docs, answer }; any chat model fits where the extractive one is.
  const chain: Runnable<{ question: string }, { question: string; docs: DocumentInterface[]; answer: string }> = RunnableSequence.from([
    RunnablePassthrough.assign({ docs: RunnableLambda.from((input: { question: string }) => input.question).pipe(retriever) }),
    RunnablePassthrough.assign({
      answer: RunnableLambda.from((input: { question: string; docs: DocumentInterface[] }) => ({ question: input.question, sources: numbered(input.docs) }))
        .pipe(prompt)
        .pipe(new ExtractiveChatModel())
        .pipe(new StringOutputParser()),
    }),
  ]);
  return { chain, retriever };
}

export async function run(question: string = QUESTION) {
  const { chain } = await buildChain();

  // Per call: the same chain, with and without re-ranking.
  const reranked = await chain.invoke({ question });
  const firstStage = await chain.invoke({ question }, { configurable: { rerank: false } });
  // Per chain: a variant that never re-ranks and keeps 2; a call can still override it.
  const plainChain = chain.withConfig({ configurable: { rerank: false, topN: 2 } });
  const plain = await plainChain.invoke({ question });
  const overridden = await plainChain.invoke({ question }, { configurable: { rerank: true } });

  // streamEvents v2: what happened inside the retriever, without any tracing service.
  const events: StreamEvent[] = [];
  for await (const event of chain.streamEvents({ question }, { version: "v2" })) {
    if (event.event.startsWith("on_retriever_") || event.event === "on_custom_event") events.push(event);
  }
  return { reranked, firstStage, plain, overridden, events };
}

if (isMain(import.meta.url)) {
  const { reranked, firstStage, plain, overridden, events } = await run();
  const show = (label: string, docs: DocumentInterface[]) =>
    console.log(`${label.padEnd(34)} ${docs.map((d) => `${d.metadata.chunkId}${d.metadata.rerankRank ? "*" : ""}`).join(", ")}`);
  console.log(`Q: ${QUESTION}   (* = re-ranked)\n`);
  show("per call, default (re-ranked)", reranked.docs);
  show("per call, rerank: false", firstStage.docs);
  show("per chain, rerank: false, topN 2", plain.docs);
  show("per chain off, call rerank: true", overridden.docs);
  console.log(`\nAnswer: ${reranked.answer.split("\n")[0]}\n\nstreamEvents (v2):`);
  for (const e of events) {
    if (e.event === "on_custom_event") console.log(`  ${e.event} "${e.name}"`, JSON.stringify(e.data));
    else if (e.event === "on_retriever_start") console.log(`  ${e.event} ${e.name}`, JSON.stringify(e.metadata.rerankRag ?? {}));
    else {
      const docs = (e.data.output ?? []) as DocumentInterface[];
      const ranks = docs.map(
        (d) => `#${d.metadata.retrievalRank}${d.metadata.rerankScore === undefined ? "" : `→${Number(d.metadata.rerankScore).toFixed(2)}`}`,
      );
      console.log(`  ${e.event} ${e.name}: ${docs.length} docs ${ranks.join(" ")}`);
    }
  }
  if (events.every((e) => e.name !== RERANK_EVENT)) process.exitCode = 1;
}
