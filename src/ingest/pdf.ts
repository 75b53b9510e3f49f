import { extractText, getDocumentProxy, getMeta } from "unpdf";

/** A complete PDF ends with %%EOF; readers accept it anywhere in the last 1 KB (trailing whitespace or NULs aside). */
const EOF_MARKER = Buffer.from("%%EOF");
const EOF_WINDOW = 1024;

/**
 * Whether the file ends like a complete PDF. pdf.js "repairs" a cut-off file by scanning for
 * objects and may return some pages' text, which would index a partial document without a word.
 */
function endsWithEofMarker(bytes: Buffer): boolean {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0 || bytes[end - 1]! <= 0x20)) end--;
  return bytes.subarray(Math.max(0, end - EOF_WINDOW), end).includes(EOF_MARKER);
}

/** The text layer of a PDF, pages joined by blank lines, with each page's start offset. */
export async function pdfToText(bytes: Buffer): Promise<{ text: string; pageStarts: number[]; title?: string }> {
  if (bytes.subarray(0, 1024).includes("%PDF-") && !endsWithEofMarker(bytes)) {
    throw new Error("corrupt or unreadable PDF (truncated: no %%EOF marker at its end); download or export it again");
  }
  let pdf;
  try {
    // verbosity 0: errors only; pdf.js would print warnings ("Indexing all PDF objects") on the console.
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (error) {
    throw new Error(`corrupt or unreadable PDF (${(error as Error).message})`, { cause: error });
  }
  try {
    const { text: pages } = await extractText(pdf, { mergePages: false });
    const pageStarts: number[] = [];
    let text = "";
    for (const page of pages) {
      pageStarts.push(text.length);
      text += page.trim() + "\n\n";
    }
    const { info }: { info: Record<string, unknown> } = await getMeta(pdf).catch(() => ({ info: {} }));
    const title = typeof info.Title === "string" && info.Title.trim() ? info.Title.trim() : undefined;
    return { text: text.trimEnd(), pageStarts, title };
  } finally {
    await pdf.destroy();
  }
}
