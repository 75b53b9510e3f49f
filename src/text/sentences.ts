import { BoundedCache } from "../util/bounded-cache.js";
import { analyze } from "./analyzer.js";

export interface Sentence {
  /** Position among the text's sentences (reading order). */
  order: number;
  text: string;
  terms: Set<string>;
  /** The heading in force where the sentence stands in the text ("" before any), and its terms. */
  heading: string;
  headingTerms: Set<string>;
  /** Whether it is the first sentence under its heading: the one that usually says what the section is about. */
  leads: boolean;
  /** Whether it stands in a list item (a step, an option). */
  item: boolean;
  /** Whether it is a table row, its cells named by their columns ("Plan: Growth; Sustained rate: …"). */
  row: boolean;
}

const LIST_ITEM = /^\s*(?:[-*+>]|\d+[.)])\s+/;
/** A line that opens or closes a fenced code block. */
export const FENCE = /^\s*(?:```|~~~)/;
/** Marks a heading line that restates the section a text starts in, mid-section (see readableText). */
export const CONTINUED_HEADING = " (continued)";
/** Text that goes on in what follows: a clause ending in a comma, a semicolon, "and" or "or". */
const RUNS_ON = /(?:[,;]|\band|\bor)$/;
const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

interface Paragraph {
  text: string;
  prose: boolean;
  heading: string;
  continued: boolean;
  item: boolean;
}

/**
 * Bold and code marks go; `_` stays (it belongs to identifiers like grant_type), and so does a
 * `**` that closes no bold (C's `void **avalues`). Tabs and runs of spaces (plain-text tables,
 * justified lines) read as one space.
 */
const withoutMarks = (text: string) =>
  text
    .replace(/\*\*(\S(?:[^*]*?\S)?)\*\*/g, "$1")
    .replace(/`/g, "")
    .replace(/[ \t]{2,}|\t/g, " ");

/**
 * A text's prose as paragraphs: the lines of a paragraph (hard-wrapped text) joined into one,
 * each list item and table row a paragraph of its own; headings, code blocks and table rules left out,
 * so no sentence runs across them. A table row reads with its column names ("Option: dot; Type:
 * boolean; Default: false"), taken from the table's first row, which is not a sentence itself.
 */
function paragraphs(text: string): Paragraph[] {
  const out: Paragraph[] = [];
  let lines: string[] = [];
  let heading = "";
  /** Whether the text started mid-section under `heading`: its first sentence does not open the section. */
  let continued = false;
  let item = false;
  const flush = () => {
    if (lines.length) out.push({ text: lines.join(" "), prose: true, heading, continued, item });
    lines = [];
    item = false;
  };
  let inCode = false;
  /** The column names of the table being read (its first row), or null outside a table. */
  let columns: string[] | null = null;
  const all = text.split("\n");
  const isRule = (line: string | undefined) => line !== undefined && line.trim() !== "" && /^[\s|:-]+$/.test(line);
  const isRow = (line: string | undefined) => line !== undefined && line.includes(" | ") && !isRule(line);
  all.forEach((line, i) => {
    if (FENCE.test(line)) {
      flush();
      inCode = !inCode;
      return;
    }
    const rule = isRule(line);
    const markedHeading = !inCode && /^\s*#/.test(line);
    const headingLine = markedHeading || (!inCode && isPlainHeading(all, i));
    if (inCode || !line.trim() || headingLine || rule) {
      flush();
      if (headingLine) {
        heading = markedHeading ? line.replace(/^\s*#+\s*/, "") : line.trim();
        continued = heading.endsWith(CONTINUED_HEADING);
        if (continued) heading = heading.slice(0, -CONTINUED_HEADING.length);
      }
      // A rule between a table's header and rows keeps the table going; anything else ends it.
      if (!rule) columns = null;
      return;
    }
    if (isRow(line)) {
      flush();
      const cells = line.split("|").map((cell) => withoutMarks(cell).trim());
      // A first row with rows after it names the columns; a lone "a | b" line is a row of its own.
      const next = isRule(all[i + 1]) ? all[i + 2] : all[i + 1];
      if (!columns && isRow(next)) {
        columns = cells;
        return;
      }
      const names = columns;
      const named = names ? cells.map((cell, c) => (cell && names[c] ? `${names[c]}: ${cell}` : cell)) : cells;
      out.push({ text: named.filter(Boolean).join(names ? "; " : " | "), prose: false, heading, continued, item: false });
      return;
    }
    columns = null;
    const last = out.at(-1);
    // A list whose items go on in lower case finishes the sentence that announced it ("fails if your
    // endpoint: - returns…, - does not respond…"): the items join that sentence instead of each
    // standing as a fragment. Only items that run on ("…range,", "…timeout, or") continue it;
    // "keyword: the keyword." is an item of its own.
    const itemText = line.replace(LIST_ITEM, "").replace(/`/g, "").trim();
    const before = lines.at(-1) ?? (last?.heading === heading ? last.text : "");
    const runsOn = RUNS_ON.test(before) || (before.endsWith(":") && RUNS_ON.test(itemText));
    if (LIST_ITEM.test(line) && /^\p{Ll}/u.test(itemText) && runsOn) {
      if (!lines.length && last) lines = [out.pop()!.text];
      lines.push(itemText);
      return;
    }
    if (LIST_ITEM.test(line)) {
      flush();
      item = true;
    }
    lines.push(withoutMarks(line.replace(LIST_ITEM, "")).trim());
  });
  flush();
  return out;
}

/** Text that ends a sentence, or a clause, with its punctuation (a closing quote or bracket allowed after it). */
const ENDS_SENTENCE = /[.!?:]["')\]]?$/;
const ENDS_CLAUSE = /[.!?:;,]["')\]]?$/;
const PLAIN_HEADING_WORDS = 6;

/**
 * A heading of text that has no # to mark one (a PDF page, a .txt file): a short line that starts
 * in upper case and ends without punctuation, after a finished sentence or a blank, and right before
 * a line that starts afresh (upper case or a list item). Quoted as a sentence, "Key rotation" alone
 * covered "How do I rotate a key?" better than any sentence under it.
 */
function isPlainHeading(lines: readonly string[], i: number): boolean {
  const line = lines[i]!.trim();
  const previous = lines[i - 1]?.trim() ?? "";
  const next = lines[i + 1] ?? "";
  return (
    /^[\p{Lu}\d]/u.test(line) &&
    !ENDS_CLAUSE.test(line) &&
    !LIST_ITEM.test(lines[i]!) &&
    !line.includes(" | ") &&
    line.split(/\s+/).length <= PLAIN_HEADING_WORDS &&
    (previous === "" || ENDS_SENTENCE.test(previous)) &&
    (/^\p{Lu}/u.test(next.trim()) || LIST_ITEM.test(next))
  );
}

/**
 * Whole sentences of a text (Intl.Segmenter over each joined paragraph). A chunk may start or
 * end inside a sentence: a first sentence that starts in lower case and a last one without its
 * closing punctuation are fragments and left out, as are sentences of fewer than two terms.
 */
export function splitSentences(text: string): Sentence[] {
  const sentences: Sentence[] = [];
  const blocks = paragraphs(text);
  // One segmenter pass over the paragraphs joined by line breaks (a break always ends a sentence):
  // far cheaper than a pass per paragraph.
  const starts: number[] = [];
  let offset = 0;
  for (const block of blocks) {
    starts.push(offset);
    offset += block.text.length + 1;
  }
  const segments = joinAbbreviations([...segmenter.segment(blocks.map((b) => b.text).join("\n"))]);
  let section: string | undefined;
  let b = 0;
  segments.forEach(({ segment, index }, i) => {
    while (b + 1 < blocks.length && index >= starts[b + 1]!) b++;
    const block = blocks[b]!;
    const sentence = segment.replace(/^\|\s*|\s*\|$/g, "").trim();
    const lastOfBlock = i === segments.length - 1 || segments[i + 1]!.index >= (starts[b + 1] ?? Infinity);
    if (b === 0 && index === 0 && /^\p{Ll}/u.test(sentence)) return;
    if (b === blocks.length - 1 && lastOfBlock && block.prose && !ENDS_SENTENCE.test(sentence)) return;
    const terms = new Set(analyze(sentence));
    if (terms.size < 2) return;
    sentences.push({
      order: sentences.length,
      text: sentence,
      terms,
      heading: block.heading,
      headingTerms: headingTermsOf(block.heading),
      leads: block.heading !== "" && section !== block.heading && !block.continued,
      item: block.item,
      row: !block.prose,
    });
    section = block.heading;
  });
  return sentences;
}

/** Abbreviations that end no sentence, though the segmenter ends one after them before a capital ("e.g. Vault"). */
const ABBREVIATION = /(?:^|[\s(])(?:e\.g|i\.e|cf|vs|viz|approx|incl|resp|fig|eq|et al)\.\s+$/i;

/** Segments rejoined where the segmenter broke after an abbreviation within a line. */
function joinAbbreviations(segments: Intl.SegmentData[]): Array<{ segment: string; index: number }> {
  const joined: Array<{ segment: string; index: number }> = [];
  for (const { segment, index } of segments) {
    const last = joined.at(-1);
    if (last && ABBREVIATION.test(last.segment) && !last.segment.endsWith("\n")) last.segment += segment;
    else joined.push({ segment, index });
  }
  return joined;
}

const headingTerms = new BoundedCache<string, Set<string>>(10_000);
/** A heading's terms; headings repeat across the chunks of a document, so they are analysed once. */
const headingTermsOf = (heading: string) => headingTerms.get(heading, (h) => new Set(analyze(h)));

/**
 * Words that say what kind of question it is, not what it is about: whether a passage holds them
 * tells nothing about whether it answers ("How do I use the API to get…").
 */
const GENERIC = new Set(
  analyze(
    "api apis use using used get gets make makes need needs way ways possible happen happens work works thing things someone something " +
      "tell know want able also exactly actually anyone please doc docs document documentation " +
      // What is left of "doesn't", "isn't" once CLITIC has taken the "'t".
      "don doesn didn isn aren wasn weren hasn haven hadn won wouldn shouldn couldn",
  ),
);

/** The "'s", "'t", "'re" of "Lumen's", "doesn't", "we're": no content of the question (BM25 keeps its own terms as they were). */
const CLITIC = /(?<=\p{L})['’](?:s|t|re|ve|ll|d|m)\b/giu;

/**
 * "How many", "how long", "how often"…: the second word asks for a quantity (the answer holds a
 * number, not the word), yet is rare in documentation and would weigh most under IDF.
 */
const HOW_MUCH = /\bhow\s+(?:many|much|long|often|soon|quickly|far|big|large|old)\b/gi;

/** A question's content terms with their weights (the caller's IDF), generic question words left out; earlier lines count EARLIER_TURN_SHARE. */
export function questionWeights(question: string, idf: (term: string) => number): Map<string, number> {
  const { earlier, asked } = conversationOf(question);
  const content = (text: string) => analyze(text.replace(HOW_MUCH, " ").replace(CLITIC, "")).filter((term) => !GENERIC.has(term));
  const weights = new Map<string, number>();
  for (const term of content(earlier)) weights.set(term, EARLIER_TURN_SHARE * idf(term));
  for (const term of content(asked)) weights.set(term, idf(term));
  return weights;
}

/** Several lines are a conversation (a follow-up is asked after the previous question): what is asked now is the last line. */
export function conversationOf(question: string): { earlier: string; asked: string } {
  const lines = question.trim().split("\n");
  const asked = lines.pop()!;
  return { earlier: lines.join("\n"), asked };
}

/** Weight of a term only an earlier turn of the conversation used, against one in the question asked now. */
export const EARLIER_TURN_SHARE = 0.25;

/** The share of the question's weight whose terms `has` holds, 0–1 (0 for a question with no content terms). */
export function coverage(weights: ReadonlyMap<string, number>, has: (term: string) => boolean): number {
  let total = 0;
  let covered = 0;
  for (const [term, weight] of weights) {
    total += weight;
    if (has(term)) covered += weight;
  }
  return total > 0 ? covered / total : 0;
}

/** Weight of a term found only in a sentence's section heading or title, against one in the sentence itself. */
export const CONTEXT_SHARE = 0.5;

/**
 * How much of the question a sentence answers: the share of the question's weight in the sentence,
 * plus CONTEXT_SHARE of the share found only in its headings (the text's title and heading path,
 * `context`, and the heading it stands under).
 */
export function sentenceCoverage(
  weights: ReadonlyMap<string, number>,
  terms: ReadonlySet<string>,
  headings: ReadonlySet<string>,
): { own: number; score: number } {
  const own = coverage(weights, (t) => terms.has(t));
  return { own, score: own + coverage(weights, (t) => !terms.has(t) && headings.has(t)) * CONTEXT_SHARE };
}

/**
 * How well one place in a text answers a question: the best sentenceCoverage of a single
 * sentence, or two adjacent ones. Unlike the whole text's coverage, a passage whose words are
 * spread over unrelated sentences (a neighbouring topic) scores low, and a question term found
 * nowhere in the corpus (heaviest under IDF) is never covered.
 */
export function sentenceEvidence(weights: ReadonlyMap<string, number>, sentences: readonly Sentence[], context: ReadonlySet<string>): number {
  // Per sentence, which of the question's terms it holds and which its headings hold: a window's
  // coverage is then a sum over the question's few terms, with no set built per window.
  const terms = [...weights.keys()];
  const total = [...weights.values()].reduce((sum, w) => sum + w, 0);
  if (total === 0) return 0;
  const weight = terms.map((t) => weights.get(t)! / total);
  const own = sentences.map((s) => terms.map((t) => s.terms.has(t)));
  const heads = sentences.map((s) => terms.map((t) => context.has(t) || s.headingTerms.has(t)));
  let best = 0;
  for (let i = 0; i < sentences.length; i++) {
    for (const end of i + 1 < sentences.length ? [i, i + 1] : [i]) {
      let score = 0;
      terms.forEach((_, k) => {
        const held = own[i]![k] || own[end]![k];
        if (held) score += weight[k]!;
        else if (heads[i]![k] || heads[end]![k]) score += weight[k]! * CONTEXT_SHARE;
      });
      best = Math.max(best, score);
    }
  }
  return best;
}
