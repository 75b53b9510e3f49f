import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import type { Document } from "@langchain/core/documents";
import { IngestAbortedError } from "../errors/index.js";
import type { ManifestFile } from "../store/manifest.js";
import { splitDocuments } from "./chunker.js";
import { isUnder, type Discovery } from "./discover.js";
import { loadFile, MAX_FILE_BYTES, tooLargeReason, type SkippedFile } from "./loaders.js";
import { findSecretIn, secretFileKind, secretFileReason, secretReason } from "./secrets.js";

/** A file loaded and split by this ingest. */
export interface FreshFile {
  file: string;
  hash: string;
  size: number;
  chunks: Document[];
}

/** What happened to each file, as the ingest report tells it. */
export interface FileOutcome {
  added: string[];
  changed: string[];
  /** Of the changed files, those whose bytes are as indexed: read again for this version's text extraction. */
  reextracted: string[];
  removed: string[];
  unchanged: number;
  skipped: SkippedFile[];
  /** Files and folders passed over by .ragignore, .gitignore or exclude patterns. */
  ignored: number;
  warnings: string[];
}

/** What an ingest does with each file, whatever store it writes to. */
export interface FilePlan extends FileOutcome {
  /** New and changed files, loaded and split. */
  fresh: FreshFile[];
  /** Files whose stored version stays: unchanged, now unreadable or broken, or outside the given paths. */
  kept: string[];
}

const KEPT_NOTE = " (kept the previously indexed version)";
const REMOVED_NOTE = " (removed its previously indexed version)";

/**
 * Compares the discovered files with the index's file table: reads and hashes each file (none
 * over MAX_FILE_BYTES is read), loads and splits the new and changed ones. A file that cannot
 * be read or loaded is skipped with its reason, and keeps its indexed version if it had one.
 * Unless `allowSecrets`, a file named like credentials, or a new or changed one whose text holds
 * a secret, is skipped before it is split, and its indexed version is removed: it may hold the same secret.
 * Stops before the next file when `signal` aborts.
 */
export async function planFiles(
  discovery: Discovery,
  previous: Readonly<Record<string, ManifestFile>>,
  splitter: { chunkSize: number; chunkOverlap: number },
  onRead?: (done: number, total: number) => void,
  { allowSecrets = false, signal }: { allowSecrets?: boolean; signal?: AbortSignal } = {},
): Promise<FilePlan> {
  const plan: FilePlan = {
    fresh: [],
    kept: [],
    added: [],
    changed: [],
    reextracted: [],
    removed: [],
    unchanged: 0,
    skipped: [...discovery.skipped],
    ignored: discovery.ignored,
    warnings: [],
  };
  const skip = (file: string, reason: string) => {
    const known = previous[file] !== undefined;
    plan.skipped.push({ path: file, reason: known ? reason + KEPT_NOTE : reason });
    if (known) plan.kept.push(file);
  };
  const refuseSecret = (file: string, reason: string) => {
    const known = previous[file] !== undefined;
    plan.skipped.push({ path: file, reason: known ? reason + REMOVED_NOTE : reason });
    if (known) plan.removed.push(file);
  };
  for (const [done, file] of discovery.files.entries()) {
    IngestAbortedError.throwIfAborted(signal);
    onRead?.(done, discovery.files.length);
    const secretFile = allowSecrets ? undefined : secretFileKind(file);
    if (secretFile) {
      refuseSecret(file, secretFileReason(secretFile));
      continue;
    }
    let bytes: Buffer;
    try {
      const { size } = await fs.stat(file);
      if (size > MAX_FILE_BYTES) {
        skip(file, tooLargeReason(size));
        continue;
      }
      bytes = await fs.readFile(file);
    } catch (error) {
      skip(file, `cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      continue;
    }
    const hash = fileHash(bytes);
    const known = previous[file];
    if (known?.hash === hash) {
      plan.kept.push(file);
      plan.unchanged++;
      continue;
    }
    try {
      const loaded = await loadFile(file, bytes);
      const secret = allowSecrets ? undefined : findSecretIn(loaded.documents, bytes);
      if (secret) {
        refuseSecret(file, secretReason(secret));
        continue;
      }
      plan.warnings.push(...loaded.warnings.map((w) => `${file}: ${w}`));
      const chunks = await splitLoaded(file, hash, loaded.documents, splitter, discovery.roots);
      plan.fresh.push({ file, hash, size: bytes.length, chunks });
      (known ? plan.changed : plan.added).push(file);
      if (known && extractedBefore(bytes, known.hash)) plan.reextracted.push(file);
    } catch (error) {
      skip(file, (error as Error).message);
    }
  }
  const seen = new Set(discovery.files);
  for (const file of Object.keys(previous)) {
    if (seen.has(file)) continue;
    if (isUnder(file, discovery.roots)) plan.removed.push(file);
    else plan.kept.push(file);
  }
  return plan;
}

/**
 * Version of the text the loaders make of a file (Markdown, HTML, PDF conversion). Raise it when
 * that text changes: an index's files are then all read again once, instead of keeping chunks
 * made the old way until each file happens to change.
 */
export const TEXT_EXTRACTION_VERSION = 4;

/** What the index records of a file's content: its bytes and the text extraction they went through. */
export function fileHash(bytes: Buffer, version = TEXT_EXTRACTION_VERSION): string {
  // Version 1 (before versions were recorded) is the bytes' hash alone.
  const hash = crypto.createHash("sha256");
  if (version > 1) hash.update(`text-extraction-${version}\0`);
  return hash.update(bytes).digest("hex");
}

/** Whether `recorded` is these bytes' hash under an earlier version: the same file, indexed by an older extraction. */
function extractedBefore(bytes: Buffer, recorded: string): boolean {
  for (let version = 1; version < TEXT_EXTRACTION_VERSION; version++) if (fileHash(bytes, version) === recorded) return true;
  return false;
}

/** A file's chunks, with ids that are stable for its path and content. */
async function splitLoaded(
  file: string,
  hash: string,
  documents: readonly Document[],
  splitter: { chunkSize: number; chunkOverlap: number },
  roots: readonly string[],
): Promise<Document[]> {
  // Path and content both: two identical files must not share chunk ids.
  const idPrefix = crypto.createHash("sha256").update(`${file}\0${hash}`).digest("hex").slice(0, 16);
  const chunks = await splitDocuments(documents, splitter, idPrefix);
  const relativePath = relativeToRoot(file, roots);
  for (const chunk of chunks) chunk.metadata.relativePath = relativePath;
  return chunks;
}

/**
 * Splits an unchanged, indexed file again to get back the chunks it did not store because the
 * same text was stored from another file (its `duplicates`), when that other copy is going.
 * The ids are the ones the chunks had, as the path and content are the same.
 */
export async function resplitDuplicates(
  file: string,
  entry: ManifestFile,
  splitter: { chunkSize: number; chunkOverlap: number },
  roots: readonly string[],
): Promise<{ chunks: Document[]; fileChunks: number }> {
  const bytes = await fs.readFile(file);
  const hash = fileHash(bytes);
  if (hash !== entry.hash) throw new Error("it changed while the index was written");
  const all = await splitLoaded(file, hash, (await loadFile(file, bytes)).documents, splitter, roots);
  const wanted = new Set(entry.duplicates?.map((d) => d.chunkId));
  return { chunks: all.filter((chunk) => wanted.has(String(chunk.metadata.chunkId))), fileChunks: all.length };
}

function relativeToRoot(file: string, roots: readonly string[]): string {
  const root = roots.filter((r) => isUnder(file, [r])).sort((a, b) => b.length - a.length)[0];
  return !root || root === file ? path.basename(file) : path.relative(root, file);
}
