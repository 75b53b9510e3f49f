/** Nothing arrived from the server for `ms`: no response, or a body that stopped mid-way. */
export class IdleTimeoutError extends Error {
  readonly code = "ESTALLED";
  constructor(readonly ms: number) {
    super(`no data for ${ms} ms`);
    // The name AbortSignal.timeout() gives its reason, so code that recognises timeouts by name does here too.
    this.name = "TimeoutError";
  }
}

export interface IdleTimeoutOptions {
  /** The fetch to wrap (default: the global one). */
  base?: typeof fetch;
  /** Also bound the wait for the response headers (SDKs with their own request timeout leave this off). */
  headers?: boolean;
  /** Told of every failure (refused, timed out…), for callers whose client rethrows without the cause. */
  onError?: (error: Error) => void;
}

/**
 * A fetch that fails with IdleTimeoutError when no bytes arrive for `ms`. SDK timeouts stop at the
 * response headers, so a server that sends headers (or half an answer) and then nothing would
 * otherwise hang the caller for ever; an idle rather than total limit lets big downloads finish.
 * Only time spent waiting for the server counts, not time the caller spends not reading; the
 * request's own signal (SDK timeouts, aborts) is kept.
 */
export function idleTimeoutFetch(ms: number, { base = fetch, headers = false, onError }: IdleTimeoutOptions = {}): typeof fetch {
  return async (input, init) => {
    const abort = new AbortController();
    const signal = init?.signal ? AbortSignal.any([init.signal, abort.signal]) : abort.signal;
    let timer: NodeJS.Timeout | undefined;
    const arm = (onIdle: (error: IdleTimeoutError) => void) => {
      timer = setTimeout(() => {
        const error = new IdleTimeoutError(ms);
        onError?.(error);
        onIdle(error);
      }, ms).unref();
    };
    if (headers) arm((error) => abort.abort(error));
    let response: Response;
    try {
      response = await base(input, { ...init, signal });
    } catch (error) {
      onError?.(error as Error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
    if (!response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          arm((error) => {
            controller.error(error);
            abort.abort(error);
          });
          try {
            const { done, value } = await reader.read();
            clearTimeout(timer);
            if (done) controller.close();
            else controller.enqueue(value);
          } catch (error) {
            clearTimeout(timer);
            try {
              controller.error(error);
            } catch {
              // already errored by the idle timer
            }
          }
        },
        cancel(reason) {
          clearTimeout(timer);
          return reader.cancel(reason);
        },
      },
      // Pull only when the caller reads, so its own pauses never count as the server's.
      { highWaterMark: 0 },
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
