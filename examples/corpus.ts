// A tiny, fully offline knowledge base shared by the examples: short chunks of a fictional
// payments API's docs, several about OAuth2 but only one that says how to configure it.
// The embedder is rerank-rag's offline LSA, fitted on these chunks; no keys, no downloads.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { Document } from "@langchain/core/documents";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { CorpusStats, LsaEmbeddings } from "rerank-rag";

export const QUESTION = "How do I configure OAuth2 client credentials?";
/** The chunk that answers QUESTION. */
export const ANSWER_ID = "oauth-config";

export const CHUNKS = [
  {
    id: "oauth-config",
    file: "guides/oauth2.md",
    text: "Configuring OAuth2 client credentials: create a client in the dashboard, then POST grant_type=client_credentials with client_id and client_secret to /oauth2/token.",
  },
  {
    id: "oauth-changelog",
    file: "changelog.md",
    text: "Changelog 2.3: OAuth2 tokens now expire after one hour. OAuth2 OAuth2 OAuth2 improvements for partners.",
  },
  {
    id: "oauth-partner",
    file: "guides/partners.md",
    text: "The OAuth2 authorization code flow lets platform partners act on behalf of merchants after consent.",
  },
  { id: "api-keys", file: "guides/api-keys.md", text: "API keys are simpler than OAuth2: create a key in the dashboard and send it as a bearer token." },
  {
    id: "rate-limits",
    file: "reference/rate-limits.md",
    text: "Rate limits: each key may send 100 requests per second; a 429 response carries a Retry-After header.",
  },
  {
    id: "webhooks",
    file: "guides/webhooks.md",
    text: "Webhooks are signed with HMAC-SHA256 in the Lumen-Signature header; verify it before trusting the event.",
  },
  {
    id: "pagination",
    file: "reference/pagination.md",
    text: "Lists are paginated with cursors: pass starting_after and a limit of at most 100; has_more says if more remain.",
  },
  { id: "errors", file: "reference/errors.md", text: "Errors return a JSON object with type, code and message; retry 5xx responses with an idempotency key." },
  {
    id: "refunds",
    file: "guides/refunds.md",
    text: "Refunds: POST /refunds with the payment id; partial refunds take an amount in the smallest currency unit.",
  },
  {
    id: "key-rotation",
    file: "guides/api-keys.md",
    text: "Rotate an API key by creating a new key, deploying it, then revoking the old key in the dashboard.",
  },
] as const;

export function documents(): Document[] {
  return CHUNKS.map(({ id, file, text }) => new Document({ pageContent: text, id, metadata: { chunkId: id, relativePath: file, source: file } }));
}

/** A LangChain MemoryVectorStore over the chunks, with the offline embedder and BM25 corpus statistics. */
export async function offlineStore() {
  const docs = documents();
  const texts = docs.map((d) => d.pageContent);
  const embeddings = LsaEmbeddings.fit(texts);
  const vectorStore = await MemoryVectorStore.fromDocuments(docs, embeddings);
  return { vectorStore, embeddings, stats: CorpusStats.fromTexts(texts), documents: docs };
}

/** True when the module at `url` is the script node/tsx was started with. */
export function isMain(url: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(path.resolve(script)).href === url;
}
