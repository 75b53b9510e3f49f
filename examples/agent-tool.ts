// The re-ranking retriever as a tool for a LangChain v1 agent (`createAgent`, which runs on
// LangGraph). The agent decides to search; the tool returns the re-ranked sources as text
// for the model and as Documents (with rerank metadata) in the ToolMessage's artifact.
//
//   npx tsx examples/agent-tool.ts
//
// The model is LangChain's scripted fake (`fakeModel` from @langchain/core/testing): it asks
// for the tool once, then answers from the tool's result, so the example runs offline.
// Swap in any tool-calling chat model (ChatOpenAI, ChatOllama, …) for a real agent.
import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { DocumentInterface } from "@langchain/core/documents";
import { fakeModel } from "@langchain/core/testing";
import { createAgent, tool } from "langchain";
import { createRerankingRetriever } from "rerank-rag";
import { z } from "zod";
import { isMain, offlineStore, QUESTION } from "./corpus.js";

export async function run(question: string = QUESTION) {
  const { vectorStore, stats } = await offlineStore();
  const retriever = createRerankingRetriever({ vectorStore, reranker: "bm25", stats, fetchK: 8, topN: 3 });

  const searchDocs = tool(
    async ({ query }): Promise<[string, DocumentInterface[]]> => {
      const docs = await retriever.invoke(query);
      const text = docs.map((d, i) => `[${i + 1}] ${String(d.metadata.relativePath)}\n${d.pageContent}`).join("\n\n");
      return [text || "No matching documents.", docs];
    },
    {
      name: "search_docs",
      description: "Search the payments API documentation. Returns the most relevant passages, numbered [1]…[n].",
      schema: z.object({ query: z.string().describe("what to look for, in the user's words") }),
      responseFormat: "content_and_artifact",
    },
  );

  const model = fakeModel()
    .respondWithTools([{ name: "search_docs", args: { query: question }, id: "call_1" }])
    .respond((messages: BaseMessage[]) => {
      const result = [...messages].reverse().find((m) => ToolMessage.isInstance(m));
      const best = (result?.text ?? "").split("\n")[1] ?? "";
      return new AIMessage(`${best} [1]`);
    });

  const agent = createAgent({ model, tools: [searchDocs], systemPrompt: "Answer from the documentation only; cite passages as [n]." });
  const { messages } = await agent.invoke({ messages: [{ role: "user", content: question }] });
  const toolMessage = messages.find((m) => ToolMessage.isInstance(m)) as ToolMessage | undefined;
  return {
    messages,
    answer: messages.at(-1)?.text ?? "",
    sources: (toolMessage?.artifact ?? []) as DocumentInterface[],
    modelCalls: model.calls,
  };
}

if (isMain(import.meta.url)) {
  const { messages, answer, sources } = await run();
  for (const m of messages) {
    const calls = AIMessage.isInstance(m) ? (m.tool_calls ?? []) : [];
    const text = calls.length ? `calls ${calls.map((c) => `${c.name}(${JSON.stringify(c.args)})`).join(", ")}` : m.text.split("\n")[0];
    console.log(`${m.type}: ${text}`);
  }
  console.log(`\nAnswer: ${answer}`);
  sources.forEach((d, i) =>
    console.log(`  [${i + 1}] ${d.metadata.relativePath} (first stage #${d.metadata.retrievalRank}, rerankScore ${Number(d.metadata.rerankScore).toFixed(3)})`),
  );
}
