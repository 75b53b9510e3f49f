import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { FileChecksum } from "./manifest.js";

const READ_CHUNK = 1 << 20;

/** A snapshot file that is not what ingest wrote. */
export interface Damage {
  file: string;
  problem: string;
}

/** Size and sha256 of every file of a snapshot being written; call it before writing the manifest, which cannot list itself. */
export async function checksumSnapshot(dir: string): Promise<Record<string, FileChecksum>> {
  const checksums: Record<string, FileChecksum> = {};
  for (const file of (await fs.readdir(dir)).sort()) {
    const at = path.join(dir, file);
    checksums[file] = { size: (await fs.stat(at)).size, sha256: await sha256Of(at) };
  }
  return checksums;
}

/**
 * The files of a snapshot that differ from what ingest recorded: missing, another size, or
 * (with `hashes`) other bytes. Every file is checked, so a report can list them all.
 */
export async function findDamage(snapshot: string, checksums: Record<string, FileChecksum>, { hashes }: { hashes: boolean }): Promise<Damage[]> {
  const damage: Damage[] = [];
  // Sizes of all files first: cheap, and catches truncation before any hashing.
  for (const [file, recorded] of Object.entries(checksums)) {
    const problem = await fs.stat(path.join(snapshot, file)).then(
      ({ size }) => (size === recorded.size ? null : `${size} bytes, ${recorded.size} recorded at ingest`),
      (error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? "it is missing" : `it cannot be read (${error.code ?? error.message})`),
    );
    if (problem) damage.push({ file, problem });
  }
  if (!hashes) return damage;
  for (const [file, recorded] of Object.entries(checksums)) {
    if (damage.some((d) => d.file === file)) continue;
    const problem = await sha256Of(path.join(snapshot, file)).then(
      (sha256) => (sha256 === recorded.sha256 ? null : "its checksum differs from the one recorded at ingest"),
      (error: NodeJS.ErrnoException) => `it cannot be read (${error.code ?? error.message})`,
    );
    if (problem) damage.push({ file, problem });
  }
  return damage;
}

/** A file's sha256, read in bounded chunks (an index file can be hundreds of MB). */
async function sha256Of(file: string): Promise<string> {
  const handle = await fs.open(file, "r");
  try {
    const hash = crypto.createHash("sha256");
    const buffer = Buffer.allocUnsafe(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) return hash.digest("hex");
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}
