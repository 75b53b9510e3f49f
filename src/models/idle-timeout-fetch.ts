export type Fetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/**
 * A fetch that aborts when nothing arrives for `ms` (no connection, no headers, or a stalled body),
 * so a black-holed host fails instead of hanging; an idle rather than total limit lets big files finish.
 * The first failure is recorded in `network` because transformers.js rethrows it without its cause.
 */
export function idleTimeoutFetch(base: Fetch, ms: number, network: { error?: Error }): Fetch {
  return async (input, init) => {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const stop = () => clearTimeout(timer);
    const arm = () => {
      stop();
      timer = setTimeout(() => {
        const error = new Error(`no data for ${ms} ms`);
        error.name = "TimeoutError";
        network.error ??= error;
        controller.abort(error);
      }, ms).unref();
    };
    arm();
    let response: Response;
    try {
      response = await base(input, { ...init, signal: controller.signal });
    } catch (error) {
      stop();
      network.error ??= error as Error;
      throw error;
    }
    // transformers.js never reads the body of an error response: no timer for it.
    if (!response.ok || !response.body) {
      stop();
      return response;
    }
    const reader = response.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(stream) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            stop();
            stream.close();
          } else {
            arm();
            stream.enqueue(value);
          }
        } catch (error) {
          stop();
          throw error;
        }
      },
      cancel(reason) {
        stop();
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
