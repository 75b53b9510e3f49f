import { z } from "zod";
import { parseRerank } from "../../chains/reranking-retriever.js";

const count = z.number().int().min(1).max(1000);

/** `rerank` as the library's `configurable.rerank` and the CLI's `--rerank` take it (true/false/"on"/"off"/"auto"), by the library's own parser. */
const rerankSetting = z.unknown().transform((value, ctx) => {
  try {
    return parseRerank(value, "rerank");
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

/** `/api/search`: a question and the per-call retrieval settings. */
export const searchBody = z.object({
  question: z.string().trim().min(1, "the question is empty"),
  rerank: rerankSetting.optional(),
  /** A re-ranker's name, or the server's configured cascade (`bm25:20,cross-encoder`); the server refuses one it does not offer. */
  reranker: z.string().trim().min(1, "the re-ranker is empty").optional(),
  fetchK: count.optional(),
  topN: count.optional(),
  /** Passed to the pipeline as `configurable.minScore` (the re-ranker's evidence cut-off, where the pipeline has one). */
  minScore: z.number().finite().optional(),
  /** Passed to the pipeline as `configurable.filter` (metadata filter, where the pipeline has one). */
  filter: z.record(z.string(), z.unknown()).optional(),
});
export type SearchBody = z.infer<typeof searchBody>;

const turn = z.object({ role: z.enum(["user", "assistant"]), content: z.string() });

/** `/api/ask`: a search body plus the conversation so far. */
export const askBody = searchBody.extend({ history: z.array(turn).max(100).optional() });
export type AskBody = z.infer<typeof askBody>;

/** OpenAI's chat message: content is a string or an array of parts, of which text parts are read. */
const chatMessage = z.object({
  role: z.string(),
  content: z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()), z.null()]).optional(),
});

/** `/v1/chat/completions` (OpenAI): the fields read; other fields (temperature, …) are accepted and ignored. */
export const chatBody = z
  .object({
    model: z.string().optional(),
    messages: z.array(chatMessage).min(1, "messages is empty"),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullish(),
  })
  .loose();
export type ChatBody = z.infer<typeof chatBody>;

/** `/v1/rerank` and `/v2/rerank` (Cohere): v1 documents may be `{ text }` objects. */
export const rerankBody = z
  .object({
    query: z.string().trim().min(1, "the query is empty"),
    documents: z.array(z.union([z.string(), z.object({ text: z.string() }).loose()])).max(1000),
    model: z.string().optional(),
    top_n: z.number().int().min(1).optional(),
    return_documents: z.boolean().optional(),
  })
  .loose();
export type RerankBody = z.infer<typeof rerankBody>;

/** The message of a zod failure, one line naming the fields. */
export function describeIssues(error: z.ZodError): string {
  // A message that is a sentence of its own loses its full stop: the caller ends the list with one.
  return error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message.replace(/\.$/, "")}`).join("; ");
}
