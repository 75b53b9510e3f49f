import cluster from "node:cluster";
import os from "node:os";
import { RagError, UsageError } from "../../errors/index.js";
import { createPipeline } from "../../pipeline/create-pipeline.js";
import { createServer } from "../../server/create-server.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { dim, note, printable, yellow } from "../output.js";

export interface ServeFlags extends CommonFlags {
  host: string;
  port: string;
  /** Processes sharing the port: a count, or "auto" for one per core. */
  workers: string;
  insecureNoAuth?: boolean;
}

/** `--workers`: a count from 1, or "auto" (one per core). */
export function parseWorkers(value: string): number {
  if (value === "auto") return os.availableParallelism();
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new UsageError(`--workers must be a whole number from 1 to 64, or auto, got ${JSON.stringify(value)}.`, {
      hint: `e.g. --workers auto (one per core: ${os.availableParallelism()} here).`,
    });
  }
  return count;
}

/** What a worker process tells the primary once it listens. */
interface WorkerListening {
  type: "rerank-rag:listening";
  url: string;
  description: string;
  notes: string[];
}

const stopSignal = () =>
  new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** A port taken by another process is the user's to resolve (exit 2): say which, and how to pick another. */
function listenError(error: unknown, host: string, port: number): unknown {
  if ((error as NodeJS.ErrnoException)?.code !== "EADDRINUSE") return error;
  return new UsageError(`Port ${port} on ${printable(host)} is in use (another rerank-rag serve?).`, {
    hint: "Stop what is listening there, or pick another port: --port <n>, or --port 0 for any free one.",
  });
}

/** `rerank-rag serve`: one warm process serving the page and the HTTP APIs until interrupted. */
export async function runServe(flags: ServeFlags): Promise<void> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number (0–65535), got ${JSON.stringify(flags.port)}.`, { hint: "e.g. --port 8787 (0 picks a free one)." });
  }
  const config = configFromFlags(flags);
  const token = config.RAG_SERVER_TOKEN;
  if (!isLoopback(flags.host)) {
    if (flags.insecureNoAuth) {
      if (!token)
        note(yellow(`warning: serving on ${printable(flags.host)} without a token (--insecure-no-auth): anyone who can reach it can query your documents.`));
    } else if (!token) {
      throw new UsageError(`Refusing to serve on ${printable(flags.host)} without a token: other machines could read your documents.`, {
        setting: "RAG_SERVER_TOKEN",
        hint: "Set RAG_SERVER_TOKEN to a long random value (clients send Authorization: Bearer <token>), or serve on 127.0.0.1; --insecure-no-auth serves without one.",
      });
    }
  }
  const workers = parseWorkers(flags.workers);
  const announce = ({ url, description, notes }: Omit<WorkerListening, "type">) => {
    note(dim(description));
    for (const line of notes) note(yellow(line));
    note(
      `rerank-rag serving on ${url}${workers > 1 ? ` with ${workers} worker processes` : ""}${token ? " (Bearer token required on /api and /v1)" : ""}; Ctrl+C stops.`,
    );
  };
  if (workers > 1 && cluster.isPrimary) {
    await runWorkers(workers, announce);
    return;
  }
  const pipeline = await createPipeline(config);
  const server = createServer(pipeline, { config, token, corsOrigins: config.RAG_SERVER_CORS_ORIGINS });
  const { url } = await server.listen({ host: flags.host, port }).catch(async (error: unknown) => {
    await server.close();
    throw listenError(error, flags.host, port);
  });
  const stop = stopSignal();
  const ready = { url, description: pipeline.description, notes: pipeline.notes };
  if (cluster.isWorker) process.send?.({ type: "rerank-rag:listening", ...ready } satisfies WorkerListening);
  else announce(ready);
  await stop;
  if (!cluster.isWorker) note("stopping: finishing requests in flight…");
  await server.close();
}

/**
 * `--workers N`: N processes of this same command share the port (node:cluster hands each
 * connection to one). Each opens the index and follows its snapshots on its own, as one process
 * does. A worker that dies after start is replaced; one that fails to start stops them all.
 */
async function runWorkers(count: number, onListening: (ready: WorkerListening) => void): Promise<void> {
  let stopping = false;
  let listening = 0;
  const all = () => Object.values(cluster.workers ?? {}).filter((worker) => worker !== undefined);
  const stopAll = () =>
    Promise.all(
      all().map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.isDead()) return resolve();
            worker.once("exit", () => resolve());
            worker.process.kill("SIGTERM");
          }),
      ),
    );
  const stop = stopSignal();
  const started = new Promise<void>((resolve, reject) => {
    cluster.on("message", (_worker, message: Partial<WorkerListening>) => {
      if (message?.type !== "rerank-rag:listening") return;
      listening++;
      if (listening === count) onListening(message as WorkerListening);
      if (listening >= count) resolve();
    });
    cluster.on("exit", (worker, code, signal) => {
      if (stopping) return;
      if (listening < count) {
        stopping = true;
        // The worker printed its own error; the others are stopped and the command fails with its code.
        void stopAll().then(() =>
          reject(new RagError(`A serve worker could not start (exit ${code ?? signal}); see its error above.`, { exitCode: code || 1 })),
        );
        return;
      }
      note(yellow(`rerank-rag serve: worker ${worker.process.pid} stopped (${code ?? signal}); starting another.`));
      cluster.fork();
    });
  });
  for (let i = 0; i < count; i++) cluster.fork();
  // A worker that fails to start rejects `started`; Ctrl+C during start-up stops the ones running.
  await Promise.race([started, stop]);
  await stop;
  stopping = true;
  note("stopping: finishing requests in flight…");
  await stopAll();
}
