import os from "node:os";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import type { Device } from "../config/index.js";
import { RagError, UsageError } from "../errors/index.js";
import { deviceUnavailable, dtypeOnDisk, loadTransformers } from "../models/transformers-env.js";
import { loadForwardPass, type ForwardPass, type ModelDtype, type PoolInputs, type PoolOutput } from "./forward-pass.js";
import { InferencePool } from "./inference-pool.js";

export const DEFAULT_CROSS_ENCODER = "Xenova/ms-marco-MiniLM-L-6-v2";

export interface CrossEncoderRerankerOptions {
  /** Hub id (looked up in modelsDir first) or an absolute path to a model folder. */
  model?: string;
  /** Where models are cached, downloaded and imported (RAG_MODELS_DIR). */
  modelsDir: string;
  /** Keep only the best N (all when unset). */
  topN?: number;
  /** At most this many pairs per forward pass. */
  batchSize?: number;
  /**
   * Padded tokens per forward pass (pairs × longest pair): long pairs run alone, short ones
   * share a pass. Bigger batches of long pairs only add cache misses on a CPU.
   */
  batchTokens?: number;
  /**
   * Worker threads running forward passes side by side, each with its own session and
   * threads/workers intra-op threads (default: one per thread, up to 4); 1 runs them in
   * this thread.
   */
  workers?: number;
  /** Tokens per pair; the passage is cut to fit, the query never is. */
  maxLength?: number;
  /** ONNX weights variant: "fp32" (default), "q8", "fp16"…; a local model without that file falls back to fp32 with a warning. */
  dtype?: ModelDtype;
  /** Where the model runs: "cpu" (default), or a GPU: "cuda" (Linux, CUDA 12), "webgpu", "dml" (Windows). */
  device?: Device;
  /** Drop documents scoring below this (0–1). */
  scoreThreshold?: number;
  /** onnxruntime intra-op threads in all, shared among the workers (default: all cores). */
  threads?: number;
  /** Never touch the network: load only a local copy. */
  localFilesOnly?: boolean;
}

/** A token tensor as the tokenizer returns it (data: BigInt64Array of ids or mask). */
interface TokenTensor {
  data: unknown;
  dims: number[];
}
/** The parts of a transformers.js tokenizer used here (its own types stay off this package's surface). */
interface PairTokenizer {
  (
    text: string | string[],
    options: { text_pair?: string | string[]; padding?: boolean; truncation?: boolean; max_length?: number },
  ): { input_ids: TokenTensor; attention_mask?: TokenTensor; token_type_ids?: TokenTensor };
  encode(text: string, options: { add_special_tokens: boolean }): number[];
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
}
interface LoadedModel {
  tokenizer: PairTokenizer;
  /** Tokens the tokenizer adds around a pair ([CLS] q [SEP] p [SEP] → 3). */
  pairOverhead: number;
  /** Forward passes: in worker threads, or in this thread. */
  forward: ForwardPass;
}

/**
 * One load per process and model settings, shared by every reranker and chain, and
 * reference-counted: each reranker that loaded it holds one reference until its dispose(),
 * and the last one out stops the workers and frees the sessions, so disposing one pipeline
 * never breaks another still using the model.
 */
interface SharedModel {
  key: string;
  model: Promise<LoadedModel>;
  holders: number;
}
const loaded = new Map<string, SharedModel>();

/** Drops a shared model from the cache (the next load starts afresh); holders keep theirs. */
function forget(shared: SharedModel): void {
  if (loaded.get(shared.key) === shared) loaded.delete(shared.key);
}

async function release(shared: SharedModel): Promise<void> {
  if (--shared.holders > 0) return;
  forget(shared);
  await shared.model.then(
    (m) => m.forward.dispose(),
    () => undefined,
  );
}

/**
 * A local cross-encoder re-ranker: reads query and passage together through an ONNX
 * sequence-classification model (transformers.js), so it can tell the chunk that answers
 * from the ones that are merely on topic. Any BERT-style export works (MiniLM, TinyBERT,
 * BGE reranker). Scores are sigmoid(logit) for one-logit models, softmax's positive class
 * for two-logit models; written to `rerankScore` on copies, best first.
 */
export class CrossEncoderReranker extends BaseDocumentCompressor {
  readonly model: string;
  readonly modelsDir: string;
  readonly topN?: number;
  readonly batchSize: number;
  readonly batchTokens: number;
  readonly workers: number;
  readonly maxLength: number;
  readonly dtype: ModelDtype;
  readonly device: Device;
  readonly scoreThreshold?: number;
  readonly threads: number;
  readonly localFilesOnly: boolean;
  /** The shared model this reranker holds a reference to. */
  private held?: SharedModel;

  constructor(options: CrossEncoderRerankerOptions) {
    super();
    this.model = options.model ?? DEFAULT_CROSS_ENCODER;
    this.modelsDir = options.modelsDir;
    this.topN = options.topN;
    this.threads = options.threads ?? os.availableParallelism();
    this.batchSize = options.batchSize ?? 8;
    this.batchTokens = options.batchTokens ?? 512;
    this.workers = options.workers ?? Math.min(4, this.threads);
    this.maxLength = options.maxLength ?? 512;
    this.dtype = options.dtype ?? "fp32";
    this.device = options.device ?? "cpu";
    this.scoreThreshold = options.scoreThreshold;
    this.localFilesOnly = options.localFilesOnly ?? false;
    for (const key of ["batchSize", "batchTokens", "workers", "threads"] as const) {
      if (!Number.isInteger(this[key]) || this[key] < 1) throw new UsageError(`${key} must be a whole number of at least 1, got ${this[key]}.`);
    }
    if (!Number.isInteger(this.maxLength) || this.maxLength < 8) throw new UsageError(`maxLength must be at least 8 tokens, got ${this.maxLength}.`);
  }

  /** Loads tokenizer and model once per process (concurrent callers share the load). */
  load(): Promise<LoadedModel> {
    const key = [this.modelsDir, this.model, this.dtype, this.device, this.threads, this.workers].join("\0");
    let shared = loaded.get(key);
    if (!shared) {
      const entry: SharedModel = { key, holders: 0, model: this.loadUncached(() => forget(entry)) };
      entry.model.catch(() => forget(entry));
      loaded.set(key, (shared = entry));
    }
    if (this.held !== shared) {
      // The one held before was dropped (its worker died): hold the new one instead.
      if (this.held) void release(this.held);
      shared.holders++;
      this.held = shared;
    }
    return shared.model;
  }

  /**
   * Gives back this reranker's reference to the shared model: the last holder stops its
   * worker threads and frees its sessions. A later call loads it again.
   */
  async dispose(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held) await release(held);
  }

  private async loadUncached(onWorkerLost: () => void): Promise<LoadedModel> {
    const transformers = await loadTransformers(this.modelsDir);
    const common = { cache_dir: this.modelsDir, local_files_only: this.localFilesOnly };
    const dtype = dtypeOnDisk(this.modelsDir, this.model, this.dtype);
    let tokenizer: PairTokenizer;
    try {
      tokenizer = await transformers.AutoTokenizer.from_pretrained(this.model, common);
    } catch (error) {
      throw modelUnavailable(this.model, this.modelsDir, error);
    }
    const probe = tokenizer("a", { text_pair: "b" }).input_ids.dims.at(-1)!;
    const pairOverhead = probe - tokenizer.encode("a", { add_special_tokens: false }).length - tokenizer.encode("b", { add_special_tokens: false }).length;
    try {
      const forward = this.workers > 1 ? await this.startPool(dtype, onWorkerLost) : await this.loadInThread(dtype);
      return { tokenizer, pairOverhead, forward };
    } catch (error) {
      // The tokenizer loaded, so the model folder is there: on a GPU, the session is what failed.
      if (this.device !== "cpu") throw deviceUnavailable(this.device, "RAG_RERANKER_DEVICE", error);
      throw modelUnavailable(this.model, this.modelsDir, error);
    }
  }

  private startPool(dtype: ModelDtype, onWorkerLost: () => void): Promise<ForwardPass> {
    return InferencePool.start({
      size: this.workers,
      threadsPerWorker: Math.max(1, Math.floor(this.threads / this.workers)),
      model: this.model,
      modelsDir: this.modelsDir,
      dtype,
      device: this.device,
      localFilesOnly: this.localFilesOnly,
      onWorkerLost,
    });
  }

  private async loadInThread(dtype: ModelDtype): Promise<ForwardPass> {
    const { modelsDir, model, device, localFilesOnly, threads } = this;
    const pass = await loadForwardPass({ modelsDir, model, dtype, device, localFilesOnly, threads });
    // One pass at a time: onnxruntime already uses every thread it was given for one.
    let queue: Promise<unknown> = Promise.resolve();
    return {
      run: (inputs) => {
        const run = queue.then(() => pass.run(inputs));
        queue = run.catch(() => undefined);
        return run;
      },
      dispose: () => pass.dispose(),
    };
  }

  /**
   * The (query, passage) pairs as the model will see them: the passage cut to fit
   * `maxLength` tokens with the query and special tokens, the query kept whole.
   */
  async preparePairs(query: string, passages: readonly string[]): Promise<{ passages: string[]; lengths: number[] }> {
    const { tokenizer, pairOverhead } = await this.load();
    const queryLength = tokenizer.encode(query, { add_special_tokens: false }).length;
    const budget = this.maxLength - pairOverhead - queryLength;
    if (budget < 1) {
      throw new UsageError(`The question is ${queryLength} tokens long; the re-ranker reads at most ${this.maxLength} tokens per pair.`, {
        hint: "Ask a shorter question, or raise the cross-encoder's maxLength (up to the model's limit, usually 512).",
      });
    }
    const lengths: number[] = [];
    const fitted = passages.map((passage) => {
      const ids = tokenizer.encode(passage, { add_special_tokens: false });
      lengths.push(queryLength + pairOverhead + Math.min(ids.length, budget));
      return ids.length <= budget ? passage : tokenizer.decode(ids.slice(0, budget), { skip_special_tokens: true });
    });
    return { passages: fitted, lengths };
  }

  /**
   * Groups pairs into forward passes: sorted by length so a pass pads little, each pass
   * within `batchTokens` padded tokens and `batchSize` pairs. Longest first, so parallel
   * workers finish together.
   */
  planBatches(lengths: readonly number[]): number[][] {
    const order = lengths.map((length, index) => ({ length, index })).sort((a, b) => b.length - a.length);
    const batches: number[][] = [];
    let current: number[] = [];
    let longest = 0;
    for (const { length, index } of order) {
      if (current.length > 0 && (current.length >= this.batchSize || (current.length + 1) * longest > this.batchTokens)) {
        batches.push(current);
        current = [];
      }
      if (current.length === 0) longest = length;
      current.push(index);
    }
    if (current.length > 0) batches.push(current);
    return batches;
  }

  /** Relevance of each passage to the query, in input order, in (0, 1). */
  async score(query: string, passages: readonly string[]): Promise<number[]> {
    if (passages.length === 0) return [];
    const { tokenizer, forward } = await this.load();
    const pairs = await this.preparePairs(query, passages);
    const scores = new Array<number>(passages.length);
    await Promise.all(
      this.planBatches(pairs.lengths).map(async (batch) => {
        const encoded = tokenizer(
          batch.map(() => query),
          { text_pair: batch.map((i) => pairs.passages[i]!), padding: true, truncation: true, max_length: this.maxLength },
        );
        const inputs: PoolInputs = {};
        for (const name of ["input_ids", "attention_mask", "token_type_ids"] as const) {
          const tensor = encoded[name];
          if (tensor) inputs[name] = { data: tensor.data as BigInt64Array, dims: tensor.dims };
        }
        const probabilities = toProbabilities(await forward.run(inputs), this.model);
        batch.forEach((index, j) => (scores[index] = probabilities[j]!));
      }),
    );
    return scores;
  }

  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    documents.forEach((doc, i) => {
      if (typeof doc.pageContent !== "string") {
        throw new UsageError(`Document ${i} has no text (pageContent is ${typeof doc.pageContent}); the cross-encoder re-ranks text only.`);
      }
    });
    const scores = await this.score(
      query,
      documents.map((d) => d.pageContent),
    );
    const ranked = documents
      .map((doc, index) => ({ doc, index, score: scores[index]! }))
      .filter((r) => this.scoreThreshold === undefined || r.score >= this.scoreThreshold)
      .sort((a, b) => b.score - a.score || a.index - b.index);
    return (this.topN === undefined ? ranked : ranked.slice(0, this.topN)).map(
      ({ doc, score }) => new Document({ pageContent: doc.pageContent, metadata: { ...doc.metadata, rerankScore: score }, id: doc.id }),
    );
  }
}

/** sigmoid for one logit, softmax's positive (last) class for two; anything else is not a cross-encoder. */
function toProbabilities(logits: PoolOutput, model: string): number[] {
  if (!logits) throw new RagError(`The model ${model} has no "logits" output, so it is not a sequence-classification cross-encoder.`);
  const [rows, labels] = logits.dims as [number, number];
  if (labels !== 1 && labels !== 2) {
    throw new UsageError(
      `The model ${model} outputs ${labels} logits per pair; a cross-encoder re-ranker needs 1 (a relevance score) or 2 (irrelevant/relevant).`,
    );
  }
  return Array.from({ length: rows }, (_, r) => {
    const row = r * labels;
    const margin = labels === 1 ? Number(logits.data[row]) : Number(logits.data[row + 1]) - Number(logits.data[row]);
    return 1 / (1 + Math.exp(-margin));
  });
}

/** The three ways to provide a model that could not be loaded. */
export function modelUnavailable(model: string, modelsDir: string, cause: unknown): RagError {
  const reason = (cause as Error)?.message?.split("\n")[0] ?? String(cause);
  return new UsageError(`The cross-encoder model ${model} could not be loaded (${reason}).`, {
    cause,
    hint: [
      `Provide it in one of three ways: (1) on a machine with network access, \`rerank-rag models pull ${model}\` (downloads into ${modelsDir});`,
      `(2) on an air-gapped machine, copy a downloaded model folder and run \`rerank-rag models import <dir> --as ${model}\`;`,
      "(3) set RAG_RERANKER_MODEL to the absolute path of a model folder (config.json, tokenizer.json, onnx/model.onnx).",
    ].join(" "),
  });
}
