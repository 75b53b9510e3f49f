// Shared by the test/reliability-*.test.ts files: run sizes, seeded randomness, figures, process probes.
import fs from "node:fs/promises";
import path from "node:path";
import { onTestFailed } from "vitest";
import { REPO_ROOT } from "./cli.js";

/** `STRESS=1` (npm run test:stress) runs the long randomised parts at full size. */
export const STRESS = process.env.STRESS === "1";

export function stressCount(normal: number, full: number): number {
  return STRESS ? full : normal;
}

/**
 * A seeded PRNG (mulberry32). Unless the test fixes the seed, it is RELIABILITY_SEED or a fresh
 * one, and a failure hook prints it with the command that replays the run (a passing run records
 * it with its figures). Call it inside a test.
 */
export function seededRandom(fixed?: number) {
  const seed = fixed ?? seedFromEnv() ?? Date.now() % 1_000_000_007;
  if (fixed === undefined) onTestFailed(({ task }) => console.error(replayHint(seed, task.file.filepath, task.name)));
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed,
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}

function seedFromEnv(): number | undefined {
  const raw = process.env.RELIABILITY_SEED?.trim();
  if (!raw) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffffffff) {
    throw new Error(`RELIABILITY_SEED must be a whole number from 0 to 4294967295, as printed by a failing run (got "${raw}").`);
  }
  return Number(raw);
}

/** The line a failing randomised test prints: its seed and a shell command that replays it. */
function replayHint(seed: number, file: string, testName: string): string {
  const pattern = testName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const quoted = `'${pattern.replace(/'/g, `'\\''`)}'`;
  return `[reliability] seed ${seed}; replay with: ${STRESS ? "STRESS=1 " : ""}RELIABILITY_SEED=${seed} npx vitest run ${path.relative(REPO_ROOT, file)} -t ${quoted}`;
}

const FIGURES_DIR = path.join(REPO_ROOT, "test", ".tmp", "reliability");

/** Writes what a randomised test did (kills, inputs, faults…) for docs/reliability.md, and prints it. */
export async function recordFigures(name: string, figures: Record<string, unknown>): Promise<void> {
  const body = { name, stress: STRESS, at: new Date().toISOString(), ...figures };
  await fs.mkdir(FIGURES_DIR, { recursive: true });
  await fs.writeFile(path.join(FIGURES_DIR, `${name}.json`), `${JSON.stringify(body, null, 1)}\n`);
  console.log(`[reliability] ${JSON.stringify(body)}`);
}

/** Peak resident memory of a process in bytes (VmHWM), or null once it is gone. */
export async function peakRss(pid: number): Promise<number | null> {
  const status = await fs.readFile(`/proc/${pid}/status`, "utf8").catch(() => null);
  const kb = status && /VmHWM:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : null;
}

/** Peak RSS reported by `/usr/bin/time -v` in its stderr, in bytes. */
export function timeVPeakRss(stderr: string): number | null {
  const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1];
  return kb ? Number(kb) * 1024 : null;
}

export interface SocketsOf {
  /** TCP sockets in LISTEN state and bound UDP sockets, as "proto local-address:port". */
  listening: string[];
  /** Other inet sockets (e.g. client connections), to show the probe sees sockets at all. */
  other: number;
}

/**
 * The inet sockets a process holds, from /proc/<pid>/fd (socket inodes) joined with
 * /proc/net/{tcp,tcp6,udp,udp6}. Null when /proc is unavailable (not Linux).
 */
export async function socketsOf(pid: number): Promise<SocketsOf | null> {
  const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => null);
  if (!fds) return null;
  const inodes = new Set<string>();
  for (const fd of fds) {
    const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const result: SocketsOf = { listening: [], other: 0 };
  for (const proto of ["tcp", "tcp6", "udp", "udp6"]) {
    const table = await fs.readFile(`/proc/${pid}/net/${proto}`, "utf8").catch(() => "");
    for (const row of table.split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length < 10 || !inodes.has(cols[9]!)) continue;
      const state = cols[3];
      // TCP 0A = LISTEN; an unconnected UDP socket (07) with a local port is bound, i.e. listening.
      if ((proto.startsWith("tcp") && state === "0A") || (proto.startsWith("udp") && state === "07")) result.listening.push(`${proto} ${cols[1]}`);
      else result.other++;
    }
  }
  return result;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
