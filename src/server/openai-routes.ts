import crypto from "node:crypto";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { sourceLabel } from "../llms/prompt.js";
import { checkQuestion, readBody } from "./api-routes.js";
import { askEvents, type SourceJson, type Usage } from "./ask.js";
import { errorBody, errorResponse, HttpError, openAiError, postOnly } from "./http-errors.js";
import { chatBody, type AskBody, type ChatBody } from "./schemas.js";
import type { ServerContext } from "./server-context.js";

/** The model name OpenAI clients ask for. */
export const MODEL_ID = "rerank-rag";

const textOf = (content: ChatBody["messages"][number]["content"]): string =>
  typeof content === "string" ? content : (content ?? []).map((part) => (part.type === "text" ? (part.text ?? "") : "")).join("");

/** The last user message is the question; the earlier user and assistant messages are the history. */
function askFromChat(body: ChatBody): AskBody {
  const turns = body.messages
    .filter((m) => m.role === "user" || m.role === "assistant")
    .map((m) => ({ role: m.role as "user" | "assistant", content: textOf(m.content) }));
  const last = turns.at(-1);
  if (!last || last.role !== "user" || !last.content.trim()) {
    throw new HttpError(400, "Invalid request: the last message must be a user message with the question.", undefined, { param: "messages" });
  }
  return { question: last.content.trim(), history: turns.slice(0, -1) };
}

/** The sources as the answer's footnote, so a chat UI that shows only text still shows them. */
function citations(sources: SourceJson[]): string {
  if (sources.length === 0) return "";
  return `\n\nSources:\n${sources.map((s) => `[${s.n}] ${sourceLabel({ pageContent: "", metadata: { relativePath: s.path, heading: s.heading, page: s.page } })}`).join("\n")}`;
}

/** `/v1/models` and `/v1/chat/completions`: the pipeline as an OpenAI-compatible model. */
export function openAiRoutes(context: ServerContext): Hono {
  const { live, secrets } = context;
  const app = new Hono();

  app.get("/models", (c) => c.json({ object: "list", data: [{ id: MODEL_ID, object: "model", created: 0, owned_by: "rerank-rag" }] }));

  app.post("/chat/completions", async (c) => {
    const body = await readBody(c, chatBody);
    const ask = askFromChat(body);
    checkQuestion(ask.question, context);
    const id = `chatcmpl-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = MODEL_ID;
    const lease = await live.acquire();
    const aborted = new AbortController();
    if (!body.stream) {
      try {
        c.req.raw.signal.addEventListener("abort", () => aborted.abort(new Error("The client disconnected.")));
        let sources: SourceJson[] = [];
        let answer = "";
        let usage: Usage | null | undefined;
        for await (const event of askEvents(lease.pipeline, ask, aborted.signal, { countUsage: true })) {
          if (event.type === "sources") sources = event.data.sources;
          if (event.type === "done") ({ answer, usage } = event.data);
        }
        const message = { role: "assistant", content: answer + citations(sources) };
        return c.json({
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message, finish_reason: "stop", logprobs: null }],
          // The LLM's own count, or no usage at all (it is optional for OpenAI's clients): zeros would be a wrong count.
          ...(usage ? { usage } : {}),
          sources,
        });
      } finally {
        lease.release();
      }
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra });
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => aborted.abort(new Error("The client disconnected.")));
      try {
        let sources: SourceJson[] = [];
        const includeUsage = body.stream_options?.include_usage === true;
        for await (const event of askEvents(lease.pipeline, ask, aborted.signal, { countUsage: includeUsage })) {
          if (stream.aborted) break;
          // The first chunk opens the assistant message and carries the sources as an extra field.
          if (event.type === "sources")
            await stream.writeSSE({ data: chunk({ role: "assistant", content: "" }, null, { sources: (sources = event.data.sources) }) });
          if (event.type === "token") await stream.writeSSE({ data: chunk({ content: event.data.text }, null) });
          if (event.type === "done") {
            const footnote = citations(sources);
            if (footnote) await stream.writeSSE({ data: chunk({ content: footnote }, null) });
            await stream.writeSSE({ data: chunk({}, "stop") });
            // Asked for, OpenAI ends with a chunk of no choices and the usage; sent only when the LLM counted it.
            if (includeUsage && event.data.usage)
              await stream.writeSSE({ data: JSON.stringify({ id, object: "chat.completion.chunk", created, model, choices: [], usage: event.data.usage }) });
            await stream.writeSSE({ data: "[DONE]" });
          }
        }
      } catch (error) {
        // OpenAI streams report a failure as an `error` object in a data line.
        if (!stream.aborted) {
          const { status, body } = errorBody(error, secrets);
          await stream.writeSSE({ data: JSON.stringify(openAiError(status, body.error)) });
        }
      } finally {
        lease.release();
      }
    });
  });

  for (const path of ["/chat/completions"]) postOnly(app, path);
  app.onError((error, c) => errorResponse(c, error, secrets, openAiError));
  return app;
}
