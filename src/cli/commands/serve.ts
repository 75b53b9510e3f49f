import { UsageError } from "../../errors/index.js";
import { createPipeline } from "../../pipeline/create-pipeline.js";
import { createServer } from "../../server/create-server.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { dim, note, printable, yellow } from "../output.js";

export interface ServeFlags extends CommonFlags {
  host: string;
  port: string;
  insecureNoAuth?: boolean;
}

/** Addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** `rerank-rag serve`: one warm process serving the page and the HTTP APIs until interrupted. */
export async function runServe(flags: ServeFlags): Promise<void> {
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be a port number (0–65535), got ${JSON.stringify(flags.port)}.`, { hint: "e.g. --port 8787 (0 picks a free one)." });
  }
  const config = configFromFlags(flags);
  const token = config.RAG_SERVER_TOKEN;
  if (!isLoopback(flags.host)) {
    if (flags.insecureNoAuth) {
      if (!token)
        note(yellow(`warning: serving on ${printable(flags.host)} without a token (--insecure-no-auth): anyone who can reach it can query your documents.`));
    } else if (!token) {
      throw new UsageError(`Refusing to serve on ${printable(flags.host)} without a token: other machines could read your documents.`, {
        setting: "RAG_SERVER_TOKEN",
        hint: "Set RAG_SERVER_TOKEN to a long random value (clients send Authorization: Bearer <token>), or serve on 127.0.0.1; --insecure-no-auth serves without one.",
      });
    }
  }
  const pipeline = await createPipeline(config);
  const server = createServer(pipeline, { config, token, corsOrigins: config.RAG_SERVER_CORS_ORIGINS });
  const { url } = await server.listen({ host: flags.host, port });
  note(dim(pipeline.description));
  for (const line of pipeline.notes) note(yellow(line));
  note(`rerank-rag serving on ${url}${token ? " (Bearer token required on /api and /v1)" : ""}; Ctrl+C stops.`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  note("stopping: finishing requests in flight…");
  await server.close();
}
