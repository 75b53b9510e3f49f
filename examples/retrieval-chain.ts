// rerank-rag's re-ranking retriever inside LangChain's stock retrieval chain:
// createRetrievalChain + createStuffDocumentsChain from @langchain/classic.
//
//   npx tsx examples/retrieval-chain.ts
import { createStuffDocumentsChain } from "@langchain/classic/chains/combine_documents";
import { createRetrievalChain } from "@langchain/classic/chains/retrieval";
import type { DocumentInterface } from "@langchain/core/documents";
import { ChatPromptTemplate, PromptTemplate } from "@langchain/core/prompts";
import { createRerankingRetriever, ExtractiveChatModel, SYSTEM_PROMPT } from "rerank-rag";
import { isMain, offlineStore, QUESTION } from "./corpus.js";

export async function run(question: string = QUESTION): Promise<{ input: string; context: DocumentInterface[]; answer: string }> {
  const { vectorStore, stats } = await offlineStore();

  // First stage: the 8 nearest chunks; second stage: BM25 with the corpus's statistics keeps 3.
  const retriever = createRerankingRetriever({ vectorStore, reranker: "bm25", stats, fetchK: 8, topN: 3 });

  // Any chat model works here (ChatOpenAI, ChatOllama, …). The offline extractive answerer quotes
  // the sentences that answer, citing [n]; it reads sources in rerank-rag's <source> format, which
  // the document prompt builds from the metadata our retriever adds (rerankRank = 1…topN).
  const prompt = ChatPromptTemplate.fromMessages([
    ["system", SYSTEM_PROMPT],
    ["human", "<sources>\n{context}\n</sources>\n\n<question>\n{input}\n</question>"],
  ]);
  const combineDocsChain = await createStuffDocumentsChain({
    llm: new ExtractiveChatModel(),
    prompt,
    documentPrompt: PromptTemplate.fromTemplate('<source id="{rerankRank}" from="{relativePath}">\n{page_content}\n</source>'),
    documentSeparator: "\n",
  });
  const chain = await createRetrievalChain({ retriever, combineDocsChain });
  const { context, answer } = await chain.invoke({ input: question });
  return { input: question, context, answer: String(answer) };
}

if (isMain(import.meta.url)) {
  const { answer, context } = await run();
  console.log(`Q: ${QUESTION}\n\n${answer}\n`);
  for (const doc of context) {
    const m = doc.metadata;
    console.log(
      `[${m.rerankRank}] ${m.relativePath}  first stage #${m.retrievalRank} → re-ranked #${m.rerankRank} (score ${Number(m.rerankScore).toFixed(3)})`,
    );
  }
}
