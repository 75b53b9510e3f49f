import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { loadConfig, type RagConfig } from "../config/index.js";
import { redact, secretsOf } from "../errors/index.js";
import { createPipeline, type Pipeline } from "../pipeline/create-pipeline.js";
import { apiRoutes } from "./api-routes.js";
import { cohereRoutes } from "./cohere-routes.js";
import { errorResponse, openAiError } from "./http-errors.js";
import { LivePipeline } from "./live-pipeline.js";
import { openAiRoutes } from "./openai-routes.js";
import { pageRoutes } from "./page/page-routes.js";
import { servePipeline } from "./served-pipeline.js";
import type { RequestLimits, ServerContext } from "./server-context.js";

export interface ServerOptions {
  /** The configuration the pipeline was built with (re-rankers a request may pick, re-opening on a new ingest); default: the environment's. */
  config?: RagConfig;
  /** When set, every /api and /v1 request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Origins allowed to call the API from a browser (CORS); none by default. */
  corsOrigins?: readonly string[];
  /** Request limits (defaults: 256 KiB of body, 4,000 characters of question). */
  limits?: Partial<RequestLimits>;
  /** Follow the index: open a new ingest's snapshot for the requests after it (default true for a local index). */
  followIndex?: boolean;
  /** Where the server reports problems (one line each, secrets redacted); default: stderr. */
  log?: (line: string) => void;
}

export interface RagServer {
  /** The Hono app: mount it in another app (`app.route("/rag", server.app)`) or call `server.app.fetch(request)`. */
  app: Hono;
  /** Listens on a host and port (0: any free port); resolves with the URL once listening. */
  listen(options: { host: string; port: number }): Promise<{ url: string; server: ServerType }>;
  /** Stops listening (when listening) and closes the pipeline once requests in flight are done. */
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: RequestLimits = { maxBodyBytes: 256 * 1024, maxQuestionChars: 4000 };

/**
 * The pipeline over HTTP: the page at `/`, `/api/ask` (SSE), `/api/search`, `/api/info`, an
 * OpenAI-compatible `/v1/chat/completions` + `/v1/models`, a Cohere-compatible `/v1/rerank` and
 * `/v2/rerank`, and `/healthz`. The server owns the pipeline from here on: `close()` closes it.
 */
export function createServer(pipeline: Pipeline, options: ServerOptions = {}): RagServer {
  const config = options.config ?? loadConfig();
  const secrets = [...secretsOf(config, process.env), ...(options.token ? [options.token] : [])];
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const followIndex = options.followIndex ?? true;
  const live = new LivePipeline(
    servePipeline(pipeline, config),
    followIndex ? async () => servePipeline(await createPipeline(config), config) : undefined,
    (error) => log(`rerank-rag serve: kept the previous snapshot: ${redact((error as Error)?.message ?? String(error), secrets)}`),
  );
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const context: ServerContext = { live, limits, secrets, log };

  const app = new Hono();
  // OpenAI clients read `type` and `code`: the refusals made before the routes (401, 413) take their shape there.
  for (const path of ["/v1/chat/completions", "/v1/models"]) {
    app.use(path, async (c, next) => {
      c.set("errorShape", openAiError);
      await next();
    });
  }
  const refusal = (c: Context, status: number, message: string, hint?: string) =>
    (c.get("errorShape") ?? ((_status, error) => ({ error })))(status, { message, ...(hint ? { hint } : {}) }) as object;
  app.use("*", async (c, next) => {
    await next();
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
  });
  const origins = [...(options.corsOrigins ?? [])];
  // No CORS headers at all unless origins are listed: a browser then refuses other sites' calls.
  if (origins.length > 0) {
    for (const prefix of ["/api/*", "/v1/*", "/v2/*"]) {
      app.use(prefix, cors({ origin: origins, allowHeaders: ["authorization", "content-type"], allowMethods: ["GET", "POST", "OPTIONS"] }));
    }
  }
  if (options.token) {
    const auth = bearerAuth({
      token: options.token,
      noAuthenticationHeader: { message: (c) => refusal(c, 401, "This server needs Authorization: Bearer <token>.") },
      invalidToken: {
        message: (c) => refusal(c, 401, "The Bearer token is not this server's.", "Send the token the server was started with (RAG_SERVER_TOKEN)."),
      },
    });
    for (const prefix of ["/api/*", "/v1/*", "/v2/*"]) app.use(prefix, auth);
  }
  const tooLarge = bodyLimit({
    maxSize: limits.maxBodyBytes,
    onError: (c) =>
      c.json(
        refusal(
          c,
          413,
          `The request body is larger than this server takes (${limits.maxBodyBytes} bytes).`,
          "Send less: a shorter question or history, fewer documents.",
        ),
        413,
      ),
  });
  app.use("*", tooLarge);

  app.get("/healthz", (c) => c.json({ ok: true }));
  app.route("/api", apiRoutes(context));
  app.route("/v1", openAiRoutes(context));
  app.route("/", cohereRoutes(context));
  app.route("/", pageRoutes());
  app.notFound((c) => c.json({ error: { message: `Nothing at ${c.req.method} ${c.req.path}.` } }, 404));
  app.onError((error, c) => errorResponse(c, error, secrets));

  let listening: ServerType | null = null;
  return {
    app,
    listen: ({ host, port }) =>
      new Promise((resolve, reject) => {
        const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) => {
          const shown = info.family === "IPv6" ? `[${info.address}]` : info.address;
          resolve({ url: `http://${shown}:${info.port}`, server });
        });
        listening = server;
        server.once("error", reject);
      }),
    close: async () => {
      const server = listening;
      listening = null;
      if (server) {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        });
      }
      await live.close();
    },
  };
}
