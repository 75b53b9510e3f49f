/** Exit codes the CLI maps errors to: 1 runtime failure, 2 usage or configuration error. */
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

const marker = Symbol.for("rerank-rag.error");

export interface RagErrorOptions {
  hint?: string;
  setting?: string;
  cause?: unknown;
}

/**
 * Base of every error the project throws on purpose. `hint` says how to fix it;
 * the CLI prints message and hint and exits with `exitCode`.
 */
export class RagError extends Error {
  readonly [marker] = true;
  readonly exitCode: number;
  readonly hint?: string;
  /**
   * The setting the hint asks to change, in the library's words (a config key such as
   * `RAG_RERANKER`, or an option such as `fetchK`), so a front end can name its own control for it.
   */
  readonly setting?: string;

  constructor(message: string, options: RagErrorOptions & { exitCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = "RagError";
    this.hint = options.hint;
    this.setting = options.setting;
    this.exitCode = options.exitCode ?? EXIT_RUNTIME;
  }

  static isInstance(error: unknown): error is RagError {
    return typeof error === "object" && error !== null && marker in error;
  }
}

/** Bad flags, config values or arguments: the user must change how they call us (exit 2). */
export class UsageError extends RagError {
  constructor(message: string, options: RagErrorOptions = {}) {
    super(message, { ...options, exitCode: EXIT_USAGE });
    this.name = "UsageError";
  }
}

/** The index directory is missing, corrupt, or was built differently from what is asked (exit 1). */
export class IndexError extends RagError {
  constructor(message: string, options: RagErrorOptions = {}) {
    super(message, options);
    this.name = "IndexError";
  }
}
