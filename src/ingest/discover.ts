import fs from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors/index.js";
import { looksLikeIndex } from "../store/index-dir.js";
import { IgnoreRules, ignoredReason, type RuleChain, type UnreadableIgnoreFile } from "./ignore-rules.js";
import { describeSupportedTypes, isSupportedFile } from "./file-types.js";
import type { SkippedFile } from "./loaders.js";

const IGNORED_DIRS = new Set(["node_modules", ".git", ".hg", ".svn", ".rerank-rag"]);

export interface Discovery {
  /** Absolute roots as given (files or directories). */
  roots: string[];
  /** Supported files, absolute, sorted. */
  files: string[];
  skipped: SkippedFile[];
  /** Files and folders passed over by .ragignore, .gitignore or exclude patterns (a folder counts once). */
  ignored: number;
}

export interface DiscoverOptions {
  /** The index being written: never ingested. */
  indexDir?: string;
  /** Honour the tree's .gitignore files (default true); .ragignore files always are. */
  gitignore?: boolean;
  /** gitignore-style patterns relative to each root. */
  exclude?: readonly string[];
  /** Follow symlinks whose target lies outside every root (default false: they are skipped). */
  followSymlinks?: boolean;
}

/**
 * Finds the files to ingest under the given paths. Hidden entries, dependency folders and what
 * ignore files or exclude patterns name are passed over; unsupported files are reported; symlink
 * loops are cut, and links leaving the given paths are not followed unless asked.
 */
export async function discoverFiles(paths: readonly string[], options: DiscoverOptions = {}): Promise<Discovery> {
  if (paths.length === 0) throw new UsageError("No paths given to ingest.", { hint: "Example: rerank-rag ingest ./docs" });
  const { indexDir, gitignore = true, exclude = [], followSymlinks = false } = options;
  const files = new Set<string>();
  const skipped: SkippedFile[] = [];
  let ignored = 0;
  const visitedDirs = new Set<string>();
  const rules = new IgnoreRules({ gitignore, exclude });
  // An index's own files (docstore, manifest) would be ingested into itself, growing with every run.
  const writing = indexDir ? await fs.realpath(indexDir).catch(() => path.resolve(indexDir)) : null;
  const given = await Promise.all(paths.map((p) => statRoot(path.resolve(p))));
  const roots = given.map((g) => g.root);
  // A root given as a symlink is the user's choice: its target counts as inside.
  const realRoots = given.map((g) => g.real);
  const dirRoots = given.filter((g) => g.isDirectory).map((g) => g.root);

  async function visit(entry: string, chain: RuleChain, explicit: boolean): Promise<void> {
    let stat;
    try {
      stat = await fs.stat(entry);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (rules.match(chain, entry, false)) ignored++;
      else skipped.push({ path: entry, reason: code === "ELOOP" ? "symlink loop" : `cannot read (${code})` });
      return;
    }
    const match = rules.match(chain, entry, stat.isDirectory());
    if (match) {
      // Like git, an ignored file simply isn't there; one named on the command line is told why.
      if (explicit) skipped.push({ path: entry, reason: ignoredReason(match) });
      else ignored++;
      return;
    }
    const real = await fs.realpath(entry);
    if (writing && isUnder(real, [writing])) {
      skipped.push({ path: entry, reason: "the index being written (rerank-rag never ingests an index)" });
      return;
    }
    if (!explicit && !followSymlinks && !isUnder(real, realRoots)) {
      skipped.push({ path: entry, reason: `symlink to ${real} outside the ingested folders; pass --follow-symlinks to include it` });
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
      const inside = await rules.enter(chain, entry);
      if ("unreadable" in inside) {
        skipped.push({ path: entry, reason: unreadableReason(inside) });
        return;
      }
      let children;
      try {
        children = await fs.readdir(entry);
      } catch (error) {
        skipped.push({ path: entry, reason: `cannot list directory (${(error as NodeJS.ErrnoException).code})` });
        return;
      }
      for (const child of children.sort()) {
        if (child.startsWith(".") || IGNORED_DIRS.has(child)) continue;
        await visit(path.join(entry, child), inside, false);
      }
    } else if (stat.isFile()) {
      if (isSupportedFile(entry)) files.add(entry);
      else skipped.push({ path: entry, reason: `unsupported file type (supported: ${describeSupportedTypes()})` });
    } else {
      // Reading a FIFO would block forever; devices and sockets are not documents either.
      skipped.push({ path: entry, reason: "not a regular file (FIFO, socket or device)" });
    }
  }

  /**
   * The rules in force where a root lies, or why it is not ingested: ignore files count from the
   * top of the ingested tree (the outermost folder given that holds the root) down, as in the walk;
   * a file given alone brings its folder's.
   */
  async function chainAbove(root: string, isDirectory: boolean): Promise<RuleChain | { skip: string }> {
    const top = dirRoots.filter((dir) => isUnder(root, [dir])).sort((a, b) => a.length - b.length)[0] ?? (isDirectory ? root : path.dirname(root));
    const folders: string[] = [];
    for (let dir = path.dirname(root); isUnder(dir, [top]); dir = path.dirname(dir)) {
      folders.unshift(dir);
      if (dir === top) break;
    }
    let chain = rules.atRoot(top);
    for (const dir of folders) {
      const match = rules.match(chain, dir, true);
      if (match) return { skip: ignoredReason(match) };
      const inside = await rules.enter(chain, dir);
      if ("unreadable" in inside) return { skip: unreadableReason(inside) };
      chain = inside;
    }
    return chain;
  }

  for (const { root, isDirectory } of given) {
    const chain = await chainAbove(root, isDirectory);
    if ("skip" in chain) skipped.push({ path: root, reason: chain.skip });
    else await visit(root, chain, true);
  }
  // A path skipped on the way (a link out of the tree) and also named explicitly is ingested, not both.
  return { roots, files: [...files].sort(), skipped: skipped.filter((s) => !files.has(s.path)), ignored };
}

// Ingesting anyway could take in exactly what the ignore file was written to keep out.
function unreadableReason({ unreadable, code }: UnreadableIgnoreFile): string {
  return `cannot read ${unreadable} (${code}), so nothing under it was ingested`;
}

async function statRoot(root: string): Promise<{ root: string; real: string; isDirectory: boolean }> {
  try {
    const stat = await fs.stat(root);
    return { root, real: await fs.realpath(root), isDirectory: stat.isDirectory() };
  } catch {
    throw new UsageError(`Path not found: ${root}`, { hint: "Check the spelling, or run from the directory that contains it." });
  }
}

/** Whether `file` lies under one of `roots` (a root may be the file itself). */
export function isUnder(file: string, roots: readonly string[]): boolean {
  return roots.some((root) => file === root || file.startsWith(root.endsWith(path.sep) ? root : root + path.sep));
}
