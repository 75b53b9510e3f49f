import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { summarize, QUICK, type Stats } from "../harness.js";
import { CLI, OFFLINE_ASK_ENV } from "./ask.js";
import { SAMPLE_INDEX, sampleCandidates } from "./corpus.js";

/** One load phase: 16 clients asking in a loop through /api/ask. */
export interface ServePhase {
  label: string;
  clients: number;
  requests: number;
  seconds: number;
  asksPerSecond: number;
  errors: number;
  firstToken: Stats;
  done: Stats;
  rssBeforeMiB: number;
  rssAfterMiB: number;
}

export interface ServeRow {
  phases: ServePhase[];
  /** Clients that ask and never read: the server must not buffer their answers without bound. */
  slowClients: { clients: number; seconds: number; rssBeforeMiB: number; rssAfterMiB: number };
}

const rssMiB = (pid: number): number => {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) / 1024 : NaN;
};

/** The sample corpus's evaluation questions, asked round-robin. */
function questions(): string[] {
  return fs
    .readFileSync(new URL("../../data/eval/qa.jsonl", import.meta.url), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { question: string }).question);
}

/** One ask: ms to the first token event and to the done event; throws on an error event or status. */
async function askOnce(url: string, question: string): Promise<{ firstTokenMs: number; doneMs: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/api/ask`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ question }) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const decoder = new TextDecoder();
  let text = "";
  let firstTokenMs: number | null = null;
  for await (const chunk of response.body!) {
    text += decoder.decode(chunk, { stream: true });
    if (firstTokenMs === null && text.includes("event: token")) firstTokenMs = performance.now() - started;
    if (text.includes("event: error")) throw new Error("error event");
  }
  if (!text.includes("event: done")) throw new Error("no done event");
  return { firstTokenMs: firstTokenMs ?? performance.now() - started, doneMs: performance.now() - started };
}

/** `clients` loops asking until `until()` says stop. */
async function load(url: string, label: string, pid: number, clients: number, until: (sent: number, elapsedMs: number) => boolean): Promise<ServePhase> {
  const asks = questions();
  const firstToken: number[] = [];
  const done: number[] = [];
  let errors = 0;
  let sent = 0;
  const rssBeforeMiB = rssMiB(pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!until(sent, performance.now() - started)) {
        const question = asks[sent++ % asks.length]!;
        try {
          const r = await askOnce(url, question);
          firstToken.push(r.firstTokenMs);
          done.push(r.doneMs);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    label,
    clients,
    requests: sent,
    seconds,
    asksPerSecond: done.length / seconds,
    errors,
    firstToken: summarize(firstToken),
    done: summarize(done),
    rssBeforeMiB,
    rssAfterMiB: rssMiB(pid),
  };
}

/** Raw sockets that send an ask with many sources and never read the answer. */
async function slowClients(port: number, pid: number, count: number, seconds: number) {
  const rssBeforeMiB = rssMiB(pid);
  const body = JSON.stringify({ question: "How do I configure OAuth2 in the API?", topN: 50 });
  const sockets = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Socket>((resolve) => {
          const socket = net.connect(port, "127.0.0.1", () => {
            socket.pause();
            socket.write(
              `POST /api/ask HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
            );
            resolve(socket);
          });
        }),
    ),
  );
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rssAfterMiB = rssMiB(pid);
  for (const socket of sockets) socket.destroy();
  return { clients: count, seconds, rssBeforeMiB, rssAfterMiB };
}

/** `rerank-rag serve` on the offline stack, loaded by 16 clients for 60 s, then for 2,000 requests, then by clients that never read. */
export async function serveCase(): Promise<ServeRow> {
  await sampleCandidates(1); // makes sure the sample index exists
  const child = spawn(process.execPath, [CLI, "serve", "--index", SAMPLE_INDEX, "--port", "0"], { env: OFFLINE_ASK_ENV, stdio: ["ignore", "ignore", "pipe"] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
        const found = /serving on (http:\/\/[\d.]+:\d+)/.exec(stderr);
        if (found) resolve(found[1]!);
      });
      child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
    });
    const pid = child.pid!;
    // Warm-up: first calls load lazily-built parts.
    await load(url, "warm-up", pid, 4, (sent) => sent >= 40);
    const duration = QUICK ? 10_000 : 60_000;
    const total = QUICK ? 400 : 2000;
    const phases = [
      await load(url, `16 clients for ${duration / 1000} s`, pid, 16, (_sent, elapsed) => elapsed >= duration),
      await load(url, `16 clients, ${total} requests`, pid, 16, (sent) => sent >= total),
    ];
    const port = Number(new URL(url).port);
    return { phases, slowClients: await slowClients(port, pid, 32, QUICK ? 5 : 15) };
  } finally {
    child.kill("SIGTERM");
  }
}
