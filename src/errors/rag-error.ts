/** Exit codes the CLI maps errors to: 1 runtime failure, 2 usage or configuration error. */
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

const marker = Symbol.for("rerank-rag.error");

/**
 * Base of every error the project throws on purpose. `hint` says how to fix it;
 * the CLI prints message and hint and exits with `exitCode`.
 */
export class RagError extends Error {
  readonly [marker] = true;
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = "RagError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? EXIT_RUNTIME;
  }

  static isInstance(error: unknown): error is RagError {
    return typeof error === "object" && error !== null && marker in error;
  }
}

/** Bad flags, config values or arguments: the user must change how they call us (exit 2). */
export class UsageError extends RagError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: EXIT_USAGE });
    this.name = "UsageError";
  }
}

/** The index directory is missing, corrupt, or was built differently from what is asked (exit 1). */
export class IndexError extends RagError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options);
    this.name = "IndexError";
  }
}

/** A remote provider (OpenAI-compatible server, Cohere) failed; names the provider and why. */
export class ProviderError extends RagError {
  readonly provider: string;
  constructor(provider: string, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(`${provider}: ${message}`, options);
    this.name = "ProviderError";
    this.provider = provider;
  }
}
