import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { loadConfig, type ConfigOverrides } from "../../src/config/index.js";
import { ingest } from "../../src/ingest/ingest.js";
import { peakRssMiB } from "../harness.js";

const SCIFACT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..", "..", "shared", "datasets", "scifact");

/** Full ingest of the first `docs` SciFact abstracts, then an unchanged re-ingest, with one embedder. */
export async function ingestCase(label: string, docs: number, overrides: ConfigOverrides) {
  if (!fs.existsSync(SCIFACT)) return { label, skipped: `${SCIFACT} is absent` };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-ingest-"));
  try {
    const lines = zlib
      .gunzipSync(fs.readFileSync(path.join(SCIFACT, "corpus.jsonl.gz")))
      .toString("utf8")
      .trim()
      .split("\n")
      .slice(0, docs);
    const corpus = path.join(work, "corpus.jsonl");
    fs.writeFileSync(corpus, lines.join("\n"));
    const config = loadConfig({ RAG_INDEX_DIR: path.join(work, "index"), RAG_CHUNK_SIZE: "4000", ...overrides });
    const started = performance.now();
    const report = await ingest({ paths: [corpus], config });
    const fullSeconds = (performance.now() - started) / 1000;
    const again = performance.now();
    const second = await ingest({ paths: [corpus], config });
    const unchangedSeconds = (performance.now() - again) / 1000;
    return {
      label,
      docs,
      chunks: report.chunkCount,
      fullSeconds,
      chunksPerSecond: report.chunkCount / fullSeconds,
      unchangedSeconds,
      unchangedShare: unchangedSeconds / fullSeconds,
      unchangedWrote: second.written,
      peakRssMiB: peakRssMiB(),
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
