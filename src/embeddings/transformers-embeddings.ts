import type { FeatureExtractionPipeline } from "@huggingface/transformers";
import { Embeddings } from "@langchain/core/embeddings";
import { chunkArray } from "@langchain/core/utils/chunk_array";
import type { Device } from "../config/index.js";
import { deviceUnavailable, loadTransformers } from "../models/transformers-env.js";

/**
 * A local transformers.js embedder: mean-pooled, normalised sentence vectors, as LangChain's
 * HuggingFaceTransformersEmbeddings computes them, plus `dispose()` to free the onnxruntime
 * session (LangChain's class keeps its pipeline private and never frees it).
 */
export class TransformersEmbeddings extends Embeddings {
  readonly model: string;
  readonly modelsDir: string;
  readonly batchSize: number;
  /** Where the model runs: "cpu" (default), or a GPU: "cuda", "webgpu", "dml". */
  readonly device: Device;
  private pipeline: Promise<FeatureExtractionPipeline> | null = null;

  constructor({ model, modelsDir, batchSize = 32, device = "cpu" }: { model: string; modelsDir: string; batchSize?: number; device?: Device }) {
    super({});
    this.model = model;
    this.modelsDir = modelsDir;
    this.batchSize = batchSize;
    this.device = device;
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    const batches = await Promise.all(chunkArray(texts, this.batchSize).map((batch) => this.embed(batch)));
    return batches.flat();
  }

  async embedQuery(text: string): Promise<number[]> {
    return (await this.embed([text]))[0]!;
  }

  /** Frees the session; a later call loads the model again. */
  async dispose(): Promise<void> {
    const pipeline = this.pipeline;
    this.pipeline = null;
    await (await pipeline?.catch(() => null))?.dispose();
  }

  private async embed(texts: string[]): Promise<number[][]> {
    this.pipeline ??= loadTransformers(this.modelsDir).then((t) =>
      t.pipeline("feature-extraction", this.model, { device: this.device }).catch((error: unknown) => {
        throw this.device === "cpu" ? error : deviceUnavailable(this.device, "RAG_EMBEDDINGS_DEVICE", error);
      }),
    );
    const extract = await this.pipeline;
    return this.caller.call(
      async () =>
        (
          await extract(
            texts.map((t) => t.replace(/\n/g, " ")),
            { pooling: "mean", normalize: true },
          )
        ).tolist() as number[][],
    );
  }
}
