// The local GGUF chat model, `rerank-rag/llama-cpp`: apart from `rerank-rag`, so that entry's
// types never name node-llama-cpp (an optional dependency). `RAG_LLM=llama-cpp` loads it on its own.
export { LlamaCppChatModel, type LlamaCppChatModelFields } from "./llms/llama-cpp-chat-model.js";
