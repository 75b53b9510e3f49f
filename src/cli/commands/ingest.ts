import os from "node:os";
import path from "node:path";
import cliProgress from "cli-progress";
import type { RagConfig } from "../../config/index.js";
import { IngestAbortedError, NothingToIngestError } from "../../errors/index.js";
import { ingest, type IngestEvent, type IngestReport } from "../../ingest/ingest.js";
import type { SkippedFile } from "../../ingest/loaders.js";
import { skippedByReason } from "../../ingest/skipped.js";
import { configFromFlags, type CommonFlags } from "../flags.js";
import { counted, dim, note, printable, yellow } from "../output.js";

export type IngestFlags = CommonFlags & { rebuild?: boolean };

/** `rerank-rag ingest <paths…>` */
export async function runIngest(paths: string[], flags: IngestFlags): Promise<void> {
  const config = configFromFlags(flags);
  let report: IngestReport;
  try {
    report = await ingestWithProgress(paths, config, flags.rebuild);
  } catch (error) {
    // A script reading --json gets the skipped files as data here too; the exit code stays 2.
    if (flags.json && error instanceof NothingToIngestError) {
      const { message, hint, skipped, ignored, warnings } = error;
      process.stdout.write(`${JSON.stringify({ written: false, error: message, hint, skipped, ignored, warnings }, null, 2)}\n`);
    }
    throw error;
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

/** Ingest with a progress bar on a terminal, and a summary on stderr. Shared with `demo`. */
export async function ingestWithProgress(paths: readonly string[], config: RagConfig, rebuild = false): Promise<IngestReport> {
  const started = performance.now();
  const bars = new ProgressBars();
  let report: IngestReport;
  const pgvector = config.RAG_STORE === "pgvector";
  const interrupt = new Interrupt();
  try {
    report = await ingest({
      paths,
      config,
      rebuild,
      signal: interrupt.signal,
      onEvent: (event) => bars.update(event),
      onWait: () => note(yellow(`Another ingest is writing ${pgvector ? `table ${config.RAG_PG_TABLE}` : config.RAG_INDEX_DIR}; waiting for it to finish…`)),
    });
  } catch (error) {
    bars.stop();
    // The error says that nothing was ingested; the lines above it say why, file by file.
    if (error instanceof NothingToIngestError) printSkipped(error.skipped, SKIPPED_LINES_ON_ERROR);
    // Exit as a shell expects of a process its signal stopped: 128 + the signal's number.
    if (error instanceof IngestAbortedError && interrupt.received) {
      throw new IngestAbortedError({ cause: error.cause, exitCode: 128 + os.constants.signals[interrupt.received] });
    }
    throw error;
  } finally {
    bars.stop();
    interrupt.dispose();
  }
  printSummary(report, (performance.now() - started) / 1000);
  return report;
}

/**
 * Ctrl-C (SIGINT) or SIGTERM during an ingest aborts it between steps, so the index is left as it
 * was rather than cut off mid-write. A second signal stops the process at once, as a kill would:
 * the old snapshot or the new one stays live, never a mix, and the next ingest removes what the
 * killed one left unfinished.
 */
class Interrupt {
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  received: "SIGINT" | "SIGTERM" | undefined;
  private readonly onSignal = (signal: "SIGINT" | "SIGTERM") => {
    if (this.received) {
      this.dispose();
      process.kill(process.pid, signal);
      return;
    }
    this.received = signal;
    note(yellow("Stopping; the index stays as it was. Press Ctrl-C again to stop at once."));
    this.controller.abort(new Error(`received ${signal}`));
  };

  constructor() {
    process.on("SIGINT", this.onSignal);
    process.on("SIGTERM", this.onSignal);
  }

  dispose(): void {
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }
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
      return `Reading ${counted(event.total, "file")}…`;
    case "embed":
      return `Embedding ${counted(event.total, "chunk")} from ${counted(event.files, "file")}…`;
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
export function skippedLine(skipped: readonly SkippedFile[]): string {
  if (skipped.length === 0) return "Skipped 0 files.";
  const parts = skippedByReason(skipped).map(([kind, n]) => `${n} ${printable(kind)}`);
  return `Skipped ${counted(skipped.length, "file")}: ${parts.join(", ")}.`;
}

/** Chunks whose text is stored from another chunk, e.g. "2 duplicate chunks dropped (their text is stored once)". */
export function duplicatesLine(count: number): string {
  return `${counted(count, "duplicate chunk")} dropped (their text is stored once).`;
}

/** A folder of thousands of images would bury the error under its lines: past this, only the count by reason. */
const SKIPPED_LINES_ON_ERROR = 20;

/** Each skipped file with its reason (one line each: a reason can quote the file), up to `limit`, then the count by reason. */
function printSkipped(skipped: readonly SkippedFile[], limit = Infinity): void {
  for (const file of skipped.slice(0, limit)) note(yellow(`skipped ${display(file.path)}: ${printable(file.reason)}`));
  if (skipped.length > limit) note(yellow(`… and ${skipped.length - limit} more (--json lists every one)`));
  note(dim(skippedLine(skipped)));
}

function printSummary(report: IngestReport, seconds: number): void {
  printSkipped(report.skipped);
  for (const warning of report.warnings) note(yellow(`warning ${printable(warning)}`));
  if (report.ignored) note(dim(`${report.ignored} files or folders ignored (.ragignore, .gitignore, --exclude)`));
  const reread = report.reextracted.length
    ? ` (${report.reextracted.length} of them unchanged on disk, read again: this version extracts text differently)`
    : "";
  const counts = `${report.added.length} new, ${report.changed.length} changed${reread}, ${report.removed.length} removed, ${report.unchanged} unchanged`;
  if (!report.written) {
    note(`Index is up to date (${counts}); nothing to write. ${dim(`${report.chunkCount} chunks in ${where(report)}`)}`);
    return;
  }
  const refit = report.refitReason
    ? `, offline embedder refitted on the corpus: ${report.refitReason}`
    : report.refitted
      ? ", offline embedder fitted on the corpus"
      : "";
  note(
    `Indexed ${counts} → ${report.chunkCount} chunks (${report.embeddedChunks} embedded${refit}) with embeddings=${report.embedder} (${report.dimensions}-d) in ${seconds.toFixed(1)} s`,
  );
  if (report.duplicateChunks > 0) note(dim(duplicatesLine(report.duplicateChunks)));
  note(dim(`index: ${where(report)}`));
}
