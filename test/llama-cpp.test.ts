import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type AIMessage, HumanMessage, SystemMessage } from "@langchain/core/messages";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAnswerChain, createRerankingRetriever } from "../chains/index.js";
import { loadConfig } from "../src/config/index.js";
import { RagError } from "../src/errors/index.js";
import { LlamaCppChatModel } from "../src/llms/llama-cpp-chat-model.js";
import { ANSWER_PROMPT, formatQuestion, formatSources, QUESTION_FIRST_PROMPT, SOURCES_SLOT } from "../src/llms/prompt.js";
import { ingest } from "../src/ingest/ingest.js";
import { createLlm, resolveLlm } from "../src/llms/registry.js";
import { readGguf } from "../src/models/gguf.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { cleanEnv, REPO_ROOT, runCli } from "./helpers/cli.js";
import { smallDocuments, smallStore } from "./helpers/small-store.js";

/** A real 260K-parameter llama GGUF shipped beside the repository; its text is nonsense, so these tests check mechanics. */
const MODEL = path.resolve(REPO_ROOT, "..", "shared", "models", "stories260K.gguf");
const present = fs.existsSync(MODEL);
if (!present) console.warn(`Skipping the llama-cpp tests: the test model ${MODEL} is absent.`);

let work: string;
beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), "rerank-rag-llama-"));
});
afterAll(() => fsp.rm(work, { recursive: true, force: true }));

async function promptFor(question: string, docs = smallDocuments().slice(0, 1)) {
  return (await ANSWER_PROMPT.invoke({ question, sources: formatSources(docs) })).toChatMessages();
}

async function collect(model: LlamaCppChatModel, messages: Awaited<ReturnType<typeof promptFor>>, signal?: AbortSignal) {
  const chunks: string[] = [];
  for await (const chunk of await model.stream(messages, { signal })) chunks.push(chunk.text);
  return chunks;
}

describe.skipIf(!present)("LlamaCppChatModel over a real GGUF", () => {
  const models: LlamaCppChatModel[] = [];
  const make = (fields: Partial<ConstructorParameters<typeof LlamaCppChatModel>[0]> = {}) => {
    // One thread: llama.cpp's threads spin, and on a loaded test machine two of them are far slower than one.
    const model = new LlamaCppChatModel({ modelPath: MODEL, gpu: "off", threads: 1, maxTokens: 24, ...fields });
    models.push(model);
    return model;
  };
  afterAll(() => Promise.all(models.map((m) => m.dispose())));

  it("streams the answer token by token after the sources, through the answer chain", async () => {
    const { store, stats } = await smallStore();
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "bm25", stats, fetchK: 8, topN: 3 });
    const chain = createAnswerChain({ retriever, llm: make(), secrets: [] });
    const chunks: Array<{ sources?: unknown[]; answer?: string }> = [];
    for await (const chunk of await chain.stream("How do I configure OAuth2 client credentials?")) chunks.push(chunk);
    expect(chunks[0]!.sources).toHaveLength(3);
    const answers = chunks.filter((c) => c.answer !== undefined);
    expect(answers.length).toBeGreaterThan(1);
    expect(
      answers
        .map((c) => c.answer)
        .join("")
        .trim(),
    ).not.toBe("");
  });

  it("starts every answer from a clean context: in a row, concurrently, and across instances", async () => {
    const [first, second] = await Promise.all([promptFor("What are rate limits?"), promptFor("How are webhooks signed?")]);
    const model = make();
    const a = (await collect(model, first)).join("");
    const b = (await collect(model, second)).join("");
    // A second instance shares the loaded model; its first answer to the second question is the same.
    const fresh = (await collect(make(), second)).join("");
    expect(b).toBe(fresh);
    const [ca, cb] = await Promise.all([collect(model, first), collect(model, second)]);
    expect([ca.join(""), cb.join("")]).toEqual([a, b]);
    expect(a).not.toBe(b);
  });

  it("uses the GGUF's chat template and the system prompt", async () => {
    const model = make();
    const shared = await model.load();
    const state = shared.chatWrapper.generateContextState({
      chatHistory: [
        { type: "system", text: "SYSTEM-RULES" },
        { type: "user", text: "QUESTION" },
        { type: "model", response: [] },
      ],
    });
    const rendered = state.contextText.toString();
    expect(rendered).toContain("SYSTEM-RULES");
    expect(rendered).toContain("QUESTION");
    // The system prompt is part of what the model reads: a different one changes the answer.
    const question = new HumanMessage("Tell me about the ferry.");
    const one = (await collect(model, [new SystemMessage("You answer briefly."), question])).join("");
    const other = (await collect(model, [new SystemMessage("Once upon a time there was a big red dog who liked to play."), question])).join("");
    expect(one).not.toBe(other);
  });

  it("trims the sources to fit the context, longest first, and says so", async () => {
    const model = make({ contextSize: 1024, maxTokens: 16 });
    const long = "The ferry leaves the harbour every hour and the timetable changes in winter. ".repeat(60);
    const docs = [
      { pageContent: "Short source about bees.", metadata: { relativePath: "bees.md" } },
      { pageContent: long, metadata: { relativePath: "ferry.md" } },
    ];
    const chunks = await collect(model, await promptFor("When does the ferry leave?", docs as never));
    const answer = chunks.join("");
    expect(answer).toMatch(/Sources \[2\] were shortened to fit the model's 1024-token context/);
    expect(answer).not.toMatch(/\[1\], /);
  });

  it("refuses a question the context cannot hold even without sources (exit 2)", async () => {
    const model = make({ contextSize: 256, maxTokens: 32 });
    const error = await collect(model, await promptFor("Which ".repeat(50) + "ferry?")).catch((e: unknown) => e);
    expect(RagError.isInstance(error) && error.exitCode).toBe(2);
    expect(String(error)).toMatch(/does not fit the local model's context/);
  });

  it("stops on abort promptly and frees the sequence for the next answer", async () => {
    const model = make({ maxTokens: 400, parallel: 1 });
    const messages = await promptFor("Tell me everything about the ferry.");
    const controller = new AbortController();
    const chunks: string[] = [];
    let abortedAt = 0;
    const error = await (async () => {
      for await (const chunk of await model.stream(messages, { signal: controller.signal })) {
        chunks.push(chunk.text);
        if (chunks.length === 2) {
          abortedAt = performance.now();
          controller.abort(new Error("client gone"));
        }
      }
    })().catch((e: unknown) => e);
    expect(String(error)).toMatch(/client gone|abort/i);
    expect(chunks.length).toBeLessThan(10);
    expect(performance.now() - abortedAt).toBeLessThan(1_000);
    // The only sequence was freed: the next answer gets it, and gives it back.
    expect((await collect(make({ maxTokens: 8, parallel: 1 }), messages)).length).toBeGreaterThan(0);
    expect((await model.load()).free).toHaveLength(1);
  });

  it("loads the model once per process and frees it when the last holder disposes", async () => {
    const one = new LlamaCppChatModel({ modelPath: MODEL, gpu: "off", threads: 1, contextSize: 128 });
    const two = new LlamaCppChatModel({ modelPath: MODEL, gpu: "off", threads: 1, contextSize: 128 });
    const [a, b] = await Promise.all([one.load(), two.load()]);
    expect(a).toBe(b);
    await one.dispose();
    expect(a.model.disposed).toBe(false);
    await two.dispose();
    expect(a.model.disposed).toBe(true);
  });

  describe("evaluating the prompt up to the sources while re-ranking runs", () => {
    const QUESTION = "How do I configure OAuth2 client credentials?";
    const questionFirst = async (question: string, sources: string) =>
      (await QUESTION_FIRST_PROMPT.invoke({ question: formatQuestion(question), sources })).toChatMessages();
    /** An answer, and how many of its prompt tokens llama.cpp took from the sequence's state instead of evaluating them. */
    async function answer(model: LlamaCppChatModel, messages: Awaited<ReturnType<typeof questionFirst>>) {
      let text = "";
      let usage: { input_tokens: number; input_token_details?: { cache_read?: number } } | undefined;
      for await (const chunk of await model.stream(messages)) {
        text += chunk.text;
        usage = chunk.usage_metadata ?? usage;
      }
      return { text, promptTokens: usage!.input_tokens, reused: usage!.input_token_details!.cache_read! };
    }
    async function chainAnswer(warm: boolean, minScore?: number) {
      const model = make();
      const { store, stats } = await smallStore();
      const retriever = createRerankingRetriever({ vectorStore: store, reranker: "bm25", stats, fetchK: 8, topN: 3 });
      const chain = createAnswerChain({
        retriever,
        llm: model,
        prompt: QUESTION_FIRST_PROMPT,
        secrets: [],
        warmUp: warm ? model.prefixWarmUp(QUESTION_FIRST_PROMPT) : undefined,
        minScore,
      });
      let reused = -1;
      const result = await chain.invoke(QUESTION, {
        callbacks: [
          {
            handleLLMEnd: (output) =>
              void (reused = (output.generations[0]![0] as unknown as { message: AIMessage }).message.usage_metadata!.input_token_details!.cache_read!),
          },
        ],
      });
      return { result, reused, shared: await model.load() };
    }

    it("through the answer chain: the answer is byte-identical, and the preloaded tokens are not evaluated again", async () => {
      const without = await chainAnswer(false);
      const overlapped = await chainAnswer(true);
      expect(without.result.answered).toBe(true);
      expect(overlapped.result.answer).toBe(without.result.answer);
      expect(without.reused).toBe(0);
      // The system prompt and the question: llama.cpp counted them as already in the sequence.
      const prefix = await questionFirst(QUESTION, "");
      const prefixTokens = (await make().load()).model.tokenize(prefix.map((m) => m.text).join("")).length;
      expect(overlapped.reused).toBeGreaterThan(prefixTokens * 0.8);
      // The preloaded sequence was used and given back cleared.
      expect(overlapped.shared.parked).toHaveLength(0);
      expect(overlapped.shared.free).toHaveLength(2);
    });

    it("keeps each preloaded prefix for its own question, concurrently, and the answers are byte-identical", async () => {
      const model = make();
      const docs = formatSources(smallDocuments().slice(0, 2));
      const [a, b] = await Promise.all([questionFirst("What are rate limits?", docs), questionFirst("How are webhooks signed?", docs)]);
      const plain = [await answer(model, a), await answer(model, b)];
      expect(plain.map((p) => p.reused)).toEqual([0, 0]);
      await Promise.all(["What are rate limits?", "How are webhooks signed?"].map(async (q) => model.preloadPrefix(await questionFirst(q, SOURCES_SLOT))));
      expect((await model.load()).parked).toHaveLength(2);
      const warm = await Promise.all([answer(model, b), answer(model, a)]);
      expect(warm.map((w) => w.text)).toEqual([plain[1]!.text, plain[0]!.text]);
      for (const w of warm) expect(w.reused).toBeGreaterThan(0);
      expect((await model.load()).parked).toHaveLength(0);
      expect((await model.load()).free).toHaveLength(2);
    });

    it("falls back cleanly: another question's prefix is not used, and a held prefix is given back on release and abort", async () => {
      const model = make();
      const shared = await model.load();
      const release = await model.preloadPrefix(await questionFirst("What are rate limits?", SOURCES_SLOT));
      const other = await answer(model, await questionFirst(QUESTION, formatSources(smallDocuments().slice(0, 1))));
      expect(other.reused).toBe(0);
      expect(shared.parked).toHaveLength(1);
      await release();
      expect([shared.parked.length, shared.free.length]).toEqual([0, 2]);

      const controller = new AbortController();
      await model.preloadPrefix(await questionFirst(QUESTION, SOURCES_SLOT), { signal: controller.signal });
      expect(shared.free).toHaveLength(1);
      controller.abort();
      await expect.poll(() => shared.free.length).toBe(2);
      expect(shared.parked).toHaveLength(0);
      // The sequence given back was cleared: the next answer evaluates its whole prompt.
      expect((await answer(model, await questionFirst(QUESTION, formatSources(smallDocuments().slice(0, 1))))).reused).toBe(0);
    });

    it("gives the preloaded prefix back when the evidence gate declines and the model is not called", async () => {
      const declined = await chainAnswer(true, 1e9);
      expect(declined.result.answered).toBe(false);
      expect(declined.reused).toBe(-1);
      expect([declined.shared.parked.length, declined.shared.free.length]).toEqual([0, 2]);
    });
  });

  it("defaults threads to the core count", () => {
    expect(new LlamaCppChatModel({ modelPath: MODEL }).threads).toBe(os.availableParallelism());
    expect(new LlamaCppChatModel({ modelPath: MODEL, threads: 1 }).threads).toBe(1);
  });
});

describe.skipIf(!present)("bad GGUF input fails with exit 2, naming the file", () => {
  const config = (file: string) =>
    loadConfig({ RAG_LLM: "llama-cpp" }, { RAG_LLM_MODEL: file, RAG_MODELS_DIR: path.join(work, "models"), RAG_LLM_GPU: "off", RAG_LLM_THREADS: "1" });
  const failure = async (file: string) => {
    const error = await createLlm(config(file)).catch((e: unknown) => e);
    expect(RagError.isInstance(error) && error.exitCode, String(error)).toBe(2);
    expect(String((error as Error).message)).toContain(file);
    return (error as Error).message;
  };

  it("a missing file", async () => {
    expect(await failure(path.join(work, "absent.gguf"))).toMatch(/does not exist/);
  });

  it("a file that is not GGUF", async () => {
    const file = path.join(work, "notes.gguf");
    await fsp.writeFile(file, "just some text, not a model\n");
    expect(await failure(file)).toMatch(/is not a GGUF model/);
  });

  it("a truncated GGUF", async () => {
    const bytes = await fsp.readFile(MODEL);
    const file = path.join(work, "cut.gguf");
    await fsp.writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    expect(await failure(file)).toMatch(/truncated GGUF/);
  });

  it("an architecture this build of llama.cpp cannot load", async () => {
    const bytes = Buffer.from(await fsp.readFile(MODEL));
    // Same length, so every offset in the header stays valid.
    const at = bytes.indexOf("general.architecture") + "general.architecture".length + 4 + 8;
    expect(bytes.subarray(at, at + 5).toString()).toBe("llama");
    bytes.write("zzzzz", at);
    const file = path.join(work, "alien.gguf");
    await fsp.writeFile(file, bytes);
    expect((await readGguf(file)).architecture).toBe("zzzzz");
    expect(await failure(file)).toMatch(/architecture "zzzzz" is not supported/);
  });
});

describe.skipIf(!present)("choosing llama-cpp", () => {
  it("auto picks the only GGUF in RAG_MODELS_DIR after keys and OPENAI_BASE_URL, else the extractive answerer", async () => {
    const modelsDir = path.join(work, "auto-models");
    const env = { RAG_MODELS_DIR: modelsDir };
    expect(resolveLlm(loadConfig({}, env)).name).toBe("extractive");
    await fsp.mkdir(modelsDir, { recursive: true });
    await fsp.copyFile(MODEL, path.join(modelsDir, "stories260K.gguf"));
    expect(resolveLlm(loadConfig({}, env))).toEqual({ name: "llama-cpp", model: "stories260K.gguf" });
    expect(resolveLlm(loadConfig({}, { ...env, OPENAI_BASE_URL: "http://127.0.0.1:1/v1" })).name).toBe("openai");
    // Two GGUFs and none named: auto cannot choose.
    await fsp.copyFile(MODEL, path.join(modelsDir, "other.gguf"));
    expect(resolveLlm(loadConfig({}, env)).name).toBe("extractive");
    expect(resolveLlm(loadConfig({}, { ...env, RAG_LLM_MODEL: "other.gguf" }))).toEqual({ name: "llama-cpp", model: "other.gguf" });
  });

  it("rerank-rag ask --llm llama-cpp streams tokens after the sources, offline", async () => {
    const index = path.join(work, "index");
    const ingested = await runCli(["ingest", path.join(REPO_ROOT, "data", "docs"), "--index", index]);
    expect(ingested.code, ingested.stderr).toBe(0);
    const env = cleanEnv({ RAG_LLM_MODEL: path.relative(REPO_ROOT, MODEL), RAG_LLM_MAX_TOKENS: "32", RAG_LLM_THREADS: "1" });
    const { code, stdout, stderr } = await runCli(["ask", "How do I configure OAuth2 in the API?", "--index", index, "--llm", "llama-cpp"], {
      env,
      timeoutMs: 150_000,
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toContain("llm=llama-cpp:");
    expect(stderr).toContain("stories260K.gguf");
    expect(stdout).toMatch(/\[1\]/);
  }, 180_000);

  it("the pipeline evaluates the prompt's prefix while re-ranking by default; RAG_LLM_WARM_UP=false turns it off", async () => {
    const env = { RAG_INDEX_DIR: path.join(work, "pipeline-index"), RAG_EMBEDDINGS: "offline", RAG_LLM: "llama-cpp", RAG_LLM_MODEL: MODEL, RAG_LLM_GPU: "off" };
    const settings = { ...env, RAG_LLM_THREADS: "1", RAG_LLM_MAX_TOKENS: "16", RAG_MIN_SCORE: "0" };
    await ingest({ paths: [path.join(REPO_ROOT, "data", "docs")], config: loadConfig({}, env) });
    const ask = async (warmUp: string) => {
      const pipeline = await createPipeline(loadConfig({}, { ...settings, RAG_LLM_WARM_UP: warmUp }));
      try {
        let reused = -1;
        const { answer } = await pipeline.chain.invoke("How do I configure OAuth2 in the API?", {
          callbacks: [
            {
              handleLLMEnd: (output) =>
                void (reused = (output.generations[0]![0] as unknown as { message: AIMessage }).message.usage_metadata!.input_token_details!.cache_read!),
            },
          ],
        });
        return { answer, reused };
      } finally {
        await pipeline.close();
      }
    };
    const [on, off] = [await ask("true"), await ask("false")];
    expect(on.answer).toBe(off.answer);
    expect(off.reused).toBe(0);
    expect(on.reused).toBeGreaterThan(50);
  }, 180_000);
});
