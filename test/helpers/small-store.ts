import { Document } from "@langchain/core/documents";
import { LsaEmbeddings } from "../../src/embeddings/lsa/lsa-embeddings.js";
import { HnswStore } from "../../src/store/hnsw-store.js";
import { CorpusStats } from "../../src/text/corpus-stats.js";

/** Short "documentation" chunks: several about OAuth2, one that actually answers how to configure it. */
export const SMALL_CORPUS = [
  {
    id: "oauth-config",
    text: "Configuring OAuth2 client credentials: create a client in the dashboard, then POST grant_type=client_credentials with client_id and client_secret to /oauth2/token.",
  },
  { id: "oauth-changelog", text: "Changelog 2.3: OAuth2 tokens now expire after one hour. OAuth2 OAuth2 OAuth2 improvements for partners." },
  { id: "oauth-partner", text: "The OAuth2 authorization code flow lets platform partners act on behalf of merchants after consent." },
  { id: "api-keys", text: "API keys are simpler than OAuth2: create a key in the dashboard and send it as a bearer token." },
  { id: "rate-limits", text: "Rate limits: each key may send 100 requests per second; a 429 response carries a Retry-After header." },
  { id: "webhooks", text: "Webhooks are signed with HMAC-SHA256 in the Lumen-Signature header; verify it before trusting the event." },
  { id: "pagination", text: "Lists are paginated with cursors: pass starting_after and a limit of at most 100; has_more says if more remain." },
  { id: "errors", text: "Errors return a JSON object with type, code and message; retry 5xx responses with an idempotency key." },
];

export function smallDocuments(): Document[] {
  return SMALL_CORPUS.map(({ id, text }) => new Document({ pageContent: text, metadata: { chunkId: id, relativePath: `${id}.md` } }));
}

/** A real HNSW store over the small corpus with the offline embedder fitted on it. */
export async function smallStore() {
  const documents = smallDocuments();
  const embeddings = LsaEmbeddings.fit(documents.map((d) => d.pageContent));
  const vectors = await embeddings.embedDocuments(documents.map((d) => d.pageContent));
  const store = await HnswStore.build(embeddings, vectors, documents, { dimensions: embeddings.dimensions });
  return { store, embeddings, documents, stats: CorpusStats.fromTexts(documents.map((d) => d.pageContent)) };
}
