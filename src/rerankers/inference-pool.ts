import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { RagError } from "../errors/index.js";
import type { ForwardSettings, FromWorker, PoolInputs, PoolOutput, ToWorker } from "./forward-pass.js";

export interface InferencePoolOptions extends Omit<ForwardSettings, "threads"> {
  size: number;
  threadsPerWorker: number;
  /** Called once when a worker dies, so the owner can start a fresh pool next time. */
  onWorkerLost?: () => void;
}

/**
 * The worker module: compiled, the .js next to this file; from the TypeScript sources (tests,
 * benchmarks), a plain module that loads the .ts through tsx.
 */
function workerModule(): URL {
  const compiled = new URL("./inference-worker.js", import.meta.url);
  return fs.existsSync(compiled) ? compiled : new URL("./inference-worker-from-source.mjs", import.meta.url);
}

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
    const { size, threadsPerWorker, onWorkerLost, ...settings } = options;
    const workerData: ForwardSettings = { ...settings, threads: threadsPerWorker };
    const spawn = () => pool.spawn(workerData, onWorkerLost);
    try {
      await spawn();
      await Promise.all(Array.from({ length: size - 1 }, spawn));
    } catch (error) {
      await pool.dispose();
      throw error;
    }
    return pool;
  }

  /** Worker threads running (tests check that dispose leaves none). */
  get size(): number {
    return this.slots.length;
  }

  private spawn(workerData: ForwardSettings, onWorkerLost?: () => void): Promise<void> {
    const worker = new Worker(workerModule(), { workerData });
    const slot: Slot = { worker, ready: false };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          slot.ready = true;
          worker.unref(); // an idle pool never keeps the process alive
          this.dispatch();
          resolve();
        } else if (message.type === "loadError") {
          reject(new Error(message.message));
          void worker.terminate();
        } else {
          const job = slot.job!;
          slot.job = undefined;
          worker.unref();
          if (message.type === "error") job.reject(new RagError(`The cross-encoder failed on a batch: ${message.message}`));
          else job.resolve(message.logits);
          this.dispatch();
        }
      });
      const stopped = (error: Error) => {
        reject(error);
        if (!this.failure) onWorkerLost?.();
        void this.fail(new RagError(`A re-ranking worker stopped unexpectedly (${error.message}); the next call starts a new one.`, { cause: error }));
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
      slot.worker.postMessage({ type: "run", inputs: job.inputs } satisfies ToWorker);
    }
  }

  /** Fails every pending and later call with `error` and stops the workers. */
  private async fail(error: Error): Promise<void> {
    if (!this.failure) {
      this.failure = error;
      for (const slot of this.slots) slot.job?.reject(error);
      for (const job of this.waiting.splice(0)) job.reject(error);
    }
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  /** Stops every worker; pending and later calls fail. */
  dispose(): Promise<void> {
    return this.fail(new RagError("The re-ranking worker pool was disposed."));
  }
}
