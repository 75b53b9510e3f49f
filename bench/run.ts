// `npm run bench`: every case in its own process (clean memory figures), results side by side
// as ratios, written to bench/results.json and docs/bench.md (+ an SVG chart).
// `npm run bench -- --case rerank` runs one case; BENCH_QUICK=1 does fewer repetitions;
// `npm run bench -- --report` re-renders the docs from bench/results.json, and
// `--case <name> --save` replaces one case's figures there.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { QUICK, REPO, machine } from "./harness.js";
import { renderCharts, renderMarkdown, type Results } from "./report.js";

const RESULTS = path.join(REPO, "bench", "results.json");

const CASES: Record<string, () => Promise<unknown>> = {
  matmul: async () => (await import("./cases/matmul-peak.js")).matmulPeak(),
  rerank: async () => {
    const { rerankCase, ensureMiniLm } = await import("./cases/rerank.js");
    const { sampleCandidates, fixedLengthPassages, SAMPLE_QUESTION } = await import("./cases/corpus.js");
    ensureMiniLm();
    const real = await sampleCandidates(100);
    const words = real.join(" ").split(/\s+/);
    const cases = [await rerankCase(SAMPLE_QUESTION, real.slice(0, 50), 512, "sample corpus")];
    const fixed = ["one pair per pass", "one padded batch", "ours", "ours q8"] as const;
    for (const tokens of QUICK ? [256] : [128, 256, 512]) {
      cases.push(await rerankCase(SAMPLE_QUESTION, fixedLengthPassages(50, words), tokens, `fixed ${tokens}`, fixed, tokens === 512 ? 2 : undefined));
    }
    for (const candidates of [10, 20, 100])
      cases.push(await rerankCase(SAMPLE_QUESTION, real.slice(0, candidates), 512, "sample corpus", ["ours", "ours q8"], QUICK ? 1 : 2));
    return cases;
  },
  "rerank-tuning": async () => {
    const { tuningSweep, ensureMiniLm } = await import("./cases/rerank.js");
    const { sampleCandidates, fixedLengthPassages, SAMPLE_QUESTION } = await import("./cases/corpus.js");
    ensureMiniLm();
    const words = (await sampleCandidates(50)).join(" ").split(/\s+/);
    return tuningSweep(SAMPLE_QUESTION, fixedLengthPassages(50, words), 128);
  },
  "hnsw-10k": async () => {
    const { hnswCase } = await import("./cases/hnsw.js");
    return [await hnswCase(10_000, "random"), await hnswCase(10_000, "structured")];
  },
  "hnsw-100k": async () => {
    const { hnswCase } = await import("./cases/hnsw.js");
    // One 100k build fits the time budget (~4 min single-threaded). M 32 / efConstruction 100
    // reaches a given recall at a lower efSearch than the defaults at this size; random vectors
    // only confirm the worst case already seen at 10k.
    return QUICK ? [] : [await hnswCase(100_000, "structured", { M: 32, efConstruction: 100 })];
  },
  // Not in the full run (its build alone takes about 8 minutes): `npm run bench -- --case hnsw-100k-random --save`.
  "hnsw-100k-random": async () => {
    const { hnswCase } = await import("./cases/hnsw.js");
    return [await hnswCase(100_000, "random", { M: 32, efConstruction: 100 })];
  },
  "ingest-offline": async () => (await import("./cases/ingest.js")).ingestCase("offline embedder, SciFact", 5183, { RAG_EMBEDDINGS: "offline" }),
  "ingest-minilm": async () => {
    const { ensureMiniLm, BENCH_MODELS, MINILM_ID } = await import("./cases/rerank.js");
    ensureMiniLm();
    const docs = QUICK ? 50 : 100;
    return (await import("./cases/ingest.js")).ingestCase(`MiniLM-shaped embedder, SciFact first ${docs}`, docs, {
      RAG_EMBEDDINGS: "transformers",
      RAG_EMBEDDINGS_MODEL: MINILM_ID,
      RAG_MODELS_DIR: BENCH_MODELS,
    });
  },
  "ask-warm": async () => {
    const { askCorpora, askWarm } = await import("./cases/ask.js");
    const out = [];
    for (const { corpus, index, question } of await askCorpora()) out.push({ corpus, ...(await askWarm(index, question)) });
    return out;
  },
  "ask-cold": async () => {
    const { askCorpora, askCold, withoutSavedKeywords } = await import("./cases/ask.js");
    const out = [];
    for (const { corpus, index, question } of await askCorpora()) {
      out.push({ corpus, ...(await askCold(index, question)) });
      if (!corpus.startsWith("SciFact")) continue;
      const old = await withoutSavedKeywords(index);
      try {
        out.push({ corpus: `${corpus}, keyword index rebuilt at load (as before it was saved)`, ...(await askCold(old.index, question, QUICK ? 2 : 5)) });
      } finally {
        old.dispose();
      }
    }
    return out;
  },
  startup: async () => (await import("./cases/startup.js")).startupCase(),
  serve: async () => (await import("./cases/serve.js")).serveCase(),
  // Postgres + pgvector against the local index (needs `npm run db:start`); opt-in, the 100k ingest alone takes many minutes.
  "pgvector-scifact": async () => (await import("./cases/pgvector.js")).pgvectorCase("scifact"),
  "pgvector-100k": async () => (await import("./cases/pgvector.js")).pgvectorCase("100k"),
  llm: async () => (await import("./cases/llm.js")).llmCase(),
  peer: async () => {
    (await import("./cases/rerank.js")).ensureMiniLm();
    return (await import("./cases/peer.js")).peerComparison();
  },
};

/** Cases too long for the full run's 15-minute budget; run alone with --case <name> --save. */
const OPT_IN = new Set(["hnsw-100k-random", "pgvector-scifact", "pgvector-100k"]);

const only = process.argv.indexOf("--case");
if (process.argv.includes("--report")) {
  // Re-renders the docs from the last run's figures, e.g. after a change to the report's text.
  writeReport(JSON.parse(fs.readFileSync(RESULTS, "utf8")));
} else if (only >= 0) {
  const name = process.argv[only + 1]!;
  const run = CASES[name];
  if (!run) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(", ")}`);
  const output = await run();
  process.stdout.write(`${JSON.stringify(output)}\n`);
  if (process.argv.includes("--save")) {
    // Replaces this case in the last full run's figures, noting when, and re-renders the docs.
    const results = JSON.parse(fs.readFileSync(RESULTS, "utf8"));
    results[name] = output;
    results.rerun = { ...results.rerun, [name]: new Date().toISOString() };
    fs.writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
    writeReport(results);
  }
} else {
  const results: Record<string, unknown> = { machine: machine(), quick: QUICK };
  for (const name of Object.keys(CASES).filter((n) => !OPT_IN.has(n))) {
    process.stderr.write(`bench: ${name}…\n`);
    const started = performance.now();
    const out = execFileSync(process.execPath, ["--import", "tsx", path.join(REPO, "bench", "run.ts"), "--case", name], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 << 20,
    });
    results[name] = JSON.parse(out.trim().split("\n").at(-1)!);
    process.stderr.write(`bench: ${name} done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
  }
  fs.writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeReport(results);
}

function writeReport(merged: Record<string, unknown>): void {
  // The cases' outputs under their names: the shape the report reads.
  const results = merged as Results;
  for (const [file, svg] of Object.entries(renderCharts(results))) fs.writeFileSync(path.join(REPO, "docs", file), svg);
  fs.writeFileSync(path.join(REPO, "docs", "bench.md"), renderMarkdown(results));
  process.stderr.write("bench: wrote docs/bench.md and its charts (docs/bench-*.svg) from bench/results.json\n");
}
