import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { RagError } from "../errors/index.js";
import { hubHost } from "../models/transformers-env.js";

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

export interface InferencePoolOptions {
  size: number;
  threadsPerWorker: number;
  model: string;
  modelsDir: string;
  dtype: string;
  localFilesOnly: boolean;
  /** Called once when a worker dies, so the owner can start a fresh pool next time. */
  onWorkerLost?: () => void;
}

// Plain CommonJS run with `eval: true`, so the same worker runs from the compiled package and
// from the TypeScript sources (tests, benchmarks) without a loader. Each worker owns one
// onnxruntime session; the main thread tokenizes and hands over int64 tensors.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const transformers = require(workerData.transformersEntry);
Object.assign(transformers.env, { cacheDir: workerData.modelsDir, localModelPath: workerData.modelsDir, remoteHost: workerData.remoteHost });
transformers.AutoModelForSequenceClassification.from_pretrained(workerData.model, {
  cache_dir: workerData.modelsDir,
  local_files_only: workerData.localFilesOnly,
  dtype: workerData.dtype,
  session_options: { intraOpNumThreads: workerData.threads, interOpNumThreads: 1 },
}).then((model) => {
  parentPort.on("message", async (inputs) => {
    try {
      const feeds = {};
      for (const [name, t] of Object.entries(inputs)) feeds[name] = new transformers.Tensor("int64", t.data, t.dims);
      const { logits } = await model(feeds);
      if (!logits) return parentPort.postMessage({});
      const data = Float32Array.from(logits.data);
      parentPort.postMessage({ logits: { data, dims: logits.dims } }, [data.buffer]);
    } catch (error) {
      parentPort.postMessage({ error: String(error && error.message || error) });
    }
  });
  parentPort.postMessage({ ready: true });
}, (error) => parentPort.postMessage({ loadError: String(error && error.message || error) }));
`;

interface Job {
  inputs: PoolInputs;
  resolve: (logits: PoolOutput) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** Loaded and taking work. */
  ready: boolean;
  /** The pass it is running: one at a time, so an answer always belongs to this job. */
  job?: Job;
}

/**
 * Forward passes spread over worker threads, one onnxruntime session each. On a few cores,
 * independent batches on single-threaded sessions keep the cores busier than one session
 * splitting each operator across threads (see docs/bench.md).
 */
export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly waiting: Job[] = [];
  private failure?: Error;

  private constructor() {}

  /** Starts the workers; the first loads alone, so a download happens once, not once per worker. */
  static async start(options: InferencePoolOptions): Promise<InferencePool> {
    const pool = new InferencePool();
    const workerData = {
      transformersEntry: createRequire(import.meta.url).resolve("@huggingface/transformers"),
      modelsDir: options.modelsDir,
      remoteHost: hubHost(),
      model: options.model,
      dtype: options.dtype,
      localFilesOnly: options.localFilesOnly,
      threads: options.threadsPerWorker,
    };
    const spawn = () => pool.spawn(workerData, options.onWorkerLost);
    try {
      await spawn();
      await Promise.all(Array.from({ length: options.size - 1 }, spawn));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  private spawn(workerData: Record<string, unknown>, onWorkerLost?: () => void): Promise<void> {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData });
    const slot: Slot = { worker, ready: false };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      worker.on("message", (message: { ready?: true; loadError?: string; logits?: PoolLogits; error?: string }) => {
        if (message.ready) {
          slot.ready = true;
          worker.unref(); // an idle pool never keeps the process alive
          this.dispatch();
          resolve();
        } else if (message.loadError !== undefined) {
          reject(new Error(message.loadError));
          void worker.terminate();
        } else {
          const job = slot.job!;
          slot.job = undefined;
          worker.unref();
          if (message.error !== undefined) job.reject(new RagError(`The cross-encoder failed on a batch: ${message.error}`));
          else job.resolve(message.logits);
          this.dispatch();
        }
      });
      const stopped = (error: Error) => {
        reject(error);
        if (!this.failure) onWorkerLost?.();
        this.fail(new RagError(`A re-ranking worker stopped unexpectedly (${error.message}); the next call starts a new one.`, { cause: error }));
      };
      worker.on("error", stopped);
      worker.on("exit", (code) => stopped(new Error(`exit code ${code}`)));
    });
  }

  run(inputs: PoolInputs): Promise<PoolOutput> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ inputs, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job || this.waiting.length === 0) continue;
      const job = this.waiting.shift()!;
      slot.job = job;
      slot.worker.ref(); // a pending answer keeps the process alive until it arrives
      slot.worker.postMessage(job.inputs);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const slot of this.slots) slot.job?.reject(error);
    for (const job of this.waiting.splice(0)) job.reject(error);
    void this.close();
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    this.failure ??= new RagError("The re-ranking worker pool was closed.");
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }
}
