export { RagError, UsageError, IndexError, EXIT_RUNTIME, EXIT_USAGE, type RagErrorOptions } from "./rag-error.js";
export { IngestAbortedError } from "./ingest-aborted-error.js";
export { NothingToIngestError, type NothingToIngestDetails } from "./nothing-to-ingest-error.js";
export { ProviderError, type ProviderErrorOptions, type ProviderFailure } from "./provider-error.js";
export { redact, redactUrl, secretsOf, streamRedactor, type StreamRedactor } from "./redact.js";
export { COHERE_PACKAGES, importOptional, OPTIONAL_PACKAGES, PGVECTOR_PACKAGES, type OptionalPackage } from "./optional-package.js";
