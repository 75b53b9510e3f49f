import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Document } from "@langchain/core/documents";
import { loadConfig } from "../src/config/index.js";
import { evaluate, formatResultTable, loadBeir, loadQaSet, renderHtmlReport, type QueryResult, type VariantResult } from "../src/eval/index.js";
import { normalizeText, parseQrels, qaSplit } from "../src/eval/datasets.js";
import { NO_ANSWER } from "../src/llms/extractive-chat-model.js";
import { loadFile } from "../src/ingest/loaders.js";
import { splitDocuments } from "../src/ingest/chunker.js";
import { cleanEnv, REPO_ROOT, runCli } from "./helpers/cli.js";
import { DEFAULT_MIN_SCORES } from "../src/rerankers/cut-off.js";

const SHARED_SCIFACT = path.resolve(REPO_ROOT, "..", "shared", "datasets", "scifact");

const CORPUS = [
  { _id: "d1", title: "OAuth2 client credentials", text: "Create an OAuth2 client in the dashboard, then request a token with grant_type client_credentials." },
  { _id: "d2", title: "Rate limits", text: "Each key may send 100 requests per second; a 429 response carries Retry-After." },
  { _id: "d3", title: "Webhook signatures", text: "Verify the HMAC-SHA256 signature header before trusting a webhook event." },
  { _id: "d4", title: "Pagination", text: "Pass starting_after with the last id; the limit is at most 100 objects per page." },
  { _id: "d5", title: "Idempotency", text: "Send an Idempotency-Key header so a retried payment is not charged twice." },
  { _id: "d6", title: "Token refresh", text: "Access tokens expire after one hour; request a new token before expiry." },
  { _id: "d7", title: "Refunds", text: "A refund returns money to the customer's card; partial refunds are allowed." },
  { _id: "d8", title: "Payouts", text: "Payouts move funds to your bank account on a daily schedule." },
];
const QUERIES = [
  { _id: "q1", text: "how to get an oauth2 token with client credentials" },
  { _id: "q2", text: "what happens when the rate limit is exceeded 429" },
  { _id: "q3", text: "verify webhook signature hmac" },
  { _id: "q4", text: "avoid charging a retried payment twice" },
];
const QRELS = "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td3\t1\nq4\td5\t1\n";

let work: string;
let beir: string;
beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "rerank-rag-eval-"));
  beir = path.join(work, "tiny-beir");
  await fs.mkdir(path.join(beir, "qrels"), { recursive: true });
  await fs.writeFile(path.join(beir, "corpus.jsonl"), CORPUS.map((d) => JSON.stringify(d)).join("\n"));
  await fs.writeFile(path.join(beir, "queries.jsonl"), QUERIES.map((q) => JSON.stringify(q)).join("\n"));
  await fs.writeFile(path.join(beir, "qrels", "test.tsv"), QRELS);
});
afterAll(() => fs.rm(work, { recursive: true, force: true }));

const config = () => loadConfig({ RAG_MODELS_DIR: "/nonexistent", RAG_FETCH_K: "8", RAG_TOP_N: "3" }, {});

describe("evaluate on a BEIR directory", () => {
  it("runs the first stage and BM25 side by side with metrics, latency and a paired test", async () => {
    const cacheDir = path.join(work, "cache");
    const dataset = await loadBeir(beir, "test", cacheDir);
    expect(dataset.queries).toHaveLength(4);
    const result = await evaluate({ dataset, config: config(), cacheDir, variants: ["bm25"] });
    expect(result.variants.map((v) => v.name)).toEqual(["first-stage", "bm25"]);
    const [firstStage, bm25] = result.variants as [VariantResult, VariantResult];
    // Each query has one relevant document, and both stages rank it first (the hybrid first stage
    // matches its words too), which fixes every metric: one relevant in a top 5 is precision 0.2.
    expect(result.queries.map((q) => q.firstRelevantRank)).toEqual(QUERIES.map(() => ({ "first-stage": 1, bm25: 1 })));
    const perfect = { "recall@5": 1, "recall@10": 1, "recall@50": 1, "precision@5": 0.2, "mrr@10": 1, "ndcg@10": 1 };
    expect(firstStage.metrics).toEqual(perfect);
    expect(bm25.metrics).toEqual(perfect);
    // Equal nDCG on every query: no difference to test, so the p-value is 1 and the interval [0, 0].
    expect(bm25.vsFirstStage).toEqual({ meanDifference: 0, ci95: [0, 0], pValue: 1, wins: 0, losses: 0, ties: 4 });
    // The first stage runs once per query for all variants, so they share its timings.
    expect(bm25.latency.embed).toEqual(firstStage.latency.embed);
    expect(bm25.latency.search).toEqual(firstStage.latency.search);
    expect(result.dataset).toEqual({ name: "tiny-beir/test", kind: "beir", queries: 4, scoredQueries: 4, judgedQueries: 4, leftOut: [] });
  });

  it("reuses the cached index on a second run", async () => {
    const cacheDir = path.join(work, "cache-reuse");
    const dataset = await loadBeir(beir, "test", cacheDir);
    const first = await evaluate({ dataset, config: config(), cacheDir, variants: [] });
    const second = await evaluate({ dataset, config: config(), cacheDir, variants: [] });
    expect(first.ingest.reusedIndex).toBe(false);
    expect(second.ingest.reusedIndex).toBe(true);
    expect(second.settings.indexDir).toBe(first.settings.indexDir);
  });

  it("names the missing file of an incomplete BEIR directory", async () => {
    await expect(loadBeir(beir, "dev", path.join(work, "c"))).rejects.toThrow(/qrels\/dev\.tsv is missing/);
  });

  it("reads the shared SciFact test split: 300 queries, 339 judgments", async (context) => {
    const present = await fs.stat(SHARED_SCIFACT).catch(() => null);
    if (!present) {
      context.skip("../shared/datasets/scifact is absent: skipping the SciFact loader check");
      return;
    }
    const dataset = await loadBeir(SHARED_SCIFACT, "test", path.join(work, "scifact-cache"));
    expect(dataset.queries).toHaveLength(300);
    expect(dataset.queries.reduce((n, q) => n + q.judgments.size, 0)).toBe(339);
  });
});

describe("the QA set", () => {
  it.each([
    ["qa.jsonl", "data/eval/qa.jsonl", "data/docs"],
    ["npm-readmes", "data/eval/npm-readmes/qa.jsonl", "data/eval/npm-readmes/docs"],
  ])("%s: every gold quote is found in a chunk of its file, as the loaders and default splitter make them", async (_name, set, docs) => {
    const dataset = await loadQaSet(path.join(REPO_ROOT, set), path.join(REPO_ROOT, docs));
    expect(dataset.warnings).toEqual([]);
    const records = (await fs.readFile(path.join(REPO_ROOT, set), "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; gold: Array<{ source: string }> });
    const config = loadConfig({}, {});
    const chunkTexts = new Map<string, string[]>();
    const unresolved: string[] = [];
    for (const record of records) {
      const quotes = dataset.queries.find((q) => q.id === record.id)!.quotes ?? [];
      for (const [g, { source }] of record.gold.entries()) {
        if (!chunkTexts.has(source)) {
          const file = path.join(REPO_ROOT, docs, source);
          const { documents } = await loadFile(file, await fs.readFile(file));
          const chunks = await splitDocuments(documents, { chunkSize: config.RAG_CHUNK_SIZE, chunkOverlap: config.RAG_CHUNK_OVERLAP }, "0".repeat(64));
          chunkTexts.set(
            source,
            chunks.map((c) => normalizeText(c.pageContent)),
          );
        }
        if (!chunkTexts.get(source)!.some((text) => text.includes(quotes[g]!))) unresolved.push(`${record.id}#${g} (${source})`);
      }
    }
    expect(unresolved).toEqual([]);
  });

  it("maps a chunk holding a gold quote to that gold passage, and other chunks to themselves", async () => {
    const dataset = await loadQaSet(path.join(REPO_ROOT, "data", "eval", "qa.jsonl"), path.join(REPO_ROOT, "data", "docs"));
    expect(dataset.queries.length).toBeGreaterThanOrEqual(60);
    const q001 = dataset.queries.find((q) => q.id === "q001")!;
    expect(q001.text).toBe("How do I configure OAuth2 in the API?");
    const raw = (await fs.readFile(path.join(REPO_ROOT, "data", "eval", "qa.jsonl"), "utf8")).split("\n")[0]!;
    const gold = JSON.parse(raw).gold[0];
    const hit = new Document({ pageContent: `intro ${gold.quote} outro`, metadata: { relativePath: gold.source, chunkId: "c1" } });
    const miss = new Document({ pageContent: "something else", metadata: { relativePath: gold.source, chunkId: "c2" } });
    expect(dataset.unitOf(q001, hit)).toBe("q001#0");
    expect(dataset.unitOf(q001, miss)).toBe("chunk:c2");
    expect(dataset.queries.filter((q) => q.kind === "unanswerable").every((q) => q.judgments.size === 0)).toBe(true);
  });

  it("leaves a question whose gold file is missing out of every average, and says how many were scored and left out", async () => {
    const docs = path.join(work, "left-out-docs");
    await fs.mkdir(docs, { recursive: true });
    await fs.writeFile(
      path.join(docs, "retries.md"),
      "# Retries\n\n## Retry-After\n\nRate-limited responses include a Retry-After header with the number of seconds to wait.\n",
    );
    await fs.writeFile(path.join(docs, "pages.md"), "# Pagination\n\nPass starting_after with the last id to get the next page of results.\n");
    const qa = path.join(work, "left-out-qa.jsonl");
    const record = (id: string, question: string, source: string, quote: string) =>
      JSON.stringify({ id, question, answer: "The Retry-After header gives the seconds to wait.", gold: [{ source, heading: null, quote }], kind: "factual" });
    await fs.writeFile(
      qa,
      [
        record(
          "q001",
          "Which header says how many seconds to wait when rate-limited?",
          "retries.md",
          "include a Retry-After header with the number of seconds",
        ),
        record("q002", "How long are webhook events kept?", "webhooks.md", "events are kept for thirty days"),
      ].join("\n"),
    );
    const dataset = await loadQaSet(qa, docs);
    const result = await evaluate({ dataset, config: config(), cacheDir: path.join(work, "left-out-cache"), variants: ["bm25"] });
    expect(result.dataset).toEqual({
      name: "left-out-qa.jsonl",
      kind: "qa",
      queries: 2,
      scoredQueries: 1,
      judgedQueries: 1,
      leftOut: [{ id: "q002", reason: `gold file webhooks.md is not in ${docs}`, causes: ["gold file not in the corpus"] }],
    });
    // The one scorable question is a hit: averaged alone, not with a zero for q002.
    expect(result.queries.map((q) => q.id)).toEqual(["q001"]);
    for (const v of result.variants) {
      expect(v.metrics["recall@5"], v.name).toBe(1);
      expect(v.answers!.answerableCount, v.name).toBe(1);
    }
    expect(formatResultTable(result)).toMatch(/^1 of 2 queries scored; left out of every average: gold file not in the corpus: q002$/m);
    const html = renderHtmlReport(result);
    expect(html).toContain("2 queries, 1 scored (1 with judgments)");
    expect(html).toContain(`<li>q002: gold file webhooks.md is not in ${docs}</li>`);
    // Nothing left to score (here: a run of q002 alone) is an error, not a table of zeros.
    const alone = { ...dataset, queries: dataset.queries.slice(1) };
    await expect(evaluate({ dataset: alone, config: config(), cacheDir: path.join(work, "left-out-cache"), variants: [] })).rejects.toThrow(
      /None of the 1 queries of left-out-qa\.jsonl can be scored \(q002: gold file webhooks\.md is not in /,
    );
  });

  it("warns about a gold quote its file does not hold, naming the question, file and quote, refuses a set where none is found (exit 2) and names a gold file it cannot read", async () => {
    const docs = path.join(work, "quote-docs");
    await fs.mkdir(docs, { recursive: true });
    await fs.writeFile(path.join(docs, "threads.md"), "# Threads\n\n## Thread safety\n\nlibffi is **thread-safe** for closures, not for its global state.\n");
    await fs.writeFile(path.join(docs, "install.md"), "# Install\n\nRun the configure script, then make and make install.\n");
    const record = (id: string, source: string, quote: string) =>
      JSON.stringify({ id, question: `Question ${id}?`, answer: "An answer.", gold: [{ source, heading: null, quote }], kind: "factual" });
    const qa = path.join(work, "quotes-qa.jsonl");
    await fs.writeFile(
      qa,
      [
        record("q001", "threads.md", "libffi is not completely thread-safe."),
        // Markup, case and line breaks aside, this one is in the file.
        record("q002", "threads.md", "libffi is thread-safe for\nclosures"),
        record("q003", "install.md", "then make and make install"),
      ].join("\n"),
    );
    const dataset = await loadQaSet(qa, docs);
    expect(dataset.warnings).toHaveLength(1);
    expect(dataset.warnings![0]).toMatch(/^1 of 3 gold quotes are not in their gold files \(q001: "libffi is not completely thread-safe\." in threads\.md\)/);
    expect(dataset.queries.map((q) => [q.id, q.unscorable])).toEqual([
      ["q001", 'gold quote "libffi is not completely thread-safe." is not in threads.md'],
      ["q002", undefined],
      ["q003", undefined],
    ]);
    // Not one quote found: the set does not belong to these documents, as when no gold file is there.
    const none = path.join(work, "no-quotes-qa.jsonl");
    await fs.writeFile(none, [record("q001", "threads.md", "libffi is not completely thread-safe."), record("q002", "install.md", "run cmake")].join("\n"));
    const refused = await runCli(["eval", none, "--docs", docs, "--cache-dir", path.join(work, "no-quotes-cache")]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/None of the 2 gold quotes of .*no-quotes-qa\.jsonl is in its gold file/);
    expect(refused.stderr).toContain('q001: "libffi is not completely thread-safe." in threads.md');
    expect(refused.stderr).toContain('q002: "run cmake" in install.md');
    expect(refused.stderr).toContain("--docs");
    // A gold file ingest cannot read is named with the loader's reason.
    await fs.writeFile(path.join(docs, "threads.md"), Buffer.from([0x23, 0x00, 0x01]));
    await expect(loadQaSet(qa, docs)).rejects.toThrow(/The gold source threads\.md of .*quotes-qa\.jsonl cannot be read: binary content/);
  });

  it("gives no abstention precision when nothing was declined, nor recall without unanswerable questions: null in the JSON, n/a in the table", async () => {
    const docs = path.join(work, "no-decline-docs");
    await fs.mkdir(docs, { recursive: true });
    await fs.writeFile(path.join(docs, "retries.md"), "# Retries\n\nRate-limited responses include a Retry-After header with the number of seconds to wait.\n");
    const qa = path.join(work, "no-decline-qa.jsonl");
    const question = {
      id: "q001",
      question: "Which header says how many seconds to wait when rate-limited?",
      answer: "The Retry-After header gives the seconds to wait.",
      gold: [{ source: "retries.md", heading: null, quote: "include a Retry-After header with the number of seconds" }],
      kind: "factual",
    };
    await fs.writeFile(qa, JSON.stringify(question));
    const dataset = await loadQaSet(qa, docs);
    const result = await evaluate({ dataset, config: config(), cacheDir: path.join(work, "no-decline-cache"), variants: ["bm25"] });
    for (const v of result.variants) {
      expect(v.answers!.wronglyDeclined, v.name).toBe(0);
      expect(v.answers!.abstentionPrecision, v.name).toBeNull();
      expect(v.answers!.noAnswerCorrect, v.name).toBeNull();
    }
    expect(formatResultTable(result)).toMatch(/^\s+cut-off 0.2: declined 0\/0 unanswerable \(abstention recall n\/a, precision n\/a\)/m);
  });

  it("names the line and the field of a record that is not a QA record", async () => {
    const file = path.join(work, "bad-qa.jsonl");
    const good = { id: "q1", question: "Where?", answer: "Here.", gold: [], kind: "factual" };
    await fs.writeFile(file, [good, { ...good, id: "q2", gold: undefined }].map((r) => JSON.stringify(r)).join("\n"));
    await expect(loadQaSet(file, work)).rejects.toThrow(/bad-qa\.jsonl, line 2: not a QA record \(gold: /);
  });
});

describe("rerank-rag eval", () => {
  it("prints JSON and writes a self-contained HTML report", async () => {
    const report = path.join(work, "report.html");
    const { code, stdout, stderr } = await runCli([
      "eval",
      beir,
      "--variants",
      "bm25",
      "--fetch-k",
      "8",
      "--top-n",
      "3",
      "--cache-dir",
      path.join(work, "cli-cache"),
      "--json",
      "--report",
      report,
    ]);
    expect(code, stderr).toBe(0);
    const body = JSON.parse(stdout);
    expect(body.variants.map((v: { name: string }) => v.name)).toEqual(["first-stage", "bm25"]);
    const html = await fs.readFile(report, "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("biggest wins");
    // Renders with no network: nothing is loaded from elsewhere.
    expect(html).not.toMatch(/(src|href)=["']https?:/);
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  it("prints the table with answer-level checks for the QA set", async () => {
    const { code, stdout, stderr } = await runCli([
      "eval",
      path.join(REPO_ROOT, "data", "eval", "qa.jsonl"),
      "--limit",
      "10",
      "--cache-dir",
      path.join(work, "qa-cache"),
    ]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/^variant\s+R@5\s+R@10\s+R@50/m);
    expect(stdout).toMatch(/^first-stage\s+\d\.\d{3}/m);
    expect(stdout).toMatch(/^bm25\s+\d\.\d{3}/m);
    expect(stdout).toContain("Answer-level (extractive answerer):");
  });

  it("refuses a QA set whose gold sources are not in the corpus (exit 2, naming the files and --docs), and warns when some are missing", async () => {
    const wrongDocs = path.join(work, "other-docs");
    await fs.mkdir(wrongDocs, { recursive: true });
    await fs.writeFile(path.join(wrongDocs, "unrelated.md"), "# Unrelated\n\nNothing the QA set cites.\n");
    const qa = path.join(REPO_ROOT, "data", "eval", "qa.jsonl");
    const refused = await runCli(["eval", qa, "--docs", wrongDocs, "--cache-dir", path.join(work, "wrong-cache")]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/None of the \d+ gold source files of .*qa\.jsonl is in the corpus/);
    expect(refused.stderr).toContain("authentication/");
    expect(refused.stderr).toContain("--docs");
    // A mistyped --docs is named as such.
    await expect(loadQaSet(qa, path.join(work, "no-such-docs"))).rejects.toThrow(/is in .*no-such-docs, which is not a folder/);
    // Half the corpus: the run goes on, saying how many gold files are missing.
    const partial = path.join(work, "partial-docs");
    await fs.cp(path.join(REPO_ROOT, "data", "docs", "authentication"), path.join(partial, "authentication"), { recursive: true });
    const dataset = await loadQaSet(qa, partial);
    expect(dataset.warnings).toHaveLength(1);
    expect(dataset.warnings![0]).toMatch(/^\d+ of \d+ gold source files are not in .*partial-docs .*Check --docs\./);
  });

  it("reports the evidence gate's abstention and the gold sentence in the answers on the QA set", async () => {
    const { code, stdout, stderr } = await runCli([
      "eval",
      path.join(REPO_ROOT, "data", "eval", "qa.jsonl"),
      "--cache-dir",
      path.join(work, "qa-cache"),
      "--json",
    ]);
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout) as { variants: VariantResult[]; queries: QueryResult[] };
    const bm25 = result.variants.find((v) => v.name === "bm25")!;
    const answers = bm25.answers!;
    // Each question's answer is in the JSON, per variant, and adds up to the summary.
    const perQuestion = result.queries.filter((q) => q.gold.length > 0).map((q) => q.answers!.bm25!);
    expect(perQuestion).toHaveLength(answers.answerableCount);
    expect(perQuestion.filter((a) => a.goldSentence).length / perQuestion.length).toBeCloseTo(answers.goldSentence, 10);
    expect(result.queries[0]!.answers!["first-stage"]!.text).toMatch(/\[1\]/);
    for (const a of perQuestion) expect(a.answered || a.text === NO_ANSWER, a.text).toBe(true);
    expect(answers.unanswerable).toBe(13);
    expect(answers.minScore).toBe(DEFAULT_MIN_SCORES.bm25);
    expect(answers.goldSentence).toBeGreaterThan(0);
    for (const key of ["noAnswerCorrect", "abstentionPrecision", "wronglyDeclined"] as const) expect(answers[key]).toBeGreaterThanOrEqual(0);
    // Without re-ranking the gate judges the first stage's sources by BM25's evidence, as the answer chain does.
    const firstStage = result.variants.find((v) => v.name === "first-stage")!.answers!;
    expect(firstStage.minScore).toBe(DEFAULT_MIN_SCORES.bm25);
    expect(firstStage.sweep.length).toBe(answers.sweep.length);
    expect(answers.sweep.map((s) => s.minScore)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    expect(answers.sweep[0]).toEqual({ minScore: 0, unanswerableDeclined: 0, answerableDeclined: 0 });
    expect(answers.sweep.at(-1)!.unanswerableDeclined).toBeGreaterThan(0);
  });

  it("rejects an unknown variant with exit 2", async () => {
    const { code, stderr } = await runCli(["eval", beir, "--variants", "colbert"]);
    expect(code).toBe(2);
    expect(stderr).toContain('Unknown variant "colbert"');
  });
});

/** A QA record over the fixture corpus of qaFixture: answerable from retries.md, or (gold: []) not at all. */
const qaRecord = (id: string, fields: Record<string, unknown> = {}) => ({
  id,
  question: "Which header says how many seconds to wait when rate-limited?",
  answer: "The Retry-After header gives the seconds to wait.",
  gold: [{ source: "retries.md", heading: null, quote: "include a Retry-After header with the number of seconds" }],
  kind: "factual",
  ...fields,
});
const unanswerableRecord = (id: string) => qaRecord(id, { question: "Which wine pairs best with grilled salmon?", answer: "", gold: [], kind: "unanswerable" });

/** A QA set (lines as given: records or raw text) over a two-file corpus, in a fresh folder of its own. */
async function qaFixture(name: string, lines: Array<object | string>): Promise<{ qa: string; docs: string; cacheDir: string }> {
  const dir = path.join(work, name);
  const docs = path.join(dir, "docs");
  await fs.mkdir(docs, { recursive: true });
  await fs.writeFile(path.join(docs, "retries.md"), "# Retries\n\nRate-limited responses include a Retry-After header with the number of seconds to wait.\n");
  await fs.writeFile(path.join(docs, "pages.md"), "# Pagination\n\nPass starting_after with the last id to get the next page of results.\n");
  const qa = path.join(dir, `${name}.jsonl`);
  await fs.writeFile(qa, lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n"));
  return { qa, docs, cacheDir: path.join(dir, "cache") };
}

describe("rerank-rag eval's options", () => {
  it("--min-score sets the evidence gate's cut-off for the answer metrics, over RAG_MIN_SCORE; the sweep is unchanged", async () => {
    const { qa, docs, cacheDir } = await qaFixture("min-score", [qaRecord("q001"), unanswerableRecord("q002")]);
    const run = async (flags: string[], env: Record<string, string> = {}) => {
      const { code, stdout, stderr } = await runCli(["eval", qa, "--docs", docs, "--variants", "bm25", "--cache-dir", cacheDir, "--json", ...flags], {
        env: cleanEnv(env),
      });
      expect(code, stderr).toBe(0);
      return (JSON.parse(stdout) as { variants: VariantResult[] }).variants.find((v) => v.name === "bm25")!.answers!;
    };
    const auto = await run([]);
    expect(auto.minScore).toBe(DEFAULT_MIN_SCORES.bm25);
    // Above any BM25 evidence score (0–1): every question is declined, the answerable one wrongly.
    const strict = await run(["--min-score", "1.5"], { RAG_MIN_SCORE: "0" });
    expect(strict).toMatchObject({ minScore: 1.5, noAnswerCorrect: 1, abstentionPrecision: 0.5, wronglyDeclined: 1 });
    expect(strict.sweep).toEqual(auto.sweep);
    expect((await run([], { RAG_MIN_SCORE: "0" })).minScore).toBe(0);
    const bad = await runCli(["eval", qa, "--docs", docs, "--min-score", "high", "--cache-dir", cacheDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--min-score must be a number ≥ 0 or "auto", got "high".');
  });
});

describe("a QA set's train and test halves", () => {
  it("split by number when every id ends in one, else by position in the file, with a warning saying so", async () => {
    const numbered = await qaFixture("split-numbered", [qaRecord("q001"), qaRecord("q002"), qaRecord("v2-q003"), qaRecord("q010")]);
    const halves = async (file: string, docs: string, split: string) => qaSplit(await loadQaSet(file, docs), split);
    const train = await halves(numbered.qa, numbered.docs, "train");
    expect(train.queries.map((q) => q.id)).toEqual(["q001", "v2-q003"]);
    expect(train.warnings).toEqual([]);
    expect((await halves(numbered.qa, numbered.docs, "test")).queries.map((q) => q.id)).toEqual(["q002", "q010"]);
    // Ids that are words: "train" had no query at all and "test" ran every one.
    const { qa, docs, cacheDir } = await qaFixture("split-named", [qaRecord("rotate"), qaRecord("webhook"), qaRecord("limits"), unanswerableRecord("salmon")]);
    const named = await halves(qa, docs, "train");
    expect(named.queries.map((q) => q.id)).toEqual(["rotate", "limits"]);
    expect(named.warnings).toEqual([
      "Not every question id of split-named.jsonl ends in a number (rotate, webhook, limits, salmon), so --split train takes the 1st, 3rd, 5th, … questions of the file instead of the odd-numbered ones.",
    ]);
    expect((await halves(qa, docs, "test")).queries.map((q) => q.id)).toEqual(["webhook", "salmon"]);
    const { code, stdout, stderr } = await runCli(["eval", qa, "--docs", docs, "--split", "test", "--variants", "bm25", "--cache-dir", cacheDir]);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("warning: Not every question id of split-named.jsonl ends in a number");
    expect(stderr).toContain("--split test takes the 2nd, 4th, 6th, … questions of the file instead of the even-numbered ones.");
    expect(stdout).toMatch(/^2 of 2 queries scored$/m);
  });
});

describe("a BEIR directory's problems", () => {
  /** A copy of the tiny BEIR set with its qrels files replaced by `qrels` (name → content). */
  async function beirFixture(name: string, qrels: Record<string, string>, corpus = CORPUS): Promise<string> {
    const dir = path.join(work, name);
    await fs.mkdir(path.join(dir, "qrels"), { recursive: true });
    await fs.writeFile(path.join(dir, "corpus.jsonl"), corpus.map((d) => JSON.stringify(d)).join("\n"));
    await fs.copyFile(path.join(beir, "queries.jsonl"), path.join(dir, "queries.jsonl"));
    for (const [file, text] of Object.entries(qrels)) await fs.writeFile(path.join(dir, "qrels", file), text);
    return dir;
  }

  it("names the splits a folder has when the one asked for is missing, and suggests --split", async () => {
    const dir = await beirFixture("dev-only", { "dev.tsv": QRELS });
    const { code, stderr } = await runCli(["eval", dir, "--cache-dir", path.join(dir, "cache")]);
    expect(code).toBe(2);
    expect(stderr).toContain(`qrels/test.tsv is missing. It has the split dev.`);
    expect(stderr).toContain("hint: Pick one with --split dev.");
    await fs.writeFile(path.join(dir, "qrels", "train.tsv"), QRELS);
    await expect(loadBeir(dir, "validation", path.join(dir, "cache"))).rejects.toThrow(/qrels\/validation\.tsv is missing\. It has the splits dev, train\.$/);
  });
});

describe("BEIR judgments of documents the corpus lacks", () => {
  it("are counted in a warning with examples; a query with no relevant document left is left out, and a set with none is refused naming the qrels", async () => {
    const dir = path.join(work, "absent-beir");
    await fs.cp(beir, dir, { recursive: true });
    await fs.writeFile(path.join(dir, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\nq1\td9\t1\nq2\td2\t1\nq2\td99\t1\nq3\td3\t1\nq4\td5\t1\n");
    const cacheDir = path.join(dir, "cache");
    const dataset = await loadBeir(dir, "test", cacheDir);
    expect(dataset.warnings).toEqual([
      "2 of 5 judgments of qrels/test.tsv name a document corpus.jsonl does not have (q1 → d9, q2 → d99); 1 query with no relevant document left in it is left out of every average.",
    ]);
    // Only a partly lost query: said so, and nothing left out.
    await fs.writeFile(path.join(dir, "qrels", "dev.tsv"), "q2\td2\t1\nq2\td99\t1\nq3\td3\t1\n");
    expect((await loadBeir(dir, "dev", cacheDir)).warnings).toEqual([
      "1 of 3 judgments of qrels/dev.tsv name a document corpus.jsonl does not have (q2 → d99); every query keeps a relevant document in it, so all are scored.",
    ]);
    const result = await evaluate({ dataset, config: config(), cacheDir, variants: [] });
    expect(result.dataset).toMatchObject({
      queries: 4,
      scoredQueries: 3,
      leftOut: [{ id: "q1", reason: "none of its relevant documents (d9) is in corpus.jsonl", causes: ["judged documents not in the corpus"] }],
    });
    const { code, stdout, stderr } = await runCli(["eval", dir, "--variants", "bm25", "--cache-dir", cacheDir]);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("warning: 2 of 5 judgments of qrels/test.tsv name a document corpus.jsonl does not have (q1 → d9, q2 → d99)");
    expect(stdout).toMatch(/^3 of 4 queries scored; left out of every average: judged documents not in the corpus: q1$/m);
    // Not one relevant document there: the qrels belong to another corpus.
    await fs.writeFile(path.join(dir, "qrels", "test.tsv"), "q1\tx1\t1\nq2\tx2\t1\n");
    const refused = await runCli(["eval", dir, "--cache-dir", cacheDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `None of the documents ${path.join(dir, "qrels", "test.tsv")} judges relevant is in ${path.join(dir, "corpus.jsonl")} (q1 → x1, q2 → x2).`,
    );
  });
});

describe("BEIR qrels", () => {
  const file = "qrels/test.tsv";
  it("are read with tabs, or with spaces where each line still has two or three fields", () => {
    const expected = parseQrels(QRELS, file);
    expect([...expected.keys()]).toEqual(["q1", "q2", "q3", "q4"]);
    expect(parseQrels(QRELS.replace(/\t/g, " "), file)).toEqual(expected);
    expect(parseQrels(QRELS.replace(/\t/g, "   ").replace(/\n/g, "\r\n"), file)).toEqual(expected);
    expect(parseQrels("q1\td1\nq2 d2 2\n", file)).toEqual(
      new Map([
        ["q1", new Map([["d1", 1]])],
        ["q2", new Map([["d2", 2]])],
      ]),
    );
  });

  it("name a line they cannot read, and a file with no judgment", async () => {
    expect(() => parseQrels("query-id corpus-id score\nq1 d1 1\nq2 my doc 1\n", file)).toThrow(
      'qrels/test.tsv, line 3: not a qrels line ("q2 my doc 1"); expected a query id, a corpus id and a score.',
    );
    expect(() => parseQrels("q1\td1\tyes\n", file)).toThrow(/line 1: not a qrels line/);
    expect(() => parseQrels("query-id\tcorpus-id\tscore\n", file)).toThrow("qrels/test.tsv judges no query: it holds no line but its header.");
    // Through the CLI: the space-separated file that gave "0 queries" runs; a bad line is exit 2.
    const dir = path.join(work, "spaced-beir");
    await fs.cp(beir, dir, { recursive: true });
    await fs.writeFile(path.join(dir, "qrels", "test.tsv"), QRELS.replace(/\t/g, " "));
    const spaced = await runCli(["eval", dir, "--variants", "bm25", "--cache-dir", path.join(dir, "cache")]);
    expect(spaced.code, spaced.stderr).toBe(0);
    expect(spaced.stdout).toMatch(/^4 of 4 queries scored$/m);
    await fs.writeFile(path.join(dir, "qrels", "test.tsv"), "q1 d1 1\nq2 Q0 d2 1\n");
    const bad = await runCli(["eval", dir, "--cache-dir", path.join(dir, "cache")]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`test.tsv, line 2: not a qrels line ("q2 Q0 d2 1")`);
  });
});

describe("questions left out of the averages", () => {
  it("are listed by reason in the table: a gold file missing from the corpus, or a gold quote not found in its file", async () => {
    const { qa, docs, cacheDir } = await qaFixture("left-out-reasons", [
      qaRecord("q001"),
      qaRecord("q002", { gold: [{ source: "webhooks.md", heading: null, quote: "events are kept for thirty days" }] }),
      qaRecord("q003", { gold: [{ source: "retries.md", heading: null, quote: "a Retry-After header in minutes" }] }),
      qaRecord("q004", { gold: [{ source: "pages.md", heading: null, quote: "pass ending_before with the first id" }] }),
    ]);
    const { code, stdout, stderr } = await runCli(["eval", qa, "--docs", docs, "--variants", "bm25", "--cache-dir", cacheDir]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(
      /^1 of 4 queries scored; left out of every average: gold file not in the corpus: q002; gold quote not found in its file: q003, q004$/m,
    );
    const json = await runCli(["eval", qa, "--docs", docs, "--variants", "bm25", "--cache-dir", cacheDir, "--json"]);
    expect(JSON.parse(json.stdout).dataset.leftOut).toEqual([
      { id: "q002", reason: `gold file webhooks.md is not in ${docs}`, causes: ["gold file not in the corpus"] },
      { id: "q003", reason: 'gold quote "a Retry-After header in minutes" is not in retries.md', causes: ["gold quote not found in its file"] },
      { id: "q004", reason: 'gold quote "pass ending_before with the first id" is not in pages.md', causes: ["gold quote not found in its file"] },
    ]);
  });
});

describe("rerank-rag eval --report", () => {
  it("is checked before the evaluation: a missing folder, a folder, or a file in a file is a usage error naming the path", async () => {
    const cacheDir = path.join(work, "report-check-cache");
    const missing = path.join(work, "no-such-folder", "r.html");
    const run = await runCli(["eval", beir, "--variants", "bm25", "--cache-dir", cacheDir, "--report", missing]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: Cannot write the report ${missing}: its folder ${path.dirname(missing)} does not exist.`);
    expect(run.stderr).toContain(`hint: Create the folder first (mkdir -p ${path.dirname(missing)}) or pick another --report path.`);
    // Nothing was indexed: the check came first.
    expect(run.stderr).not.toContain("indexing the corpus");
    await expect(fs.stat(cacheDir)).rejects.toThrow();
    const folder = await runCli(["eval", beir, "--cache-dir", cacheDir, "--report", work]);
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain(`Cannot write the report ${work}: ${work} is a folder.`);
    const inFile = path.join(beir, "queries.jsonl", "r.html");
    const underFile = await runCli(["eval", beir, "--cache-dir", cacheDir, "--report", inFile]);
    expect(underFile.code).toBe(2);
    expect(underFile.stderr).toContain(`Cannot write the report ${inFile}: ${path.join(beir, "queries.jsonl")} is not a folder.`);
  });

  it("that still fails to be written at the end comes after the results table", async (context) => {
    // /dev/full accepts opening for writing and then fails every write (ENOSPC).
    if (!(await fs.stat("/dev/full").catch(() => null))) return context.skip("no /dev/full here");
    const { code, stdout, stderr } = await runCli([
      "eval",
      beir,
      "--variants",
      "bm25",
      "--cache-dir",
      path.join(work, "report-full-cache"),
      "--report",
      "/dev/full",
    ]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^bm25\s+\d\.\d{3}/m);
    expect(stderr).toContain("error: Could not write the report /dev/full: ENOSPC");
    expect(stderr).toContain("hint: The results are printed above.");
  });
});

describe("a dataset with nothing to run", () => {
  it("is refused before the corpus is indexed: an empty QA file, or a split or --limit that leaves no scorable query", async () => {
    const empty = await qaFixture("empty-qa", []);
    const run = await runCli(["eval", empty.qa, "--docs", empty.docs, "--cache-dir", empty.cacheDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`error: ${empty.qa} holds no question: it is empty.`);
    expect(run.stderr).not.toContain("indexing the corpus");
    await expect(fs.stat(empty.cacheDir)).rejects.toThrow();
    // One question: the test half is empty, and evaluate() says so before ingesting.
    const one = await qaFixture("one-qa", [qaRecord("q001"), qaRecord("q003", { gold: [{ source: "gone.md", heading: null, quote: "not here" }] })]);
    const dataset = qaSplit(await loadQaSet(one.qa, one.docs), "test");
    await expect(evaluate({ dataset, config: config(), cacheDir: one.cacheDir, variants: [] })).rejects.toThrow(
      "The dataset one-qa.jsonl/test has no queries.",
    );
    const unscorable = { ...dataset, queries: (await loadQaSet(one.qa, one.docs)).queries.slice(1) };
    await expect(evaluate({ dataset: unscorable, config: config(), cacheDir: one.cacheDir, variants: [] })).rejects.toThrow(/can be scored/);
    await expect(fs.stat(one.cacheDir)).rejects.toThrow();
  });
});

describe("QA records", () => {
  it("with a repeated id are refused naming the ids and their lines (exit 2)", async () => {
    const { qa, docs, cacheDir } = await qaFixture("repeated-ids", [
      qaRecord("q001"),
      qaRecord("q002"),
      qaRecord("q001"),
      "",
      qaRecord("q002"),
      qaRecord("q001"),
    ]);
    await expect(loadQaSet(qa, docs)).rejects.toThrow(`${qa}: question ids must be unique, and these are repeated: q001 (lines 1, 3, 6), q002 (lines 2, 5).`);
    const run = await runCli(["eval", qa, "--docs", docs, "--cache-dir", cacheDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("q001 (lines 1, 3, 6)");
  });

  it("of an unknown kind are a warning naming the kinds there are, and are scored by their gold", async () => {
    const { qa, docs } = await qaFixture("unknown-kinds", [
      qaRecord("q001", { kind: "factoid" }),
      unanswerableRecord("q002"),
      { ...unanswerableRecord("q003"), kind: "trick" },
    ]);
    const dataset = await loadQaSet(qa, docs);
    expect(dataset.warnings).toEqual([
      '2 questions have kinds other than factual, paraphrase, multi-hop, unanswerable (q001: "factoid", line 1, q003: "trick", line 3); each is scored by its gold: answerable with gold entries, unanswerable with none.',
    ]);
    expect(dataset.queries.map((q) => [q.id, q.kind, q.judgments.size])).toEqual([
      ["q001", undefined, 1],
      ["q002", "unanswerable", 0],
      ["q003", "unanswerable", 0],
    ]);
  });
});

describe("the QA format's guide", () => {
  it("is named by a path that opens from where eval runs: relative in the package's folder, absolute elsewhere", async () => {
    const { qa, docs, cacheDir } = await qaFixture("guide-path", [
      qaRecord("q001"),
      qaRecord("q002", { gold: [{ source: "retries.md", heading: null, quote: "no such words" }] }),
    ]);
    const guide = path.join(REPO_ROOT, "data", "eval", "README.md");
    const elsewhere = await runCli(["eval", qa, "--docs", docs, "--variants", "bm25", "--cache-dir", cacheDir], { cwd: work });
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(elsewhere.stderr).toContain(`(case, spacing and Markdown markup aside; ${guide}).`);
    const here = await runCli(["eval", qa, "--docs", docs, "--variants", "bm25", "--cache-dir", cacheDir]);
    expect(here.stderr).toContain("(case, spacing and Markdown markup aside; data/eval/README.md).");
    await fs.access(guide);
  });
});
