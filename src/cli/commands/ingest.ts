import path from "node:path";
import cliProgress from "cli-progress";
import type { RagConfig } from "../../config/index.js";
import { ingest, type IngestEvent, type IngestReport } from "../../ingest/ingest.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { dim, note, printable, yellow } from "../output.js";

export type IngestFlags = CommonFlags & { rebuild?: boolean };

/** `rerank-rag ingest <paths…>` */
export async function runIngest(paths: string[], flags: IngestFlags): Promise<void> {
  const config = configFromFlags(flags);
  const report = await ingestWithProgress(paths, config, flags.rebuild);
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

/** Ingest with a progress bar on a terminal, and a summary on stderr. Shared with `demo`. */
export async function ingestWithProgress(paths: readonly string[], config: RagConfig, rebuild = false): Promise<IngestReport> {
  const started = performance.now();
  const bars = new ProgressBars();
  let report: IngestReport;
  const pgvector = config.RAG_STORE === "pgvector";
  try {
    report = await ingest({
      paths,
      config,
      rebuild,
      onEvent: (event) => bars.update(event),
      onWait: () => note(yellow(`Another ingest is writing ${pgvector ? `table ${config.RAG_PG_TABLE}` : config.RAG_INDEX_DIR}; waiting for it to finish…`)),
    });
  } finally {
    bars.stop();
  }
  printSummary(report, (performance.now() - started) / 1000);
  return report;
}

class ProgressBars {
  private bar: cliProgress.SingleBar | null = null;
  private phase: IngestEvent["phase"] | null = null;
  private started = 0;

  update(event: IngestEvent): void {
    if (event.phase !== this.phase) {
      this.stop();
      this.phase = event.phase;
      // cli-progress draws nothing when stderr is not a terminal (CI logs, pipes): a long ingest
      // would look hung, so say once what each phase is doing instead.
      if (!process.stderr.isTTY) note(phaseLine(event));
      if (event.phase === "save") return;
      const format =
        event.phase === "read"
          ? "Reading   |{bar}| {value}/{total} files | ETA {eta_formatted}"
          : "Embedding |{bar}| {value}/{total} chunks from {files} files | {speed} chunks/s | ETA {eta_formatted}";
      this.bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true, etaBuffer: 20 }, cliProgress.Presets.shades_classic);
      this.bar.start(event.total, 0, { files: "files" in event ? event.files : 0, speed: "–" });
      this.started = performance.now();
    }
    if (this.bar && event.phase !== "save") {
      const seconds = (performance.now() - this.started) / 1000;
      this.bar.update(event.done, { speed: seconds > 0 ? Math.round(event.done / seconds) : "–" });
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = null;
  }
}

function phaseLine(event: IngestEvent): string {
  switch (event.phase) {
    case "read":
      return `Reading ${event.total} files…`;
    case "embed":
      return `Embedding ${event.total} chunks from ${event.files} files…`;
    case "save":
      return "Saving the index…";
  }
}

/** A path under the current folder as a relative one, on one line whatever characters its name holds. */
function display(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return printable(relative && !relative.startsWith("..") ? relative : file);
}

function where(report: IngestReport): string {
  return report.store === "pgvector" ? `pgvector ${report.location}` : display(report.location);
}

/** The skipped-file count by reason, e.g. "Skipped 3 files: 2 unsupported file type, 1 cannot read". */
export function skippedLine(skipped: IngestReport["skipped"]): string {
  if (skipped.length === 0) return "Skipped 0 files.";
  const byReason = new Map<string, number>();
  // A reason's kind is its text before any detail in parentheses or after a semicolon.
  for (const { reason } of skipped) {
    const kind = reason.split(/ \(|;/)[0]!.trim();
    byReason.set(kind, (byReason.get(kind) ?? 0) + 1);
  }
  const parts = [...byReason].sort((a, b) => b[1] - a[1]).map(([kind, n]) => `${n} ${printable(kind)}`);
  return `Skipped ${skipped.length} file${skipped.length === 1 ? "" : "s"}: ${parts.join(", ")}.`;
}

/** Chunks whose text is stored from another chunk, e.g. "2 duplicate chunks dropped (their text is stored once)". */
export function duplicatesLine(count: number): string {
  return `${count} duplicate chunk${count === 1 ? "" : "s"} dropped (their text is stored once).`;
}

function printSummary(report: IngestReport, seconds: number): void {
  // One line each: a reason can quote the file (a parser's message), a warning a path.
  for (const skipped of report.skipped) note(yellow(`skipped ${display(skipped.path)}: ${printable(skipped.reason)}`));
  for (const warning of report.warnings) note(yellow(`warning ${printable(warning)}`));
  if (report.ignored) note(dim(`${report.ignored} files or folders ignored (.ragignore, .gitignore, --exclude)`));
  note(dim(skippedLine(report.skipped)));
  const reread = report.reextracted.length
    ? ` (${report.reextracted.length} of them unchanged on disk, read again: this version extracts text differently)`
    : "";
  const counts = `${report.added.length} new, ${report.changed.length} changed${reread}, ${report.removed.length} removed, ${report.unchanged} unchanged`;
  if (!report.written) {
    note(`Index is up to date (${counts}); nothing to write. ${dim(`${report.chunkCount} chunks in ${where(report)}`)}`);
    return;
  }
  const refit = report.refitted ? ", offline embedder fitted on the corpus" : "";
  note(
    `Indexed ${counts} → ${report.chunkCount} chunks (${report.embeddedChunks} embedded${refit}) with embeddings=${report.embedder} (${report.dimensions}-d) in ${seconds.toFixed(1)} s`,
  );
  if (report.duplicateChunks > 0) note(dim(duplicatesLine(report.duplicateChunks)));
  note(dim(`index: ${where(report)}`));
}
