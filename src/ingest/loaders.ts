import path from "node:path";
import zlib from "node:zlib";
import { Document } from "@langchain/core/documents";
import { describeSupportedTypes } from "./file-types.js";
import { nestsTooDeep, TOO_DEEP } from "./nesting.js";

/** A file that could not be ingested, and why: reported, never fatal for the others. */
export interface SkippedFile {
  path: string;
  reason: string;
}

export interface LoadResult {
  documents: Document[];
  /** Problems inside a file that did not stop it (e.g. bad JSONL lines). */
  warnings: string[];
}

/**
 * Files above this size are skipped without being read (a PDF is parsed whole in memory).
 * Checked by the ingest before it reads a file.
 */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;
/**
 * A file whose text is longer than this is skipped: its text, chunks and vectors are held in
 * memory at once, and the offline embedder needs about a minute and 500 MB per 16 M characters.
 */
export const MAX_TEXT_CHARS = 16 * 1024 * 1024;

const millions = (n: number) => `${Math.round(n / (1024 * 1024))} M`;
export const tooLargeReason = (bytes: number) =>
  `larger than ${MAX_FILE_BYTES / (1024 * 1024)} MB (${Math.round(bytes / (1024 * 1024))} MB); split it into smaller files`;

/** Loads one file into LangChain Documents; throws an Error whose message says what is wrong with it. */
export async function loadFile(file: string, bytes: Buffer): Promise<LoadResult> {
  const gzipped = file.toLowerCase().endsWith(".gz");
  const result = gzipped ? await loadByType(file.slice(0, -3), gunzip(bytes), file) : await loadByType(file, bytes);
  const characters = result.documents.reduce((n, doc) => n + doc.pageContent.length, 0);
  if (characters > MAX_TEXT_CHARS) {
    throw new Error(`holds ${millions(characters)} characters of text, more than the limit of ${millions(MAX_TEXT_CHARS)}; split it into smaller files`);
  }
  return result;
}

/** A gzip file's content; the size limit applies to what it decompresses to (a small bomb stays small). */
function gunzip(bytes: Buffer): Buffer {
  try {
    return zlib.gunzipSync(bytes, { maxOutputLength: MAX_FILE_BYTES });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new Error(`decompresses to more than ${MAX_FILE_BYTES / (1024 * 1024)} MB; split it into smaller files`, { cause: error });
    }
    throw new Error(`not a valid gzip file (${(error as Error).message})`, { cause: error });
  }
}

/** `file` names the type (without `.gz`); `source` is the file on disk. */
async function loadByType(file: string, bytes: Buffer, source = file): Promise<LoadResult> {
  const extension = path.extname(file).toLowerCase();
  const base = { source, format: extension.slice(1) };
  switch (extension) {
    case ".md":
    case ".markdown": {
      const { markdownToText } = await import("./markdown.js");
      const text = decodeText(bytes, file);
      const clean = markdownToText(text);
      // From the clean text: a setext heading, a character reference or a badge's link markup resolved.
      return single(clean, { ...base, title: frontMatterTitle(text) ?? firstHeading(clean) ?? path.basename(file) });
    }
    case ".txt": {
      const text = decodeText(bytes, file);
      return single(text, { ...base, title: markdownTitle(text) ?? path.basename(file) });
    }
    case ".html":
    case ".htm": {
      const { htmlToText, htmlTitle } = await import("./html.js");
      const html = decodeText(bytes, file);
      return single(htmlToText(html), { ...base, title: htmlTitle(html) ?? path.basename(file) });
    }
    case ".pdf": {
      const { pdfToText } = await import("./pdf.js");
      const { text, pageStarts, title } = await pdfToText(bytes);
      return single(text, { ...base, title: title ?? path.basename(file), pageStarts });
    }
    case ".json":
      return loadJson(decodeText(bytes, file), base);
    case ".jsonl":
      return loadJsonLines(decodeText(bytes, file), base);
    default:
      throw new Error(`unsupported file type "${extension || "(none)"}"; supported: ${describeSupportedTypes()}`);
  }
}

function single(text: string, metadata: Record<string, unknown>): LoadResult {
  if (!text.trim()) throw new Error("no text content (empty file, or a PDF without a text layer)");
  return { documents: [new Document({ pageContent: text, metadata })], warnings: [] };
}

/** How much of a file is looked at to tell text from binary. */
const SNIFF_BYTES = 8192;

/**
 * UTF-8 text, or UTF-16 with a byte-order mark (Windows tools write it: Notepad's "Unicode",
 * PowerShell's `>`), refusing binary content instead of indexing mojibake. `file` names the
 * file in the conversion command for UTF-16 without a mark.
 */
function decodeText(bytes: Buffer, file: string): string {
  const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe ? "utf-16le" : bytes[0] === 0xfe && bytes[1] === 0xff ? "utf-16be" : null;
  if (utf16) {
    let text: string;
    try {
      text = new TextDecoder(utf16, { fatal: true }).decode(bytes);
    } catch {
      throw new Error("not valid UTF-16 text after its byte-order mark; convert it to UTF-8 first");
    }
    // In UTF-16 text a NUL byte is normal; a NUL character is not.
    if (text.slice(0, SNIFF_BYTES).includes("\0")) throw new Error("binary content (NUL characters), not text");
    return text.replace(/^\uFEFF/, "");
  }
  const head = bytes.subarray(0, SNIFF_BYTES);
  if (head.includes(0)) {
    const order = utf16WithoutMark(head);
    if (order) {
      const base = path.basename(file);
      const ext = path.extname(base);
      const converted = `${base.slice(0, base.length - ext.length)}.utf8${ext}`;
      throw new Error(`looks like ${order} text without a byte-order mark; convert it to UTF-8, e.g. iconv -f ${order} -t UTF-8 ${base} > ${converted}`);
    }
    throw new Error("binary content (NUL bytes), not text");
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, "");
  } catch {
    throw new Error("not valid UTF-8 text; convert it to UTF-8 first");
  }
}

/**
 * Which UTF-16 byte order unmarked bytes look like: Latin-script text in UTF-16 is nearly all
 * pairs of a printable byte and a NUL, the NUL on one side (odd positions for LE, even for BE).
 * Binary formats have NULs too, but not beside printable text that regularly.
 */
function utf16WithoutMark(head: Buffer): "UTF-16LE" | "UTF-16BE" | null {
  const pairs = Math.floor(head.length / 2);
  if (pairs < 2) return null;
  let le = 0;
  let be = 0;
  for (let i = 0; i < pairs * 2; i += 2) {
    if (head[i + 1] === 0 && printable(head[i]!)) le++;
    if (head[i] === 0 && printable(head[i + 1]!)) be++;
  }
  if (le >= 0.6 * pairs) return "UTF-16LE";
  if (be >= 0.6 * pairs) return "UTF-16BE";
  return null;
}

/** A byte that is a printable Latin-1 character, or a tab or line break. */
const printable = (byte: number) => byte === 0x09 || byte === 0x0a || byte === 0x0d || (byte >= 0x20 && byte < 0x7f) || byte >= 0xa0;

const frontMatterTitle = (text: string) => /^---\n[\s\S]*?^title:\s*["']?(.+?)["']?\s*$/m.exec(text)?.[1];

function markdownTitle(text: string): string | undefined {
  return frontMatterTitle(text) ?? /^#\s+(.+)$/m.exec(text)?.[1]?.trim();
}

/** The first top-level heading of Markdown's clean text, outside its code blocks (where "# " is a comment). */
function firstHeading(clean: string): string | undefined {
  let inCode = false;
  for (const line of clean.split("\n")) {
    if (line.startsWith("```")) inCode = !inCode;
    else if (!inCode && line.startsWith("# ")) return line.slice(2).trim() || undefined;
  }
  return undefined;
}

const TEXT_FIELDS = ["text", "content", "pageContent", "body"] as const;

/** A JSON record's text: its text-like field (with its title), else the record as JSON. */
function recordToDocument(record: unknown, metadata: Record<string, unknown>): Document | null {
  if (typeof record === "string") return record.trim() ? new Document({ pageContent: record, metadata }) : null;
  if (!record || typeof record !== "object") return null;
  const fields = record as Record<string, unknown>;
  const field = TEXT_FIELDS.find((name) => typeof fields[name] === "string" && fields[name].trim());
  const title = typeof fields.title === "string" ? fields.title : undefined;
  const id = fields._id ?? fields.id;
  const body = field ? (fields[field] as string) : JSON.stringify(record, null, 1);
  const pageContent = title && field ? `${title}\n\n${body}` : body;
  return new Document({
    pageContent,
    metadata: { ...metadata, ...(title ? { title } : {}), ...(typeof id === "string" || typeof id === "number" ? { recordId: String(id) } : {}) },
  });
}

function loadJson(text: string, base: Record<string, unknown>): LoadResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  // A record without a text field is indexed as JSON.stringify, which recurses per level.
  if (nestsTooDeep(parsed)) throw new Error(TOO_DEEP);
  const records = Array.isArray(parsed) ? parsed : [parsed];
  const documents = records.map((record, index) => recordToDocument(record, { ...base, record: index })).filter((doc): doc is Document => doc !== null);
  if (documents.length === 0) throw new Error("no text content in the JSON");
  return { documents, warnings: [] };
}

function loadJsonLines(text: string, base: Record<string, unknown>): LoadResult {
  const documents: Document[] = [];
  const warnings: string[] = [];
  text.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      warnings.push(`line ${index + 1}: invalid JSON (${(error as Error).message})`);
      return;
    }
    if (nestsTooDeep(record)) {
      warnings.push(`line ${index + 1}: ${TOO_DEEP}`);
      return;
    }
    const doc = recordToDocument(record, { ...base, record: index, line: index + 1 });
    if (doc) documents.push(doc);
    else warnings.push(`line ${index + 1}: no text in this record`);
  });
  if (documents.length === 0) throw new Error(`no valid JSON lines${warnings.length ? ` (${warnings[0]})` : ""}`);
  return { documents, warnings };
}
