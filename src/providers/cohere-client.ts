import { CohereClient } from "cohere-ai";
import { requireKey, type RagConfig } from "../config/index.js";

/**
 * Undici reports every network failure as "fetch failed" and the cohere client keeps only
 * that message, so append the cause's code (ECONNREFUSED, ENOTFOUND…) to say what happened.
 * AbortErrors pass through untouched: the client recognises its timeouts by their name.
 */
const fetchWithCause: typeof fetch = (input, init) =>
  fetch(input, init).catch((error: unknown) => {
    const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
    if (error instanceof TypeError && typeof code === "string") throw new TypeError(`${error.message} (${code})`, { cause: error });
    throw error;
  });

/** One Cohere client setup for every Cohere role; COHERE_BASE_URL reaches compatible self-hosted servers. */
export function createCohereClient(config: RagConfig, role: string): CohereClient {
  return new CohereClient({
    token: requireKey(config.COHERE_API_KEY, "COHERE_API_KEY", role),
    ...(config.COHERE_BASE_URL ? { environment: config.COHERE_BASE_URL } : {}),
    // The client multiplies this by 1000 itself, so fractions keep sub-second timeouts exact.
    timeoutInSeconds: config.RAG_TIMEOUT_MS / 1000,
    maxRetries: config.RAG_MAX_RETRIES,
    fetch: fetchWithCause,
  });
}
