// Writes a BERT-style (uncased WordPiece) tokenizer in the Hugging Face file layout, with a
// vocabulary built deterministically from a text so English tokenizes roughly like BERT's.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** Vocabulary size of the TINY preset: room for the base pieces plus ~1.7k corpus words. */
export const TINY_VOCAB_SIZE = 2048;

export const SPECIAL_TOKENS = {
  pad_token: "[PAD]",
  unk_token: "[UNK]",
  cls_token: "[CLS]",
  sep_token: "[SEP]",
  mask_token: "[MASK]",
} as const;

// Same ids as bert-base-uncased, so code that hard-codes them (e.g. pad id 0) behaves alike.
const SPECIAL_IDS: Record<string, number> = { "[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103 };

// Common English suffixes so unknown inflections split as "word ##ing" rather than letter by letter.
const SUFFIXES =
  "s es ed ing ly er ers est ion ions tion tions ment ments ness able ible al ial ic ical ive ity ous ful less ize ise ant ent ence ance ism ist ure age ship en y ies ied".split(
    " ",
  );

// Used when no corpus is given: frequent English words plus the retrieval vocabulary the tests use.
const DEFAULT_CORPUS = `
the of and to in is was for that on as with by it at from his an were are which be this has have had not but or
they their one all been also its new more first who two when after other there can into would time only may most
some these such between over do does did up about out so than then them what where how many much very well just
because each any both through during before under while should could will must our we you your he she her him my
me i us if no yes people year years part used use using work world day way made make number found city state
system water place long high three called known since form group same how find information data text document
documents query queries search answer answers question questions model models retrieval ranking rank ranked score
scores passage passages relevant relevance result results index vector vectors embedding embeddings language
chunk chunks source sources cite citation context token tokens learning machine neural network training test
fast slow small large good best better first last next left right open close read write file files page pages
word words name names example different important general public national government company school house home
life health food paris france capital river mountain country countries population history science computer
`;

function normalizeForVocab(text: string): string {
  // BertNormalizer with lowercase=true also strips accents (NFD, drop combining marks).
  return text
    .toLowerCase()
    .normalize("NFD")
    .replace(/\p{Mn}/gu, "");
}

/** Lowercase words (2+ chars) of a text, most frequent first, ties alphabetical for determinism. */
export function frequentWords(text: string): string[] {
  const counts = new Map<string, number>();
  for (const word of normalizeForVocab(text).match(/[a-z0-9]{2,}/g) ?? []) {
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([word]) => word);
}

/**
 * Builds a vocabulary of exactly `vocabSize` tokens: specials at BERT's ids, single characters
 * and their ## forms, common ## suffixes, corpus words by frequency, then [unusedN] filler.
 */
export function buildVocab(vocabSize: number, corpusText: string = DEFAULT_CORPUS): string[] {
  const vocab: string[] = [];
  let unused = 0;
  for (let id = 0; id <= 103; id++) vocab.push(Object.keys(SPECIAL_IDS).find((t) => SPECIAL_IDS[t] === id) ?? `[unused${unused++}]`);

  // Printable ASCII without uppercase, which the lowercasing normalizer never produces.
  const chars = Array.from({ length: 126 - 33 + 1 }, (_, i) => String.fromCharCode(33 + i)).filter((c) => !/[A-Z]/.test(c));
  const base = [...chars, ...chars.map((c) => `##${c}`), ...SUFFIXES.map((s) => `##${s}`)];
  const seen = new Set(vocab);
  const add = (token: string) => {
    if (!seen.has(token)) {
      seen.add(token);
      vocab.push(token);
    }
  };
  base.forEach(add);
  if (vocab.length > vocabSize) throw new Error(`vocabSize ${vocabSize} is below the ${vocab.length} base tokens`);
  for (const word of frequentWords(corpusText)) {
    if (vocab.length >= vocabSize) break;
    add(word);
  }
  while (vocab.length < vocabSize) add(`[unused${unused++}]`);
  return vocab;
}

const special = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
const specialB = (id: string) => ({ SpecialToken: { id, type_id: 1 } });

/** The tokenizer.json object (tokenizers library format) for a vocabulary from buildVocab. */
export function tokenizerJson(vocab: string[]) {
  const idOf = (token: string) => {
    const id = vocab.indexOf(token);
    if (id < 0) throw new Error(`vocabulary lacks ${token}`);
    return id;
  };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: Object.values(SPECIAL_TOKENS).map((content) => ({
      id: idOf(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [special("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, special("[SEP]")],
      pair: [special("[CLS]"), { Sequence: { id: "A", type_id: 0 } }, special("[SEP]"), { Sequence: { id: "B", type_id: 1 } }, specialB("[SEP]")],
      special_tokens: Object.fromEntries(["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [idOf(t)], tokens: [t] }])),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((token, id) => [token, id])),
    },
  };
}

/** Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json; returns the file names. */
export function writeTokenizerFiles(dir: string, vocab: string[], modelMaxLength = 512): string[] {
  const tokenizer = tokenizerJson(vocab);
  const config = {
    added_tokens_decoder: Object.fromEntries(tokenizer.added_tokens.map(({ id, ...token }) => [String(id), token])),
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    model_max_length: modelMaxLength,
    strip_accents: null,
    tokenize_chinese_chars: true,
    tokenizer_class: "BertTokenizer",
    ...SPECIAL_TOKENS,
  };
  const files: Record<string, unknown> = {
    "tokenizer.json": tokenizer,
    "tokenizer_config.json": config,
    "special_tokens_map.json": SPECIAL_TOKENS,
  };
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), `${JSON.stringify(content, null, 2)}\n`);
  }
  return Object.keys(files);
}
