import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import type { z } from "zod";
import { askEvents, search } from "./ask.js";
import { errorBody, errorResponse, HttpError, postOnly } from "./http-errors.js";
import { LivePipeline } from "./live-pipeline.js";
import { askBody, describeIssues, searchBody } from "./schemas.js";
import type { ServerContext } from "./server-context.js";

/** The request's JSON body checked against a schema; a bad one is a 400 naming the fields. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new HttpError(400, "The request body is not valid JSON.", 'Send a JSON object, e.g. {"question": "How do I configure OAuth2?"}.');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const param = parsed.error.issues[0]?.path.join(".");
    throw new HttpError(400, `Invalid request: ${describeIssues(parsed.error)}.`, undefined, { param: param || undefined });
  }
  return parsed.data;
}

/** A question longer than the server's limit is a 413 that says the limit. */
export function checkQuestion(question: string, { limits }: ServerContext): void {
  if (question.length > limits.maxQuestionChars) {
    throw new HttpError(
      413,
      `The question is ${question.length} characters long; this server takes at most ${limits.maxQuestionChars}.`,
      "Ask a shorter question.",
    );
  }
}

/** `/api/ask` (SSE), `/api/search` and `/api/info`. */
export function apiRoutes(context: ServerContext): Hono {
  const { live, secrets } = context;
  const app = new Hono();

  app.post("/ask", async (c) => {
    const body = await readBody(c, askBody);
    checkQuestion(body.question, context);
    const lease = await live.acquire();
    // A re-ranker the server cannot use (or load) is an HTTP error as on /api/search, not an error event in a 200 stream.
    if (body.reranker !== undefined && body.rerank !== false) {
      await lease.pipeline.variant(body.reranker).catch((error: unknown) => {
        lease.release();
        throw error;
      });
    }
    const aborted = new AbortController();
    return streamSSE(c, async (stream) => {
      // The client left: stop retrieval and the LLM, and let the snapshot go.
      stream.onAbort(() => aborted.abort(new Error("The client disconnected.")));
      try {
        for await (const event of askEvents(lease.pipeline, body, aborted.signal)) {
          if (stream.aborted) break;
          await stream.writeSSE({ event: event.type, data: JSON.stringify(event.data) });
        }
      } catch (error) {
        if (!stream.aborted) {
          context.log(`ask failed: ${errorBody(error, secrets).body.error.message}`);
          await stream.writeSSE({ event: "error", data: JSON.stringify(errorBody(error, secrets).body.error) });
        }
      } finally {
        lease.release();
      }
    });
  });

  app.post("/search", async (c) => {
    const body = await readBody(c, searchBody);
    checkQuestion(body.question, context);
    const lease = await live.acquire();
    try {
      return c.json(await search(lease.pipeline, body, c.req.raw.signal));
    } finally {
      lease.release();
    }
  });

  app.get("/info", async (c) => {
    const lease = await live.acquire();
    try {
      const served = lease.pipeline;
      const index =
        served.store === "hnsw"
          ? { store: "hnsw", chunks: served.index.manifest.chunkCount, files: Object.keys(served.index.manifest.files ?? {}).length }
          : { store: "pgvector" };
      return c.json({
        pipeline: served.description,
        notes: served.notes,
        snapshot: LivePipeline.snapshotOf(served),
        index,
        reranker: served.reranker,
        rerankers: served.rerankers,
        fetchK: served.retriever.defaults.fetchK,
        topN: served.retriever.defaults.topN,
        limits: context.limits,
      });
    } finally {
      lease.release();
    }
  });

  for (const path of ["/ask", "/search"]) postOnly(app, path);
  app.onError((error, c) => errorResponse(c, error, secrets));
  return app;
}
