import type { FeatureExtractionPipeline } from "@huggingface/transformers";
import { Embeddings } from "@langchain/core/embeddings";
import { chunkArray } from "@langchain/core/utils/chunk_array";
import { loadTransformers } from "../models/transformers-env.js";

/**
 * A local transformers.js embedder: mean-pooled, normalised sentence vectors, as LangChain's
 * HuggingFaceTransformersEmbeddings computes them, plus `dispose()` to free the onnxruntime
 * session (LangChain's class keeps its pipeline private and never frees it).
 */
export class TransformersEmbeddings extends Embeddings {
  readonly model: string;
  readonly modelsDir: string;
  readonly batchSize: number;
  private pipeline: Promise<FeatureExtractionPipeline> | null = null;

  constructor({ model, modelsDir, batchSize = 32 }: { model: string; modelsDir: string; batchSize?: number }) {
    super({});
    this.model = model;
    this.modelsDir = modelsDir;
    this.batchSize = batchSize;
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
    this.pipeline ??= loadTransformers(this.modelsDir).then((t) => t.pipeline("feature-extraction", this.model));
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
