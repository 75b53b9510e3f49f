// rerank-rag's re-rankers are plain LangChain document compressors: use them in a stock
// ContextualCompressionRetriever, alone or in a DocumentCompressorPipeline after an
// EmbeddingsFilter, over any vector store (here a MemoryVectorStore).
//
//   npx tsx examples/compression-pipeline.ts
//
// The cross-encoder normally loads Xenova/ms-marco-MiniLM-L-6-v2 (`rerank-rag models pull …`).
// To stay offline this example generates a tiny, untrained BERT model with the same file
// layout, so its scores are real model outputs but carry no meaning.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { DocumentCompressorPipeline } from "@langchain/classic/retrievers/document_compressors";
import { EmbeddingsFilter } from "@langchain/classic/retrievers/document_compressors/embeddings_filter";
import type { DocumentInterface } from "@langchain/core/documents";
import type { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { Bm25Reranker, CrossEncoderReranker } from "rerank-rag/rerankers";
import { writeTestModel } from "../scripts/test-models/write-model.js";
import { isMain, offlineStore, QUESTION } from "./corpus.js";

export const TINY_MODEL = "example-org/tiny-cross-encoder";

export interface Variant {
  name: string;
  reranker: "bm25" | "cross-encoder";
  pipeline: boolean;
  documents: DocumentInterface[];
}

export async function run(question: string = QUESTION, { modelsDir }: { modelsDir?: string } = {}) {
  const ownModelsDir = modelsDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "rerank-rag-example-models-"));
  try {
    if (!modelsDir) writeTestModel(path.join(ownModelsDir, TINY_MODEL), { preset: "tiny" });
    const { vectorStore, embeddings, stats } = await offlineStore();
    const baseRetriever = vectorStore.asRetriever({ k: 8 });

    const rerankers: Record<Variant["reranker"], BaseDocumentCompressor> = {
      bm25: new Bm25Reranker({ stats, topN: 3 }),
      "cross-encoder": new CrossEncoderReranker({ model: TINY_MODEL, modelsDir: ownModelsDir, localFilesOnly: true, topN: 3, threads: 1 }),
    };
    // The filter drops candidates the embeddings call unrelated before the (costlier) re-ranker reads them.
    const filter = new EmbeddingsFilter({ embeddings, k: 5 });

    const variants: Variant[] = [];
    for (const [name, reranker] of Object.entries(rerankers) as Array<[Variant["reranker"], BaseDocumentCompressor]>) {
      for (const pipeline of [false, true]) {
        const baseCompressor = pipeline ? new DocumentCompressorPipeline({ transformers: [filter, reranker] }) : reranker;
        const retriever = new ContextualCompressionRetriever({ baseRetriever, baseCompressor });
        const documents = await retriever.invoke(question);
        variants.push({ name: `${name}${pipeline ? " after EmbeddingsFilter(k=5)" : ""}`, reranker: name, pipeline, documents });
      }
    }
    return { variants, crossEncoder: rerankers["cross-encoder"] as CrossEncoderReranker };
  } finally {
    if (!modelsDir) fs.rmSync(ownModelsDir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const { variants } = await run();
  console.log(`Q: ${QUESTION}`);
  for (const { name, documents } of variants) {
    console.log(`\nContextualCompressionRetriever + ${name}`);
    documents.forEach((doc, i) => console.log(`  ${i + 1}. ${doc.metadata.chunkId}  rerankScore ${Number(doc.metadata.rerankScore).toFixed(3)}`));
  }
}
