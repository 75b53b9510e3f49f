// Shared by the opt-in live tests (`npm run test:live`), which call the real Cohere and OpenAI APIs.
import type { DocumentInterface } from "@langchain/core/documents";
import { describe, expect } from "vitest";
import type { ConfigOverrides } from "../../src/config/index.js";
import { ingest } from "../../src/ingest/ingest.js";
import { createPipeline } from "../../src/pipeline/create-pipeline.js";
import { workspace } from "../helpers/index.js";

export type KeyName = "COHERE_API_KEY" | "OPENAI_API_KEY";

/**
 * A suite that runs only when `keyName` is set (in the environment or .env); without it the
 * suite is reported as skipped, its title naming the key to set.
 */
export function describeWithKey(keyName: KeyName, title: string, body: (key: string) => void): void {
  const key = process.env[keyName]?.trim();
  if (key) describe(title, () => body(key));
  else describe.skip(`${title} [skipped: set ${keyName} to run against the real API]`, () => body(""));
}

export const QUESTION = "How often should I feed a sourdough starter?";

/**
 * Ingests the small test corpus with `settings`, then streams an answer through the pipeline:
 * what `rerank-rag ask` does, with the chunks kept to check that it really streamed.
 */
export async function askSmallCorpus(settings: ConfigOverrides) {
  const ws = await workspace(undefined, { RAG_TIMEOUT_MS: 60_000, RAG_MAX_RETRIES: 2, ...settings });
  const report = await ingest({ paths: [ws.docs], config: ws.config });
  const pipeline = await createPipeline(ws.config);
  try {
    const answerChunks: string[] = [];
    let sources: DocumentInterface[] = [];
    for await (const chunk of await pipeline.chain.stream({ question: QUESTION })) {
      if (chunk.sources) sources = chunk.sources;
      if (typeof chunk.answer === "string") answerChunks.push(chunk.answer);
    }
    return { report, description: pipeline.description, sources, answerChunks, answer: answerChunks.join("") };
  } finally {
    await pipeline.close();
  }
}

/** What any provider's answer about the sourdough note must show: the right source first, cited, streamed. */
export function expectSourdoughAnswer({ sources, answerChunks, answer }: Awaited<ReturnType<typeof askSmallCorpus>>): void {
  expect(sources[0]?.metadata.relativePath).toBe("baking/sourdough.md");
  expect(answerChunks.length, "the answer arrives in several chunks").toBeGreaterThan(1);
  expect(answer).toMatch(/\[1\]/);
  expect(answer).toMatch(/every day|daily|once a week|weekly/i);
}
