// Time to first token with and without opening the LLM's connection while the re-ranker works,
// against the local OpenAI-compatible test server with a remote server's connection set-up and
// prefill (`tsx bench/overlap.ts [runs=9]`). The re-ranker is a fixed wait, so the figures measure
// the overlap, not this machine's load; every run uses a fresh server (a fresh connection).
import { percentile } from "../src/eval/metrics.js";
import { runOverlap } from "../test/helpers/overlap.js";

const runs = Number(process.argv[2] ?? 9);
// TCP + TLS 1.3 to a server ~40 ms away is 2–3 round trips; prefill of a ~2,000-token prompt.
const timing = { connectionSetupMs: 120, prefillMs: 150 };
for (const rerankMs of [50, 300, 2000]) {
  const ttft: Record<"without" | "with", number[]> = { without: [], with: [] };
  const answers = new Set<string>();
  for (let i = 0; i < runs; i++) {
    for (const mode of ["without", "with"] as const) {
      const run = await runOverlap({ warmUp: mode === "with", rerankMs, timing });
      ttft[mode].push(run.ttftMs);
      answers.add(run.answer);
    }
  }
  const [without, overlapped] = [percentile(ttft.without, 50), percentile(ttft.with, 50)];
  console.log(
    `re-ranker ${rerankMs} ms, set-up ${timing.connectionSetupMs} ms, prefill ${timing.prefillMs} ms: TTFT p50 ${without.toFixed(0)} ms without overlap, ${overlapped.toFixed(0)} ms with (ratio ${(overlapped / without).toFixed(2)}, −${(without - overlapped).toFixed(0)} ms); answers byte-identical: ${answers.size === 1}`,
  );
}
