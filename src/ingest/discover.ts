import fs from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors/index.js";
import { looksLikeIndex } from "../store/index-dir.js";
import { SUPPORTED_EXTENSIONS, type SkippedFile } from "./loaders.js";

const SUPPORTED = new Set<string>(SUPPORTED_EXTENSIONS);
const IGNORED_DIRS = new Set(["node_modules", ".git", ".hg", ".svn", ".rerank-rag"]);

export interface Discovery {
  /** Absolute roots as given (files or directories). */
  roots: string[];
  /** Supported files, absolute, sorted. */
  files: string[];
  skipped: SkippedFile[];
}

/**
 * Finds the files to ingest under the given paths. Hidden entries and dependency
 * folders are passed over; unsupported files are reported; symlink loops are cut.
 */
export async function discoverFiles(paths: readonly string[], { indexDir }: { indexDir?: string } = {}): Promise<Discovery> {
  if (paths.length === 0) throw new UsageError("No paths given to ingest.", { hint: "Example: rerank-rag ingest ./docs" });
  const roots: string[] = [];
  const files = new Set<string>();
  const skipped: SkippedFile[] = [];
  const visitedDirs = new Set<string>();
  // An index's own files (docstore, manifest) would be ingested into itself, growing with every run.
  const writing = indexDir ? await fs.realpath(indexDir).catch(() => path.resolve(indexDir)) : null;

  async function visit(entry: string, explicit: boolean): Promise<void> {
    let stat;
    try {
      stat = await fs.stat(entry);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (explicit) {
        throw new UsageError(`Path not found: ${entry}`, { hint: "Check the spelling, or run from the directory that contains it." });
      }
      skipped.push({ path: entry, reason: code === "ELOOP" ? "symlink loop" : `cannot read (${code})` });
      return;
    }
    const real = await fs.realpath(entry);
    if (writing && isUnder(real, [writing])) {
      skipped.push({ path: entry, reason: "the index being written (rerank-rag never ingests an index)" });
      return;
    }
    if (stat.isDirectory()) {
      if (await looksLikeIndex(entry)) {
        skipped.push({ path: entry, reason: "a rerank-rag index (rerank-rag never ingests an index)" });
        return;
      }
      if (visitedDirs.has(real)) {
        skipped.push({ path: entry, reason: "directory already visited (symlink loop?)" });
        return;
      }
      visitedDirs.add(real);
      let children;
      try {
        children = await fs.readdir(entry);
      } catch (error) {
        skipped.push({ path: entry, reason: `cannot list directory (${(error as NodeJS.ErrnoException).code})` });
        return;
      }
      for (const child of children.sort()) {
        if (child.startsWith(".") || IGNORED_DIRS.has(child)) continue;
        await visit(path.join(entry, child), false);
      }
    } else if (stat.isFile()) {
      if (SUPPORTED.has(path.extname(entry).toLowerCase())) files.add(entry);
      else skipped.push({ path: entry, reason: `unsupported file type (supported: ${SUPPORTED_EXTENSIONS.join(" ")})` });
    } else {
      // Reading a FIFO would block forever; devices and sockets are not documents either.
      skipped.push({ path: entry, reason: "not a regular file (FIFO, socket or device)" });
    }
  }

  for (const given of paths) {
    const absolute = path.resolve(given);
    roots.push(absolute);
    await visit(absolute, true);
  }
  return { roots, files: [...files].sort(), skipped };
}

/** Whether `file` lies under one of `roots` (a root may be the file itself). */
export function isUnder(file: string, roots: readonly string[]): boolean {
  return roots.some((root) => file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}
