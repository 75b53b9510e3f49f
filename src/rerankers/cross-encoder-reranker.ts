import os from "node:os";
import { BaseDocumentCompressor } from "@langchain/core/retrievers/document_compressors";
import { Document, type DocumentInterface } from "@langchain/core/documents";
import { RagError, UsageError } from "../errors/index.js";
import { loadTransformers } from "../models/transformers-env.js";

export const DEFAULT_CROSS_ENCODER = "Xenova/ms-marco-MiniLM-L-6-v2";

export interface CrossEncoderRerankerOptions {
  /** Hub id (looked up in modelsDir first) or an absolute path to a model folder. */
  model?: string;
  /** Where models are cached, downloaded and imported (RAG_MODELS_DIR). */
  modelsDir: string;
  /** Keep only the best N (all when unset). */
  topN?: number;
  /** Pairs per forward pass. */
  batchSize?: number;
  /** Tokens per pair; the passage is cut to fit, the query never is. */
  maxLength?: number;
  /** ONNX weights variant, where the export has it: "fp32" (default), "q8", "fp16"… */
  dtype?: "fp32" | "fp16" | "q8" | "int8" | "uint8" | "q4";
  /** Drop documents scoring below this (0–1). */
  scoreThreshold?: number;
  /** onnxruntime intra-op threads (default: all cores). */
  threads?: number;
  /** Never touch the network: load only a local copy. */
  localFilesOnly?: boolean;
}

type Transformers = Awaited<ReturnType<typeof loadTransformers>>;
interface LoadedModel {
  tokenizer: Awaited<ReturnType<Transformers["AutoTokenizer"]["from_pretrained"]>>;
  model: Awaited<ReturnType<Transformers["AutoModelForSequenceClassification"]["from_pretrained"]>>;
  /** Tokens the tokenizer adds around a pair ([CLS] q [SEP] p [SEP] → 3). */
  pairOverhead: number;
  /** Forward passes run one at a time: onnxruntime already uses every core for one. */
  queue: Promise<unknown>;
}

// One load per process and model settings, shared by every reranker and chain.
const loaded = new Map<string, Promise<LoadedModel>>();

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
  readonly maxLength: number;
  readonly dtype: NonNullable<CrossEncoderRerankerOptions["dtype"]>;
  readonly scoreThreshold?: number;
  readonly threads: number;
  readonly localFilesOnly: boolean;

  constructor(options: CrossEncoderRerankerOptions) {
    super();
    this.model = options.model ?? DEFAULT_CROSS_ENCODER;
    this.modelsDir = options.modelsDir;
    this.topN = options.topN;
    this.batchSize = options.batchSize ?? 4;
    this.maxLength = options.maxLength ?? 512;
    this.dtype = options.dtype ?? "fp32";
    this.scoreThreshold = options.scoreThreshold;
    this.threads = options.threads ?? os.availableParallelism();
    this.localFilesOnly = options.localFilesOnly ?? false;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new UsageError(`batchSize must be at least 1, got ${this.batchSize}.`);
    if (!Number.isInteger(this.maxLength) || this.maxLength < 8) throw new UsageError(`maxLength must be at least 8 tokens, got ${this.maxLength}.`);
  }

  /** Loads tokenizer and model once per process (concurrent callers share the load). */
  load(): Promise<LoadedModel> {
    const key = [this.modelsDir, this.model, this.dtype, this.threads].join("\0");
    let entry = loaded.get(key);
    if (!entry) {
      entry = this.loadUncached();
      loaded.set(key, entry);
      entry.catch(() => loaded.delete(key));
    }
    return entry;
  }

  private async loadUncached(): Promise<LoadedModel> {
    const { AutoTokenizer, AutoModelForSequenceClassification } = await loadTransformers(this.modelsDir);
    const common = { cache_dir: this.modelsDir, local_files_only: this.localFilesOnly };
    try {
      const tokenizer = await AutoTokenizer.from_pretrained(this.model, common);
      const model = await AutoModelForSequenceClassification.from_pretrained(this.model, {
        ...common,
        dtype: this.dtype,
        session_options: { intraOpNumThreads: this.threads, interOpNumThreads: 1 },
      });
      const probe = tokenizer("a", { text_pair: "b" }).input_ids.dims.at(-1) as number;
      const pairOverhead = probe - tokenizer.encode("a", { add_special_tokens: false }).length - tokenizer.encode("b", { add_special_tokens: false }).length;
      return { tokenizer, model, pairOverhead, queue: Promise.resolve() };
    } catch (error) {
      throw modelUnavailable(this.model, this.modelsDir, error);
    }
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

  /** Relevance of each passage to the query, in input order, in (0, 1). */
  async score(query: string, passages: readonly string[]): Promise<number[]> {
    if (passages.length === 0) return [];
    const loadedModel = await this.load();
    const { tokenizer, model } = loadedModel;
    const pairs = await this.preparePairs(query, passages);
    // Similar lengths share a batch, so padding (wasted compute) stays small.
    const order = pairs.lengths.map((length, index) => ({ length, index })).sort((a, b) => a.length - b.length);
    const scores = new Array<number>(passages.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const batch = order.slice(start, start + this.batchSize).map((o) => o.index);
      const inputs = tokenizer(
        batch.map(() => query),
        { text_pair: batch.map((i) => pairs.passages[i]!), padding: true, truncation: true, max_length: this.maxLength },
      );
      const run = loadedModel.queue.then(() => model(inputs));
      loadedModel.queue = run.catch(() => undefined);
      const output = await run;
      const probabilities = toProbabilities(output.logits, this.model);
      batch.forEach((index, j) => (scores[index] = probabilities[j]!));
    }
    return scores;
  }

  async compressDocuments(documents: DocumentInterface[], query: string): Promise<DocumentInterface[]> {
    documents.forEach((doc, i) => {
      if (typeof doc.pageContent !== "string") {
        throw new UsageError(`Document ${i} has no text (pageContent is ${typeof doc.pageContent}); the cross-encoder re-ranks text only.`);
      }
    });
    const scores = await this.score(query, documents.map((d) => d.pageContent));
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
function toProbabilities(logits: { dims: number[]; data: ArrayLike<number> } | undefined, model: string): number[] {
  if (!logits) throw new RagError(`The model ${model} has no "logits" output, so it is not a sequence-classification cross-encoder.`);
  const [rows, labels] = logits.dims as [number, number];
  if (labels !== 1 && labels !== 2) {
    throw new UsageError(`The model ${model} outputs ${labels} logits per pair; a cross-encoder re-ranker needs 1 (a relevance score) or 2 (irrelevant/relevant).`);
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
