import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

export interface HubRequest {
  method: string;
  model: string;
  revision: string;
  file: string;
  /** The Range header: transformers.js probes file metadata with `bytes=0-0`. */
  range?: string;
  status: number;
}

/**
 * A local stand-in for the Hugging Face Hub's file-resolve endpoint, as transformers.js uses it:
 * `GET|HEAD /{org}/{name}/resolve/{revision}/{file}` → the bytes with content-length, honouring
 * `Range: bytes=a-b` (206 + content-range). Like the Hub, an unknown repository answers 401 and a
 * missing file in a known one 404. `models` maps model ids to folders (e.g. from writeTestModel).
 */
export async function startHubServer(models: Record<string, string>) {
  const requests: HubRequest[] = [];
  const server = http.createServer((req, res) => {
    const match = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(new URL(req.url ?? "/", "http://hub").pathname);
    const [model, revision, file] = match ? match.slice(1).map(decodeURIComponent) : ["", "", ""];
    const range = req.headers.range;
    const reply = (status: number, headers: http.OutgoingHttpHeaders = {}, body?: fs.ReadStream | string) => {
      requests.push({ method: req.method ?? "", model: model!, revision: revision!, file: file!, range, status });
      res.writeHead(status, headers);
      if (body === undefined || req.method === "HEAD") res.end();
      else if (typeof body === "string") res.end(body);
      else body.pipe(res);
    };

    const dir = models[model!];
    if (!match || !dir) return reply(401, { "x-error-code": "RepoNotFound" }, "Repository not found");
    const filePath = path.join(dir, file!);
    const inside = !path.relative(dir, filePath).startsWith("..");
    if (!inside || !fs.statSync(filePath, { throwIfNoEntry: false })?.isFile()) {
      return reply(404, { "x-error-code": "EntryNotFound" }, "Entry not found");
    }

    const size = fs.statSync(filePath).size;
    const type = file!.endsWith(".json") ? "application/json" : "application/octet-stream";
    const base = { "content-type": type, "accept-ranges": "bytes" };
    const wanted = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (!wanted) return reply(200, { ...base, "content-length": size }, fs.createReadStream(filePath));
    const start = Number(wanted[1]);
    const end = Math.min(wanted[2] ? Number(wanted[2]) : size - 1, size - 1);
    if (start >= size) return reply(416, { "content-range": `bytes */${size}` });
    const headers = { ...base, "content-length": end - start + 1, "content-range": `bytes ${start}-${end}/${size}` };
    return reply(206, headers, fs.createReadStream(filePath, { start, end }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Full downloads (not Range probes) of each file, e.g. to show a second pull fetches nothing. */
    downloads: () => requests.filter((r) => r.status === 200 && r.method === "GET").map((r) => `${r.model}/${r.file}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
