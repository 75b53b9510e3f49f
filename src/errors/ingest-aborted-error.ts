import { RagError, type RagErrorOptions } from "./rag-error.js";

/**
 * An ingest stopped because its `signal` aborted (Ctrl-C in the CLI), before the new index went
 * live: the index is as it was. Named `AbortError`, as `fetch` names its own; `cause` is the
 * signal's reason.
 */
export class IngestAbortedError extends RagError {
  constructor(options: RagErrorOptions & { exitCode?: number } = {}) {
    super("Interrupted: the index was not changed.", options);
    this.name = "AbortError";
  }

  /** Throws when `signal` has aborted: called at each point where an ingest can stop with the index untouched. */
  static throwIfAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw new IngestAbortedError({ cause: signal.reason });
  }
}
