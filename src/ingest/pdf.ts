import { extractText, getDocumentProxy, getMeta } from "unpdf";

/** The text layer of a PDF, pages joined by blank lines, with each page's start offset. */
export async function pdfToText(bytes: Buffer): Promise<{ text: string; pageStarts: number[]; title?: string }> {
  let pdf;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes));
  } catch (error) {
    throw new Error(`corrupt or unreadable PDF (${(error as Error).message})`);
  }
  try {
    const { text: pages } = await extractText(pdf, { mergePages: false });
    const pageStarts: number[] = [];
    let text = "";
    for (const page of pages) {
      pageStarts.push(text.length);
      text += page.trim() + "\n\n";
    }
    const { info } = await getMeta(pdf).catch(() => ({ info: {} as Record<string, unknown> }));
    const title = typeof info.Title === "string" && info.Title.trim() ? info.Title.trim() : undefined;
    return { text: text.trimEnd(), pageStarts, title };
  } finally {
    await pdf.destroy();
  }
}
