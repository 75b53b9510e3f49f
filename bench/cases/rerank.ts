import path from "node:path";
import { AutoModelForSequenceClassification, AutoTokenizer, env } from "@huggingface/transformers";
import { CrossEncoderReranker } from "../../src/rerankers/cross-encoder-reranker.js";
import { writeTestModel } from "../../scripts/test-models/write-model.js";
import { MINILM_L6 } from "../../scripts/test-models/bert-onnx.js";
import { QUICK, REPO, measureInterleaved, type Stats } from "../harness.js";

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

/** The model as a user loads it with transformers.js: defaults, no session options. */
export async function loadPlainModel() {
  env.localModelPath = BENCH_MODELS;
  env.allowRemoteModels = false;
  const tokenizer = await AutoTokenizer.from_pretrained(MINILM_ID);
  const model = await AutoModelForSequenceClassification.from_pretrained(MINILM_ID);
  return { tokenizer, model };
}

export const VARIANTS = ["one pair per pass", "one padded batch", "ours, in one thread", "ours", "ours q8"] as const;
export type VariantName = (typeof VARIANTS)[number];

const reranker = (maxLength: number, options: Partial<ConstructorParameters<typeof CrossEncoderReranker>[0]> = {}) =>
  new CrossEncoderReranker({ model: MINILM_ID, modelsDir: BENCH_MODELS, localFilesOnly: true, maxLength, ...options });

/**
 * The same pairs scored by the same model five ways: one pair per forward pass (what a
 * straightforward loop does), one batch padded to the longest pair, ours with every pass in
 * this thread, ours (length-sorted passes within a token budget, spread over worker
 * threads), and ours with the int8 export.
 */
async function variants(query: string, maxLength: number) {
  const { tokenizer, model } = await loadPlainModel();
  const ours = reranker(maxLength);
  const inThread = reranker(maxLength, { workers: 1 });
  const q8 = reranker(maxLength, { dtype: "q8" });
  const run: Record<VariantName, (passages: string[]) => Promise<unknown>> = {
    "one pair per pass": async (passages) => {
      for (const passage of passages) await model(tokenizer([query], { text_pair: [passage], truncation: true, max_length: maxLength }));
    },
    "one padded batch": (passages) =>
      model(
        tokenizer(
          passages.map(() => query),
          { text_pair: passages, padding: true, truncation: true, max_length: maxLength },
        ),
      ),
    "ours, in one thread": (passages) => inThread.score(query, passages),
    ours: (passages) => ours.score(query, passages),
    "ours q8": (passages) => q8.score(query, passages),
  };
  return run;
}

export interface RerankCase {
  candidates: number;
  lengths: string;
  meanTokens: number;
  results: Array<{ variant: VariantName; stats: Stats; gflopsPerSecond: number }>;
}

export async function rerankCase(
  query: string,
  passages: string[],
  maxLength: number,
  label: string,
  only: readonly VariantName[] = VARIANTS,
  rounds = QUICK ? 1 : 3,
): Promise<RerankCase> {
  const { lengths } = await reranker(maxLength).preparePairs(query, passages);
  const flops = lengths.reduce((sum, n) => sum + pairFlops(n), 0);
  const all = await variants(query, maxLength);
  const chosen = Object.fromEntries(only.map((name) => [name, { warmup: () => all[name](passages.slice(0, 4)), run: () => all[name](passages) }]));
  const stats = await measureInterleaved(chosen, rounds);
  const results = only.map((variant) => ({ variant, stats: stats[variant]!, gflopsPerSecond: flops / 1e9 / (stats[variant]!.p50 / 1000) }));
  return { candidates: passages.length, lengths: label, meanTokens: lengths.reduce((a, b) => a + b, 0) / lengths.length, results };
}

/** Our re-ranker's two knobs on short pairs, where they matter: padded tokens per pass × worker threads. */
export async function tuningSweep(query: string, passages: string[], maxLength: number) {
  const configs = [128, 512, 2048].flatMap((batchTokens) => [1, 2].map((workers) => ({ batchTokens, workers })));
  const entries = configs.map(({ batchTokens, workers }) => {
    const r = reranker(maxLength, { batchTokens, workers, batchSize: 64 });
    return [`${batchTokens}/${workers}`, { warmup: () => r.score(query, passages.slice(0, 4)), run: () => r.score(query, passages) }] as const;
  });
  const stats = await measureInterleaved(Object.fromEntries(entries), QUICK ? 1 : 2);
  return configs.map((c) => ({ ...c, stats: stats[`${c.batchTokens}/${c.workers}`]! }));
}
