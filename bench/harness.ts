import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { spawn } from "node:child_process";

export interface Stats {
  runs: number;
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  min: number;
}

/** Nearest-rank percentiles of milliseconds. */
export function summarize(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return {
    runs: samples.length,
    p50: at(50),
    p95: at(95),
    p99: at(99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
    min: sorted[0]!,
  };
}

/** Runs `fn` `warmup` times unmeasured, then `runs` times measured (ms each). */
export async function measure(fn: () => unknown, { warmup = 1, runs = 5 } = {}): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    samples.push(performance.now() - started);
  }
  return summarize(samples);
}

/**
 * Side by side: one warm-up each, then rounds that run every variant once in turn, so a
 * slow spell of the machine lands on all of them rather than on one. A run that resolves to a
 * number reports its own milliseconds (e.g. to a process's first output byte).
 */
export async function measureInterleaved<T extends string>(
  variants: Record<T, { warmup: () => unknown; run: () => unknown }>,
  rounds: number,
): Promise<Record<T, Stats>> {
  const names = Object.keys(variants) as T[];
  for (const name of names) await variants[name].warmup();
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<T, number[]>;
  for (let r = 0; r < rounds; r++) {
    for (const name of names) {
      const started = performance.now();
      const own = await variants[name].run();
      samples[name].push(typeof own === "number" ? own : performance.now() - started);
    }
  }
  return Object.fromEntries(names.map((n) => [n, summarize(samples[n])])) as Record<T, Stats>;
}

export function machine() {
  const require = createRequire(import.meta.url);
  const ort = require("onnxruntime-node/package.json") as { version: string };
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    simd: simdFlags(),
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ort.version,
    date: new Date().toISOString(),
  };
}

/** The vector instruction sets that decide fp32 and int8 matmul speed (Linux /proc/cpuinfo). */
function simdFlags(): string[] {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.trim().split(/\s+/) ?? []);
  return ["avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"].filter((f) => flags.has(f));
}

/** Peak resident set of this process so far, in MiB (Linux VmHWM). */
export function peakRssMiB(): number {
  const status = fs.readFileSync("/proc/self/status", "utf8");
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/** Whether a quick run was asked for (fewer repetitions, smaller cases). */
export const QUICK = process.env.BENCH_QUICK === "1";

/** One new process: milliseconds from spawn to its first non-blank stdout byte, and to its exit. */
export function timedProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ firstByteMs: number; totalMs: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstByteMs = 0;
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "ignore"] });
    child.stdout.on("data", (chunk: Buffer) => {
      if (!firstByteMs && chunk.toString().trim()) firstByteMs = performance.now() - started;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve({ firstByteMs, totalMs: performance.now() - started }) : reject(new Error(`node ${args.join(" ")} exited ${code}`)),
    );
  });
}
