import type http from "node:http";

/** Answers with a JSON body (the test servers' replies). */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

/** A request's body parsed as a JSON object; `{}` when empty or not JSON (the servers answer that case themselves). */
export async function readJsonBody<T extends object>(req: http.IncomingMessage): Promise<T> {
  let raw = "";
  for await (const chunk of req) raw += chunk;
  try {
    return (raw ? JSON.parse(raw) : {}) as T;
  } catch {
    return {} as T;
  }
}
