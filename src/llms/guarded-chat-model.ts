import type { CallbackManagerForLLMRun } from "@langchain/core/callbacks/manager";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { ChatGenerationChunk, ChatResult } from "@langchain/core/outputs";
import { describeProviderError, invalidResponse, type ProviderEndpoint } from "../providers/provider-failure.js";

type CallOptions = BaseChatModel["ParsedCallOptions"];
/** What a concrete chat model class implements (in BaseChatModel the methods are abstract or defaults). */
interface ChatModelMethods {
  _llmType(): string;
  _generate(messages: BaseMessage[], options: CallOptions, runManager?: CallbackManagerForLLMRun): Promise<ChatResult>;
  _streamResponseChunks(messages: BaseMessage[], options: CallOptions, runManager?: CallbackManagerForLLMRun): AsyncGenerator<ChatGenerationChunk>;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a mixin's base must take any arguments
type ChatModelClass = new (...args: any[]) => ChatModelMethods;

/**
 * A subclass of a remote chat model class (ChatOpenAI, ChatCohere) that fails clearly: every
 * error becomes a ProviderError naming the provider and reason (keys redacted), and a stream
 * that ends without any text is an error instead of an empty answer.
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
export function withProviderErrors<C extends ChatModelClass>(Base: C, endpoint: ProviderEndpoint): C {
  return class extends Base {
    override async *_streamResponseChunks(
      messages: BaseMessage[],
      options: CallOptions,
      runManager?: CallbackManagerForLLMRun,
    ): AsyncGenerator<ChatGenerationChunk> {
      let characters = 0;
      try {
        for await (const chunk of super._streamResponseChunks(messages, options, runManager)) {
          characters += chunk.text.length;
          yield chunk;
        }
      } catch (error) {
        throw describeProviderError(error, endpoint);
      }
      if (characters === 0 && !options.signal?.aborted) {
        throw invalidResponse(endpoint, "no answer text: an empty stream, or not a chat event stream");
      }
    }

    override async _generate(messages: BaseMessage[], options: CallOptions, runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
      try {
        return await super._generate(messages, options, runManager);
      } catch (error) {
        throw describeProviderError(error, endpoint);
      }
    }
  };
}
