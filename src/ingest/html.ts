import { convert, type FormatCallback } from "html-to-text";

// Headings become Markdown headings so chunks know their section, as Markdown files do.
const heading =
  (level: number): FormatCallback =>
  (elem, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addInline(`${"#".repeat(level)} `);
    walk(elem.children, builder);
    builder.closeBlock({ trailingLineBreaks: 1 });
  };

/** Visible text of an HTML page; scripts, styles and navigation chrome are dropped. */
export function htmlToText(html: string): string {
  return convert(html, {
    wordwrap: false,
    formatters: Object.fromEntries([1, 2, 3, 4, 5, 6].map((n) => [`h${n}`, heading(n)])),
    selectors: [
      ...[1, 2, 3, 4, 5, 6].map((n) => ({ selector: `h${n}`, format: `h${n}` })),
      { selector: "a", options: { ignoreHref: true } },
      { selector: "img", format: "skip" },
      { selector: "nav", format: "skip" },
      { selector: "header", format: "skip" },
      { selector: "footer", format: "skip" },
      { selector: "script", format: "skip" },
      { selector: "style", format: "skip" },
      { selector: "noscript", format: "skip" },
      { selector: "template", format: "skip" },
      { selector: "iframe", format: "skip" },
      { selector: "table", format: "dataTable" },
    ],
  }).trim();
}

export function htmlTitle(html: string): string | undefined {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  return title ? convert(title, { wordwrap: false }).trim() || undefined : undefined;
}
