import path from "node:path";
import type { Pipeline } from "../pipeline/create-pipeline.js";
import { IndexDir } from "../store/index-dir.js";

/** A pipeline lent to one request: use it, then `release()` (the last user out closes a retired one). */
export interface PipelineLease<P extends Pipeline = Pipeline> {
  pipeline: P;
  release(): void;
}

interface Held<P extends Pipeline> {
  pipeline: P;
  users: number;
  retired: boolean;
}

/**
 * The pipeline a server answers with, following the index's live snapshot. Each request leases
 * the current pipeline for its whole run; when an ingest (any process) moves CURRENT, the next
 * lease opens the new snapshot and later requests use it, while requests in flight finish on the
 * old one, which is closed when the last of them releases it. A request never mixes snapshots.
 */
export class LivePipeline<P extends Pipeline = Pipeline> {
  private held: Held<P>;
  private opening: Promise<Held<P>> | null = null;
  private readonly dir: IndexDir | null;
  private closed = false;
  /** A snapshot that failed to open: not tried again until CURRENT moves on. */
  private failed: string | null = null;
  /** CURRENT's stamp when it last named the held (or the failed) snapshot: while it stays, CURRENT is not read again. */
  private checked: string | null = null;

  /** `reopen` builds a pipeline on the index's current snapshot; without it the pipeline never changes. */
  constructor(
    pipeline: P,
    private readonly reopen?: () => Promise<P>,
    private readonly onError: (error: unknown) => void = () => {},
  ) {
    this.held = { pipeline, users: 0, retired: false };
    this.dir = reopen && pipeline.store === "hnsw" ? new IndexDir(pipeline.index.root) : null;
  }

  /** The current pipeline, first switching to a newer snapshot if an ingest made one live. */
  async acquire(): Promise<PipelineLease<P>> {
    if (this.closed) throw new Error("The server is shutting down.");
    const held = await this.current();
    held.users++;
    let released = false;
    return {
      pipeline: held.pipeline,
      release: () => {
        if (released) return;
        released = true;
        held.users--;
        this.closeIfDone(held);
      },
    };
  }

  /** The snapshot id (its folder name) a pipeline answers from; null for stores without snapshots. */
  static snapshotOf(pipeline: Pipeline): string | null {
    return pipeline.store === "hnsw" ? path.basename(pipeline.index.snapshot) : null;
  }

  /** Stops lending; closes the current pipeline once requests in flight are done. */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    this.held.retired = true;
    this.closeIfDone(this.held);
  }

  private async current(): Promise<Held<P>> {
    if (!this.dir || !this.reopen) return this.held;
    if (this.opening) return this.opening;
    // A stat per request, not a read: CURRENT's contents are read only when the file was replaced.
    const stamp = this.dir.currentStamp();
    if (stamp !== null && stamp === this.checked) return this.held;
    const live = await this.dir.currentSnapshot().catch(() => null);
    if (!live || live === this.failed || this.held.pipeline.store !== "hnsw" || path.resolve(live) === path.resolve(this.held.pipeline.index.snapshot)) {
      if (live) this.checked = stamp;
      return this.held;
    }
    // One open per change, shared by the requests that arrive meanwhile; they wait rather than mix.
    this.opening = this.reopen().then(
      (pipeline) => {
        const old = this.held;
        this.held = { pipeline, users: 0, retired: false };
        this.checked = stamp;
        old.retired = true;
        this.closeIfDone(old);
        return this.held;
      },
      (error: unknown) => {
        // A broken new snapshot must not take the server down: keep answering from the one that works.
        this.failed = live;
        this.onError(error);
        return this.held;
      },
    );
    try {
      return await this.opening;
    } finally {
      this.opening = null;
    }
  }

  private closeIfDone(held: Held<P>): void {
    if (held.retired && held.users === 0) held.pipeline.close().catch(this.onError);
  }
}
