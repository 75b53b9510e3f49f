import { AsyncLocalStorage } from "node:async_hooks";

// BaseDocumentCompressor.compressDocuments takes no abort signal, so the re-ranking step sets the
// call's signal around it and a remote re-ranker adds it to its requests: a caller that leaves
// (a server client that disconnects) stops the request instead of waiting for its timeout.
const current = new AsyncLocalStorage<AbortSignal | undefined>();

/** Runs `work` with `signal` as the call's signal; it rejects with the signal's reason as soon as it aborts. */
export function withCallSignal<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (!signal) return work();
  signal.throwIfAborted();
  return current.run(signal, () => {
    let stop: () => void = () => {};
    const aborted = new Promise<never>((_, reject) => {
      stop = () => reject(signal.reason as Error);
      signal.addEventListener("abort", stop, { once: true });
    });
    return Promise.race([work(), aborted]).finally(() => signal.removeEventListener("abort", stop));
  });
}

/** The call's signal set by withCallSignal, if any. */
export function callSignal(): AbortSignal | undefined {
  return current.getStore();
}
