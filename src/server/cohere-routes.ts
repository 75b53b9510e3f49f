import crypto from "node:crypto";
import { Document } from "@langchain/core/documents";
import { Hono } from "hono";
import { providerNames } from "../providers/provider-table.js";
import { evidenceScore } from "../rerankers/cut-off.js";
import { RERANKERS } from "../rerankers/registry.js";
import { readBody } from "./api-routes.js";
import { errorResponse, HttpError, postOnly } from "./http-errors.js";
import { rerankBody, type RerankBody } from "./schemas.js";
import type { ServerContext } from "./server-context.js";

const textOf = (document: RerankBody["documents"][number]): string => (typeof document === "string" ? document : document.text);

/**
 * `/v1/rerank` and `/v2/rerank`: Cohere's rerank protocol served by this server's re-ranker, so a
 * service in any language (or our own CohereReranker) can use the local model. `model` may name
 * one of the server's re-rankers; any other model name uses the configured one (a configured
 * cascade runs all its stages, so it returns at most what its first stages keep).
 */
export function cohereRoutes(context: ServerContext): Hono {
  const { live, secrets } = context;
  const app = new Hono();

  for (const version of ["v1", "v2"] as const) {
    app.post(`/${version}/rerank`, async (c) => {
      const body = await readBody(c, rerankBody);
      const lease = await live.acquire();
      try {
        const served = lease.pipeline;
        const named = [...providerNames(RERANKERS), served.reranker].find((name) => name === body.model);
        const name = named ?? served.reranker;
        const compressor = await served.compressor(name);
        if (!compressor) {
          throw new HttpError(
            400,
            `This server re-ranks with no model (re-ranker "${name}").`,
            `Start it with a re-ranker, e.g. RAG_RERANKER=bm25, or name one in "model": ${served.rerankers.join(", ")}.`,
          );
        }
        const documents = body.documents.map((document, index) => new Document({ pageContent: textOf(document), metadata: { index } }));
        // Cohere's relevance_score is 0–1 and best first, and clients threshold it: so it is the
        // score our own cut-off applies to (BM25's evidence, not its unbounded rank score), ties in
        // the re-ranker's order.
        const ranked = (await compressor.compressDocuments(documents, body.query))
          .map((doc) => ({ doc, relevance: evidenceScore(doc) ?? 0 }))
          .sort((l, r) => r.relevance - l.relevance);
        const results = ranked.slice(0, body.top_n ?? ranked.length).map(({ doc, relevance }) => {
          const { index } = doc.metadata as { index: number };
          // v1 returns the document as `{ text }` when asked; v2 never does.
          const echo = version === "v1" && body.return_documents ? { document: { text: doc.pageContent } } : {};
          return { index, relevance_score: relevance, ...echo };
        });
        return c.json({
          id: crypto.randomUUID(),
          results,
          meta: { api_version: { version: version === "v1" ? "1" : "2" }, billed_units: { search_units: 1 } },
        });
      } finally {
        lease.release();
      }
    });
  }

  for (const version of ["v1", "v2"]) postOnly(app, `/${version}/rerank`);
  app.onError((error, c) => errorResponse(c, error, secrets));
  return app;
}
