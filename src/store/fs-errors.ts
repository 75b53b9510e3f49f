import fs from "node:fs/promises";
import path from "node:path";
import { RagError, UsageError } from "../errors/index.js";

const CHOOSE_WRITABLE = "Choose a writable location with --index (or RAG_INDEX_DIR).";
const CHOOSE_OWN = "Choose a folder you can write to with --index (or RAG_INDEX_DIR), or change its permissions.";
const GET_READ_ACCESS = "Ask its owner for read access (chmod -R a+rX on the folder), or point --index (or RAG_INDEX_DIR) at an index you can read.";
const FREE_SPACE = "Free some space there, or choose another location with --index (or RAG_INDEX_DIR); the live index was not changed.";

/**
 * What each file-system failure means in the index path. `at` says it of the path that caused it
 * when that is not the index folder itself; `usage`: the user must choose another location (exit 2).
 */
const CAUSES: Record<string, { cause: (at: string) => string; hint: string; usage: boolean }> = {
  EROFS: { cause: (at) => (at ? `the file system holding ${at} is read-only` : "the file system is read-only"), hint: CHOOSE_WRITABLE, usage: true },
  EACCES: { cause: (at) => `permission denied${at && ` on ${at}`}`, hint: CHOOSE_OWN, usage: true },
  EPERM: { cause: (at) => `the operation is not permitted${at && ` on ${at}`}`, hint: CHOOSE_OWN, usage: true },
  ENOTDIR: { cause: (at) => `${at} is a file, not a folder`, hint: "Choose a folder for the index (--index or RAG_INDEX_DIR).", usage: true },
  ENAMETOOLONG: { cause: () => "the path is too long", hint: "Choose a shorter path with --index (or RAG_INDEX_DIR).", usage: true },
  ELOOP: {
    cause: (at) => `too many symbolic links${at && ` at ${at}`}`,
    hint: "Choose a path without a symbolic link loop with --index (or RAG_INDEX_DIR).",
    usage: true,
  },
  ENOSPC: { cause: () => "the disk is full", hint: FREE_SPACE, usage: false },
  EDQUOT: { cause: () => "the disk quota is used up", hint: FREE_SPACE, usage: false },
};

/**
 * Turns a file-system failure while creating, locking or writing the index folder `root` (or,
 * with `access` "read", reading it) into a sentence naming the folder and the cause, with what to
 * do; anything else is returned unchanged. Node's recursive mkdir reports ENOENT when a parent is
 * read-only or a file: the nearest existing part of the path says which.
 */
export async function indexFsError(error: unknown, root: string, access: "write" | "read" = "write"): Promise<unknown> {
  const errno = error as NodeJS.ErrnoException;
  if (!(error instanceof Error) || !(errno.code && (errno.code in CAUSES || errno.code === "ENOENT"))) return error;
  const failed = path.resolve(errno.path ?? root);
  const culprit = await nearestExisting(failed);
  let code = errno.code;
  // A file where a folder should be: on the way to the failed path, or the index path itself.
  if (culprit && !culprit.isDirectory && (culprit.path !== failed || failed === root)) code = "ENOTDIR";
  else if (code === "ENOENT" && culprit) code = (await writeProblem(culprit.path)) ?? code;
  const meaning = CAUSES[code];
  if (!meaning) return error;
  const rootKind = await fs.stat(root).then(
    (s) => (s.isDirectory() ? "folder" : "other"),
    () => "missing",
  );
  const verb = access === "read" ? "read" : rootKind === "missing" ? "create" : rootKind === "folder" ? "write to" : "use";
  const at = culprit && culprit.path !== root ? culprit.path : code === "ENOTDIR" ? root : "";
  const message = `Cannot ${verb} the index folder ${root}: ${meaning.cause(at)} (${code}).`;
  const denied = code === "EACCES" || code === "EPERM";
  const hint = access === "read" && denied ? GET_READ_ACCESS : meaning.hint;
  return meaning.usage ? new UsageError(message, { hint, cause: error }) : new RagError(message, { hint, cause: error });
}

/** The longest existing prefix of `file` (itself included), and whether it is a folder. */
async function nearestExisting(file: string): Promise<{ path: string; isDirectory: boolean } | null> {
  for (let at = file; ; at = path.dirname(at)) {
    const stat = await fs.stat(at).catch(() => null);
    if (stat) return { path: at, isDirectory: stat.isDirectory() };
    if (path.dirname(at) === at) return null;
  }
}

/** Why `dir` cannot be written to (EROFS, EACCES, EPERM…), or null when it can. */
async function writeProblem(dir: string): Promise<string | null> {
  return fs.access(dir, fs.constants.W_OK).then(
    () => null,
    (error: NodeJS.ErrnoException) => error.code ?? null,
  );
}
