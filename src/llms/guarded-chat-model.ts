import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { ChatGenerationChunk, ChatResult } from "@langchain/core/outputs";
import {
  answerDeadline,
  answerTooLong,
  describeProviderError,
  incompleteStream,
  invalidResponse,
  type ProviderEndpoint,
} from "../providers/provider-failure.js";

type CallOptions = BaseChatModel["ParsedCallOptions"];
/** What a concrete chat model class implements (in BaseChatModel the methods are abstract or defaults). */
interface ChatModelMethods {
  _llmType(): string;
  _generate(messages: BaseMessage[], options: CallOptions, runManager?: CallbackManagerForLLMRun): Promise<ChatResult>;
  _streamResponseChunks(messages: BaseMessage[], options: CallOptions, runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk>;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base must take any arguments
type ChatModelClass = new (...args: any[]) => ChatModelMethods;

/** How a provider's stream ends, and what one answer may take. */
export interface AnswerRules {
  /** Whether the chunk carries the provider's end-of-answer signal (a finish_reason, a stream-end event). */
  isFinish: (chunk: ChatGenerationChunk) => boolean;
  /** That signal, for the message: "a finish reason". */
  finishName: string;
  /** The whole answer, first request to last token (RAG_ANSWER_TIMEOUT_MS). */
  timeoutMs: number;
  /** The answer's length cap in characters (RAG_ANSWER_MAX_CHARS). */
  maxChars: number;
}

/** `promise`, or the signal's reason as soon as it aborts (the promise is left to settle unobserved). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * A subclass of a remote chat model class (ChatOpenAI, ChatCohere) that fails clearly: every
 * error becomes a ProviderError naming the provider and reason (keys redacted); a stream that
 * ends without any text, or closes before the provider's finish signal, is an error instead of
 * an empty or silently cut answer; and an answer is bounded in time and length (`rules`).
 *
 * The limits abort the signal passed down in the call options, so the SDK cancels the HTTP
 * request (a caller's own `signal` is combined with it and its abort stays the caller's); each
 * chunk is also raced against it, so a client that ignores the signal cannot hold the answer.
 *
 * Why a subclass: `_generate` and `_streamResponseChunks` are the methods BaseChatModel asks
 * its subclasses to implement (LangChain's custom chat model pattern), so overriding them keeps
 * callbacks, tracing, `bindTools` and `withStructuredOutput` working and the model stays an
 * `instanceof ChatOpenAI`. LangChain offers no public hook that replaces an error: callbacks
 * (`handleLLMError`) only observe it, and `withFallbacks`/a RunnableLambda wrapper returns a
 * Runnable that is no longer a chat model (no `bindTools`, langchainjs#6869). Mapping only at
 * the CLI or in the answer chain would leave library callers of `createLlm` with raw SDK errors
 * that may echo the API key.
 */
export function withProviderErrors<C extends ChatModelClass>(Base: C, endpoint: ProviderEndpoint, rules: AnswerRules): C {
  /** The answer's own signal, and the error for whichever limit ended it (the caller's abort is rethrown as is). */
  const limits = (options: CallOptions) => {
    const deadline = AbortSignal.timeout(rules.timeoutMs);
    const cap = new AbortController();
    const signal = AbortSignal.any([deadline, cap.signal, ...(options.signal ? [options.signal] : [])]);
    const throwIfStopped = () => {
      options.signal?.throwIfAborted();
      if (cap.signal.aborted) throw answerTooLong(endpoint, rules.maxChars);
      if (deadline.aborted) throw answerDeadline(endpoint, rules.timeoutMs);
    };
    return { signal, cap, throwIfStopped };
  };

  return class extends Base {
    override async *_streamResponseChunks(
      messages: BaseMessage[],
      options: CallOptions,
      runManager?: CallbackManagerForLLMRun,
    ): AsyncGenerator<ChatGenerationChunk> {
      const { signal, cap, throwIfStopped } = limits(options);
      const chunks = super._streamResponseChunks(messages, { ...options, signal }, runManager);
      let characters = 0;
      let finished = false;
      try {
        for (;;) {
          const step = await untilAborted(chunks.next(), signal);
          if (step.done) break;
          characters += step.value.text.length;
          finished ||= rules.isFinish(step.value);
          yield step.value;
          if (characters >= rules.maxChars && !finished) {
            cap.abort();
            break;
          }
        }
      } catch (error) {
        throwIfStopped();
        throw describeProviderError(error, endpoint);
      } finally {
        // Closes the SDK's stream when we stopped reading it first (a pending read settles on its own).
        chunks.return(undefined).catch(() => undefined);
      }
      throwIfStopped();
      if (characters === 0) throw invalidResponse(endpoint, "no answer text: an empty stream, or not a chat event stream");
      if (!finished) throw incompleteStream(endpoint, rules.finishName);
    }

    override async _generate(messages: BaseMessage[], options: CallOptions, runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
      const { signal, throwIfStopped } = limits(options);
      try {
        return await untilAborted(super._generate(messages, { ...options, signal }, runManager), signal);
      } catch (error) {
        throwIfStopped();
        throw describeProviderError(error, endpoint);
      }
    }
  };
}
