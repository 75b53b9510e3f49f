import { CohereClient } from "cohere-ai";
import { requireKey, type RagConfig } from "../config/index.js";

/** One Cohere client setup for every Cohere role; COHERE_BASE_URL reaches compatible self-hosted servers. */
export function createCohereClient(config: RagConfig, role: string): CohereClient {
  return new CohereClient({
    token: requireKey(config.COHERE_API_KEY, "COHERE_API_KEY", role),
    ...(config.COHERE_BASE_URL ? { environment: config.COHERE_BASE_URL } : {}),
    timeoutInSeconds: Math.ceil(config.RAG_TIMEOUT_MS / 1000),
    maxRetries: config.RAG_MAX_RETRIES,
  });
}
