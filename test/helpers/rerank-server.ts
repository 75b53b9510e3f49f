import http from "node:http";
import type { AddressInfo } from "node:net";
import { wordOverlapScore } from "./cohere-server.js";
import { readJsonBody, sendJson } from "./json-http.js";

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

/** Each API's own error body: TEI's `{ error, error_type }`, Jina's and Voyage's `{ detail }`. */
function errorBody(wire: RerankWireName, status: number, message: string): unknown {
  return wire === "tei" ? { error: message, error_type: status === 413 ? "Validation" : "Backend" } : { detail: message };
}

/** A 200 body in the API's shape. */
function successBody(wire: RerankWireName, results: Array<{ index: unknown; score: unknown }>, model: unknown): unknown {
  if (wire === "tei") return results.map(({ index, score }) => ({ index, score }));
  const ranked = results.map(({ index, score }) => ({ index, relevance_score: score }));
  const usage = { total_tokens: 42 };
  return wire === "jina" ? { model, usage, results: ranked } : { object: "list", data: ranked, model, usage };
}

/**
 * A local server speaking one rerank wire format: POST /rerank (TEI, whose base is the server
 * root) or POST /v1/rerank (Jina, Voyage, whose bases end in /v1). The default "model" scores
 * by word overlap; `script` queues behaviours for the next requests, `always` sets a standing one.
 */
export async function startRerankServer(wire: RerankWireName) {
  const route = wire === "tei" ? "/rerank" : "/v1/rerank";
  const requests: RecordedRerankRequest[] = [];
  const queue: RerankBehaviour[] = [];
  let standing: RerankBehaviour | undefined;
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Not JSON: recorded as {} and answered 422 below.
    const body = await readJsonBody<Record<string, unknown>>(req);
    const path = (req.url ?? "").split("?")[0] ?? "";
    requests.push({ method: req.method ?? "", path, headers: req.headers, body });
    if (req.method !== "POST" || path !== route) return sendJson(res, 404, errorBody(wire, 404, `Not Found: ${req.method} ${path}`));
    const behaviour = queue.shift() ?? standing;
    if (behaviour && "hang" in behaviour) return;
    if (behaviour && "raw" in behaviour) {
      res.writeHead(behaviour.status ?? 200, { "content-type": "application/json" });
      return res.end(behaviour.raw);
    }
    if (behaviour && "status" in behaviour) {
      return sendJson(res, behaviour.status, behaviour.body ?? errorBody(wire, behaviour.status, `HTTP ${behaviour.status}`), behaviour.headers);
    }
    if (behaviour && "results" in behaviour) return sendJson(res, 200, successBody(wire, behaviour.results, body.model));
    const texts = wire === "tei" ? body.texts : body.documents;
    if (typeof body.query !== "string" || !Array.isArray(texts) || texts.some((t) => typeof t !== "string")) {
      return sendJson(res, 422, errorBody(wire, 422, "query and a list of texts are required"));
    }
    const scored = (texts as string[])
      .map((text, index) => ({ index, score: wordOverlapScore(body.query as string, text) }))
      .sort((l, r) => r.score - l.score || l.index - r.index);
    const topN = wire === "jina" ? body.top_n : wire === "voyage" ? body.top_k : undefined;
    sendJson(res, 200, successBody(wire, typeof topN === "number" ? scored.slice(0, topN) : scored, body.model));
  };
  const server = http.createServer((req, res) => void answer(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const root = `http://127.0.0.1:${port}`;
  return {
    /** The base URL a client is configured with: the root for TEI, <root>/v1 for Jina and Voyage. */
    baseUrl: wire === "tei" ? root : `${root}/v1`,
    requests,
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
