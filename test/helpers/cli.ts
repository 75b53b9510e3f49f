import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The built CLI, exactly what `npx rerank-rag` runs (`npm test` builds first). */
export const CLI = path.join(REPO_ROOT, "dist", "bin", "rerank-rag.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no provider keys from the machine, no models dir, no colour. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", RAG_MODELS_DIR: "/nonexistent/rerank-rag-models" };
  return { ...env, ...extra };
}

export function runCli(args: string[], { cwd = REPO_ROOT, env = cleanEnv(), timeoutMs = 60_000 } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`rerank-rag ${args.join(" ")} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface CliRun extends CliResult {
  signal: NodeJS.Signals | null;
  /** Wall-clock time from spawn to exit. */
  ms: number;
}

/**
 * Starts the CLI without waiting: for tests that kill it, watch it, or run several at once.
 * `lines` records each stderr line with the time it arrived (ms since spawn).
 */
export function startCli(args: string[], { cwd = REPO_ROOT, env = cleanEnv(), timeoutMs = 120_000, prefix = [] as string[] } = {}) {
  const started = Date.now();
  // `prefix` runs the CLI under another command, e.g. ["/usr/bin/time", "-v"].
  const [command, ...rest] = [...prefix, process.execPath, CLI, ...args];
  const child = spawn(command!, rest, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  const lines: Array<{ at: number; line: string }> = [];
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => {
    stderr += d;
    const parts = (partial + String(d)).split("\n");
    partial = parts.pop() ?? "";
    for (const line of parts) lines.push({ at: Date.now() - started, line });
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const done = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
  return { child, lines, done, stderr: () => stderr, stdout: () => stdout };
}
