import { Document } from "@langchain/core/documents";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { FENCE } from "../text/sentences.js";

export interface SplitterSettings {
  chunkSize: number;
  chunkOverlap: number;
}

const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/;

interface Heading {
  at: number;
  /** Offset just past the heading's line. */
  end: number;
  depth: number;
  text: string;
}

/**
 * One pass over a text's lines: its Markdown headings with their offsets, ignoring `#` lines
 * inside fenced code (shell comments), and where each fence line starts.
 */
function scanLines(text: string): { headings: Heading[]; fences: number[] } {
  const headings: Heading[] = [];
  const fences: number[] = [];
  let offset = 0;
  for (const line of text.split("\n")) {
    if (FENCE.test(line)) fences.push(offset);
    else if (fences.length % 2 === 0) {
      const match = HEADING.exec(line);
      if (match) headings.push({ at: offset, end: offset + line.length, depth: match[1]!.length, text: match[2]!.trim() });
    }
    offset += line.length + 1;
  }
  return { headings, fences };
}

/**
 * Splits loaded documents into chunks with stable ids and locations: `chunkId`
 * (`idPrefix`, unique to the file's path and content, + ordinal), `start`/`end` character offsets in the loaded text,
 * the section (see sectionOf) and the PDF `page`.
 */
export async function splitDocuments(documents: readonly Document[], settings: SplitterSettings, idPrefix: string): Promise<Document[]> {
  const splitter = RecursiveCharacterTextSplitter.fromLanguage("markdown", settings);
  const chunks: Document[] = [];
  for (const doc of documents) {
    const text = doc.pageContent;
    const { headings, fences } = scanLines(text);
    const { pageStarts, ...metadata } = doc.metadata as { pageStarts?: number[] } & Record<string, unknown>;
    let searchFrom = 0;
    for (const piece of await splitSections(splitter, text, settings, headings)) {
      const found = text.indexOf(piece, searchFrom);
      const start = found >= 0 ? found : searchFrom;
      const end = start + piece.length;
      searchFrom = start + 1;
      chunks.push(
        new Document({
          pageContent: piece,
          metadata: {
            ...metadata,
            chunkId: `${idPrefix}-${chunks.length}`,
            start,
            end,
            ...sectionOf(headings, text, start, end),
            // A chunk cut inside a fenced block would read its code as prose, and one cut mid-section
            // would not say which section its first lines belong to (see readableText).
            ...(fences.filter((at) => at < start).length % 2 === 1 ? { startsInCode: true } : {}),
            ...startHeadingOf(headings, start),
            ...(pageStarts ? { page: pageOf(pageStarts, start) } : {}),
          },
        }),
      );
    }
  }
  return chunks;
}

/**
 * The splitter cuts at `##`…`######` headings but not at `#` (it would cut at shell comments in
 * code too): a document of several top-level sections (a README of `#` sections, an HTML page
 * with several h1) had chunks that began in one section and ended in the next. So the text is
 * first cut at its top-level headings (found outside code), neighbouring sections grouped while
 * they fit in a chunk, as the splitter groups its pieces, and each group split on its own.
 */
async function splitSections(
  splitter: RecursiveCharacterTextSplitter,
  text: string,
  settings: SplitterSettings,
  headings: readonly Heading[],
): Promise<string[]> {
  const bounds = [0, ...headings.filter((h) => h.depth === 1 && h.at > 0).map((h) => h.at), text.length];
  const groups: string[] = [];
  let from = 0;
  for (let i = 1; i < bounds.length - 1; i++) {
    if (bounds[i + 1]! - from > settings.chunkSize) {
      groups.push(text.slice(from, bounds[i]));
      from = bounds[i]!;
    }
  }
  groups.push(text.slice(from));
  const pieces: string[] = [];
  for (const group of groups) for (const piece of await splitText(splitter, group, settings)) pieces.push(piece);
  return pieces;
}

/**
 * The splitter's last resort for text without spaces or newlines (base64 blobs, minified code,
 * a huge single token) is to split it into single characters and merge them back, at tens of
 * bytes per character: a 30 MB line would need gigabytes. Runs that long are cut into
 * chunk-size windows (with the overlap) directly; everything else goes through the splitter.
 */
async function splitText(splitter: RecursiveCharacterTextSplitter, text: string, settings: SplitterSettings): Promise<string[]> {
  const runs = longRuns(text, Math.max(4 * settings.chunkSize, 8192));
  if (runs.length === 0) return splitter.splitText(text);
  const pieces: string[] = [];
  const add = (more: readonly string[]) => {
    for (const piece of more) pieces.push(piece);
  };
  let at = 0;
  for (const [start, end] of runs) {
    if (start > at) add(await splitter.splitText(text.slice(at, start)));
    const step = settings.chunkSize - settings.chunkOverlap;
    for (let i = start; i < end; i += step) {
      pieces.push(text.slice(i, Math.min(i + settings.chunkSize, end)));
      if (i + settings.chunkSize >= end) break;
    }
    at = end;
  }
  if (at < text.length) add(await splitter.splitText(text.slice(at)));
  return pieces;
}

/** [start, end) of every stretch of at least `min` characters without a space or newline. */
function longRuns(text: string, min: number): Array<[number, number]> {
  const runs: Array<[number, number]> = [];
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 32;
    if (c !== 32 && c !== 10) continue;
    if (i - start >= min) runs.push([start, i]);
    start = i + 1;
  }
  return runs;
}

/**
 * The section a chunk belongs to: of the sections the chunk holds text of (the one in force at
 * its start, then each heading inside it), the one with the most text, as `heading`, and the
 * path of headings above it, outermost first, as `headings`. A chunk that starts mid-section
 * belongs to that section unless a later one fills more of it; ties go to the later section,
 * so a chunk of headings alone belongs to its last.
 */
function sectionOf(headings: readonly Heading[], text: string, start: number, end: number): { heading?: string; headings?: string[] } {
  let current = headings.filter((h) => h.at <= start).length - 1;
  let from = current >= 0 && headings[current]!.at === start ? headings[current]!.end : start;
  let best = current;
  let bestSize = -1;
  for (let next = current + 1; ; next++) {
    const boundary = next < headings.length && headings[next]!.at < end ? headings[next]! : null;
    const size = text.slice(from, boundary ? boundary.at : end).trim().length;
    if (size >= bestSize) [best, bestSize] = [current, size];
    if (!boundary) break;
    [current, from] = [next, Math.min(boundary.end, end)];
  }
  if (best < 0) return {};
  const path: Heading[] = [];
  for (const h of headings.slice(0, best + 1)) {
    while (path.length > 0 && path.at(-1)!.depth >= h.depth) path.pop();
    path.push(h);
  }
  return { heading: path.at(-1)!.text, headings: path.map((h) => h.text) };
}

/** The heading of the section a chunk starts in, when the chunk starts below that heading's line. */
function startHeadingOf(headings: readonly Heading[], start: number): { startHeading?: string } {
  const inForce = headings.filter((h) => h.at < start).at(-1);
  return inForce && inForce.end < start ? { startHeading: inForce.text } : {};
}

function pageOf(pageStarts: number[], offset: number): number {
  let page = 1;
  pageStarts.forEach((at, i) => {
    if (at <= offset) page = i + 1;
  });
  return page;
}
