import { convert, type FormatCallback } from "html-to-text";
import { Parser } from "htmlparser2";
import { MAX_NESTING, TOO_DEEP } from "./nesting.js";

// Headings become Markdown headings so chunks know their section, as Markdown files do.
const heading =
  (level: number): FormatCallback =>
  (elem, walk, builder) => {
    builder.openBlock({ leadingLineBreaks: 2 });
    builder.addInline(`${"#".repeat(level)} `);
    walk(elem.children, builder);
    builder.closeBlock({ trailingLineBreaks: 1 });
  };

/**
 * Page chrome that is not content: site navigation, search, and the classes and ids that
 * documentation generators give to navigation (DocBook's navheader/navfooter with Prev / Up /
 * Home / Next, breadcrumbs, tables of contents, sidebars, skip links). Class and id names are
 * matched whole: a substring would drop "protocol" for "toc".
 */
const CHROME = [
  "nav",
  "[role=navigation]",
  "[role=search]",
  ...["navheader", "navfooter", "breadcrumb", "breadcrumbs", "toc", "sidebar", "skip-link", "skiplink"].flatMap((name) => [`.${name}`, `#${name}`]),
];
/**
 * Blocks generators mark "header" or "nav-panel" (Texinfo's "Next: … Previous: … Up: … [Index]" bar
 * above every node): chrome when they hold a link to the next, previous or parent page.
 */
const NAV_BARS = [".header", ".nav-panel"];
const PAGE_LINK = new Set(["next", "prev", "previous", "up", "index", "contents", "start"]);

/** Permalink anchors (Texinfo's copiable-anchor, Sphinx's headerlink): a "¶" or "#" after a heading or a signature. */
const PERMALINK_TEXT = /^[\s¶#§🔗]*$/u;

/** Headers and footers: the page's own are chrome, those inside the content belong to it. */
const LANDMARKS = ["header", "footer", "[role=banner]", "[role=contentinfo]"];
const CONTENT_TAGS = new Set(["main", "article", "section"]);
const CONTENT_ROLES = new Set(["main", "article", "region"]);

type Element = Parameters<FormatCallback>[0];

/** Whether an element lies inside the page's content (main, an article or a section). */
function insideContent(elem: Element): boolean {
  for (let node = elem.parent; node; node = node.parent) {
    if (node.type === "tag" && (CONTENT_TAGS.has(node.name ?? "") || CONTENT_ROLES.has((node.attribs as Record<string, string> | undefined)?.role ?? "")))
      return true;
  }
  return false;
}

// An article's header carries its title; the site's banner and footer are the same on every page.
const landmark: FormatCallback = (elem, walk, builder) => {
  if (!insideContent(elem)) return;
  builder.openBlock({ leadingLineBreaks: 1 });
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 1 });
};

/** An element's descendants, depth first. */
function* descendants(elem: Element): Generator<Element> {
  for (const child of elem.children ?? []) {
    yield child;
    yield* descendants(child);
  }
}

const textOf = (elem: Element): string => [...descendants(elem)].map((node) => (node.type === "text" ? ((node as { data?: string }).data ?? "") : "")).join("");

const navBar: FormatCallback = (elem, walk, builder) => {
  const linksPages = [...descendants(elem)].some((node) =>
    ((node.attribs as Record<string, string> | undefined)?.rel ?? "").split(/\s+/).some((rel) => PAGE_LINK.has(rel.toLowerCase())),
  );
  if (linksPages) return;
  builder.openBlock({ leadingLineBreaks: 1 });
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks: 1 });
};

// A link reads as its text (its address is no prose); a permalink's "¶" is no text at all.
const link: FormatCallback = (elem, walk, builder) => {
  if (!PERMALINK_TEXT.test(textOf(elem))) walk(elem.children, builder);
};

/** A definition term short enough to name what its description defines (an argument, an option), not a signature. */
const isShortTerm = (text: string) => text.length <= 40 && !text.includes("(");
const BLOCK_TAGS = new Set(["pre", "ul", "ol", "dl", "table", "div", "blockquote"]);
/** A description of one paragraph, no code block, list or table: it reads on one line after its term. */
const isSimpleDescription = (dd: Element) =>
  (dd.children ?? []).filter((c) => c.type === "tag" && c.name === "p").length <= 1 && ![...descendants(dd)].some((n) => BLOCK_TAGS.has(n.name ?? ""));

// A definition list of short terms reads as a list of "term: description" items, as the list of a
// function's arguments is written in Markdown; "The arguments are:" is then followed by its items,
// not by one-word lines and descriptions that never name what they describe.
const definitionList: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 2 });
  let term: string | null = null;
  for (const child of elem.children ?? []) {
    if (child.type !== "tag") continue;
    const text = () => textOf(child).replace(/\s+/g, " ").trim();
    const dt = child.name === "dt" ? text() : null;
    if (dt !== null && isShortTerm(dt)) {
      term = dt;
      continue;
    }
    builder.openBlock({ leadingLineBreaks: 1 });
    if (child.name === "dd" && term !== null && isSimpleDescription(child)) builder.addInline(`- ${term}: ${text()}`);
    else {
      if (term !== null) builder.addInline(`- ${term}:`);
      walk(child.children, builder);
    }
    term = null;
    builder.closeBlock({ trailingLineBreaks: 1 });
  }
  builder.closeBlock({ trailingLineBreaks: 2 });
};

/** A table's rows, not those of a table nested in a cell. */
function rowsOf(elem: Element): Element[] {
  return (elem.children ?? []).flatMap((child) => {
    if (child.type !== "tag") return [];
    if (child.name === "tr") return [child];
    return ["thead", "tbody", "tfoot"].includes(child.name ?? "") ? rowsOf(child) : [];
  });
}

// A table row per line with cells between " | ", as Markdown tables read after their lexer: a row
// is then one sentence of its own. Column-aligned text (html-to-text's dataTable) wraps long cells
// onto lines of their own and runs the whole table together as one "sentence".
const pipeTable: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 2 });
  for (const row of rowsOf(elem)) {
    builder.openBlock({ leadingLineBreaks: 1 });
    const cells = (row.children ?? []).filter((c) => c.type === "tag" && ["td", "th"].includes(c.name ?? ""));
    cells.forEach((cell, i) => {
      if (i > 0) builder.addInline(" | ");
      walk(cell.children, builder);
    });
    builder.closeBlock({ trailingLineBreaks: 1 });
  }
  builder.closeBlock({ trailingLineBreaks: 2 });
};

/** Visible text of an HTML page; scripts, styles and navigation chrome are dropped. */
export function htmlToText(html: string): string {
  assertHtmlDepth(html);
  return convert(html, {
    wordwrap: false,
    formatters: { ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((n) => [`h${n}`, heading(n)])), landmark, pipeTable, navBar, link, definitionList },
    selectors: [
      ...[1, 2, 3, 4, 5, 6].map((n) => ({ selector: `h${n}`, format: `h${n}` })),
      { selector: "a", format: "link" },
      ...NAV_BARS.map((selector) => ({ selector, format: "navBar" })),
      { selector: "img", format: "skip" },
      ...CHROME.map((selector) => ({ selector, format: "skip" })),
      ...LANDMARKS.map((selector) => ({ selector, format: "landmark" })),
      { selector: "script", format: "skip" },
      { selector: "style", format: "skip" },
      { selector: "noscript", format: "skip" },
      { selector: "template", format: "skip" },
      { selector: "iframe", format: "skip" },
      { selector: "table", format: "pipeTable" },
      { selector: "dl", format: "definitionList" },
    ],
  }).trim();
}

/**
 * Throws when elements nest deeper than MAX_NESTING. The tokenizer pass stops at the first
 * element too deep, before html-to-text's recursive walk could overflow the stack.
 */
function assertHtmlDepth(html: string): void {
  let depth = 0;
  const parser = new Parser({
    onopentag: () => {
      if (++depth > MAX_NESTING) throw new Error(TOO_DEEP);
    },
    onclosetag: () => void depth--,
  });
  parser.end(html);
}

export function htmlTitle(html: string): string | undefined {
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html)?.[1];
  return title ? convert(title, { wordwrap: false }).trim() || undefined : undefined;
}
