// The public types catch mistakes at compile time: `npx tsc -p tsconfig.test.json` (run by
// `npm test`) fails on any line below that stops holding; vitest runs the file as a test too.
import type { VectorStoreInterface } from "@langchain/core/vectorstores";
import { describe, expectTypeOf, it } from "vitest";
import type { AnswerChain, AnswerChunk, AnswerOutput, RerankedDocument, RerankEvent, RerankingRetrieverOptions } from "../chains/index.js";
import type { CrossEncoderRerankerOptions } from "../src/rerankers/index.js";

describe("public types", () => {
  it("types .stream() chunks as partial: a chunk's answer may be missing", () => {
    const chain = undefined as unknown as AnswerChain;
    // Type-level only: the function is never called.
    async function consume() {
      for await (const chunk of await chain.stream({ question: "q" })) {
        expectTypeOf(chunk).toEqualTypeOf<AnswerChunk>();
        expectTypeOf(chunk.answer).toEqualTypeOf<string | undefined>();
      }
      // .invoke() still gives the whole answer.
      expectTypeOf(await chain.invoke("q")).toEqualTypeOf<AnswerOutput>();
    }
    expectTypeOf(consume).toBeFunction();
  });

  it("types re-ranked documents with their scores and ranks", () => {
    // A generic retriever as first stage gives no score: the type says it may be missing.
    expectTypeOf<RerankedDocument["metadata"]["retrievalScore"]>().toEqualTypeOf<number | undefined>();
    const doc = undefined as unknown as RerankedDocument;
    // @ts-expect-error retrievalScore must be checked before use
    expectTypeOf(() => doc.metadata.retrievalScore.toFixed(3)).toBeFunction();
    expectTypeOf<RerankedDocument["metadata"]["retrievalRank"]>().toEqualTypeOf<number>();
    expectTypeOf<RerankedDocument["metadata"]["rerankScore"]>().toEqualTypeOf<number | undefined>();
    expectTypeOf<RerankedDocument["metadata"]["rerankRank"]>().toEqualTypeOf<number | undefined>();
    // Other metadata is unknown until checked, not `any`.
    expectTypeOf<RerankedDocument["metadata"]["source"]>().toEqualTypeOf<unknown>();
    expectTypeOf<RerankEvent["retrievalRanks"]>().toEqualTypeOf<number[]>();
  });

  it("accepts the documented re-ranker names, including none, and rejects others", () => {
    const vectorStore = undefined as unknown as VectorStoreInterface;
    expectTypeOf<{ vectorStore: VectorStoreInterface; reranker: "none" }>().toExtend<RerankingRetrieverOptions>();
    expectTypeOf<{ vectorStore: VectorStoreInterface; reranker: "bogus" }>().not.toExtend<RerankingRetrieverOptions>();
    // @ts-expect-error a misspelt re-ranker is a compile error
    const wrong: RerankingRetrieverOptions = { vectorStore, reranker: "bogus" };
    void wrong;
  });

  it("takes the cross-encoder's device and dtype by name", () => {
    expectTypeOf<CrossEncoderRerankerOptions["device"]>().toEqualTypeOf<"cpu" | "cuda" | "webgpu" | "dml" | undefined>();
    expectTypeOf<{ modelsDir: string; device: "tpu" }>().not.toExtend<CrossEncoderRerankerOptions>();
  });
});
