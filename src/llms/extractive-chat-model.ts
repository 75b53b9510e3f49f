import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import { analyze } from "../text/analyzer.js";
import { parsePrompt } from "./prompt.js";

export const EXTRACTIVE_LABEL = "(Extractive answer: sentences quoted from the sources; set --llm openai for a written answer.)";
export const NO_ANSWER = "The indexed documents do not appear to answer this question.";

interface Sentence {
  source: number;
  order: number;
  text: string;
  terms: Set<string>;
}

/** Share of the question's weight a sentence must cover to count as an answer. */
const MIN_COVERAGE = 0.3;
const MAX_SENTENCES = 3;

type ParsedSource = { id: number; from: string; text: string };

/**
 * The offline answerer: a chat model that needs no weights. It reads the sources and
 * question from the answer prompt and streams the sentences that best cover the
 * question, each with its citation, labelled as extractive. When no sentence covers
 * enough of the question it says the documents do not answer it.
 */
export class ExtractiveChatModel extends BaseChatModel {
  static override lc_name() {
    return "ExtractiveChatModel";
  }

  constructor(fields: BaseChatModelParams = {}) {
    super(fields);
  }

  _llmType(): string {
    return "extractive";
  }

  /** The full answer text for a prompt, computed before streaming it word by word. */
  answerFor(messages: BaseMessage[]): string {
    const last = messages.at(-1);
    const prompt = parsePrompt(typeof last?.content === "string" ? last.content : (last?.text ?? ""));
    if (!prompt) {
      throw new Error("The extractive answerer needs the answer chain's prompt (<sources> and <question> blocks); a custom prompt must keep them.");
    }
    const picked = pickSentences(prompt.question, prompt.sources);
    if (picked.length === 0) return NO_ANSWER;
    return `${picked.map((s) => `${s.text} [${s.source}]`).join(" ")}\n\n${EXTRACTIVE_LABEL}`;
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- BaseChatModel's contract is async; `async` keeps a bad prompt a rejection.
  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    const text = this.answerFor(messages);
    return { generations: [{ text, message: new AIMessage(text) }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    _options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    for (const token of this.answerFor(messages).match(/\S+\s*|\s+/g) ?? []) {
      yield new ChatGenerationChunk({ text: token, message: new AIMessageChunk({ content: token }) });
      await runManager?.handleLLMNewToken(token);
    }
  }
}

const LIST_ITEM = /^\s*(?:[-*+>]|\d+[.)])\s+/;
const segmenter = new Intl.Segmenter("en", { granularity: "sentence" });

/**
 * A source's prose as paragraphs: the lines of a paragraph (hard-wrapped text) joined into one,
 * each list item and table row a paragraph of its own; headings, code blocks and table rules left out,
 * so no sentence runs across them.
 */
function paragraphs(text: string): Array<{ text: string; prose: boolean }> {
  const out: Array<{ text: string; prose: boolean }> = [];
  let lines: string[] = [];
  let prose = true;
  const flush = () => {
    if (lines.length) out.push({ text: lines.join(" "), prose });
    lines = [];
    prose = true;
  };
  let inCode = false;
  for (const line of text.split("\n")) {
    if (line.trimStart().startsWith("```")) {
      flush();
      inCode = !inCode;
      continue;
    }
    if (inCode || !line.trim() || /^\s*#/.test(line) || /^[\s|:-]+$/.test(line)) {
      flush();
      continue;
    }
    const row = line.includes(" | ");
    if (LIST_ITEM.test(line) || row || !prose) flush();
    prose = !row;
    // List markers, bold and code marks go; `_` stays: it belongs to identifiers like grant_type.
    lines.push(
      line
        .replace(LIST_ITEM, "")
        .replace(/\s*\|\s*/g, " | ")
        .replace(/\*\*|`/g, "")
        .trim(),
    );
  }
  flush();
  return out;
}

/**
 * Whole sentences of a source (Intl.Segmenter over each joined paragraph). A chunk may start or
 * end inside a sentence: a first sentence that starts in lower case and a last one without its
 * closing punctuation are fragments and left out.
 */
function splitSentences(source: number, text: string): Sentence[] {
  const sentences: Sentence[] = [];
  const blocks = paragraphs(text);
  blocks.forEach((block, b) => {
    const segments = [...segmenter.segment(block.text)].map(({ segment }) => segment.replace(/^\|\s*|\s*\|$/g, "").trim());
    segments.forEach((sentence, i) => {
      if (b === 0 && i === 0 && /^\p{Ll}/u.test(sentence)) return;
      if (b === blocks.length - 1 && i === segments.length - 1 && block.prose && !/[.!?:]["')\]]?$/.test(sentence)) return;
      const terms = new Set(analyze(sentence));
      if (terms.size >= 2) sentences.push({ source, order: sentences.length, text: sentence, terms });
    });
  });
  return sentences;
}

/**
 * Picks the answer: the source that best covers the question (its section heading
 * counts, earlier ranks are preferred), then its sentences that cover the question
 * best, in reading order, so steps stay in sequence.
 */
function pickSentences(question: string, sources: ParsedSource[]): Sentence[] {
  const queryTerms = [...new Set(analyze(question))];
  const perSource = sources.map((s) => ({ source: s, sentences: splitSentences(s.id, s.text), context: new Set(analyze(s.from)) }));
  const all = perSource.flatMap((s) => s.sentences);
  if (all.length === 0 || queryTerms.length === 0) return [];
  const df = new Map<string, number>();
  for (const s of all) for (const t of s.terms) df.set(t, (df.get(t) ?? 0) + 1);
  const weight = (t: string) => Math.log(1 + all.length / (df.get(t) ?? 0.5));
  const total = queryTerms.reduce((sum, t) => sum + weight(t), 0);
  const cover = (has: (t: string) => boolean) => queryTerms.filter(has).reduce((sum, t) => sum + weight(t), 0) / total;

  const ranked = perSource
    .filter((s) => s.sentences.length > 0)
    .map((s, rank) => {
      const textTerms = new Set(s.sentences.flatMap((x) => [...x.terms]));
      const coverage = cover((t) => textTerms.has(t) || s.context.has(t));
      return { ...s, coverage, score: coverage / (1 + 0.25 * rank) };
    })
    .sort((a, b) => b.score - a.score);
  const best = ranked[0];
  if (!best || best.coverage < MIN_COVERAGE) return [];
  const scored = best.sentences
    .map((sentence) => {
      // A sentence inherits half the credit of its section heading's terms.
      const own = cover((t) => sentence.terms.has(t));
      const inherited = cover((t) => !sentence.terms.has(t) && best.context.has(t)) / 2;
      return { sentence, score: (own + inherited) / (1 + sentence.terms.size / 60), own };
    })
    .filter((x) => x.own > 0)
    .sort((a, b) => b.score - a.score);
  return scored
    .slice(0, MAX_SENTENCES)
    .map((x) => x.sentence)
    .sort((a, b) => a.order - b.order);
}
