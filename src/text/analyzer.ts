import { stemmer } from "stemmer";
import { BoundedCache } from "../util/bounded-cache.js";

// A short English stopword list: enough to keep function words out of BM25 and LSA
// without dropping domain terms ("key", "limit", "token") that a longer list removes.
const STOPWORDS = new Set(
  (
    "a about above after again against all am an and any are as at be because been before being below between both but by " +
    "can could did do does doing down during each few for from further had has have having he her here hers herself him " +
    "himself his how i if in into is it its itself just me more most my myself no nor not now of off on once only or other " +
    "our ours ourselves out over own same she should so some such than that the their theirs them themselves then there " +
    "these they this those through to too under until up very was we were what when where which while who whom why will " +
    "with would you your yours yourself yourselves"
  ).split(" "),
);

const WORD = /[\p{L}\p{N}]+/gu;

// Each word is stemmed once: Porter's rules were most of a warm ask's analysis time. A vocabulary's worth of words.
const stems = new BoundedCache<string, string>(100_000);

/**
 * Turns text into index terms: NFKC, lowercase, letter/digit runs, no stopwords,
 * Porter-stemmed ASCII words. Shared by the offline embedder, the BM25 re-ranker and
 * the extractive answerer so all three agree on what a "term" is.
 */
export function analyze(text: string): string[] {
  const terms: string[] = [];
  for (const match of text.normalize("NFKC").toLowerCase().matchAll(WORD)) {
    const word = match[0];
    if (STOPWORDS.has(word)) continue;
    // Stemming rules are English-only; other scripts keep their surface form.
    terms.push(/^[a-z]+$/.test(word) ? stems.get(word, stemmer) : word);
  }
  return terms;
}

/** Term → count for one text. */
export function termCounts(terms: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const term of terms) counts.set(term, (counts.get(term) ?? 0) + 1);
  return counts;
}
