import { ContextualCompressionRetriever } from "@langchain/classic/retrievers/contextual_compression";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { createRerankingRetriever } from "../../chains/reranking-retriever.js";
import { loadConfig } from "../../src/config/index.js";
import { CrossEncoderReranker } from "../../src/rerankers/cross-encoder-reranker.js";
import { HnswStore } from "../../src/store/hnsw-store.js";
import { IndexDir } from "../../src/store/index-dir.js";
import { openIndex } from "../../src/store/open-index.js";
import { measureInterleaved, QUICK } from "../harness.js";
import { SAMPLE_INDEX, SAMPLE_QUESTION, sampleCandidates } from "./corpus.js";
import { BENCH_MODELS, MINILM_ID, loadPlainModel } from "./rerank.js";

/** What a user writes today: every candidate in one padded batch, sorted by logit. */
class StraightforwardCrossEncoder extends BaseDocumentCompressor {
  constructor(private readonly loaded: Awaited<ReturnType<typeof loadPlainModel>>) {
    super();
  }
  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const { tokenizer, model } = this.loaded;
    const inputs = tokenizer(
      documents.map(() => query),
      { text_pair: documents.map((d) => d.pageContent), padding: true, truncation: true },
    );
    const { logits } = await model(inputs);
    return documents
      .map((doc, i) => ({ doc, score: Number(logits.data[i]) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 5)
      .map(({ doc, score }) => new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, relevanceScore: score } }));
  }
}

/**
 * Stock LangChain composition (an HNSWLib-style store + ContextualCompressionRetriever) against ours, same model and
 * candidates. The stock store is HnswStore reading the same files with HNSWLib's search list of 10, since
 * @langchain/community is not installed (its peers pin transformers.js 3).
 */
export async function peerComparison() {
  await sampleCandidates(1);
  const config = loadConfig({ RAG_INDEX_DIR: SAMPLE_INDEX });
  const index = await openIndex(config);
  const snapshot = (await new IndexDir(SAMPLE_INDEX).currentSnapshot())!;
  const ours = new CrossEncoderReranker({ model: MINILM_ID, modelsDir: BENCH_MODELS, localFilesOnly: true });
  const stock = await HnswStore.loadWith(snapshot, index.embeddings, { efSearch: 10 });
  const stockRetriever = new ContextualCompressionRetriever({
    baseRetriever: stock.asRetriever(50),
    baseCompressor: new StraightforwardCrossEncoder(await loadPlainModel()),
  });
  const ourRetriever = createRerankingRetriever({ vectorStore: index.vectorStore, reranker: ours, fetchK: 50, topN: 5 });
  const { stock: stockStats, ours: ourStats } = await measureInterleaved(
    {
      stock: { warmup: () => stockRetriever.invoke(SAMPLE_QUESTION), run: () => stockRetriever.invoke(SAMPLE_QUESTION) },
      ours: { warmup: () => ourRetriever.invoke(SAMPLE_QUESTION), run: () => ourRetriever.invoke(SAMPLE_QUESTION) },
    },
    QUICK ? 1 : 2,
  );
  return { stock: stockStats, ours: ourStats, speedup: stockStats.p50 / ourStats.p50 };
}
