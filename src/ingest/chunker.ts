import { Document } from "@langchain/core/documents";
import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";

export interface SplitterSettings {
  chunkSize: number;
  chunkOverlap: number;
}

const HEADING = /^(#{1,6})[ \t]+(.+?)[ \t#]*$/gm;

/**
 * Splits loaded documents into chunks with stable ids and locations: `chunkId`
 * (file content hash + ordinal), `start`/`end` character offsets in the loaded text,
 * the `heading` of the section the chunk belongs to, and the PDF `page`.
 */
export async function splitDocuments(
  documents: readonly Document[],
  settings: SplitterSettings,
  fileHash: string,
): Promise<Document[]> {
  const splitter = RecursiveCharacterTextSplitter.fromLanguage("markdown", settings);
  const chunks: Document[] = [];
  for (const doc of documents) {
    const text = doc.pageContent;
    const headings = [...text.matchAll(HEADING)].map((m) => ({ at: m.index, text: m[2]!.trim() }));
    const { pageStarts, ...metadata } = doc.metadata as { pageStarts?: number[] } & Record<string, unknown>;
    let searchFrom = 0;
    for (const piece of await splitter.splitText(text)) {
      const found = text.indexOf(piece, searchFrom);
      const start = found >= 0 ? found : searchFrom;
      const end = start + piece.length;
      searchFrom = start + 1;
      chunks.push(
        new Document({
          pageContent: piece,
          metadata: {
            ...metadata,
            chunkId: `${fileHash.slice(0, 16)}-${chunks.length}`,
            start,
            end,
            ...sectionOf(headings, start, end),
            ...(pageStarts ? { page: pageOf(pageStarts, start) } : {}),
          },
        }),
      );
    }
  }
  return chunks;
}

/** The section a chunk belongs to: a heading early in the chunk, else the last one before it. */
function sectionOf(headings: Array<{ at: number; text: string }>, start: number, end: number): { heading?: string } {
  const early = headings.find((h) => h.at >= start && h.at < start + (end - start) / 4);
  const before = headings.filter((h) => h.at <= start).at(-1);
  const heading = (early ?? before)?.text;
  return heading ? { heading } : {};
}

function pageOf(pageStarts: number[], offset: number): number {
  let page = 1;
  pageStarts.forEach((at, i) => {
    if (at <= offset) page = i + 1;
  });
  return page;
}

/**
 * The text that is embedded and scored for a chunk: its document title and section
 * heading in front of the content, so a chunk deep in "OAuth2 client credentials" still
 * matches "OAuth2" even when its own words do not repeat it.
 */
export function contextualText(doc: { pageContent: string; metadata: Record<string, unknown> }): string {
  const { title, heading } = doc.metadata as { title?: string; heading?: string };
  const head = [title, heading !== title ? heading : undefined].filter(Boolean).join(" — ");
  return head && !doc.pageContent.startsWith(head) ? `${head}\n${doc.pageContent}` : doc.pageContent;
}
