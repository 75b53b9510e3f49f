import path from "node:path";

/**
 * The file types ingest reads: the one list that discovery, the loaders, errors, the CLI help
 * and the README describe, so a new type is added here and nowhere else.
 */
export const SUPPORTED_EXTENSIONS = [".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".json", ".jsonl"] as const;
/** Text types also read gzip-compressed, one file each (`notes.md.gz`); a PDF compresses its own streams. */
export const GZIP_EXTENSIONS = SUPPORTED_EXTENSIONS.filter((e) => e !== ".pdf").map((e) => `${e}.gz`);

/** Whether ingest reads this file name: a supported type, or a gzip of a text type. */
export function isSupportedFile(file: string): boolean {
  const name = file.toLowerCase();
  return (SUPPORTED_EXTENSIONS as readonly string[]).includes(path.extname(name)) || GZIP_EXTENSIONS.some((e) => name.endsWith(e));
}

/** The supported types in one line, as errors, skip reasons and the help quote them. */
export function describeSupportedTypes(): string {
  return `${SUPPORTED_EXTENSIONS.join(" ")}, and each of them but .pdf gzipped (.md.gz)`;
}
