import os from "node:os";
import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import { BaseChatModel, type BaseChatModelParams } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, type BaseMessage } from "@langchain/core/messages";
import { ChatGenerationChunk, type ChatResult } from "@langchain/core/outputs";
import type { BasePromptTemplate } from "@langchain/core/prompts";
import type * as NodeLlamaCppModule from "node-llama-cpp";
import type { ChatHistoryItem, ChatWrapper, Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp";
import { importOptional, OPTIONAL_PACKAGES, RagError, UsageError } from "../errors/index.js";
import { readGguf, type GgufInfo } from "../models/gguf.js";
import { formatQuestion, formatSources, parsePrompt, SOURCES_SLOT } from "./prompt.js";

/** The version the lock file pins and the tests load; the error for a missing install names it. */

export interface LlamaCppChatModelFields extends BaseChatModelParams {
  /** A .gguf file. */
  modelPath: string;
  /** Tokens one answer may see, prompt and answer together (default: the model's training context, at most 4096). */
  contextSize?: number;
  /** CPU threads (default: the core count). */
  threads?: number;
  /** "auto" offloads to a GPU node-llama-cpp finds (Metal, CUDA, Vulkan); "off" stays on the CPU. */
  gpu?: "auto" | "off";
  /** The answer's length cap in tokens; the prompt is fitted into the rest of the context. */
  maxTokens?: number;
  /** Answers generated at once; more wait for a free sequence (each costs a context's worth of memory). */
  parallel?: number;
  /** The whole answer, first token to last (RAG_ANSWER_TIMEOUT_MS). */
  timeoutMs?: number;
}

/** One model file loaded once per process, with its context, shared by every LlamaCppChatModel that names it. */
interface SharedModel {
  info: GgufInfo;
  model: LlamaModel;
  context: LlamaContext;
  chatWrapper: ChatWrapper;
  /** Free sequences (one per answer generated at once), and the answers waiting for one. */
  free: LlamaContextSequence[];
  waiting: Array<() => void>;
  /** Sequences holding an evaluated prompt prefix (`preloadPrefix`), each kept for the one answer that starts with it. */
  parked: Parked[];
  users: number;
}

interface Parked {
  sequence: LlamaContextSequence;
  /** The evaluated tokens: the start of the answer's prompt. */
  tokens: Token[];
  /** Takes it out of `parked` (claimed, or given back): stops its timer and abort listener. */
  unpark(): void;
}

const llamas = new Map<string, Promise<Llama>>();
/** llama.cpp's warnings and errors (its load failures say why only there), newest last. */
const llamaLogs: string[] = [];
const models = new Map<string, Promise<SharedModel>>();

type NodeLlamaCpp = typeof NodeLlamaCppModule;

const NODE_LLAMA_CPP = `node-llama-cpp@${OPTIONAL_PACKAGES["node-llama-cpp"]}`;

function importNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  return importOptional(["node-llama-cpp"], "--llm llama-cpp", () => import("node-llama-cpp"));
}

/** The mapping of llama.cpp's load failures to what the user can do about them. */
function loadError(error: unknown, info: GgufInfo, logs: string[]): RagError {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === "InsufficientMemoryError") {
    return new RagError(`Not enough memory to load ${info.file} (${(info.bytes / 1024 ** 2).toFixed(0)} MiB, ${info.quantisation}): ${message}`, {
      cause: error,
      hint: "Choose a smaller model or quantisation (e.g. Q4_K_M), lower RAG_LLM_CONTEXT_SIZE, or set RAG_LLM_GPU=off if the GPU is short of memory.",
    });
  }
  const arch = logs.find((line) => /unknown model architecture|unsupported model architecture/i.test(line));
  if (arch) {
    return new UsageError(`llama.cpp cannot load ${info.file}: its architecture "${info.architecture}" is not supported by this build (${NODE_LLAMA_CPP}).`, {
      cause: error,
      setting: "RAG_LLM_MODEL",
      hint: "Choose a GGUF of a model llama.cpp supports (llama, qwen2, gemma, phi3, mistral…), or update node-llama-cpp.",
    });
  }
  return new UsageError(
    `llama.cpp could not load ${info.file} (architecture "${info.architecture}", ${info.quantisation}): ${[message, ...logs.slice(-2)].join("; ")}`,
    {
      cause: error,
      setting: "RAG_LLM_MODEL",
      hint: "Check that the file is a complete GGUF model of an architecture llama.cpp supports; download it again if in doubt.",
    },
  );
}

async function loadShared(fields: Required<Pick<LlamaCppChatModelFields, "modelPath" | "gpu" | "threads" | "parallel">> & { contextSize?: number }) {
  const info = await readGguf(fields.modelPath);
  const { getLlama, resolveChatWrapper, LlamaLogLevel } = await importNodeLlamaCpp();
  const logStart = llamaLogs.length;
  let llama = llamas.get(fields.gpu);
  if (!llama) {
    // build "never": a missing binary is an error, never a compile of llama.cpp at run time.
    llama = getLlama({
      build: "never",
      gpu: fields.gpu === "off" ? false : "auto",
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal || level === LlamaLogLevel.warn) llamaLogs.push(message.trim());
      },
    });
    llamas.set(fields.gpu, llama);
  }
  const runtime = await llama.catch((error: unknown) => {
    llamas.delete(fields.gpu);
    throw new RagError(`node-llama-cpp found no usable llama.cpp binary for ${process.platform}-${process.arch}: ${(error as Error).message}`, {
      cause: error,
      hint: `Reinstall with \`npm install ${NODE_LLAMA_CPP}\` so its prebuilt binary package for this platform is installed, or choose another --llm.`,
    });
  });
  const logs = () => llamaLogs.slice(logStart);
  let model: LlamaModel;
  try {
    model = await runtime.loadModel({ modelPath: fields.modelPath, ...(fields.gpu === "off" ? { gpuLayers: 0 } : {}) });
  } catch (error) {
    throw loadError(error, info, logs());
  }
  try {
    const context = await model.createContext({
      contextSize: fields.contextSize ?? Math.min(model.trainContextSize, 4096),
      sequences: fields.parallel,
      threads: fields.threads,
    });
    const chatWrapper = resolveChatWrapper(model);
    const free = Array.from({ length: fields.parallel }, () => context.getSequence());
    return { info, model, context, chatWrapper, free, waiting: [], parked: [], users: 0 } satisfies SharedModel;
  } catch (error) {
    await model.dispose();
    throw loadError(error, info, logs());
  }
}

function text(message: BaseMessage): string {
  return typeof message.content === "string" ? message.content : message.text;
}

/**
 * A GGUF model run in-process by llama.cpp through node-llama-cpp, as a LangChain chat model.
 *
 * Why not @langchain/community's ChatLlamaCpp: its `.stream()` formats every model's prompt with
 * Llama 2's `[INST]` markup instead of the GGUF's own chat template, and takes a new context
 * sequence per call without freeing it (the second answer fails with no sequence left); its
 * `.invoke()` keeps one chat session across calls, so one question's history leaks into the next
 * caller's; it loads the model once per instance, ignores the abort signal while streaming and
 * lets an over-long prompt overflow the context. This class keeps none of that state: each
 * answer gets a fresh LlamaChatSession on a sequence of its own (released, and its memory
 * cleared, when the answer ends, fails or is aborted), the prompt goes through the model's chat
 * template, the sources are trimmed to fit the context, and the model is loaded once per
 * process and shared.
 */
export class LlamaCppChatModel extends BaseChatModel {
  static override lc_name() {
    return "LlamaCppChatModel";
  }

  readonly modelPath: string;
  readonly maxTokens: number;
  private readonly key: string;
  private readonly settings: Required<Pick<LlamaCppChatModelFields, "modelPath" | "gpu" | "threads" | "parallel">> & { contextSize?: number };
  private readonly timeoutMs: number;
  private shared?: Promise<SharedModel>;
  private disposed = false;

  constructor(fields: LlamaCppChatModelFields) {
    super(fields);
    this.modelPath = fields.modelPath;
    this.maxTokens = fields.maxTokens ?? 512;
    this.timeoutMs = fields.timeoutMs ?? 120_000;
    this.settings = {
      modelPath: fields.modelPath,
      gpu: fields.gpu ?? "auto",
      threads: fields.threads || os.availableParallelism(),
      parallel: fields.parallel ?? 2,
      contextSize: fields.contextSize,
    };
    this.key = JSON.stringify(this.settings);
  }

  _llmType(): string {
    return "llama-cpp";
  }

  /** Loads the model (once per process for the same file and settings); errors name the file. */
  async load(): Promise<SharedModel> {
    if (this.disposed) throw new Error("This LlamaCppChatModel was disposed.");
    if (!this.shared) {
      let shared = models.get(this.key);
      if (!shared) {
        shared = loadShared(this.settings);
        models.set(this.key, shared);
        shared.catch(() => models.delete(this.key));
      }
      this.shared = shared;
      (await shared).users++;
    }
    return this.shared;
  }

  /** Releases this model's hold on the shared one; the last holder frees the context and weights. */
  async dispose(): Promise<void> {
    const shared = this.shared;
    this.disposed = true;
    this.shared = undefined;
    if (!shared) return;
    const loaded = await shared;
    if (--loaded.users > 0) return;
    models.delete(this.key);
    // Prefixes nobody claimed go with the context: their timers must not touch it after.
    for (const parked of [...loaded.parked]) parked.unpark();
    await loaded.context.dispose();
    await loaded.model.dispose();
  }

  /** CPU threads llama.cpp uses (default: the core count). */
  get threads(): number {
    return this.settings.threads;
  }

  /**
   * Evaluates the part of a prompt before its sources (system prompt, history, question) into a
   * free sequence while retrieval and re-ranking run, and keeps it for the answer whose prompt
   * starts with it: that answer evaluates only the sources and what follows them. `messages` is
   * the prompt with SOURCES_SLOT where the sources go (QUESTION_FIRST_PROMPT puts them last).
   * Resolves to a function that gives the sequence back if no answer took it (the answer chain
   * calls it when the model is not called); the sequence is also given back on `signal`'s abort
   * and after the answer timeout. Skipped when every sequence is busy or an answer waits for
   * one. The answer is the same with or without it: the reused tokens' state is what evaluating
   * them again would compute.
   */
  async preloadPrefix(messages: BaseMessage[], options: { signal?: AbortSignal } = {}): Promise<() => Promise<void>> {
    const { signal } = options;
    const shared = await this.load();
    signal?.throwIfAborted();
    const tokens = await prefixTokens(shared, messages);
    // Never ahead of an answer waiting for a sequence.
    const sequence = shared.waiting.length === 0 ? shared.free.pop() : undefined;
    if (!sequence) return () => Promise.resolve();
    try {
      await sequence.evaluateWithoutGeneratingNewTokens(tokens);
      signal?.throwIfAborted();
    } catch (error) {
      await releaseSequence(shared, sequence);
      throw error;
    }
    const giveBack = async () => {
      if (!shared.parked.includes(parked)) return;
      parked.unpark();
      await releaseSequence(shared, sequence);
    };
    const expire = () => void giveBack();
    const timer = setTimeout(expire, this.timeoutMs).unref();
    const parked: Parked = {
      sequence,
      tokens,
      unpark: () => {
        shared.parked.splice(shared.parked.indexOf(parked), 1);
        clearTimeout(timer);
        signal?.removeEventListener("abort", expire);
      },
    };
    shared.parked.push(parked);
    signal?.addEventListener("abort", expire, { once: true });
    return giveBack;
  }

  /**
   * The answer chain's `warmUp` for `prompt` (QUESTION_FIRST_PROMPT): preloads the prompt's part
   * before the sources for the question being answered.
   */
  prefixWarmUp(prompt: BasePromptTemplate): (input: { question: string }, options: { signal?: AbortSignal }) => Promise<() => Promise<void>> {
    return async ({ question }, options) =>
      this.preloadPrefix((await prompt.invoke({ question: formatQuestion(question), sources: SOURCES_SLOT })).toChatMessages(), options);
  }

  async _generate(messages: BaseMessage[], options: this["ParsedCallOptions"], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    let answer = "";
    let usage: AIMessageChunk["usage_metadata"];
    for await (const chunk of this._streamResponseChunks(messages, options, runManager)) {
      answer += chunk.text;
      usage = (chunk.message as AIMessageChunk).usage_metadata ?? usage;
    }
    return { generations: [{ text: answer, message: new AIMessage({ content: answer, usage_metadata: usage }) }] };
  }

  override async *_streamResponseChunks(
    messages: BaseMessage[],
    options: this["ParsedCallOptions"],
    runManager?: CallbackManagerForLLMRun,
  ): AsyncGenerator<ChatGenerationChunk> {
    const shared = await this.load();
    const { history, prompt, tokens, trimmed } = fitPrompt(shared, messages, this.maxTokens);
    const stop = new AbortController();
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([stop.signal, deadline, ...(options.signal ? [options.signal] : [])]);
    // A sequence that already holds this prompt's start (preloadPrefix): llama.cpp keeps the matching tokens and evaluates the rest.
    const sequence = claimParked(shared, tokens) ?? (await acquireSequence(shared, signal));
    const metered = sequence.tokenMeter.getState();
    const { LlamaChatSession } = await importNodeLlamaCpp();
    const session = new LlamaChatSession({ contextSequence: sequence, chatWrapper: shared.chatWrapper, autoDisposeSequence: false });
    session.setChatHistory(history);

    const queue: string[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    // node-llama-cpp rejects with Errors (an AbortError, a DisposedError…).
    let failure: Error | undefined;
    const generation = session
      .prompt(prompt, {
        maxTokens: this.maxTokens,
        signal,
        onTextChunk: (chunk) => {
          queue.push(chunk);
          wake?.();
        },
      })
      .catch((error: Error) => (failure = error))
      .finally(async () => {
        finished = true;
        wake?.();
        // Freed when the generation ends, not when the consumer lets go: a consumer that stops
        // reading on abort may never resume this generator, and the sequence must not wait for it.
        session.dispose({ disposeSequence: false });
        await releaseSequence(shared, sequence);
      });
    try {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield new ChatGenerationChunk({ text: next, message: new AIMessageChunk({ content: next }) });
          await runManager?.handleLLMNewToken(next);
        } else if (finished) break;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
      if (failure !== undefined) {
        options.signal?.throwIfAborted();
        if (deadline.aborted)
          throw new RagError(`The local model's answer took longer than ${this.timeoutMs} ms and was stopped.`, {
            hint: "Raise RAG_ANSWER_TIMEOUT_MS, lower RAG_LLM_MAX_TOKENS, or use a smaller model.",
          });
        throw failure;
      }
      const note =
        trimmed.length > 0
          ? `\n\n(Sources ${trimmed.map((id) => `[${id}]`).join(", ")} were shortened to fit the model's ${shared.context.contextSize}-token context.)`
          : "";
      // The usage as llama.cpp counted it: the prompt tokens it did not evaluate for this answer were read from the sequence's state.
      // Its meter counts the prompt's last token as output: it is evaluated in the step that yields the first answer token.
      const used = sequence.tokenMeter.diff(metered);
      const evaluated = used.usedInputTokens + Math.min(used.usedOutputTokens, 1);
      const usage = {
        input_tokens: tokens.length,
        output_tokens: used.usedOutputTokens,
        total_tokens: tokens.length + used.usedOutputTokens,
        input_token_details: { cache_read: Math.max(0, tokens.length - evaluated) },
      };
      yield new ChatGenerationChunk({ text: note, message: new AIMessageChunk({ content: note, usage_metadata: usage }) });
      if (note) await runManager?.handleLLMNewToken(note);
    } finally {
      // Stops a generation the caller walked away from (its end frees the sequence).
      stop.abort();
      await generation;
    }
  }
}

/** A sequence of the shared context for one answer, waiting (abortably) while all are busy. */
async function acquireSequence(shared: SharedModel, signal: AbortSignal): Promise<LlamaContextSequence> {
  for (;;) {
    signal.throwIfAborted();
    const sequence = shared.free.pop();
    if (sequence) return sequence;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        shared.waiting.splice(shared.waiting.indexOf(wake), 1);
        reject(signal.reason as Error);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      shared.waiting.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
}

async function releaseSequence(shared: SharedModel, sequence: LlamaContextSequence): Promise<void> {
  // Erases the answer's tokens from the context: the next answer on this sequence starts clean.
  await sequence.clearHistory();
  shared.free.push(sequence);
  shared.waiting.shift()?.();
}

/** A parked sequence whose evaluated tokens start the prompt `tokens`, taken out of `parked`. */
function claimParked(shared: SharedModel, tokens: Token[]): LlamaContextSequence | undefined {
  const parked = shared.parked.find((p) => p.tokens.length <= tokens.length && p.tokens.every((token, i) => token === tokens[i]));
  parked?.unpark();
  return parked?.sequence;
}

/** The tokens of a prompt (with SOURCES_SLOT) up to its sources, as the chat template renders them. */
async function prefixTokens(shared: SharedModel, messages: BaseMessage[]): Promise<Token[]> {
  const { history, prompt } = chatOf(messages);
  const at = prompt.lastIndexOf(SOURCES_SLOT);
  if (at < 0) throw new Error("preloadPrefix needs the prompt with SOURCES_SLOT where the sources go.");
  const { LlamaText } = await importNodeLlamaCpp();
  const { values } = contextText(shared, history, prompt);
  const slot = values.findIndex((value) => typeof value === "string" && value.includes(SOURCES_SLOT));
  if (slot < 0) throw new Error(`The chat template of ${shared.info.file} does not keep the user's text as it is; its prompt prefix cannot be preloaded.`);
  const before = values[slot] as string;
  // The last token may merge with the sources' first characters in the whole prompt: left for the answer.
  return new LlamaText(...values.slice(0, slot), before.slice(0, before.lastIndexOf(SOURCES_SLOT))).tokenize(shared.model.tokenizer).slice(0, -1);
}

/** The whole context the chat template renders for `history` and then `prompt` as the user's turn, up to the model's reply. */
function contextText(shared: SharedModel, history: ChatHistoryItem[], prompt: string) {
  return shared.chatWrapper.generateContextState({ chatHistory: [...history, { type: "user", text: prompt }, { type: "model", response: [] }] }).contextText;
}

/**
 * The chat history (system prompt and earlier turns) and the last user message, fitted into the
 * context with room for `maxTokens` of answer: when the prompt is too long its sources are cut,
 * the longest first (each is cut down to an equal share, so short sources stay whole).
 * Counts tokens as the model's chat template renders them.
 */
function fitPrompt(
  shared: SharedModel,
  messages: BaseMessage[],
  maxTokens: number,
): { history: ChatHistoryItem[]; prompt: string; tokens: Token[]; trimmed: number[] } {
  const { history, prompt } = chatOf(messages);
  const { model, context } = shared;
  const budget = context.contextSize - maxTokens;
  const render = (prompt: string) => contextText(shared, history, prompt).tokenize(model.tokenizer);
  const count = (prompt: string) => render(prompt).length;
  const rendered = render(prompt);
  const full = rendered.length;
  if (full <= budget) return { history, prompt, tokens: rendered, trimmed: [] };

  const parsed = parsePrompt(prompt);
  const withSources = (texts: string[]) =>
    prompt.replace(
      /<sources>\n[\s\S]*?\n<\/sources>/,
      () => `<sources>\n${formatSources(parsed!.sources.map((s, i) => ({ pageContent: texts[i]!, metadata: { source: s.from } })))}\n</sources>`,
    );
  const bare = parsed && parsed.sources.length > 0 ? count(withSources(parsed.sources.map(() => ""))) : full;
  if (!parsed || parsed.sources.length === 0 || bare > budget) {
    throw new UsageError(
      `The question does not fit the local model's context: the prompt takes ${bare} tokens without any source text, and ${maxTokens} more are kept for the answer, but the context holds ${context.contextSize}.`,
      {
        setting: "RAG_LLM_CONTEXT_SIZE",
        hint: "Raise RAG_LLM_CONTEXT_SIZE (up to the model's training context), lower RAG_LLM_MAX_TOKENS, or ask a shorter question.",
      },
    );
  }
  const tokens = parsed.sources.map((s) => model.tokenize(s.text));
  const cut = (cap: number) => {
    const trimmed: number[] = [];
    const texts = parsed.sources.map((s, i) => {
      if (tokens[i]!.length <= cap) return s.text;
      trimmed.push(s.id);
      return `${model.detokenize(tokens[i]!.slice(0, cap))} …`;
    });
    return { texts, trimmed };
  };
  // Water-filling: the largest per-source cap whose sum fits what the sources may take.
  const room = budget - bare;
  let cap = Math.max(...tokens.map((t) => t.length));
  while (cap > 0 && tokens.reduce((sum, t) => sum + Math.min(t.length, cap), 0) > room) cap = Math.floor(cap * 0.9);
  let result = cut(cap);
  // Detokenising and the ellipsis can cost a token or two more than counted: cut again until it fits.
  while (cap > 0 && count(withSources(result.texts)) > budget) {
    cap = Math.floor(cap * 0.9);
    result = cut(cap);
  }
  const fitted = withSources(result.texts);
  return { history, prompt: fitted, tokens: render(fitted), trimmed: result.trimmed };
}

/** The chat history (system prompt and earlier turns) and the last user message. */
function chatOf(messages: BaseMessage[]): { history: ChatHistoryItem[]; prompt: string } {
  const last = messages.at(-1);
  if (!last || last.getType() !== "human") throw new Error("The local model answers a conversation that ends with a user message.");
  const history: ChatHistoryItem[] = messages.slice(0, -1).map((m) => {
    const type = m.getType();
    if (type === "system") return { type: "system", text: text(m) };
    if (type === "ai") return { type: "model", response: [text(m)] };
    return { type: "user", text: text(m) };
  });
  return { history, prompt: text(last) };
}
