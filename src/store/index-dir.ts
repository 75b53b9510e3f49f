import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import lockfile from "proper-lockfile";
import { IndexError, RagError } from "../errors/index.js";
import { manifestSchema, type Manifest } from "./manifest.js";

const CURRENT = "CURRENT";
const SNAPSHOTS = "snapshots";
const TEMP_PREFIX = ".tmp-";
export const MANIFEST_FILE = "manifest.json";

/**
 * An index directory holds immutable snapshots and a CURRENT file naming the live one.
 * Writers build a snapshot in a temp dir, rename it into place, then atomically replace
 * CURRENT; a crash at any point leaves the previous snapshot live and loadable, and a
 * reader that resolved CURRENT keeps a consistent snapshot while a writer works.
 */
export class IndexDir {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  private get snapshotsDir(): string {
    return path.join(this.root, SNAPSHOTS);
  }

  /** The live snapshot's directory, or null when nothing was ever ingested here. */
  async currentSnapshot(): Promise<string | null> {
    let name: string;
    try {
      name = (await fs.readFile(path.join(this.root, CURRENT), "utf8")).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new IndexError(`Cannot read ${path.join(this.root, CURRENT)}: ${(error as Error).message}`, { cause: error });
    }
    if (!/^snapshot-[\w-]+$/.test(name)) {
      throw new IndexError(`${path.join(this.root, CURRENT)} is corrupt (it names "${name.slice(0, 60)}").`, {
        hint: `Delete ${this.root} and run \`rerank-rag ingest\` again.`,
      });
    }
    return path.join(this.snapshotsDir, name);
  }

  /** The live snapshot and its manifest; a clear error when there is none or it is damaged. */
  async openCurrent(): Promise<{ snapshot: string; manifest: Manifest }> {
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
   * A second writer waits (saying so once) up to `waitMs`, then fails clearly.
   */
  async withWriteLock<T>(fn: () => Promise<T>, { waitMs = 120_000, onWait }: { waitMs?: number; onWait?: () => void } = {}): Promise<T> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    const options = { lockfilePath: path.join(this.root, ".lock"), stale: 15_000, realpath: false };
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.root, options);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") throw error;
      onWait?.();
      const retries = Math.max(1, Math.ceil(waitMs / 500));
      try {
        release = await lockfile.lock(this.root, { ...options, retries: { retries, factor: 1, minTimeout: 500, maxTimeout: 500 } });
      } catch (waitError) {
        throw new RagError(`Another ingest is still writing the index at ${this.root}.`, {
          cause: waitError,
          hint: "Wait for it to finish and run this command again.",
        });
      }
    }
    try {
      await this.removeStaleTemps();
      return await fn();
    } finally {
      await release();
    }
  }

  /**
   * Writes a new snapshot with `write(dir)` and makes it live atomically. Call inside
   * withWriteLock. Old snapshots beyond the previous one are removed afterwards.
   */
  async commitSnapshot(write: (dir: string) => Promise<void>): Promise<string> {
    await fs.mkdir(this.snapshotsDir, { recursive: true, mode: 0o700 });
    const name = `snapshot-${Date.now().toString(36)}-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
    const temp = path.join(this.snapshotsDir, TEMP_PREFIX + name);
    await fs.mkdir(temp, { mode: 0o700 });
    try {
      await write(temp);
      await syncFilesPrivately(temp);
      await fs.rename(temp, path.join(this.snapshotsDir, name));
      const pointer = path.join(this.root, `${CURRENT}${TEMP_PREFIX}${process.pid}`);
      await fs.writeFile(pointer, `${name}\n`, { mode: 0o600, flush: true });
      await fs.rename(pointer, path.join(this.root, CURRENT));
    } catch (error) {
      await fs.rm(temp, { recursive: true, force: true });
      throw error;
    }
    await this.pruneSnapshots(name);
    return path.join(this.snapshotsDir, name);
  }

  /** Temp dirs left by killed writers; only safe to remove while holding the lock. */
  private async removeStaleTemps(): Promise<void> {
    const entries = await fs.readdir(this.snapshotsDir).catch(() => [] as string[]);
    await Promise.all(
      entries.filter((e) => e.startsWith(TEMP_PREFIX)).map((e) => fs.rm(path.join(this.snapshotsDir, e), { recursive: true, force: true })),
    );
    const rootEntries = await fs.readdir(this.root);
    await Promise.all(rootEntries.filter((e) => e.startsWith(CURRENT + TEMP_PREFIX)).map((e) => fs.rm(path.join(this.root, e), { force: true })));
  }

  /** Keeps the live snapshot and the one before it (a reader may still be loading it). */
  private async pruneSnapshots(live: string): Promise<void> {
    const names = (await fs.readdir(this.snapshotsDir)).filter((e) => e.startsWith("snapshot-") && e !== live).sort();
    const stale = names.slice(0, -1);
    await Promise.all(stale.map((e) => fs.rm(path.join(this.snapshotsDir, e), { recursive: true, force: true })));
  }
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
