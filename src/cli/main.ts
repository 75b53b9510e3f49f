import { Command, CommanderError, Option } from "commander";
import dotenv from "dotenv";
import { EXIT_RUNTIME, EXIT_USAGE, RagError, redact, secretsOf } from "../errors/index.js";
import { EMBEDDINGS_PROVIDERS, LLM_PROVIDERS, RERANKER_PROVIDERS, STORES } from "../config/names.js";
import { describeSupportedTypes } from "../ingest/file-types.js";
import { packageInfo } from "./package-info.js";
import type { CommonFlags } from "./flags.js";
import type { DemoFlags } from "./commands/demo.js";
import type { EvalFlags } from "./commands/eval.js";
import type { IngestFlags } from "./commands/ingest.js";
import type { ModelsFlags } from "./commands/models.js";
import type { ServeFlags } from "./commands/serve.js";
import { printable, red } from "./output.js";

dotenv.config({ quiet: true });
// A reader that stops early (`| head`) closes stdout: the rest of the output is dropped, and the
// command still finishes, cleaning up (the demo's temporary index) instead of dying on EPIPE.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
});

// Thin entry: declares commands, lazy-imports each one, and is the only place that exits.
const program = new Command()
  .name("rerank-rag")
  .description("Ask questions over your documents with a two-stage retriever: HNSW top-K, then a re-ranker, then a streamed, cited answer.")
  .version(packageInfo().version)
  .showHelpAfterError()
  .exitOverride();

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];
const indexOption = () => new Option("--index <dir>", "index directory (env RAG_INDEX_DIR)");
const jsonOption = () => new Option("--json", "print machine-readable JSON on stdout");
/** Where the index lives: the local directory, or Postgres + pgvector (shared by several machines). */
const storeOptions = (command: Command) =>
  command
    .addOption(new Option("--store <kind>", "local HNSW index directory, or a Postgres table with pgvector (env RAG_STORE, default hnsw)").choices(STORES))
    .option("--pg-url <url>", "Postgres URL for --store pgvector (env RAG_PG_URL; the environment keeps a password out of `ps`)")
    .option("--pg-table <name>", "table for --store pgvector (env RAG_PG_TABLE, default rerank_rag_chunks)");

storeOptions(
  program
    .command("ingest")
    .description("load, split and embed files into the index (incremental: only new or changed files are embedded)")
    .argument("<paths...>", `files or directories (${describeSupportedTypes()})`)
    .addOption(indexOption()),
)
  .addOption(new Option("--embeddings <provider>", "embedder for a new index (env RAG_EMBEDDINGS)").choices(EMBEDDINGS_PROVIDERS))
  .option("--chunk-size <chars>", "characters per chunk (env RAG_CHUNK_SIZE, default 1500)")
  .option("--chunk-overlap <chars>", "characters shared by neighbouring chunks (env RAG_CHUNK_OVERLAP, default 200)")
  .option("--rebuild", "ignore the existing index and build it again from these paths")
  .option("--no-gitignore", "ingest what the tree's .gitignore files hide (.ragignore files still apply; env RAG_GITIGNORE)")
  .option(
    "--exclude <pattern>",
    "leave out paths matching this .gitignore-style pattern, relative to each path given; repeatable (env RAG_EXCLUDE, comma-separated)",
    collect,
  )
  .option("--follow-symlinks", "follow symlinks whose target is outside the given paths (env RAG_FOLLOW_SYMLINKS)")
  .option("--allow-secrets", "ingest files that look like they contain a secret (env RAG_ALLOW_SECRETS); they are skipped by default")
  .addOption(jsonOption())
  .action(async (paths: string[], flags: IngestFlags) => (await import("./commands/ingest.js")).runIngest(paths, flags));

/** How a question is answered: shared by `ask`, `demo` and `serve`. */
const pipelineOptions = (command: Command) =>
  command
    .option("--reranker <provider>", `re-ranker: ${RERANKER_PROVIDERS.join(", ")}, or a cascade, cheap first, e.g. bm25:20,cross-encoder (env RAG_RERANKER)`)
    .option("--rerank [mode]", "on, off, or auto: re-rank only when the first stage is unsure (env RAG_RERANK, default on)")
    .option("--no-rerank", "skip re-ranking: show the first-stage order")
    .addOption(new Option("--first-stage <kind>", "HNSW alone, or HNSW + BM25 fused (env RAG_FIRST_STAGE, default hybrid)").choices(["vector", "hybrid"]))
    .option("--fetch-k <n>", "candidates from the first stage (env RAG_FETCH_K, default 50)")
    .option("--top-n <n>", "sources kept after re-ranking (env RAG_TOP_N, default 5)")
    .option(
      "--filter <key=value>",
      "search only chunks whose source matches a glob (source=authentication/**) or whose metadata field has a value (lang=en,fr: any of them); repeatable, all must hold",
      collect,
    )
    .option(
      "--min-score <score>",
      'evidence cut-off: below it the answer is "not answered" and no model runs (env RAG_MIN_SCORE, default auto: the re-ranker\'s)',
    )
    .addOption(new Option("--llm <provider>", "answer model (env RAG_LLM)").choices(LLM_PROVIDERS));
const askOptions = (command: Command) => pipelineOptions(command).addOption(jsonOption());

askOptions(
  storeOptions(
    program
      .command("ask")
      .description("answer a question from the index, streaming the answer, then the sources before and after re-ranking")
      .argument("<question>", "the question, in quotes")
      .addOption(indexOption()),
  ),
).action(async (question: string, flags: CommonFlags) => (await import("./commands/ask.js")).runAsk(question, flags));

askOptions(
  storeOptions(
    program
      .command("search")
      .description("the sources ask would answer from, after and before re-ranking, and whether they pass the evidence cut-off; no model runs")
      .argument("<query>", "the question or search terms, in quotes")
      .addOption(indexOption()),
  ),
).action(async (query: string, flags: CommonFlags) => (await import("./commands/ask.js")).runSearch(query, flags));

askOptions(
  program
    .command("demo")
    .description("ingest the bundled sample docs into a temporary index and answer a sample question")
    .option("--question <text>", "the question to ask", "How do I configure OAuth2 in the API?"),
).action(async (flags: DemoFlags) => (await import("./commands/demo.js")).runDemo(flags));

storeOptions(
  program
    .command("eval")
    .description("measure retrieval with and without re-ranking, side by side (recall, MRR, nDCG, latency, paired significance)")
    .argument("<dataset>", "a BEIR directory (corpus.jsonl[.gz], queries.jsonl, qrels/) or a QA .jsonl file such as data/eval/qa.jsonl")
    .option(
      "--split <name>",
      "BEIR qrels split (default test); for a QA set: train (odd-numbered questions; 1st, 3rd, … when ids do not end in a number), test (even) or all (default)",
    )
    .option("--latency-budget <ms>", "extra p50 milliseconds per query a re-ranker may cost to be recommended (default 250)")
    .option("--variants <list>", "re-rankers to compare with the first stage, e.g. bm25,cross-encoder (default: all available)")
    .addOption(new Option("--first-stage <kind>", "HNSW alone, or HNSW + BM25 fused (default hybrid)").choices(["vector", "hybrid"]))
    .option("--fetch-k <n>", "first-stage candidates (default 50)")
    .option("--top-n <n>", "sources given to the answerer (default 5)")
    .addOption(new Option("--embeddings <provider>", "embedder for the evaluation index").choices(EMBEDDINGS_PROVIDERS))
    .option("--chunk-size <chars>", "characters per chunk")
    .option("--chunk-overlap <chars>", "characters shared by neighbouring chunks")
    .option("--limit <n>", "evaluate only the first n queries")
    .option(
      "--min-score <n|auto>",
      "QA sets: the evidence gate's cut-off behind declined, abstention precision/recall and wrongly declined (env RAG_MIN_SCORE, default auto: each re-ranker's calibrated one); the sweep is unchanged",
    )
    .option("--docs <dir>", "corpus of a QA set (default: the bundled data/docs)")
    .option("--cache-dir <dir>", "where evaluation indexes are cached", ".rerank-rag/eval")
    .option("--report <file.html>", "write a self-contained HTML report")
    .addOption(jsonOption())
    .action(async (dataset: string, flags: EvalFlags) => (await import("./commands/eval.js")).runEval(dataset, flags)),
);

pipelineOptions(
  storeOptions(
    program
      .command("serve")
      .description("serve a web page and HTTP APIs (/api/ask, OpenAI /v1/chat/completions, Cohere /v1/rerank) from warm processes")
      .option("--host <address>", "address to listen on; anything but loopback needs RAG_SERVER_TOKEN", "127.0.0.1")
      .option("--port <n>", "port to listen on (0: any free port)", "8787")
      .option("--workers <n>", "processes sharing the port, each with the index open (auto: one per core)", "1")
      .option("--insecure-no-auth", "allow a non-loopback --host without RAG_SERVER_TOKEN (anyone who reaches it can query)")
      .addOption(indexOption()),
  ),
).action(async (flags: ServeFlags) => (await import("./commands/serve.js")).runServe(flags));

program
  .command("check")
  .description("verify every file of the index against the size and checksum recorded at ingest; exit 1 when any is damaged")
  .addOption(indexOption())
  .addOption(jsonOption())
  .action(async (flags: Pick<CommonFlags, "index" | "json">) => (await import("./commands/check.js")).runCheck(flags));

const models = program.command("models").description("download, import and list pretrained models (kept in RAG_MODELS_DIR)");
const modelsDirOption = () => new Option("--models-dir <dir>", "models directory (env RAG_MODELS_DIR)");
models
  .command("pull")
  .description("download a model from the Hugging Face Hub ahead of time (honours HF_ENDPOINT)")
  .argument("<id>", "model id, e.g. Xenova/ms-marco-MiniLM-L-6-v2, or a GGUF file owner/repo/file.gguf (resumable)")
  .addOption(modelsDirOption())
  .addOption(jsonOption())
  .action(async (id: string, flags: ModelsFlags) => (await import("./commands/models.js")).runModelsPull(id, flags));
models
  .command("import")
  .description("copy a model folder or a .gguf file in, for machines without network access")
  .argument("<dir>", "a folder with config.json, tokenizer.json and onnx/model.onnx, or a .gguf file")
  .option("--as <id>", "the id to store it under, e.g. Xenova/ms-marco-MiniLM-L-6-v2 or owner/repo/file.gguf")
  .addOption(modelsDirOption())
  .addOption(jsonOption())
  .action(async (dir: string, flags: ModelsFlags & { as?: string }) => (await import("./commands/models.js")).runModelsImport(dir, flags));
models
  .command("list")
  .description("show the models present")
  .addOption(modelsDirOption())
  .addOption(jsonOption())
  .action(async (flags: ModelsFlags) => (await import("./commands/models.js")).runModelsList(flags));

/**
 * An error's text as printed: errors quote paths and what servers said, so secrets (also in URLs)
 * are redacted and control codes escaped, a newline too: a message is one line.
 */
function shown(text: string, multiline = false): string {
  return printable(redact(text, secretsOf(process.env)), { multiline });
}

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version are successes; every other parse failure is a usage error.
      return error.exitCode === 0 || error.code === "commander.helpDisplayed" || error.code === "commander.version" ? 0 : EXIT_USAGE;
    }
    if (RagError.isInstance(error)) {
      process.stderr.write(`${red("error:")} ${shown(error.message)}\n`);
      if (error.hint) process.stderr.write(`hint: ${shown((await import("./hints.js")).cliHint(error)!)}\n`);
      return error.exitCode;
    }
    process.stderr.write(`${red("error:")} ${shown((error as Error)?.message ?? String(error))}\n`);
    if (process.env.DEBUG) process.stderr.write(`${shown(String((error as Error)?.stack), true)}\n`);
    return EXIT_RUNTIME;
  }
}

const exitCode = await main();
process.exitCode = exitCode;
// Exit once output is flushed: a client timer left running (cohere-ai keeps one after a
// connection error) must not hold the process for another RAG_TIMEOUT_MS.
process.stdout.write("", () => process.stderr.write("", () => process.exit(exitCode)));
