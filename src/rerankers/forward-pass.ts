import type { Device } from "../config/index.js";
import { loadTransformers } from "../models/transformers-env.js";

// One forward pass of a sequence-classification model, run in this thread or in an inference
// worker, and the messages that carry it between them (both sides import these types).

export interface PoolTensor {
  data: BigInt64Array;
  dims: number[];
}
export type PoolInputs = Record<string, PoolTensor>;
export interface PoolLogits {
  data: Float32Array;
  dims: number[];
}
/** A pass's logits; undefined when the model has no "logits" output. */
export type PoolOutput = PoolLogits | undefined;

/** ONNX weights variants an export may have. */
export type ModelDtype = "fp32" | "fp16" | "q8" | "int8" | "uint8" | "q4";

/** What a model session needs: the worker gets it as workerData. */
export interface ForwardSettings {
  model: string;
  modelsDir: string;
  dtype: ModelDtype;
  device: Device;
  localFilesOnly: boolean;
  /** onnxruntime intra-op threads of this session. */
  threads: number;
}

export interface ForwardPass {
  run(inputs: PoolInputs): Promise<PoolOutput>;
  /** Frees the onnxruntime session. */
  dispose(): Promise<void>;
}

/** Main thread → worker. */
export type ToWorker = { type: "run"; inputs: PoolInputs };
/** Worker → main thread: loaded (or not), then one answer per "run". */
export type FromWorker =
  { type: "ready" } | { type: "loadError"; message: string } | { type: "result"; logits: PoolOutput } | { type: "error"; message: string };

/** Loads the model into an onnxruntime session of its own. */
export async function loadForwardPass(settings: ForwardSettings): Promise<ForwardPass> {
  const transformers = await loadTransformers(settings.modelsDir);
  const model = await transformers.AutoModelForSequenceClassification.from_pretrained(settings.model, {
    cache_dir: settings.modelsDir,
    local_files_only: settings.localFilesOnly,
    dtype: settings.dtype,
    device: settings.device,
    session_options: { intraOpNumThreads: settings.threads, interOpNumThreads: 1 },
  });
  return {
    async run(inputs) {
      const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new transformers.Tensor("int64", t.data, t.dims)]));
      // A sequence-classification model returns its scores as `logits`.
      const { logits } = (await model(feeds)) as { logits?: { data: ArrayLike<number>; dims: number[] } };
      return logits && { data: Float32Array.from(logits.data), dims: logits.dims };
    },
    async dispose() {
      await model.dispose();
    },
  };
}
