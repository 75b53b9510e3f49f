import type { Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { EXIT_USAGE, RagError, redact } from "../errors/index.js";

/** A request the server refuses, with the status it answers and what to do about it. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly hint?: string,
    /** Headers the refusal must carry (`Allow` on a 405), and the request field at fault (OpenAI's `param`). */
    readonly extra: { headers?: Record<string, string>; param?: string } = {},
  ) {
    super(message);
  }
}

/**
 * Any method but POST on a POST-only route is a 405 with `Allow: POST` (a 404 said the route did not
 * exist); thrown, so the route family's error handler writes it in that family's format.
 */
export function postOnly(app: Hono, path: string): void {
  app.all(path, (c) => {
    throw new HttpError(
      405,
      `${c.req.method} ${c.req.path} is not supported: it takes POST with a JSON body.`,
      "Send it as POST with Content-Type: application/json.",
      { headers: { Allow: "POST" } },
    );
  });
}

/** An error as a response body: one line and a hint, secrets redacted; never a stack. */
export function errorBody(error: unknown, secrets: readonly string[]): { status: ContentfulStatusCode; body: { error: { message: string; hint?: string } } } {
  const status: ContentfulStatusCode = error instanceof HttpError ? error.status : RagError.isInstance(error) && error.exitCode === EXIT_USAGE ? 400 : 500;
  const message = redact((error as Error)?.message ?? String(error), secrets);
  const hint = error instanceof HttpError || RagError.isInstance(error) ? error.hint : undefined;
  return { status, body: { error: { message, ...(hint ? { hint: redact(hint, secrets) } : {}) } } };
}

type ErrorJson = ReturnType<typeof errorBody>["body"]["error"];

/** A route family's error body from the status and `{ message, hint }` (the /api and Cohere routes: as is). */
export type ErrorShape = (status: number, error: ErrorJson, param?: string) => unknown;

export function errorResponse(c: Context, error: unknown, secrets: readonly string[], shape: ErrorShape = (_status, body) => ({ error: body })): Response {
  // Hono's own refusals (401 from the Bearer check) carry their response.
  if (error instanceof HTTPException) return error.getResponse();
  const { status, body } = errorBody(error, secrets);
  const extra = error instanceof HttpError ? error.extra : {};
  return c.json(shape(status, body.error, extra.param) as object, status, extra.headers);
}

declare module "hono" {
  interface ContextVariableMap {
    /** The route family's error shape for refusals made before its routes run (set on the OpenAI routes). */
    errorShape?: ErrorShape;
  }
}

/** OpenAI's `code` for the refusals its clients may branch on; others are null, as most of OpenAI's are. */
const OPENAI_CODES: Partial<Record<number, string>> = { 401: "invalid_api_key", 405: "method_not_allowed", 413: "request_too_large" };

/**
 * OpenAI's error body, `{ error: { message, type, param, code } }` (plus our `hint`): its clients
 * read `type`, `param` and `code` into `APIError`. `type` is set as OpenAI's API sets it, from the status.
 */
export const openAiError: ErrorShape = (status, { message, hint }, param) => ({
  error: {
    message,
    ...(hint ? { hint } : {}),
    type: status >= 500 ? "server_error" : "invalid_request_error",
    param: param ?? null,
    code: OPENAI_CODES[status] ?? null,
  },
});
