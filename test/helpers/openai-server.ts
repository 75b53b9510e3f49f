import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: OpenAiRequestBody;
}

/** The fields of a chat-completions or embeddings request that the server and the tests read. */
export interface OpenAiRequestBody {
  model?: string;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  messages?: Array<{ role: string; content: string }>;
  input?: string | string[];
  encoding_format?: string;
}

export type Behaviour =
  /** With `usage`, a streamed answer asked for it (`stream_options.include_usage`) ends with OpenAI's usage chunk. */
  | { kind: "stream"; tokens: string[]; delayMs?: number; usage?: { prompt_tokens: number; completion_tokens: number } }
  | { kind: "status"; status: number; body: unknown; headers?: Record<string, string> }
  | { kind: "hang" }
  | { kind: "stream-then-drop"; tokens: string[] }
  /** Any body as is (e.g. malformed JSON), with a content type. */
  | { kind: "raw"; status?: number; contentType?: string; body: string }
  /** Tokens, then an SSE event carrying `{"error": …}` instead of a chunk, then the end of the stream. */
  | { kind: "stream-then-error"; tokens: string[]; error: unknown }
  /** Tokens, then a data line that is not JSON. */
  | { kind: "stream-then-garbage"; tokens: string[] }
  /** Headers and tokens (maybe none), then silence with the connection kept open. */
  | { kind: "stream-then-stall"; tokens: string[] }
  /** A hostile server: streams `before`, the request's Authorization header, then `after`, cut into `chunkSize`-character tokens. */
  | { kind: "echo-authorization"; before: string; after: string; chunkSize: number }
  /** Tokens, then the response ends cleanly, without a finish_reason and without `data: [DONE]`. */
  | { kind: "stream-then-end"; tokens: string[] }
  /** `token` every `everyMs`, at most `max` times (stopping when the client goes), then a normal finish. */
  | { kind: "drip"; token: string; everyMs: number; max: number }
  /** Tokens, then an SSE comment (`: keep-alive`) every `everyMs`, at most `max` times, then a normal finish. */
  | { kind: "keep-alive"; tokens: string[]; everyMs: number; max: number };

/** What the embeddings endpoint does instead of answering (for failure tests). */
export type EmbeddingsBehaviour = Extract<Behaviour, { kind: "status" | "hang" | "raw" }>;

/** A deterministic 16-d "embedding": letter frequencies folded into 16 buckets, normalised. */
export function fakeEmbedding(text: string): number[] {
  const v = new Array<number>(16).fill(0);
  for (const ch of text.toLowerCase()) if (ch >= "a" && ch <= "z") v[(ch.charCodeAt(0) - 97) % 16]! += 1;
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

/** POST /v1/embeddings, honouring encoding_format (the official client asks for base64 by default). */
function embeddings(body: OpenAiRequestBody, res: http.ServerResponse) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const data = inputs.map((text, index) => {
    const vector = fakeEmbedding(String(text));
    const embedding = body.encoding_format === "base64" ? Buffer.from(Float32Array.from(vector).buffer).toString("base64") : vector;
    return { object: "embedding", index, embedding };
  });
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ object: "list", data, model: body.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
}

/**
 * A local server speaking the OpenAI chat-completions (JSON and SSE streaming) and
 * embeddings wire protocol, so the real @langchain/openai clients can be pointed at it by base URL.
 */
export interface ServerTiming {
  /** Delay before the first request on each new connection is answered: what TCP + TLS set-up costs a remote client. */
  connectionSetupMs?: number;
  /** Delay before a chat completion's first token: the model reading the prompt (prefill). */
  prefillMs?: number;
}

export async function startOpenAiServer(
  behaviour: Behaviour | (() => Behaviour),
  { embeddingsBehaviour, timing = {} }: { embeddingsBehaviour?: EmbeddingsBehaviour; timing?: ServerTiming } = {},
) {
  const requests: RecordedRequest[] = [];
  /** Responses the client abandoned before they ended (a cancelled request). */
  let cancelled = 0;
  /** `GET /models` requests (a client warming its connection up), kept apart from `requests`. */
  let warmUps = 0;
  const fresh = new WeakSet<object>();
  /** The requests that came first on their connection (and so paid its set-up), as "METHOD /path". */
  const firstOnConnection: string[] = [];
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (fresh.delete(req.socket)) {
      firstOnConnection.push(`${req.method} ${req.url}`);
      if (timing.connectionSetupMs) await new Promise((r) => setTimeout(r, timing.connectionSetupMs));
    }
    let raw = "";
    for await (const chunk of req) raw += chunk;
    if (req.method === "GET" && req.url?.endsWith("/models")) {
      warmUps++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [{ id: "test-model", object: "model" }] }));
      return;
    }
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: raw ? (JSON.parse(raw) as OpenAiRequestBody) : {} });
    res.on("close", () => {
      if (!res.writableFinished) cancelled++;
    });
    const embedding = req.url?.endsWith("/embeddings");
    if (embedding && !embeddingsBehaviour) return embeddings(requests.at(-1)!.body, res);
    let b = embedding ? embeddingsBehaviour! : typeof behaviour === "function" ? behaviour() : behaviour;
    if (b.kind === "hang") return; // never answers: the client's timeout must fire
    if (b.kind === "status") {
      res.writeHead(b.status, { "content-type": "application/json", ...b.headers });
      res.end(JSON.stringify(b.body));
      return;
    }
    if (b.kind === "raw") {
      res.writeHead(b.status ?? 200, { "content-type": b.contentType ?? "application/json" });
      res.end(b.body);
      return;
    }
    if (b.kind === "echo-authorization") {
      const text = `${b.before}${req.headers.authorization ?? ""}${b.after}`;
      b = { kind: "stream", tokens: text.match(new RegExp(`[^]{1,${b.chunkSize}}`, "g")) ?? [] };
    }
    const model = requests.at(-1)?.body?.model ?? "test-model";
    const created = Math.floor(Date.now() / 1000);
    if (!requests.at(-1)?.body?.stream) {
      const message = { role: "assistant", content: b.kind === "drip" ? b.token : b.tokens.join("") };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ id: "chatcmpl-test", object: "chat.completion", created, model, choices: [{ index: 0, message, finish_reason: "stop" }] }));
      return;
    }
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ id: "chatcmpl-test", object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    if (timing.prefillMs) await new Promise((r) => setTimeout(r, timing.prefillMs));
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write(chunk({ role: "assistant", content: "" }, null));
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    if (b.kind === "drip") {
      for (let i = 0; i < b.max && !res.destroyed; i++) {
        res.write(chunk({ content: b.token }, null));
        await pause(b.everyMs);
      }
    }
    for (const token of b.kind === "drip" ? [] : b.tokens) {
      res.write(chunk({ content: token }, null));
      if (b.kind === "stream" && b.delayMs) await new Promise((r) => setTimeout(r, b.delayMs));
    }
    if (b.kind === "stream-then-drop") {
      // Let the tokens reach the client first: destroying at once can discard unsent writes.
      await new Promise<void>((resolve) => res.write("", () => resolve()));
      await new Promise((r) => setTimeout(r, 50));
      res.socket?.destroy();
      return;
    }
    if (b.kind === "stream-then-stall") return; // close() ends the connection
    if (b.kind === "stream-then-end") return void res.end();
    if (b.kind === "keep-alive") {
      for (let i = 0; i < b.max && !res.destroyed; i++) {
        res.write(": keep-alive\n\n");
        await pause(b.everyMs);
      }
    }
    if (res.destroyed) return;
    if (b.kind === "stream-then-error" || b.kind === "stream-then-garbage") {
      res.end(b.kind === "stream-then-error" ? `data: ${JSON.stringify({ error: b.error })}\n\n` : "data: {not json\n\n");
      return;
    }
    res.write(chunk({}, "stop"));
    if (b.kind === "stream" && b.usage && requests.at(-1)?.body?.stream_options?.include_usage) {
      const usage = { ...b.usage, total_tokens: b.usage.prompt_tokens + b.usage.completion_tokens };
      res.write(`data: ${JSON.stringify({ id: "chatcmpl-test", object: "chat.completion.chunk", created, model, choices: [], usage })}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  };
  // A failure in the handler surfaces as an unhandled rejection, which fails the test run.
  const server = http.createServer((req, res) => void answer(req, res));
  server.on("connection", (socket) => fresh.add(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    cancelled: () => cancelled,
    warmUps: () => warmUps,
    firstOnConnection,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
