import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import { analyze } from "../text/analyzer.js";
import type { CorpusStats } from "../text/corpus-stats.js";
import { coverage, conversationOf, questionWeights, sentenceCoverage, splitSentences, type Sentence } from "../text/sentences.js";
import { UsageError } from "../errors/index.js";
import { labelNamesSection, parsePrompt } from "./prompt.js";

export const EXTRACTIVE_LABEL = "(Extractive answer: sentences quoted from the sources; set RAG_LLM to openai, cohere or llama-cpp for a written answer.)";
export const NO_ANSWER = "The indexed documents do not appear to answer this question.";

/** Share of the question's weight the best sentence must hold itself to count as an answer. */
const MIN_COVERAGE = 0.1;
const MAX_SENTENCES = 2;
/** Share of the question's weight a further sentence must add (terms not yet covered) to join the answer. */
const MIN_GAIN = 0.1;
/** Extra credit for a section's opening sentence, as a share of the question's weight its heading holds. */
const LEAD_SHARE = 0.5;
/** How much a source's rank lowers its sentences' scores: 1 / (1 + RANK_DISCOUNT × rank). */
const RANK_DISCOUNT = 0.25;

type ParsedSource = { id: number; from: string; text: string };

/**
 * The offline answerer: a chat model that needs no weights. It reads the sources and
 * question from the answer prompt (or any chain's prompt: see promptOfAnyChain) and streams
 * the sentences that best cover the question, each with its citation, labelled as extractive.
 * When no sentence covers enough of the question it says the documents do not answer it.
 */
export class ExtractiveChatModel extends BaseChatModel {
  static override lc_name() {
    return "ExtractiveChatModel";
  }

  private readonly stats: CorpusStats | null;

  /** `stats`: the index's corpus statistics, for the weight of a rare term; without them, the sources' own. */
  constructor({ stats = null, ...fields }: BaseChatModelParams & { stats?: CorpusStats | null } = {}) {
    super(fields);
    this.stats = stats;
  }

  _llmType(): string {
    return "extractive";
  }

  /** The full answer text for a prompt. */
  answerFor(messages: BaseMessage[]): string {
    return this.answerPieces(messages).join("");
  }

  /** The answer in the pieces it streams as: each cited sentence, then the label. */
  private answerPieces(messages: BaseMessage[]): string[] {
    const texts = messages.map((m) => (typeof m.content === "string" ? m.content : m.text));
    const prompt = parsePrompt(texts.at(-1) ?? "");
    const { question, sources, cited } = prompt ? { ...prompt, cited: true } : { ...promptOfAnyChain(texts), cited: false };
    const picked = pickSentences(question, sources, this.stats);
    if (picked.length === 0) return [NO_ANSWER];
    return [...citedPieces(picked, sources, cited).map((piece, i) => `${i > 0 ? " " : ""}${piece}`), `\n\n${EXTRACTIVE_LABEL}`];
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
    // A sentence a chunk: the answer is whole before it streams, and each chunk costs a pass through
    // LangChain's callbacks and the server's events (word by word, that was most of a served ask's CPU).
    for (const token of this.answerPieces(messages)) {
      yield new ChatGenerationChunk({ text: token, message: new AIMessageChunk({ content: token }) });
      await runManager?.handleLLMNewToken(token);
    }
  }
}

/** A line that only labels what comes next ("Answer:", "Helpful answer:"), and a label before the question ("Question: …"). */
const LABEL_LINE = /^[\p{L} ]{1,30}:$/u;
const QUESTION_LABEL = /^(?:question|q|input|query)\s*:\s*/i;
const CONTEXT_LABEL = /^(?:context|sources|documents)\s*:/i;

/**
 * The question and sources of a prompt some other chain built (createStuffDocumentsChain with its
 * own template, an LCEL prompt). A labelled question ("Question: …", or the line after a bare
 * "Question:") in the last message is the question wherever it stands: the first such line when it
 * comes before a "Context:" label (later ones may be the context's own), else the last. Without a
 * label, the question is the last message when there are several (the context in the ones before),
 * else the last line that is not a label ("Answer:"). The rest is the context. Such a prompt numbers
 * no sources, so the answer cites none.
 */
function promptOfAnyChain(texts: string[]): { question: string; sources: ParsedSource[] } {
  if (texts.join("").trim() === "") {
    throw new UsageError("The extractive answerer got an empty prompt: there is no question to answer.", {
      hint: "Pass the question in the last message (and the context in the messages before it, or in the answer chain's <sources> and <question> blocks).",
    });
  }
  const earlier = texts.slice(0, -1);
  const lines = texts.at(-1)!.trimEnd().split("\n");
  const labelled = lines.map((line, i) => (QUESTION_LABEL.test(line.trim()) ? i : -1)).filter((i) => i >= 0);
  const context = lines.findIndex((line) => CONTEXT_LABEL.test(line.trim()));
  const at = context >= 0 && labelled[0]! < context ? labelled[0] : labelled.at(-1);
  if (at !== undefined) {
    const inline = lines[at]!.trim().replace(QUESTION_LABEL, "");
    const end = inline ? at + 1 : at + 2;
    const rest = [...lines.slice(0, at), ...lines.slice(end)].join("\n");
    return { question: inline || (lines[at + 1] ?? "").trim(), sources: [{ id: 1, from: "", text: [...earlier, rest].join("\n\n") }] };
  }
  if (texts.length > 1) return { question: texts.at(-1)!.trim(), sources: [{ id: 1, from: "", text: earlier.join("\n\n") }] };
  while (lines.length > 1 && LABEL_LINE.test(lines.at(-1)!.trim())) lines.pop();
  const question = lines.pop()!;
  return { question: question.trim(), sources: [{ id: 1, from: "", text: lines.join("\n") }] };
}

/** Questions that ask for a quantity, a limit, a default or a time: their answer holds a number. */
const ASKS_FOR_NUMBER =
  /\b(?:how (?:long|many|much|often|quickly|soon|far|large|big|old)|maximum|minimum|max|min|default|limits?|timeout|size|number of|at most|at least|which version)\b|^\s*when\b/i;

/** A number standing on its own ("10 seconds", "99.99%"), not one inside a name such as 2xx, OAuth2 or v2. */
const QUANTITY = /\b\d+(?:[.,]\d+)*\b/;

/** A sentence that opens by referring back to the one before it. */
const REFERS_BACK = /^(?:it|its|this|that|these|those|they|their|such)\b/i;

/** A sentence that introduces a list or steps after it, with a colon or in words ("…are listed below."). */
const ANNOUNCES = /:$|\bthese steps\b|\bthe following\b|\bas follows\b|\b(?:listed|shown|described) below\b/i;
/** How many list-item sentences (steps) an announcing sentence brings with it. */
const MAX_FOLLOWING = 4;

/** A list item that is no sentence: a few words without a full stop ("Open tabs", a table of contents' "Bundling yargs"). */
const isBareItem = (s: Sentence) => s.item && !/[.!?;]["')\]]?$/.test(s.text) && s.terms.size < 4;

/**
 * The answer's sentences as cited pieces. Bare list items read as one list after the sentence
 * that announces them, cited once ("Each session has its own: cookies; local storage; open tabs
 * [1]"), instead of a citation after every two words. A sentence from another section than the
 * one its source is labelled with names its own ("… (§ Namespace Colors) [1]").
 */
function citedPieces(picked: ReadonlyArray<Sentence & { source: number }>, sources: readonly ParsedSource[], cited: boolean): string[] {
  const groups: Array<{ source: number; text: string; open: boolean; heading: string }> = [];
  for (const s of picked) {
    const last = groups.at(-1);
    if (last?.open && last.source === s.source && isBareItem(s)) {
      last.text += `${last.text.endsWith(":") ? " " : "; "}${s.text}`;
      continue;
    }
    groups.push({ source: s.source, text: s.text, open: s.text.endsWith(":") || isBareItem(s), heading: s.heading });
  }
  return groups.map((g, i) => {
    // A source labelled by the section that fills most of it may hold a sentence of another: say
    // which, once for a run of sentences from that section.
    const label = sources.find((source) => source.id === g.source)?.from ?? "";
    const previous = groups[i - 1];
    const named = previous?.source === g.source && previous.heading === g.heading;
    const section = g.heading && label.includes("§ ") && !labelNamesSection(label, g.heading) && !named ? ` (§ ${g.heading})` : "";
    return cited ? `${g.text}${section} [${g.source}]` : g.text;
  });
}

/** The words an extractive answer quotes: its citations ("[1]", "(§ Limits) [1]") and its label left out. */
export function quotedWords(answer: string): string {
  return answer
    .split("\n\n")[0]!
    .replace(/ \(§ .*?\)(?= \[\d+\])/g, "")
    .replace(/\[\d+\]/g, "");
}

/** Code, not prose: a sentence dense in code punctuation (a line of a snippet that lost its fence). */
const looksLikeCode = (text: string) => (text.match(/[=;{}()<>[\]"']/g) ?? []).length > 0.05 * text.length;

/**
 * Picks the answer's sentences. Each sentence of the sources is scored by the IDF-weighted share
 * of the question's content terms it holds (its headings count in part, more for the sentence that
 * opens its section), raised when the question asks for a number and it holds one, lowered when it
 * reads as code, and discounted by its source's rank. The best one leads, with the sentence after
 * it when that one refers back to it; sentences of the same source follow while each adds at least
 * MIN_GAIN of the question's weight not yet covered, up to MAX_SENTENCES, in reading order.
 */
function pickSentences(question: string, sources: ParsedSource[], stats: CorpusStats | null): Array<Sentence & { source: number }> {
  const perSource = sources.map((s, rank) => ({ ...s, rank, context: new Set(analyze(s.from)), sentences: splitSentences(s.text) }));
  const all = perSource.flatMap((s) => s.sentences.map((sentence) => ({ sentence, source: s })));
  if (all.length === 0) return [];
  // The index's statistics say which terms are rare; without them, the sources' own sentences do.
  const df = new Map<string, number>();
  for (const { sentence } of all) for (const t of sentence.terms) df.set(t, (df.get(t) ?? 0) + 1);
  const weights = questionWeights(question, stats ? (t) => stats.idf(t) : (t) => Math.log(1 + all.length / (df.get(t) ?? 0.5)));
  const wantsNumber = ASKS_FOR_NUMBER.test(conversationOf(question).asked);
  const scored = all
    .map(({ sentence, source }) => {
      const headings = new Set([...source.context, ...sentence.headingTerms]);
      const { own, score } = sentenceCoverage(weights, sentence.terms, headings);
      // The sentence that opens a section whose heading matches the question speaks for the section.
      const lead = sentence.leads ? score - own + LEAD_SHARE * coverage(weights, (t) => sentence.headingTerms.has(t)) : 0;
      // A row's "; " between named cells is no code punctuation.
      const factor = (wantsNumber && QUANTITY.test(sentence.text) ? 2 : 1) * (!sentence.row && looksLikeCode(sentence.text) ? 0.5 : 1);
      return { sentence, source, own, score: ((score + lead) * factor) / (1 + RANK_DISCOUNT * source.rank) / (1 + sentence.terms.size / 60) };
    })
    .filter((x) => x.own >= MIN_COVERAGE)
    .sort((a, b) => b.score - a.score);
  // A bare list item may follow the sentence that announces it, never lead the answer.
  const best = scored.find((x) => !isBareItem(x.sentence));
  if (!best) return [];
  // A sentence that announces what follows ("Follow these steps…", "…as follows:") is no answer
  // alone: the list items right after it (the steps) come with it.
  const after = best.source.sentences.filter((s) => s.order > best.sentence.order);
  const listEnd = after.findIndex((s) => !s.item);
  const steps = (listEnd < 0 ? after : after.slice(0, listEnd)).slice(0, MAX_FOLLOWING);
  if (ANNOUNCES.test(best.sentence.text) && steps.length > 0) return [best.sentence, ...steps].map((sentence) => ({ ...sentence, source: best.source.id }));
  const picked = [best.sentence];
  // A sentence that refers back to the best one ("Its value is…") says more about what it names.
  const next = best.source.sentences[best.sentence.order + 1];
  if (next && next.heading === best.sentence.heading && !next.item && !next.row && REFERS_BACK.test(next.text)) picked.push(next);
  const covered = new Set(picked.flatMap((s) => [...s.terms]));
  while (picked.length < MAX_SENTENCES) {
    const gainOf = (terms: Set<string>) => coverage(weights, (t) => terms.has(t) && !covered.has(t));
    const next = scored
      .filter((x) => x.source === best.source && !picked.includes(x.sentence))
      .map((x) => ({ sentence: x.sentence, gain: gainOf(x.sentence.terms) }))
      .reduce<{ sentence?: Sentence; gain: number }>((a, b) => (b.gain > a.gain ? b : a), { gain: 0 });
    if (!next.sentence || next.gain < MIN_GAIN) break;
    picked.push(next.sentence);
    for (const t of next.sentence.terms) covered.add(t);
  }
  return picked.sort((a, b) => a.order - b.order).map((sentence) => ({ ...sentence, source: best.source.id }));
}
