import { decodeHTML } from "entities";
import { Lexer, type Token, type Tokens } from "marked";

/** YAML front matter: metadata, not text (its title is read from the raw file). */
const FRONT_MATTER = /^---\r?\n[\s\S]*?\r?\n---[ \t]*(?:\r?\n|$)/;

/**
 * Markdown to the plain text every stage reads (embedder, BM25, prompt, extractive answerer),
 * through marked's lexer: HTML comments and other raw HTML, link-reference definitions and
 * images are dropped; links become their text; emphasis markers go; the hard-wrapped lines of
 * a paragraph are joined into one line; code blocks (fenced, so later stages can tell code from
 * prose) and inline code stay verbatim; tables become one `cell | cell` line per row; list items
 * keep a `- ` marker. Headings stay `#` lines, as in HTML turned to text, so chunks know their
 * section. The raw file stays the source of truth for citations.
 */
export function markdownToText(markdown: string): string {
  const tokens = new Lexer({ gfm: true }).lex(markdown.replace(FRONT_MATTER, ""));
  return blocks(tokens, "")
    .join("\n\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** Block tokens as paragraphs of text, each line prefixed (list and quote nesting). */
function blocks(tokens: readonly Token[], prefix: string): string[] {
  const out: string[] = [];
  for (const token of tokens) {
    const text = block(token, prefix);
    if (text !== null && text.trim()) out.push(text);
  }
  return out;
}

function block(token: Tokens.Generic, prefix: string): string | null {
  switch (token.type) {
    case "heading":
      return `${prefix}${"#".repeat((token as Tokens.Heading).depth)} ${inline(token.tokens)}`;
    case "paragraph":
    case "text":
      return prefix + (token.tokens ? inline(token.tokens) : oneLine(String(token.text)));
    case "code": {
      const { text, lang } = token as Tokens.Code;
      return [`\`\`\`${lang ?? ""}`, ...text.split("\n"), "```"].map((line) => prefix + line).join("\n");
    }
    case "table": {
      const { header, rows } = token as Tokens.Table;
      return [header, ...rows].map((row) => prefix + row.map((cell) => inline(cell.tokens)).join(" | ")).join("\n");
    }
    case "list":
      return (token as Tokens.List).items
        .map((item) => {
          const [first = "", ...rest] = blocks(item.tokens, "");
          const lines = [`- ${first}`, ...rest.map((b) => b.replace(/^/gm, "  "))].join("\n");
          return lines.replace(/^/gm, prefix);
        })
        .join("\n");
    case "blockquote":
      return blocks((token as Tokens.Blockquote).tokens, prefix).join("\n\n");
    // Comments and raw HTML blocks, link-reference definitions, rules and blank space carry no text.
    default:
      return null;
  }
}

/** Inline tokens as one line of text: soft line breaks joined, markup dropped, code kept. */
function inline(tokens: readonly Token[] | undefined): string {
  let out = "";
  for (const token of tokens ?? []) {
    const t = token as Tokens.Generic;
    switch (t.type) {
      case "text":
      case "escape":
        out += t.tokens ? inline(t.tokens) : decodeEntities(String(t.text));
        break;
      case "codespan":
        out += decodeEntities(String(t.text));
        break;
      case "br":
        out += " ";
        break;
      case "strong":
      case "em":
      case "del":
      case "link":
        out += inline(t.tokens);
        break;
      // Inline HTML (comments, tags) and images are not text.
      default:
        break;
    }
  }
  return oneLine(out);
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, " ").replace(/[ \t]{2,}/g, " ");

/** marked keeps character references for HTML output ("&ndash;", "&#8212;"); plain text wants the characters, a no-break space as a space. */
function decodeEntities(text: string): string {
  return decodeHTML(text).replace(/\u00a0/g, " ");
}
