import { UsageError, type RagErrorOptions } from "./rag-error.js";

export interface NothingToIngestDetails {
  /** Every file or folder passed over, with why: the same entries as `IngestReport.skipped`. */
  skipped: ReadonlyArray<{ path: string; reason: string }>;
  /** Files and folders left out by .ragignore, .gitignore or exclude patterns. */
  ignored: number;
  warnings: readonly string[];
}

/**
 * An ingest found nothing it could add: no supported file under the paths, or every one skipped.
 * The index is left as it was. A usage error (exit 2): the paths or flags have to change, and
 * the skipped files' reasons, carried as data, say how.
 */
export class NothingToIngestError extends UsageError {
  readonly skipped: NothingToIngestDetails["skipped"];
  readonly ignored: number;
  readonly warnings: readonly string[];

  constructor(message: string, details: NothingToIngestDetails, options: RagErrorOptions = {}) {
    super(message, options);
    this.name = "NothingToIngestError";
    this.skipped = details.skipped;
    this.ignored = details.ignored;
    this.warnings = details.warnings;
  }
}
