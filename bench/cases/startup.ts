import path from "node:path";
import { QUICK, measureInterleaved, timedProcess } from "../harness.js";
import { CLI, OFFLINE_ASK_ENV } from "./ask.js";
import { SAMPLE_INDEX, SAMPLE_QUESTION, sampleCandidates } from "./corpus.js";

const SOURCE_CLI = path.join(path.dirname(CLI), "..", "src", "cli", "bin.js");

/** Each start, measured to the process's exit, or (ask) to its first answer byte. */
const VARIANTS = {
  // The floor: Node itself starting and exiting on this machine at this moment.
  "node -e 0": { args: ["-e", "0"], until: "exit" },
  "rerank-rag --version": { args: [CLI, "--version"], until: "exit" },
  "rerank-rag --help": { args: [CLI, "--help"], until: "exit" },
  "rerank-rag ask, sample corpus": { args: [CLI, "ask", SAMPLE_QUESTION, "--index", SAMPLE_INDEX], until: "first answer byte" },
  // The same command from the compiled modules, unbundled: what the bundle saves.
  "ask from dist/src (unbundled)": { args: [SOURCE_CLI, "ask", SAMPLE_QUESTION, "--index", SAMPLE_INDEX], until: "first answer byte" },
} as const;

type Variant = keyof typeof VARIANTS;

/** Cold starts side by side: a new process per run, interleaved round by round (warm disk cache). */
export async function startupCase(rounds = QUICK ? 5 : 20) {
  await sampleCandidates(1); // makes sure the sample index exists
  const run = async (name: Variant) => {
    const { args, until } = VARIANTS[name];
    const times = await timedProcess([...args], OFFLINE_ASK_ENV);
    return until === "exit" ? times.totalMs : times.firstByteMs;
  };
  const runs = Object.fromEntries(
    Object.keys(VARIANTS).map((name) => [name, { warmup: () => run(name as Variant), run: () => run(name as Variant) }]),
  ) as Record<Variant, { warmup: () => Promise<number>; run: () => Promise<number> }>;
  const stats = await measureInterleaved(runs, rounds);
  return (Object.keys(VARIANTS) as Variant[]).map((variant) => ({ variant, until: VARIANTS[variant].until, stats: stats[variant] }));
}
