import http from "node:http";
import type { AddressInfo } from "node:net";
import { wordOverlapScore } from "./cohere-server.js";
import { sendJson } from "./json-http.js";

/** The rerank wire formats this server speaks (see src/rerankers/{tei,jina,voyage}-reranker.ts). */
export type RerankWireName = "tei" | "jina" | "voyage";

export interface RecordedRerankRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What the server does for one request; unscripted requests get the default scoring. */
export type RerankBehaviour =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }
  | { raw: string; status?: number }
  | { results: Array<{ index: unknown; score: unknown }> };

/** Each API's own error body: TEI's `{ error, error_type }` (its ErrorType names), Jina's and Voyage's `{ detail }`. */
function errorBody(wire: RerankWireName, status: number, message: string): unknown {
  const teiType: Record<number, string> = { 400: "Empty", 413: "Validation", 422: "Validation", 424: "Backend", 429: "Overloaded", 503: "Unhealthy" };
  return wire === "tei" ? { error: message, error_type: teiType[status] ?? "Backend" } : { detail: message };
}

/**
 * A 200 body in the API's shape. TEI sorts ascending (stably) and then reverses, so ties come
 * last index first; the documents come back only when asked for.
 */
function successBody(wire: RerankWireName, results: Array<{ index: unknown; score: unknown }>, request: Record<string, unknown>): unknown {
  const texts = (wire === "tei" ? request.texts : request.documents) as unknown[] | undefined;
  if (wire === "tei") return results.map(({ index, score }) => ({ index, ...(request.return_text === true ? { text: texts?.[index as number] } : {}), score }));
  const withDocument = (index: unknown) => {
    if (request.return_documents !== true) return {};
    const text = texts?.[index as number];
    return { document: wire === "jina" ? { text } : text };
  };
  const ranked = results.map(({ index, score }) => ({ index, ...withDocument(index), relevance_score: score }));
  const usage = { total_tokens: 42 };
  return wire === "jina" ? { model: request.model, usage, results: ranked } : { object: "list", data: ranked, model: request.model, usage };
}

/**
 * Why TEI's router (axum's Json extractor over serde) refuses a body before the handler runs, as
 * its plain-text answer: wrong content type 415, bad JSON 400, wrong fields 422; null when it takes it.
 */
function teiRejection(req: http.IncomingMessage, raw: string): { status: number; text: string } | null {
  if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
    return { status: 415, text: "Expected request with `Content-Type: application/json`" };
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch (error) {
    return { status: 400, text: `Failed to parse the request body as JSON: ${(error as Error).message}` };
  }
  const fields = (body ?? {}) as Record<string, unknown>;
  const wrong = (what: string) => ({ status: 422, text: `Failed to deserialize the JSON body into the target type: ${what}` });
  if (typeof body !== "object" || body === null || Array.isArray(body)) return wrong("invalid type: expected struct RerankRequest");
  if (!("query" in fields)) return wrong("missing field `query`");
  if (!("texts" in fields)) return wrong("missing field `texts`");
  if (typeof fields.query !== "string") return wrong("query: invalid type, expected a string");
  if (!Array.isArray(fields.texts) || fields.texts.some((t) => typeof t !== "string")) return wrong("texts: invalid type, expected a sequence of strings");
  if (fields.truncate !== undefined && fields.truncate !== null && typeof fields.truncate !== "boolean") return wrong("truncate: expected a boolean");
  for (const flag of ["raw_scores", "return_text"]) if (flag in fields && typeof fields[flag] !== "boolean") return wrong(`${flag}: expected a boolean`);
  const direction = fields.truncation_direction;
  if (direction !== undefined && !["Left", "Right", "left", "right"].includes(direction as string)) {
    return wrong("truncation_direction: unknown variant, expected `Left` or `Right`");
  }
  return null;
}

/**
 * A local server speaking one rerank wire format: POST /rerank (TEI, whose base is the server
 * root) or POST /v1/rerank (Jina, Voyage, whose bases end in /v1). The default "model" scores
 * by word overlap; `script` queues behaviours for the next requests, `always` sets a standing one.
 */
export async function startRerankServer(wire: RerankWireName, { maxClientBatchSize = 32 }: { maxClientBatchSize?: number } = {}) {
  const route = wire === "tei" ? "/rerank" : "/v1/rerank";
  const requests: RecordedRerankRequest[] = [];
  const queue: RerankBehaviour[] = [];
  let standing: RerankBehaviour | undefined;
  /** Requests the client abandoned before they were answered. */
  let cancelled = 0;
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      // Not JSON: recorded as {}; TEI refuses it below, the others answer 422.
    }
    const path = (req.url ?? "").split("?")[0] ?? "";
    requests.push({ method: req.method ?? "", path, headers: req.headers, body });
    res.on("close", () => {
      if (!res.writableFinished) cancelled++;
    });
    if (req.method !== "POST" || path !== route) {
      if (wire === "tei") return void res.writeHead(404).end(); // axum's fallback: no body
      return sendJson(res, 404, errorBody(wire, 404, `Not Found: ${req.method} ${path}`));
    }
    const rejection = wire === "tei" ? teiRejection(req, raw) : null;
    if (rejection) return void res.writeHead(rejection.status, { "content-type": "text/plain; charset=utf-8" }).end(rejection.text);
    const behaviour = queue.shift() ?? standing;
    if (behaviour && "hang" in behaviour) return;
    if (behaviour && "raw" in behaviour) {
      res.writeHead(behaviour.status ?? 200, { "content-type": "application/json" });
      return res.end(behaviour.raw);
    }
    if (behaviour && "status" in behaviour) {
      return sendJson(res, behaviour.status, behaviour.body ?? errorBody(wire, behaviour.status, `HTTP ${behaviour.status}`), behaviour.headers);
    }
    if (behaviour && "results" in behaviour) return sendJson(res, 200, successBody(wire, behaviour.results, body));
    const texts = wire === "tei" ? body.texts : body.documents;
    if (typeof body.query !== "string" || !Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
      return sendJson(res, 422, errorBody(wire, 422, "query and a list of texts are required"));
    }
    if (wire === "tei" && texts.length === 0) return sendJson(res, 400, errorBody(wire, 400, "`texts` cannot be empty"));
    if (wire === "tei" && texts.length > maxClientBatchSize) {
      return sendJson(res, 422, errorBody(wire, 422, `batch size ${texts.length} > maximum allowed batch size ${maxClientBatchSize}`));
    }
    const scored = (texts as string[]).map((text, index) => ({ index, score: wordOverlapScore(body.query as string, text) }));
    if (wire === "tei") scored.sort((l, r) => l.score - r.score).reverse();
    else scored.sort((l, r) => r.score - l.score || l.index - r.index);
    const topN = wire === "jina" ? body.top_n : wire === "voyage" ? body.top_k : undefined;
    sendJson(res, 200, successBody(wire, typeof topN === "number" ? scored.slice(0, topN) : scored, body));
  };
  const server = http.createServer((req, res) => void answer(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const root = `http://127.0.0.1:${port}`;
  return {
    /** The base URL a client is configured with: the root for TEI, <root>/v1 for Jina and Voyage. */
    baseUrl: wire === "tei" ? root : `${root}/v1`,
    requests,
    cancelled: () => cancelled,
    script: (...behaviours: RerankBehaviour[]) => void queue.push(...behaviours),
    always: (behaviour: RerankBehaviour | undefined) => {
      standing = behaviour;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
