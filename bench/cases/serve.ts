import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import { summarize, QUICK, type Stats } from "../harness.js";
import { CLI, OFFLINE_ASK_ENV } from "./ask.js";
import { SAMPLE_INDEX, sampleCandidates } from "./corpus.js";

/** One load phase: 16 clients asking in a loop through /api/ask. */
export interface ServePhase {
  label: string;
  /** Server processes (`serve --workers`). */
  workers?: number;
  clients: number;
  requests: number;
  seconds: number;
  asksPerSecond: number;
  errors: number;
  /** The server's CPU time (all its processes) per answered ask. */
  cpuMsPerAsk?: number;
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

/** A process and its descendants (Linux /proc): a `--workers` server is several. */
function processTree(pid: number): number[] {
  const children = fs
    .readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && statFields(Number(entry))[1] === String(pid))
    .map(Number);
  return [pid, ...children.flatMap(processTree)];
}

/** /proc/<pid>/stat's fields after the command (state first); empty for a process gone. */
function statFields(pid: number): string[] {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return [];
  }
}

const rssMiB = (pid: number): number =>
  processTree(pid).reduce((sum, p) => {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${p}/status`, "utf8"));
    return sum + (match ? Number(match[1]) / 1024 : NaN);
  }, 0);

/** User + system CPU ms of a process and its descendants. */
const cpuMs = (pid: number): number =>
  processTree(pid).reduce((sum, p) => {
    const fields = statFields(p);
    return sum + ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * (1000 / CLOCK_TICKS);
  }, 0);
// Linux's USER_HZ: /proc reports CPU time in hundredths of a second.
const CLOCK_TICKS = 100;

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
async function load({ url, pid, workers }: Served, label: string, clients: number, until: (sent: number, elapsedMs: number) => boolean): Promise<ServePhase> {
  const asks = questions();
  const firstToken: number[] = [];
  const done: number[] = [];
  let errors = 0;
  let sent = 0;
  const rssBeforeMiB = rssMiB(pid);
  const cpuBefore = cpuMs(pid);
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
    workers,
    clients,
    requests: sent,
    seconds,
    asksPerSecond: done.length / seconds,
    errors,
    cpuMsPerAsk: (cpuMs(pid) - cpuBefore) / Math.max(1, done.length),
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

interface Served {
  url: string;
  pid: number;
  workers: number;
}

/** `rerank-rag serve` with `workers` processes over the sample index, until `use` is done. */
async function withServer<T>(workers: number, use: (served: Served) => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, [CLI, "serve", "--index", SAMPLE_INDEX, "--port", "0", "--workers", String(workers)], {
    env: OFFLINE_ASK_ENV,
    stdio: ["ignore", "ignore", "pipe"],
  });
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
    const served = { url, pid: child.pid!, workers };
    // Warm-up: first calls load lazily-built parts (in every worker).
    await load(served, "warm-up", 4, (sent) => sent >= 40 * workers);
    return await use(served);
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode === null ? child.once("exit", resolve) : resolve(null)));
  }
}

/**
 * `rerank-rag serve` on the offline stack, loaded by 16 clients for 60 s, then for 2,000
 * requests, then by clients that never read; then `--workers auto` (one process per core) for 60 s.
 */
export async function serveCase(): Promise<ServeRow> {
  await sampleCandidates(1); // makes sure the sample index exists
  const duration = QUICK ? 10_000 : 60_000;
  const total = QUICK ? 400 : 2000;
  const forDuration = (_sent: number, elapsed: number) => elapsed >= duration;
  const single = await withServer(1, async (served) => {
    const phases = [
      await load(served, `16 clients for ${duration / 1000} s`, 16, forDuration),
      await load(served, `16 clients, ${total} requests`, 16, (sent) => sent >= total),
    ];
    const port = Number(new URL(served.url).port);
    return { phases, slowClients: await slowClients(port, served.pid, 32, QUICK ? 5 : 15) };
  });
  const cores = os.availableParallelism();
  const workers = await withServer(cores, (served) => load(served, `16 clients for ${duration / 1000} s, --workers auto (${cores})`, 16, forDuration));
  return { phases: [...single.phases, workers], slowClients: single.slowClients };
}
