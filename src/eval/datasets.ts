import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import type { DocumentInterface } from "@langchain/core/documents";
import { z } from "zod";
import { UsageError } from "../errors/index.js";
import { loadFile } from "../ingest/loaders.js";
import { markdownToText } from "../ingest/markdown.js";
import { packageFile } from "../util/package-root.js";

export interface EvalQuery {
  id: string;
  text: string;
  /** Judged unit id → grade; empty for questions the documents cannot answer. */
  judgments: Map<string, number>;
  /** QA set only: the reference answer and the question's kind (one of QA_KINDS; none for an answerable question of an unknown kind). */
  reference?: string;
  kind?: string;
  /** QA set only: the gold quotes as they read in the indexed text (normalised, see normalizeText). */
  quotes?: string[];
  /** Why the query cannot be scored (a gold file or quote is not in the corpus), in full; it is left out of every average. */
  unscorable?: string;
  /** The kinds of reason `unscorable` gives (values of UNSCORABLE), by which the results table groups queries left out. */
  unscorableCauses?: string[];
}

/** Why a query cannot be scored, in short: the results table says which queries are left out for each. */
export const UNSCORABLE = Object.freeze({
  goldFile: "gold file not in the corpus",
  goldQuote: "gold quote not found in its file",
  judgedDocuments: "judged documents not in the corpus",
});

export interface EvalDataset {
  name: string;
  kind: "beir" | "qa";
  /** Files to ingest as the corpus. */
  paths: string[];
  /** Content hash of the corpus, part of the cached index's key. */
  corpusHash: string;
  queries: EvalQuery[];
  /** Problems that do not stop the evaluation (e.g. some gold files missing from the corpus). */
  warnings?: string[];
  /** The judged unit a retrieved chunk stands for (a corpus document, or a gold passage). */
  unitOf(query: EvalQuery, chunk: DocumentInterface): string;
}

const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * A BEIR directory: corpus.jsonl[.gz], queries.jsonl, qrels/<split>.tsv. The corpus is
 * written once (decompressed) into `cacheDir` as JSONL so the normal ingest loads it;
 * each record's `_id` becomes the chunks' `recordId`.
 */
export async function loadBeir(dir: string, split: string, cacheDir: string): Promise<EvalDataset> {
  const corpusFile = (await exists(path.join(dir, "corpus.jsonl.gz"))) ? "corpus.jsonl.gz" : "corpus.jsonl";
  const qrelsFile = path.join(dir, "qrels", `${split}.tsv`);
  for (const file of [corpusFile, "queries.jsonl"].map((f) => path.join(dir, f)).concat(qrelsFile)) {
    if (await exists(file)) continue;
    // A missing split is most often a name away from one the folder has (SciFact has train and test, others dev).
    const splits = (await fs.readdir(path.join(dir, "qrels")).catch(() => [] as string[]))
      .filter((f) => f.endsWith(".tsv"))
      .map((f) => f.slice(0, -4))
      .sort();
    const has = file === qrelsFile && splits.length ? ` It has the split${splits.length > 1 ? "s" : ""} ${splits.join(", ")}.` : "";
    throw new UsageError(`${dir} is not a BEIR dataset for split "${split}": ${file} is missing.${has}`, {
      hint: has
        ? `Pick one with --split ${splits.includes("test") ? "test" : splits[0]}.`
        : "A BEIR directory holds corpus.jsonl(.gz), queries.jsonl and qrels/<split>.tsv; pick the split with --split.",
    });
  }
  const raw = await fs.readFile(path.join(dir, corpusFile));
  const corpus = corpusFile.endsWith(".gz") ? zlib.gunzipSync(raw) : raw;
  const corpusHash = sha256(corpus);
  const jsonl = path.join(cacheDir, "corpora", `${path.basename(dir)}-${corpusHash.slice(0, 12)}.jsonl`);
  if (!(await exists(jsonl))) {
    await fs.mkdir(path.dirname(jsonl), { recursive: true });
    await fs.writeFile(`${jsonl}.tmp`, corpus);
    await fs.rename(`${jsonl}.tmp`, jsonl);
  }
  const texts = new Map<string, string>();
  for (const line of (await fs.readFile(path.join(dir, "queries.jsonl"), "utf8")).split("\n")) {
    if (!line.trim()) continue;
    const query = JSON.parse(line) as { _id: string; text: string };
    texts.set(String(query._id), query.text);
  }
  const judged = parseQrels(await fs.readFile(qrelsFile, "utf8"), qrelsFile);
  const queries: EvalQuery[] = [...judged].map(([id, judgments]) => {
    const text = texts.get(id);
    if (text === undefined) throw new UsageError(`qrels/${split}.tsv judges query ${id}, which queries.jsonl does not have.`);
    return { id, text, judgments };
  });
  // A judged document the corpus lacks can never be retrieved: a query with no other relevant one scores 0 whatever the ranking.
  const ids = corpusIds(corpus.toString("utf8"));
  const absent = queries.flatMap((q) => [...q.judgments.keys()].filter((doc) => !ids.has(doc)).map((doc) => `${q.id} → ${doc}`));
  for (const query of queries) {
    const relevant = [...query.judgments].filter(([, grade]) => grade > 0).map(([doc]) => doc);
    if (relevant.length && relevant.every((doc) => !ids.has(doc))) {
      query.unscorable = `none of its relevant documents (${listed(relevant)}) is in ${corpusFile}`;
      query.unscorableCauses = [UNSCORABLE.judgedDocuments];
    }
  }
  const lost = queries.filter((q) => q.unscorable).length;
  if (absent.length && lost === queries.length) {
    throw new UsageError(`None of the documents ${qrelsFile} judges relevant is in ${path.join(dir, corpusFile)} (${listed(absent)}).`, {
      hint: "The qrels and the corpus come from different datasets or versions: use the corpus the qrels were made for.",
    });
  }
  const judgments = queries.reduce((n, q) => n + q.judgments.size, 0);
  return {
    name: `${path.basename(dir)}/${split}`,
    kind: "beir",
    paths: [jsonl],
    corpusHash,
    queries,
    warnings: absent.length
      ? [
          `${absent.length} of ${judgments} judgments of qrels/${split}.tsv name a document ${corpusFile} does not have (${listed(absent)}); ${lost ? `${lost} ${lost === 1 ? "query" : "queries"} with no relevant document left in it ${lost === 1 ? "is" : "are"} left out of every average` : "every query keeps a relevant document in it, so all are scored"}.`,
        ]
      : [],
    unitOf: (_query, chunk) => String(chunk.metadata.recordId ?? chunk.metadata.chunkId),
  };
}

/** The `_id` (or `id`) of each record of a JSONL corpus, as ingest records it (recordId); a line that is not JSON is ingest's to report. */
function corpusIds(jsonl: string): Set<string> {
  const ids = new Set<string>();
  for (const line of jsonl.split("\n")) {
    if (!line.trim()) continue;
    try {
      const record = JSON.parse(line) as { _id?: unknown; id?: unknown };
      const id = record._id ?? record.id;
      if (typeof id === "string" || typeof id === "number") ids.add(String(id));
    } catch {
      continue;
    }
  }
  return ids;
}

/**
 * BEIR's qrels: "query-id corpus-id score" separated by tabs, under that header. Spaces are
 * accepted too where a line still splits into exactly two or three fields (a missing score is
 * 1); any other line is an error naming it, as skipping it would drop its query unseen.
 */
export function parseQrels(text: string, file: string): Map<string, Map<string, number>> {
  const judged = new Map<string, Map<string, number>>();
  text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .forEach((raw, index) => {
      const line = raw.trim();
      if (!line || (index === 0 && /^query[-_ ]?id\b/i.test(line))) return;
      const fields = line.includes("\t") ? line.split("\t").map((f) => f.trim()) : line.split(/\s+/);
      const [queryId, docId, score = "1"] = fields;
      if (fields.length > 3 || !queryId || !docId || !score || !Number.isFinite(Number(score))) {
        throw new UsageError(`${file}, line ${index + 1}: not a qrels line (${JSON.stringify(line)}); expected a query id, a corpus id and a score.`, {
          hint: 'BEIR qrels hold one judgment a line, fields separated by tabs under the header "query-id<TAB>corpus-id<TAB>score", e.g. "q1<TAB>d7<TAB>1"; ids with spaces need the tabs.',
        });
      }
      if (!judged.has(queryId)) judged.set(queryId, new Map());
      judged.get(queryId)!.set(docId, Number(score));
    });
  if (judged.size === 0) {
    throw new UsageError(`${file} judges no query: it holds no line but its header.`, {
      hint: 'Add one judgment a line, "query-id<TAB>corpus-id<TAB>score", or pick another split with --split.',
    });
  }
  return judged;
}

const qaGoldSchema = z.object({ source: z.string(), heading: z.string().nullable(), quote: z.string().optional() });
type QaGold = z.infer<typeof qaGoldSchema>;
/** A gold entry with its quote as the indexed text reads it (see quoteText). */
type Gold = QaGold & { match?: string };
/** The kinds of question of the QA format (data/eval/README.md). */
export const QA_KINDS = Object.freeze(["factual", "paraphrase", "multi-hop", "unanswerable"] as const);
/** One line of the QA format. */
const qaRecordSchema = z.object({ id: z.string(), question: z.string(), answer: z.string(), gold: z.array(qaGoldSchema), kind: z.string() });

/** Text for quote matching: markup characters and runs of spaces gone, lower case. */
export const normalizeText = (text: string) => text.replace(/[*_`]/g, "").replace(/\s+/g, " ").trim().toLowerCase();
/** A gold quote as it reads in the indexed text: a quote from a Markdown file loses its markup as the file did. */
const quoteText = (gold: QaGold) => (gold.quote ? normalizeText(/\.(md|markdown)$/i.test(gold.source) ? markdownToText(gold.quote) : gold.quote) : undefined);

/** The QA format's guide, shipped with the package: data/eval/README.md in a checkout, node_modules/rerank-rag/data/eval/README.md in a project that installed it. */
export const qaFormatGuide = () => packageFile("data", "eval", "README.md");

/** Up to five names, then how many more. */
export const listed = (names: string[]) => `${names.slice(0, 5).join(", ")}${names.length > 5 ? `, … (${names.length - 5} more)` : ""}`;

/**
 * The project's QA format (data/eval/qa.jsonl): questions with gold passages named by
 * source path, heading and a verbatim quote, so they survive any change of splitter.
 * A chunk stands for a gold passage when it comes from that file and holds the quote.
 */
export async function loadQaSet(file: string, docsDir: string): Promise<EvalDataset> {
  const raw = await fs.readFile(file, "utf8");
  const queries: EvalQuery[] = [];
  const golds = new Map<string, Gold[]>();
  const lineOf = new Map<string, number[]>();
  const unknownKinds: string[] = [];
  raw.split("\n").forEach((line, index) => {
    if (!line.trim()) return;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      throw new UsageError(`${file}, line ${index + 1}: invalid JSON (${(error as Error).message}).`);
    }
    const parsed = qaRecordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UsageError(`${file}, line ${index + 1}: not a QA record (${issue.path.join(".")}: ${issue.message}).`, {
        hint: `Each line needs id, question, answer and kind (strings) and gold: [{ source, heading, quote? }] (${qaFormatGuide()}).`,
      });
    }
    const record = parsed.data;
    lineOf.set(record.id, [...(lineOf.get(record.id) ?? []), index + 1]);
    // A second record under one id would share its gold and judgments with the first: scored wrong, not refused, unless caught here.
    if (lineOf.get(record.id)!.length > 1) return;
    const judgments = new Map(record.gold.map((_, g) => [`${record.id}#${g}`, 1]));
    const gold = record.gold.map((g) => ({ ...g, match: quoteText(g) }));
    golds.set(record.id, gold);
    const quotes = gold.flatMap((g) => (g.match ? [g.match] : []));
    // The gold decides how a question is scored whatever its kind; an unknown kind is kept only where the gold agrees with it.
    const known = (QA_KINDS as readonly string[]).includes(record.kind);
    if (!known) unknownKinds.push(`${record.id}: "${record.kind}", line ${index + 1}`);
    const kind = known ? record.kind : record.gold.length ? undefined : "unanswerable";
    queries.push({ id: record.id, text: record.question, judgments, reference: record.answer, ...(kind ? { kind } : {}), quotes });
  });
  const repeated = [...lineOf].filter(([, lines]) => lines.length > 1).map(([id, lines]) => `${id} (lines ${lines.join(", ")})`);
  if (repeated.length) {
    throw new UsageError(`${file}: question ids must be unique, and ${repeated.length === 1 ? "this one is" : "these are"} repeated: ${listed(repeated)}.`, {
      hint: `Give each question an id of its own; ids are never reused (${qaFormatGuide()}).`,
    });
  }
  if (queries.length === 0) {
    throw new UsageError(`${file} holds no question: it is ${raw.trim() ? "blank lines only" : "empty"}.`, {
      hint: `Write one JSON record a line: id, question, answer, gold and kind (${qaFormatGuide()}).`,
    });
  }
  const files = [...new Set([...golds.values()].flat().map((g) => g.source))].sort();
  const read = await Promise.all(files.map(async (f) => ({ file: f, bytes: await fs.readFile(path.join(docsDir, f)).catch(() => null) })));
  const missing = read.filter((r) => r.bytes === null).map((r) => r.file);
  // Scored against the wrong corpus, every metric is 0: that is a mistake, not a result.
  if (files.length > 0 && missing.length === files.length) {
    const corpus = (await fs.stat(docsDir).catch(() => null))?.isDirectory() ? `the corpus ${docsDir}` : `${docsDir}, which is not a folder`;
    throw new UsageError(`None of the ${files.length} gold source files of ${file} is in ${corpus} (missing: ${listed(missing)}).`, {
      hint: "Point --docs at the folder the QA set's gold sources are relative to (default: the bundled data/docs).",
    });
  }
  // Each file's text as ingest loads it: its chunks are slices of it, where unitOf looks for the quote.
  const texts = new Map<string, string[]>();
  for (const { file: source, bytes } of read) {
    if (!bytes) continue;
    const loaded = await loadFile(path.join(docsDir, source), bytes).catch((error: Error) => {
      throw new UsageError(`The gold source ${source} of ${file} cannot be read: ${error.message}.`, {
        hint: "Ingest skips such a file, so no question citing it could score: fix or replace the file, or the gold entries citing it.",
      });
    });
    texts.set(
      source,
      loaded.documents.map((d) => normalizeText(d.pageContent)),
    );
  }
  const problem = (g: Gold) => {
    const text = texts.get(g.source);
    if (!text) return { cause: UNSCORABLE.goldFile, reason: `gold file ${g.source} is not in ${docsDir}` };
    return g.match && !text.some((t) => t.includes(g.match!)) ? { cause: UNSCORABLE.goldQuote, reason: `gold quote "${g.quote}" is not in ${g.source}` } : null;
  };
  const quoted = [...golds].flatMap(([id, gold]) => gold.filter((g) => g.match && texts.has(g.source)).map((g) => ({ id, g })));
  const lost = quoted.filter(({ g }) => problem(g)).map(({ id, g }) => `${id}: "${g.quote}" in ${g.source}`);
  // Not one quote found: the documents are not the ones the set was written for, as when no gold file is there.
  if (quoted.length > 0 && lost.length === quoted.length) {
    throw new UsageError(`None of the ${quoted.length} gold quotes of ${file} is in its gold file in ${docsDir} (${listed(lost)}).`, {
      hint: `Point --docs at the version of the documents the QA set was written for, or make each quote a verbatim passage of its file (${qaFormatGuide()}).`,
    });
  }
  for (const query of queries) {
    const problems = (golds.get(query.id) ?? []).flatMap((g) => problem(g) ?? []);
    if (problems.length) {
      query.unscorable = [...new Set(problems.map((p) => p.reason))].join("; ");
      query.unscorableCauses = [...new Set(problems.map((p) => p.cause))];
    }
  }
  const contents = read.map((r) => `${r.file}\0${r.bytes?.toString("utf8") ?? ""}`);
  const leftOut = "the questions citing them cannot be scored and are left out of every average";
  return {
    name: path.basename(file),
    kind: "qa",
    paths: [docsDir],
    corpusHash: sha256(raw + contents.join("\0")),
    queries,
    warnings: [
      ...(unknownKinds.length
        ? [
            `${unknownKinds.length} question${unknownKinds.length === 1 ? " has a kind" : "s have kinds"} other than ${QA_KINDS.join(", ")} (${listed(unknownKinds)}); each is scored by its gold: answerable with gold entries, unanswerable with none.`,
          ]
        : []),
      ...(missing.length
        ? [`${missing.length} of ${files.length} gold source files are not in ${docsDir} (${listed(missing)}); ${leftOut}. Check --docs.`]
        : []),
      ...(lost.length
        ? [
            `${lost.length} of ${quoted.length} gold quotes are not in their gold files (${listed(lost)}); ${leftOut}. Make each quote a verbatim passage of its file (case, spacing and Markdown markup aside; ${qaFormatGuide()}).`,
          ]
        : []),
    ],
    unitOf(query, chunk) {
      const text = normalizeText(chunk.pageContent);
      const match = (golds.get(query.id) ?? []).findIndex(
        (g) => g.source === chunk.metadata.relativePath && (g.match ? text.includes(g.match) : g.heading !== null && g.heading === chunk.metadata.heading),
      );
      return match >= 0 ? `${query.id}#${match}` : `chunk:${chunk.metadata.chunkId}`;
    },
  };
}

/** A dataset path: a BEIR directory, or a QA .jsonl file (its corpus: `docsDir`). */
export async function loadDataset(target: string, { split, cacheDir, docsDir }: { split?: string; cacheDir: string; docsDir: string }): Promise<EvalDataset> {
  const stat = await fs.stat(target).catch(() => null);
  if (!stat) throw new UsageError(`Dataset not found: ${target}`, { hint: "Pass a BEIR directory or a QA .jsonl file such as data/eval/qa.jsonl." });
  return stat.isDirectory() ? loadBeir(target, split ?? "test", cacheDir) : qaSplit(await loadQaSet(target, docsDir), split);
}

/**
 * A QA set's documented split (data/eval/README.md): odd-numbered questions (q001, q003, …) are
 * `train`, for fitting settings such as the adaptive re-ranking rule; even ones are `test`;
 * without a split, all of them. When not every id ends in a number, the file's order decides
 * instead (1st, 3rd, … train; 2nd, 4th, … test), with a warning saying so.
 */
export function qaSplit(dataset: EvalDataset, split: string | undefined): EvalDataset {
  if (split === undefined || split === "all") return dataset;
  if (split !== "train" && split !== "test") {
    throw new UsageError(`A QA set has the splits train, test and all, not "${split}".`, {
      hint: "Use --split train (odd-numbered questions) or --split test (even).",
    });
  }
  const numbers = dataset.queries.map((q) => /(\d+)$/.exec(q.id)?.[1]);
  // Ids such as "rotate" carry no number, and a number elsewhere in an id says nothing of parity: the order in the file does.
  const unnumbered = dataset.queries.filter((_, i) => numbers[i] === undefined).map((q) => q.id);
  const train = (i: number) => (unnumbered.length ? i % 2 === 0 : Number(numbers[i]) % 2 === 1);
  const warning = `Not every question id of ${dataset.name} ends in a number (${listed(unnumbered)}), so --split ${split} takes the ${split === "train" ? "1st, 3rd, 5th" : "2nd, 4th, 6th"}, … questions of the file instead of the ${split === "train" ? "odd" : "even"}-numbered ones.`;
  return {
    ...dataset,
    name: `${dataset.name}/${split}`,
    queries: dataset.queries.filter((_, i) => train(i) === (split === "train")),
    warnings: [...(dataset.warnings ?? []), ...(unnumbered.length ? [warning] : [])],
  };
}
