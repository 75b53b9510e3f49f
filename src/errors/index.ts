export { RagError, UsageError, IndexError, ProviderError, EXIT_RUNTIME, EXIT_USAGE } from "./rag-error.js";
