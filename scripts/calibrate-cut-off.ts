// Calibrates the evidence gate's cut-off for the BM25 re-ranker on a BEIR train split (never on
// test). Each claim is run twice on the same candidates: as is (answerable: its relevant
// documents are there) and with its relevant documents removed (unanswerable). The cut-off is the
// highest one that wrongly declines at most 5% of answerable claims whose relevant document
// reached the top N; the sweep shows the trade-off.
// Usage: tsx scripts/calibrate-cut-off.ts <beir-dir> [split=train] [chunkSize=4000]
import type { DocumentInterface } from "@langchain/core/documents";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { loadConfig } from "../src/config/index.js";
import { evaluate, loadBeir } from "../src/eval/index.js";
import { Bm25Reranker } from "../src/rerankers/bm25-reranker.js";
import { evidenceScore } from "../src/rerankers/cut-off.js";
import { openIndex } from "../src/store/open-index.js";

const [dir, split = "train", chunkSize = "4000"] = process.argv.slice(2);
if (!dir) throw new Error("usage: tsx scripts/calibrate-cut-off.ts <beir-dir> [split] [chunkSize]");
const cacheDir = ".rerank-rag/eval";
const config = loadConfig({ RAG_CHUNK_SIZE: chunkSize, RAG_EMBEDDINGS: "offline" });
const dataset = await loadBeir(dir, split, cacheDir);
const first = await evaluate({ dataset, config, cacheDir, variants: [], limit: 1 });
const { stats } = await openIndex({ ...config, RAG_INDEX_DIR: first.settings.indexDir });
const relevant = new Map(dataset.queries.map((q) => [q.text, new Set([...q.judgments].filter(([, grade]) => grade > 0).map(([id]) => id))]));
const topN = config.RAG_TOP_N;

/** Re-ranks with BM25 (optionally without the relevant documents) and records the best evidence score in the top N. */
class Recorder extends BaseDocumentCompressor {
  readonly best: Array<{ score: number; goldInTop: boolean }> = [];
  private readonly bm25 = new Bm25Reranker({ stats });
  constructor(readonly dropRelevant: boolean) {
    super();
  }
  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    const gold = relevant.get(query) ?? new Set<string>();
    const candidates = this.dropRelevant ? documents.filter((d) => !gold.has(String(d.metadata.recordId))) : documents;
    const ranked = await this.bm25.compressDocuments(candidates, query);
    const top = ranked.slice(0, topN);
    this.best.push({ score: Math.max(0, ...top.map((d) => evidenceScore(d) ?? 0)), goldInTop: top.some((d) => gold.has(String(d.metadata.recordId))) });
    return ranked;
  }
}
const answerable = new Recorder(false);
const unanswerable = new Recorder(true);
await evaluate({
  dataset,
  config,
  cacheDir,
  variants: [
    { name: "answerable", compressor: answerable },
    { name: "unanswerable", compressor: unanswerable },
  ],
});
const found = answerable.best.filter((b) => b.goldInTop);
const share = (list: Array<{ score: number }>, cut: number) => list.filter((b) => b.score < cut).length / list.length;
console.log(`${dataset.name}: ${found.length} answerable claims with a relevant document in the top ${topN}, ${unanswerable.best.length} made unanswerable`);
console.log("cut-off  unanswerable declined  answerable wrongly declined");
let chosen = 0;
for (let cut = 0; cut <= 1.0001; cut += 0.05) {
  const wrong = share(found, cut);
  if (wrong <= 0.05) chosen = cut;
  console.log(`${cut.toFixed(2).padStart(7)}  ${(share(unanswerable.best, cut) * 100).toFixed(1).padStart(20)}%  ${(wrong * 100).toFixed(1).padStart(26)}%`);
}
console.log(`highest cut-off with at most 5% of answerable claims declined: ${chosen.toFixed(2)}`);
