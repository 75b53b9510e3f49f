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
    /** Headers the refusal must carry (`Allow` on a 405). */
    readonly headers?: Record<string, string>,
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
      {
        Allow: "POST",
      },
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

export function errorResponse(c: Context, error: unknown, secrets: readonly string[]): Response {
  // Hono's own refusals (401 from the Bearer check) carry their response.
  if (error instanceof HTTPException) return error.getResponse();
  const { status, body } = errorBody(error, secrets);
  return c.json(body, status, error instanceof HttpError ? error.headers : undefined);
}
