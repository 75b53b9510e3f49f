import crypto from "node:crypto";
import fsCallbacks from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { LockOptions } from "proper-lockfile";
import { IndexError, IngestAbortedError, RagError, UsageError } from "../errors/index.js";
import { indexFsError } from "./fs-errors.js";
import { manifestSchema, type Manifest } from "./manifest.js";
import { findDamage, type Damage } from "./snapshot-checksums.js";

const CURRENT = "CURRENT";
const SNAPSHOTS = "snapshots";
const TEMP_PREFIX = ".tmp-";
const LOCK = ".lock";
/** Inside the lock directory: who holds it, so a crashed holder's lock is taken over at once. */
const LOCK_OWNER = "owner.json";
/** A lock without a live owner on this host is stale once its mtime (refreshed every 5 s) is this old. */
const LOCK_STALE_MS = 15_000;
const LOCK_POLL_MS = 250;
export const MANIFEST_FILE = "manifest.json";
/** Says "this folder is a rerank-rag index": ingest writes and cleans up only where it finds it. */
export const INDEX_MARKER_FILE = "rerank-rag-index.json";
const MARKER = { kind: "rerank-rag-index", markerVersion: 1 } as const;
/** The exact names this code gives snapshots and temp files: clean-up touches nothing else. */
const SNAPSHOT_NAME = /^snapshot-[0-9a-z]+-\d+-[0-9a-f]{6}$/;
const STALE_SNAPSHOT_TEMP = /^\.tmp-snapshot-[0-9a-z]+-\d+-[0-9a-f]{6}$/;
const STALE_POINTER_TEMP = /^CURRENT\.tmp-\d+$/;
const STALE_LOCK_TEMP = /^\.lock\.tmp-(\d+)-[0-9a-f]{6}$/;
const STALE_MARKER_TEMP = /^rerank-rag-index\.json\.tmp-\d+-[0-9a-f]{6}$/;
const MARKER_TEMP_PREFIX = `${INDEX_MARKER_FILE}${TEMP_PREFIX}`;

interface LockOwner {
  pid: number;
  host: string;
}

/**
 * An index directory holds immutable snapshots and a CURRENT file naming the live one.
 * Writers build a snapshot in a temp dir, rename it into place, then atomically replace
 * CURRENT; a crash at any point leaves the previous snapshot live and loadable, and a
 * reader that resolved CURRENT keeps a consistent snapshot while a writer works.
 */
export class IndexDir {
  readonly root: string;
  /** Set when the lock was taken from us (only a writer on another host can); checked before switching CURRENT. */
  private lockLost: Error | null = null;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private get snapshotsDir(): string {
    return path.join(this.root, SNAPSHOTS);
  }

  /** Rethrows a file-system failure in the index path as a sentence naming the folder and the cause. */
  private readonly explainFsError = async (error: unknown): Promise<never> => {
    throw await indexFsError(error, this.root);
  };

  /**
   * CURRENT's identity (inode and change time), one stat and no read: an ingest replaces the
   * file, so a new stamp means CURRENT may name another snapshot. Null when there is none (or it cannot be checked).
   */
  currentStamp(): string | null {
    try {
      const stat = fsCallbacks.statSync(path.join(this.root, CURRENT), { bigint: true, throwIfNoEntry: false });
      return stat ? `${stat.ino}:${stat.ctimeNs}` : null;
    } catch {
      return null; // unreadable: the caller reads CURRENT, which reports why
    }
  }

  /** The live snapshot's directory, or null when nothing was ever ingested here. */
  async currentSnapshot(): Promise<string | null> {
    let name: string;
    try {
      name = (await fs.readFile(path.join(this.root, CURRENT), "utf8")).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      // The same sentence ingest gives for a file in the index path, or for permissions.
      const explained = await indexFsError(error, this.root, "read");
      if (explained !== error) throw explained;
      throw new IndexError(`Cannot read ${path.join(this.root, CURRENT)}: ${(error as Error).message}`, { cause: error });
    }
    if (!/^snapshot-[\w-]+$/.test(name)) {
      throw new IndexError(`${path.join(this.root, CURRENT)} is corrupt (it names "${name.slice(0, 60)}").`, {
        hint: `Delete ${this.root} and run \`rerank-rag ingest\` again.`,
      });
    }
    return path.join(this.snapshotsDir, name);
  }

  /**
   * The live snapshot and its manifest, every file checked against the size and sha256 recorded
   * at ingest before any byte reaches a parser or hnswlib (whose native reader crashes the
   * process on a damaged file); a clear error when there is none or it is damaged.
   */
  async openCurrent(): Promise<{ snapshot: string; manifest: Manifest }> {
    const { snapshot, manifest } = await this.liveManifest();
    const [first] = manifest.checksums ? await findDamage(snapshot, manifest.checksums, { hashes: true }) : [];
    if (first) {
      throw new IndexError(`The index file ${path.join(snapshot, first.file)} is damaged (${first.problem}); run \`rerank-rag ingest --rebuild <paths…>\`.`, {
        hint: `\`rerank-rag ingest --rebuild <paths…>\` rebuilds it from your documents; \`rerank-rag check --index ${this.root}\` lists every damaged file.`,
      });
    }
    return { snapshot, manifest };
  }

  /** Every file of the live snapshot against its recorded size and sha256; `checked` is null for an index written before checksums. */
  async check(): Promise<{ snapshot: string; checked: number | null; damage: Damage[] }> {
    const { snapshot, manifest } = await this.liveManifest();
    if (!manifest.checksums) return { snapshot, checked: null, damage: [] };
    return { snapshot, checked: Object.keys(manifest.checksums).length, damage: await findDamage(snapshot, manifest.checksums, { hashes: true }) };
  }

  private async liveManifest(): Promise<{ snapshot: string; manifest: Manifest }> {
    const snapshot = await this.currentSnapshot();
    if (!snapshot) {
      throw new IndexError(`No index found at ${this.root}.`, {
        hint: "Run `rerank-rag ingest <paths…>` first (or pass --index to point at an existing index).",
      });
    }
    return { snapshot, manifest: await readManifest(snapshot) };
  }

  /**
   * Runs `fn` holding the index's write lock, so two ingests never write at once.
   * A second writer waits (saying so once) up to `waitMs`, then fails clearly. The lock of a
   * writer that died (SIGKILL, crash, power loss) is taken over at once when its owner was a
   * process on this host, and after LOCK_STALE_MS otherwise; a live local owner is never
   * overtaken, however long it blocks its event loop.
   */
  async withWriteLock<T>(
    fn: () => Promise<T>,
    { waitMs = 120_000, onWait, signal }: { waitMs?: number; onWait?: () => void; signal?: AbortSignal } = {},
  ): Promise<T> {
    // Before the lock: even the lock directory is not ours to create in someone else's folder.
    const claimed = await this.claim().catch(this.explainFsError);
    const lockDir = path.join(this.root, LOCK);
    this.lockLost = null;
    // Writers only: a query never loads proper-lockfile (and the graceful-fs it patches fs with).
    const { default: lockfile } = await import("proper-lockfile");
    const options: LockOptions = {
      lockfilePath: lockDir,
      realpath: false,
      // Staleness is judged here (owner liveness), not by proper-lockfile's mtime rule alone.
      stale: 24 * 3600_000,
      update: 5_000,
      fs: lockFs(),
      // proper-lockfile throws from a timer by default, which would crash the process.
      onCompromised: (error) => {
        this.lockLost = error;
      },
    };
    const deadline = Date.now() + waitMs;
    let waited = false;
    let release: () => Promise<void>;
    for (;;) {
      try {
        release = await lockfile.lock(this.root, options);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ELOCKED") await this.explainFsError(error);
      }
      if (await this.breakAbandonedLock(lockDir)) continue;
      if (Date.now() >= deadline) {
        const owner = await readLockOwner(lockDir);
        throw new RagError(`Another ingest${owner ? ` (pid ${owner.pid} on ${owner.host})` : ""} is still writing the index at ${this.root}.`, {
          hint: `Wait for it to finish and run this command again. If no ingest is running (the pid now belongs to another program), remove ${lockDir}.`,
        });
      }
      if (!waited) onWait?.();
      waited = true;
      // An abort (Ctrl-C) ends the wait at once, not at the next poll or when the lock comes free.
      await delay(LOCK_POLL_MS, undefined, { signal }).catch(() => undefined);
      IngestAbortedError.throwIfAborted(signal);
    }
    try {
      await this.removeStaleTemps();
      return await fn();
    } catch (error) {
      if (claimed.marked) await this.unmarkIfEmpty();
      throw error;
    } finally {
      await release().catch(() => undefined);
      if (claimed.created) await this.removeCreatedIfEmpty(claimed.created);
    }
  }

  /**
   * A first ingest failed before any snapshot went live: takes back the marker it wrote (and the
   * empty snapshots folder), so the folder is as the user left it. Runs under the lock.
   */
  private async unmarkIfEmpty(): Promise<void> {
    if ((await this.currentSnapshot().catch(() => "unknown")) !== null) return;
    await fs.rmdir(this.snapshotsDir).catch(() => undefined);
    await fs.rm(path.join(this.root, INDEX_MARKER_FILE), { force: true });
  }

  /** Removes the folders claim() created, deepest first, each only while empty (after the lock is gone). */
  private async removeCreatedIfEmpty(created: string): Promise<void> {
    for (let dir = this.root; dir.startsWith(created); dir = path.dirname(dir)) {
      if (
        !(await fs.rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        return;
    }
  }

  /**
   * Makes sure the root is ours to write: a new or empty folder gets the marker, a folder with
   * the marker is ours, an index made before the marker existed (a CURRENT naming a snapshot
   * with a readable manifest) gets it too. Anything else is someone's folder: refused, untouched.
   * Says what it made: the first folder it created (parents included), and whether it wrote the
   * marker into a folder without an index, so a failed first ingest can take both back.
   */
  private async claim(): Promise<{ created?: string; marked: boolean }> {
    let entries: string[];
    let created: string | undefined;
    try {
      entries = await fs.readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      created = await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
      entries = [];
    }
    // Another ingest may be creating the marker right now: its temp file is not the user's.
    const own = entries.filter((e) => !e.startsWith(MARKER_TEMP_PREFIX));
    if (own.includes(INDEX_MARKER_FILE) && (await this.hasMarker())) return { created, marked: false };
    if (own.length === 0) return { created, marked: await this.writeMarker() };
    if (!own.includes(INDEX_MARKER_FILE) && (await this.isUnmarkedIndex())) {
      await this.writeMarker();
      return { created, marked: false };
    }
    throw new UsageError(`${this.root} is not empty and is not a rerank-rag index (it has no valid ${INDEX_MARKER_FILE}); nothing in it was changed.`, {
      hint: "Choose an empty or new folder for the index (--index or RAG_INDEX_DIR), or move the files out of this one.",
    });
  }

  private async hasMarker(): Promise<boolean> {
    try {
      const marker = JSON.parse(await fs.readFile(path.join(this.root, INDEX_MARKER_FILE), "utf8")) as Partial<typeof MARKER>;
      return marker?.kind === MARKER.kind && typeof marker.markerVersion === "number";
    } catch {
      return false;
    }
  }

  private async isUnmarkedIndex(): Promise<boolean> {
    const snapshot = await this.currentSnapshot().catch(() => null);
    return (
      snapshot !== null &&
      (await readManifest(snapshot).then(
        () => true,
        () => false,
      ))
    );
  }

  /**
   * Written under a temp name and linked into place, so a reader never sees half a marker and the
   * first writer wins. True when this call wrote it.
   */
  private async writeMarker(): Promise<boolean> {
    const marker = path.join(this.root, INDEX_MARKER_FILE);
    const temp = `${marker}${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
    await fs.writeFile(temp, `${JSON.stringify({ ...MARKER, createdAt: new Date().toISOString() })}\n`, { mode: 0o600 });
    try {
      await fs.link(temp, marker);
      return true;
    } catch (error) {
      // EEXIST: another ingest marked it first. ENOENT: that one, holding the lock, cleared our temp as stale.
      if (!(await this.hasMarker())) throw error;
      return false;
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  /**
   * Removes the lock when its holder is gone: a recorded owner on this host whose process no
   * longer exists, or (no record yet, or another host) a lock nobody refreshed for LOCK_STALE_MS.
   */
  private async breakAbandonedLock(lockDir: string): Promise<boolean> {
    const stat = await fs.stat(lockDir).catch(() => null);
    if (!stat) return true; // released meanwhile: try again
    const owner = await readLockOwner(lockDir);
    const abandoned = owner && owner.host === os.hostname() ? !processExists(owner.pid) : Date.now() - stat.mtimeMs > LOCK_STALE_MS;
    if (!abandoned) return false;
    // Re-check right before removing: another waiter may have broken it and locked again meanwhile.
    const again = await fs.stat(lockDir).catch(() => null);
    if (!again || again.ino !== stat.ino || again.mtimeMs !== stat.mtimeMs) return true;
    await fs.rm(lockDir, { recursive: true, force: true });
    return true;
  }

  /**
   * Writes a new snapshot with `write(dir)` and makes it live atomically. Call inside
   * withWriteLock. `write` creates its files owner-only (mode 0600, never through the process
   * umask, which belongs to the host application); the temp dir is 0700, so nothing in it is
   * reachable by others meanwhile, and every file is chmod-ed 0600 again before going live.
   * Every snapshot except the new live one and the one it replaces is removed afterwards.
   */
  async commitSnapshot(write: (dir: string) => Promise<void>): Promise<string> {
    const name = `snapshot-${Date.now().toString(36)}-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
    const temp = path.join(this.snapshotsDir, TEMP_PREFIX + name);
    const final = path.join(this.snapshotsDir, name);
    const previous = await this.currentSnapshot().catch(() => null);
    try {
      await fs.mkdir(this.snapshotsDir, { recursive: true, mode: 0o700 });
      await fs.mkdir(temp, { mode: 0o700 });
      await write(temp);
      await syncFilesPrivately(temp);
      await fs.rename(temp, final);
      await syncDirectory(this.snapshotsDir);
      if (this.lockLost) {
        throw new RagError(`Lost the write lock on ${this.root} while writing (${this.lockLost.message}); the index was not changed.`, {
          hint: "Another ingest took the index over; run this command again when it has finished.",
        });
      }
      const pointer = path.join(this.root, `${CURRENT}${TEMP_PREFIX}${process.pid}`);
      await fs.writeFile(pointer, `${name}\n`, { mode: 0o600, flush: true });
      await fs.rename(pointer, path.join(this.root, CURRENT));
      await syncDirectory(this.root);
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      if ((await this.currentSnapshot().catch(() => null)) !== final) await fs.rm(final, { recursive: true, force: true });
      return this.explainFsError(error);
    }
    await this.pruneSnapshots(name, previous ? path.basename(previous) : null);
    return final;
  }

  /** Temp files left by killed writers, by the exact names we give them; only safe to remove while holding the lock. */
  private async removeStaleTemps(): Promise<void> {
    const entries = await fs.readdir(this.snapshotsDir).catch(() => [] as string[]);
    await Promise.all(entries.filter((e) => STALE_SNAPSHOT_TEMP.test(e)).map((e) => fs.rm(path.join(this.snapshotsDir, e), { recursive: true, force: true })));
    const rootEntries = await fs.readdir(this.root);
    await Promise.all(
      rootEntries.filter((e) => STALE_POINTER_TEMP.test(e) || STALE_MARKER_TEMP.test(e)).map((e) => fs.rm(path.join(this.root, e), { force: true })),
    );
    // Another writer may be preparing its lock right now: only a dead process's temp is stale.
    const deadLockTemps = rootEntries.filter((e) => {
      const pid = STALE_LOCK_TEMP.exec(e)?.[1];
      return pid !== undefined && !processExists(Number(pid));
    });
    await Promise.all(deadLockTemps.map((e) => fs.rm(path.join(this.root, e), { recursive: true, force: true })));
  }

  /**
   * Keeps the live snapshot and the one it replaced (a reader may still be loading it). Anything
   * else goes, including a snapshot a killed writer renamed into place but never made live.
   */
  private async pruneSnapshots(live: string, previous: string | null): Promise<void> {
    const names = (await fs.readdir(this.snapshotsDir)).filter((e) => SNAPSHOT_NAME.test(e) && e !== live && e !== previous);
    await Promise.all(names.map((e) => fs.rm(path.join(this.snapshotsDir, e), { recursive: true, force: true })));
  }
}

/** Whether `dir` holds an index: our marker, or the CURRENT pointer and snapshots of one made before the marker. */
export async function looksLikeIndex(dir: string): Promise<boolean> {
  const exists = (name: string) =>
    fs.access(path.join(dir, name)).then(
      () => true,
      () => false,
    );
  return (await exists(INDEX_MARKER_FILE)) || ((await exists(CURRENT)) && (await exists(SNAPSHOTS)));
}

export async function readManifest(snapshot: string): Promise<Manifest> {
  const file = path.join(snapshot, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, "utf8"));
  } catch (error) {
    throw new IndexError(`The index manifest ${file} is missing or not valid JSON.`, {
      cause: error,
      hint: "The index is damaged; rebuild it with `rerank-rag ingest --rebuild <paths…>`.",
    });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const version = (raw as { formatVersion?: unknown })?.formatVersion;
    throw new IndexError(`The index manifest ${file} is not one this version can read (formatVersion ${JSON.stringify(version)}).`, {
      hint: "Rebuild the index with `rerank-rag ingest --rebuild <paths…>`.",
    });
  }
  return parsed.data;
}

async function syncFilesPrivately(dir: string): Promise<void> {
  for (const entry of await fs.readdir(dir)) {
    const handle = await fs.open(path.join(dir, entry), "r+");
    try {
      await handle.chmod(0o600);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

/** Makes renames inside `dir` durable (power loss), where the platform allows syncing a directory. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.open(dir, "r").catch(() => null);
  if (!handle) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}

/**
 * The file system proper-lockfile takes and releases the lock with. Taking it renames a prepared
 * directory, its owner record already inside, into place; releasing renames it away before
 * removing it. So at no instant does the lock exist without the record of who holds it, and a
 * writer killed at any point leaves either no lock or one its successor takes over at once.
 */
function lockFs(): Record<string, unknown> {
  const owner: LockOwner = { pid: process.pid, host: os.hostname() };
  const tempFor = (lockDir: string) => `${lockDir}${TEMP_PREFIX}${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
  const take = async (lockDir: string) => {
    const temp = tempFor(lockDir);
    try {
      await fs.mkdir(temp, { mode: 0o700 });
      await fs.writeFile(path.join(temp, LOCK_OWNER), JSON.stringify(owner), { mode: 0o600 });
      await fs.rename(temp, lockDir);
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      // Renaming onto a held lock fails as the directory is not empty: to proper-lockfile, "it exists".
      if ((error as NodeJS.ErrnoException).code === "ENOTEMPTY") throw Object.assign(error as Error, { code: "EEXIST" });
      throw error;
    }
  };
  const release = (lockDir: string) => {
    const temp = tempFor(lockDir);
    fsCallbacks.renameSync(lockDir, temp);
    fsCallbacks.rmSync(temp, { recursive: true, force: true });
  };
  return {
    ...fsCallbacks,
    mkdir: (lockDir: string, done: (error: Error | null) => void) => take(lockDir).then(() => done(null), done),
    rmdir: (lockDir: string, done: (error: Error | null) => void) => {
      try {
        release(lockDir);
        done(null);
      } catch (error) {
        done(error as Error);
      }
    },
    // proper-lockfile's exit handler releases held locks synchronously.
    rmdirSync: release,
  };
}

async function readLockOwner(lockDir: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await fs.readFile(path.join(lockDir, LOCK_OWNER), "utf8")) as LockOwner;
    return typeof owner?.pid === "number" && typeof owner.host === "string" ? owner : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
