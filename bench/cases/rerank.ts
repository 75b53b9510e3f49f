import path from "node:path";
import { CrossEncoderReranker } from "../../src/rerankers/cross-encoder-reranker.js";
import { writeTestModel } from "../../scripts/test-models/write-model.js";
import { MINILM_L6 } from "../../scripts/test-models/bert-onnx.js";
import { QUICK, REPO, measure, type Stats } from "../harness.js";

export const BENCH_MODELS = path.join(REPO, ".rerank-rag", "bench-models");
export const MINILM_ID = "minilm-l6-shaped";

/** Useful FLOPs of one (query, passage) pair of n tokens through a BERT encoder. */
export function pairFlops(n: number, p = MINILM_L6): number {
  const perTokenMacs = p.layers * (4 * p.hidden * p.hidden + 2 * p.hidden * p.intermediate);
  const attentionMacs = p.layers * 2 * n * n * p.hidden;
  return 2 * (n * perTokenMacs + attentionMacs);
}

export function ensureMiniLm(): void {
  writeTestModel(path.join(BENCH_MODELS, MINILM_ID), { preset: "minilm-l6", quantized: true });
}

interface Variant {
  name: string;
  run: () => Promise<unknown>;
}

/**
 * Three ways to score the same pairs with the same model: one pair per forward pass (what a
 * straightforward loop does), one batch padded to the longest pair, and ours (length-sorted
 * batches with dynamic padding, passage cut to maxLength), in fp32 and with the int8 export.
 */
async function variants(query: string, passages: string[], maxLength: number): Promise<Variant[]> {
  const ours = new CrossEncoderReranker({ model: MINILM_ID, modelsDir: BENCH_MODELS, localFilesOnly: true, maxLength });
  const oursQ8 = new CrossEncoderReranker({ model: MINILM_ID, modelsDir: BENCH_MODELS, localFilesOnly: true, maxLength, dtype: "q8" });
  const { tokenizer, model } = await ours.load();
  return [
    {
      name: "one pair per pass",
      run: async () => {
        for (const passage of passages) await model(tokenizer([query], { text_pair: [passage], truncation: true, max_length: maxLength }));
      },
    },
    {
      name: "one padded batch",
      run: () => model(tokenizer(passages.map(() => query), { text_pair: passages, padding: true, truncation: true, max_length: maxLength })),
    },
    { name: "ours", run: () => ours.score(query, passages) },
    { name: "ours q8", run: () => oursQ8.score(query, passages) },
  ];
}

export interface RerankCase {
  candidates: number;
  lengths: string;
  meanTokens: number;
  results: Array<{ variant: string; stats: Stats; gflopsPerSecond: number }>;
}

export async function rerankCase(query: string, passages: string[], maxLength: number, label: string, only?: string[]): Promise<RerankCase> {
  const probe = new CrossEncoderReranker({ model: MINILM_ID, modelsDir: BENCH_MODELS, localFilesOnly: true, maxLength });
  const { lengths } = await probe.preparePairs(query, passages);
  const flops = lengths.reduce((sum, n) => sum + pairFlops(n), 0);
  const results = [];
  for (const variant of await variants(query, passages, maxLength)) {
    if (only && !only.includes(variant.name)) continue;
    const stats = await measure(variant.run, { warmup: 1, runs: QUICK ? 1 : 3 });
    results.push({ variant: variant.name, stats, gflopsPerSecond: flops / 1e9 / (stats.p50 / 1000) });
  }
  return { candidates: passages.length, lengths: label, meanTokens: lengths.reduce((a, b) => a + b, 0) / lengths.length, results };
}
