import http from "node:http";
import type { AddressInfo } from "node:net";
import { readJsonBody, sendJson } from "./json-http.js";

export interface RecordedCohereRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: CohereRequestBody;
}

/** The fields of a rerank request that the server and the tests read; `{}` when the body is not JSON. */
export interface CohereRequestBody {
  model?: unknown;
  query?: unknown;
  documents?: unknown[];
  top_n?: unknown;
}

/** What the server does for one request; unscripted requests get the default scoring. */
export type CohereBehaviour =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { hang: true }
  | { raw: string; status?: number }
  | { results: Array<{ index: unknown; relevance_score: unknown }> }
  /** A /v1/chat stream of these tokens, ending with a `stream-end` event or (false) just closing. */
  | { chat: string[]; streamEnd: boolean };

/** The default "model": a document's score is the share of the query's words it contains. */
export function wordOverlapScore(query: string, document: string): number {
  const words = (text: string) => text.toLowerCase().match(/[a-z0-9_]+/g) ?? [];
  const queryWords = new Set(words(query));
  const documentWords = new Set(words(document));
  let hits = 0;
  for (const word of queryWords) if (documentWords.has(word)) hits++;
  return queryWords.size === 0 ? 0 : hits / queryWords.size;
}

function documentText(document: unknown): string {
  if (typeof document === "string") return document;
  const text = (document as { text?: unknown } | null)?.text;
  return typeof text === "string" ? text : "";
}

/** Cohere's v1 chat stream (what the cohere-ai client's chatStream reads): one JSON event per line. */
function chat(res: http.ServerResponse, { chat: tokens, streamEnd }: { chat: string[]; streamEnd: boolean }) {
  res.writeHead(200, { "content-type": "application/stream+json" });
  const event = (body: object) => res.write(`${JSON.stringify({ is_finished: false, ...body })}\n`);
  event({ event_type: "stream-start", generation_id: "gen-1" });
  for (const text of tokens) event({ event_type: "text-generation", text });
  if (streamEnd) {
    const response = { response_id: "resp-1", generation_id: "gen-1", text: tokens.join(""), finish_reason: "COMPLETE", chat_history: [] };
    event({ is_finished: true, event_type: "stream-end", finish_reason: "COMPLETE", response });
  }
  res.end();
}

/**
 * A local server speaking Cohere's rerank and chat-stream wire protocols (POST /v1/rerank, which the
 * cohere-ai CohereClient calls, and POST /v2/rerank) and its v1 chat stream (POST /v1/chat), so the real client can be pointed at
 * it by base URL. `script` queues behaviours for the next requests, in order; `always` sets
 * one for every request once the queue is empty.
 */
export async function startCohereServer() {
  const requests: RecordedCohereRequest[] = [];
  const queue: CohereBehaviour[] = [];
  let standing: CohereBehaviour | undefined;
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const body = await readJsonBody<CohereRequestBody>(req);
    const path = (req.url ?? "").split("?")[0] ?? "";
    requests.push({ method: req.method ?? "", path, headers: req.headers, body });
    if (req.method === "POST" && path === "/v1/chat") {
      const scripted = queue.shift() ?? standing;
      return chat(res, scripted && "chat" in scripted ? scripted : { chat: ["Feed it ", "daily [1]."], streamEnd: true });
    }
    if (req.method !== "POST" || (path !== "/v1/rerank" && path !== "/v2/rerank")) {
      return sendJson(res, 404, { message: `no route for ${req.method} ${path}` });
    }
    const meta = { api_version: { version: path === "/v2/rerank" ? "2" : "1" }, billed_units: { search_units: 1 } };
    const behaviour = queue.shift() ?? standing;
    if (behaviour && "hang" in behaviour) return; // never answers: the client's timeout must fire
    if (behaviour && "raw" in behaviour) {
      res.writeHead(behaviour.status ?? 200, { "content-type": "application/json" });
      res.end(behaviour.raw);
      return;
    }
    if (behaviour && "status" in behaviour)
      return sendJson(res, behaviour.status, behaviour.body ?? { message: `HTTP ${behaviour.status}` }, behaviour.headers);
    if (behaviour && "results" in behaviour) return sendJson(res, 200, { id: `rerank-${requests.length}`, results: behaviour.results, meta });
    const { query, documents } = body;
    if (typeof query !== "string" || !Array.isArray(documents)) {
      return sendJson(res, 400, { message: "invalid request: query and documents are required" });
    }
    const scored = documents
      .map((document, index) => ({ index, relevance_score: wordOverlapScore(query, documentText(document)) }))
      .sort((l, r) => r.relevance_score - l.relevance_score || l.index - r.index);
    const topN = typeof body.top_n === "number" ? body.top_n : scored.length;
    sendJson(res, 200, { id: `rerank-${requests.length}`, results: scored.slice(0, topN), meta });
  };
  // A failure in the handler surfaces as an unhandled rejection, which fails the test run.
  const server = http.createServer((req, res) => void answer(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    /** Queues behaviours for the next requests, in order. */
    script: (...behaviours: CohereBehaviour[]) => void queue.push(...behaviours),
    /** Answers every unscripted request this way (undefined restores the default scoring). */
    always: (behaviour: CohereBehaviour | undefined) => {
      standing = behaviour;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
