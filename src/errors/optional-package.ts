import { UsageError } from "./rag-error.js";

/**
 * The optional peer dependencies: heavy or service-specific packages an app installs only
 * for the feature that needs them, with the range this package is tested with.
 */
export const OPTIONAL_PACKAGES = Object.freeze({
  "@huggingface/transformers": "^4.3.1",
  "cohere-ai": "^7.21.0",
  "@langchain/cohere": "^1.0.5",
  pg: "^8.11.0",
  // Pinned: prebuilt binaries for exactly this version were verified to install without compiling.
  "node-llama-cpp": "3.21.1",
});

export type OptionalPackage = keyof typeof OPTIONAL_PACKAGES;

/** What the Cohere LLM, embeddings and re-ranker need. */
export const COHERE_PACKAGES: readonly OptionalPackage[] = ["cohere-ai", "@langchain/cohere"];
/** What RAG_STORE=pgvector and `rerank-rag/pgvector` need. */
export const PGVECTOR_PACKAGES: readonly OptionalPackage[] = ["pg"];

/** Whether an import failed because `name` itself (not something inside it) is not installed. */
function isMissing(error: unknown, name: string): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") && typeof message === "string" && message.includes(`'${name}'`);
}

/**
 * Imports a module that needs optional packages; a missing one becomes "`feature` needs X:
 * npm install X" instead of Node's ERR_MODULE_NOT_FOUND from deep inside the package.
 */
export async function importOptional<T>(packages: readonly OptionalPackage[], feature: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = packages.filter((name) => isMissing(error, name));
    if (missing.length === 0) throw error;
    const install = packages.map((name) => `${name}@${OPTIONAL_PACKAGES[name]}`).join(" ");
    throw new UsageError(`${feature} needs ${packages.join(" and ")}, an optional dependency of rerank-rag that is not installed.`, {
      cause: error,
      hint: `Install it next to rerank-rag: npm install ${install}`,
    });
  }
}
