// Tunes the BM25 re-ranker's first-stage weight on a BEIR train split (never on test):
// every weight runs side by side on the same candidates in one evaluation.
// Usage: tsx scripts/tune-lexical.ts <beir-dir> [split=train] [chunkSize=4000]
import { loadConfig } from "../src/config/index.js";
import { evaluate, formatResultTable, loadBeir } from "../src/eval/index.js";
import { Bm25Reranker } from "../src/rerankers/bm25-reranker.js";
import { openIndex } from "../src/store/open-index.js";

const [dir, split = "train", chunkSize = "4000"] = process.argv.slice(2);
if (!dir) throw new Error("usage: tsx scripts/tune-lexical.ts <beir-dir> [split] [chunkSize]");
const cacheDir = ".rerank-rag/eval";
const config = loadConfig({ RAG_CHUNK_SIZE: chunkSize, RAG_EMBEDDINGS: "offline" });
const dataset = await loadBeir(dir, split, cacheDir);
// A first run builds (or reuses) the index, whose corpus statistics the variants need.
const first = await evaluate({ dataset, config, cacheDir, variants: [], limit: 1 });
const { stats } = await openIndex({ ...config, RAG_INDEX_DIR: first.settings.indexDir });
const weights = [0, 0.2, 0.5, 1, 2];
const variants = weights.map((w) => ({ name: `bm25+${w}`, compressor: new Bm25Reranker({ stats, firstStageWeight: w }) }));
const result = await evaluate({ dataset, config, cacheDir, variants });
console.log(formatResultTable(result));
