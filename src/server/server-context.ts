import type { LivePipeline } from "./live-pipeline.js";
import type { ServedPipeline } from "./served-pipeline.js";

/** Limits on what one request may ask for. */
export interface RequestLimits {
  /** Bytes of request body (default 256 KiB); more is refused with 413. */
  maxBodyBytes: number;
  /** Characters of question (default 4,000); more is refused with 413. */
  maxQuestionChars: number;
}

/** What every route reads: the live pipeline, the limits, and the values never to show. */
export interface ServerContext {
  live: LivePipeline<ServedPipeline>;
  limits: RequestLimits;
  secrets: readonly string[];
  log: (line: string) => void;
}
