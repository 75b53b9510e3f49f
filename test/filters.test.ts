// Filters per call: checked once (ChunkFilter), applied inside each first stage — HNSW through
// hnswlib's filter with an exact fallback, BM25 postings, pgvector in SQL — so a selective filter
// still yields fetchK candidates, and one matching nothing yields none.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Document } from "@langchain/core/documents";
import { MemoryVectorStore } from "@langchain/classic/vectorstores/memory";
import { createRerankingRetriever, FirstStageCollector } from "../chains/index.js";
import { LsaEmbeddings } from "../src/embeddings/lsa/lsa-embeddings.js";
import { type RagError, UsageError } from "../src/errors/index.js";
import { HybridRetriever } from "../src/retrievers/hybrid-retriever.js";
import { Bm25Index } from "../src/store/bm25-index.js";
import { ChunkFilter, parseFilterArgs, toChunkFilter } from "../src/store/chunk-filter.js";
import { HnswStore } from "../src/store/hnsw-store.js";
import { chunkFilterSql, PgvectorStore } from "../src/store/pgvector.js";
import { seededRandom } from "../src/util/seeded-random.js";
import { startPgServer } from "./helpers/pg-server.js";
import { smallStore } from "./helpers/small-store.js";

const TOPICS = ["bees", "coffee", "chess", "volcano", "ferry", "oauth", "webhook", "glacier"];

/** `count` chunks in 100 tenants (1% each) and two languages; every text shares the word "guide". */
function corpus(count: number): Document[] {
  return Array.from({ length: count }, (_, i) => {
    const topic = TOPICS[i % TOPICS.length]!;
    const folder = i % 100 === 7 ? "authentication" : `area-${i % 10}`;
    return new Document({
      pageContent: `guide ${topic} ${TOPICS[(i * 7) % TOPICS.length]} note ${i}`,
      metadata: {
        chunkId: `c${i}`,
        relativePath: `${folder}/doc-${i}.md`,
        source: `/srv/docs/${folder}/doc-${i}.md`,
        tenant: i % 100,
        lang: i % 2 ? "en" : "fr",
      },
    });
  });
}

/** A real HNSW store over the corpus, with the offline embedder fitted on it. */
async function corpusStore(documents: Document[], efSearch = 200) {
  const embeddings = LsaEmbeddings.fit(
    documents.map((d) => d.pageContent),
    { dimensions: 32 },
  );
  const vectors = await embeddings.embedDocuments(documents.map((d) => d.pageContent));
  return HnswStore.build(embeddings, vectors, documents, { dimensions: embeddings.dimensions, hnsw: { M: 8, efConstruction: 40, efSearch } });
}

describe("ChunkFilter", () => {
  const meta = { relativePath: "authentication/oauth/tokens.md", source: "/srv/docs/authentication/oauth/tokens.md", lang: "en", page: 3, draft: false };

  it("matches source globs against the path inside the ingested folder or as ingested, and fields as text", () => {
    expect(new ChunkFilter({ source: "authentication/**" }).matches(meta)).toBe(true);
    expect(new ChunkFilter({ source: "/srv/docs/**/tokens.md" }).matches(meta)).toBe(true);
    expect(new ChunkFilter({ source: ["billing/**", "**/*.md"] }).matches(meta)).toBe(true);
    expect(new ChunkFilter({ source: "billing/**" }).matches(meta)).toBe(false);
    expect(new ChunkFilter({ lang: ["en", "fr"], page: "3", draft: false }).matches(meta)).toBe(true);
    expect(new ChunkFilter({ lang: "de" }).matches(meta)).toBe(false);
    expect(new ChunkFilter({ lang: [] }).matches(meta)).toBe(false);
    // A key the chunk lacks, or holds as a list, never matches.
    expect(new ChunkFilter({ tenant: "a" }).matches(meta)).toBe(false);
    expect(new ChunkFilter({ tags: "a" }).matches({ tags: ["a"] })).toBe(false);
  });

  it("takes balanced braces, classes and escaped brackets", () => {
    expect(new ChunkFilter({ source: "**/*.{md,txt}" }).matches(meta)).toBe(true);
    expect(new ChunkFilter({ source: "[a-c]uthentication/**" }).matches(meta)).toBe(true);
    expect(new ChunkFilter({ source: "notes\\[1\\].md" }).matches({ relativePath: "notes[1].md" })).toBe(true);
  });

  it("parses repeatable --filter key=value flags, lists comma-separated, braces kept whole", () => {
    expect(parseFilterArgs(["source=authentication/**", "lang=en,fr", "source2={a,b}/*.md,c/**"])).toEqual({
      source: ["authentication/**"],
      lang: ["en", "fr"],
      source2: ["{a,b}/*.md", "c/**"],
    });
    expect(toChunkFilter({})).toBeNull();
    expect(toChunkFilter(undefined)).toBeNull();
  });

  it.each([
    [() => parseFilterArgs(["lang"]), /--filter "lang" is not key=value/],
    [() => parseFilterArgs(["=en"]), /is not key=value/],
    [() => parseFilterArgs(["lang="]), /is not key=value/],
    [() => parseFilterArgs(["lang=en", "lang=fr"]), /names lang twice; list its values once, comma-separated \(lang=a,b\)/],
    [() => new ChunkFilter({ source: "" }), /source must be a path glob/],
    [() => new ChunkFilter({ lang: { in: ["en"] } as never }), /lang must be a string, number or boolean/],
    [() => new ChunkFilter("lang=en" as never), /a filter is an object of metadata keys/],
    // Unbalanced braces, brackets and parentheses would otherwise be literal text matching nothing.
    [
      () => new ChunkFilter({ source: "**/*.{md" }),
      /source glob "\*\*\/\*\.\{md" is not valid: missing closing "\}" \(escape it with a backslash to match it literally\)/,
    ],
    [() => new ChunkFilter({ source: ["docs/**", "["] }), /source glob "\[" is not valid: missing closing "\]"/],
    [() => new ChunkFilter({ source: "docs]/*.md" }), /source glob "docs\]\/\*\.md" is not valid: missing opening "\["/],
    [() => toChunkFilter(parseFilterArgs(["source=*.{md"])), /source glob "\*\.\{md" is not valid/],
  ])("rejects bad filter syntax with a clear error (%#)", (make, message) => {
    let caught: unknown;
    try {
      make();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as UsageError).message).toMatch(/^Invalid filter: /);
    expect((caught as UsageError).message).toMatch(message);
    expect((caught as RagError).hint).toMatch(/--filter source=authentication\/\*\* --filter lang=en,fr/);
  });
});

describe("filters inside the HNSW first stage", () => {
  it("a filter matching 1% of the chunks still returns fetchK of them, the nearest first (exact search)", async () => {
    const documents = corpus(5000);
    const store = await corpusStore(documents);
    const filter = new ChunkFilter({ tenant: 42 });
    const query = await store.embeddings.embedQuery("guide volcano chess");
    const hits = await store.similaritySearchVectorWithScore(query, 50, filter);
    expect(hits).toHaveLength(50);
    expect(hits.every(([doc]) => doc.metadata.tenant === 42)).toBe(true);
    // Filtering after an unfiltered top 50 would have kept about one of them.
    const unfiltered = await store.similaritySearchVectorWithScore(query, 50);
    expect(unfiltered.filter(([doc]) => doc.metadata.tenant === 42).length).toBeLessThan(5);
    const distances = hits.map(([, d]) => d);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    // The 50 nearest of the matching chunks, by brute force over their stored vectors.
    const norm = Math.hypot(...query);
    const expected = documents
      .flatMap((doc, label) => (doc.metadata.tenant === 42 ? [1 - store.vectorOf(label).reduce((s, x, i) => s + x * query[i]!, 0) / norm] : []))
      .sort((a, b) => a - b)
      .slice(0, 50);
    hits.forEach(([, d], i) => expect(d).toBeCloseTo(expected[i]!, 5));
  });

  it("falls back to exact search when the filtered graph walk comes back short", async () => {
    // 2,500 of 10,000 chunks match: enough for the graph walk, which efSearch 10 cuts short.
    const documents = corpus(10_000);
    const store = await corpusStore(documents, 10);
    const filter = new ChunkFilter({ tenant: Array.from({ length: 25 }, (_, t) => t * 4) });
    const query = await store.embeddings.embedQuery("guide oauth webhook");
    const walk = store.index.searchKnn(query, 400, (label) => filter.matches(documents[label]!.metadata));
    expect(walk.neighbors.length).toBeLessThan(400);
    const hits = await store.similaritySearchVectorWithScore(query, 400, filter);
    expect(hits).toHaveLength(400);
    expect(hits.every(([doc]) => filter.matches(doc.metadata))).toBe(true);
  });

  it("a filter matching nothing returns no documents, not an error", async () => {
    const store = await corpusStore(corpus(500));
    const query = await store.embeddings.embedQuery("guide bees");
    expect(await store.similaritySearchVectorWithScore(query, 50, new ChunkFilter({ tenant: "nobody" }))).toEqual([]);
  });
});

describe("filters inside the BM25 first stage", () => {
  it("skips rejected postings, so a filter matching 1% still returns k chunks", () => {
    const documents = corpus(5000);
    const bm25 = Bm25Index.fromDocuments(documents);
    const filter = new ChunkFilter({ source: "authentication/**" });
    const hits = bm25.search("guide coffee", 50, filter);
    expect(hits).toHaveLength(50);
    expect(hits.every((hit) => documents[hit.index]!.metadata.relativePath!.toString().startsWith("authentication/"))).toBe(true);
    expect(bm25.search("guide coffee", 50, new ChunkFilter({ source: "nowhere/**" }))).toEqual([]);
  });
});

describe("filter in createRerankingRetriever and configurable", () => {
  it("the hybrid first stage returns fetchK candidates of a 1% filter; configurable.filter sets, changes and clears it", async () => {
    const documents = corpus(3000);
    const store = await corpusStore(documents);
    const retriever = createRerankingRetriever({
      retriever: new HybridRetriever({ store }),
      reranker: "bm25",
      fetchK: 30,
      topN: 5,
      filter: { source: "authentication/**", lang: ["en", "fr"] },
    });
    const firstStage = new FirstStageCollector();
    const docs = await retriever.invoke("guide chess", { callbacks: [firstStage] });
    expect(firstStage.documents).toHaveLength(30);
    expect(firstStage.documents!.every((d) => String(d.metadata.relativePath).startsWith("authentication/"))).toBe(true);
    expect(docs).toHaveLength(5);

    await retriever.invoke("guide chess", { callbacks: [firstStage], configurable: { filter: { tenant: 3, lang: "en" } } });
    expect(firstStage.documents).toHaveLength(30);
    expect(firstStage.documents!.every((d) => d.metadata.tenant === 3)).toBe(true);

    await retriever.invoke("guide chess", { callbacks: [firstStage], configurable: { filter: null } });
    expect(firstStage.documents!.some((d) => !String(d.metadata.relativePath).startsWith("authentication/"))).toBe(true);

    expect(await retriever.invoke("guide chess", { configurable: { filter: { tenant: "nobody" } } })).toEqual([]);
    await expect(retriever.invoke("guide chess", { configurable: { filter: { lang: {} } } })).rejects.toThrow(/Invalid filter: lang must be/);
  });

  it("filters a vector store first stage: HnswStore, and LangChain's MemoryVectorStore through its filter function", async () => {
    const { store, documents } = await smallStore();
    const hnsw = createRerankingRetriever({ vectorStore: store, reranker: "none", fetchK: 6, topN: 3, filter: { source: "oauth-*" } });
    const hits = await hnsw.invoke("How do I configure OAuth2 client credentials?");
    expect(hits.map((d) => d.metadata.chunkId).sort()).toEqual(["oauth-changelog", "oauth-config", "oauth-partner"]);
    const memory = await MemoryVectorStore.fromDocuments(documents, store.embeddings);
    const fromMemory = createRerankingRetriever({ vectorStore: memory, reranker: "none", fetchK: 6, topN: 3, filter: { source: "api-keys.md" } });
    expect((await fromMemory.invoke("OAuth2")).map((d) => d.metadata.chunkId)).toEqual(["api-keys"]);
  });

  it("refuses a filter a first stage can only apply after its search", async () => {
    const { store } = await smallStore();
    expect(() => createRerankingRetriever({ retriever: store.asRetriever(), filter: { lang: "en" } })).toThrow(/cannot apply a filter inside its search/);
  });

  it("removes exact duplicate candidates before re-ranking, keeping the best-ranked copy", async () => {
    const { documents, store } = await smallStore();
    const twice = [...documents, ...documents.map((d) => new Document({ pageContent: d.pageContent, metadata: { ...d.metadata } }))];
    const memory = await MemoryVectorStore.fromDocuments(twice, store.embeddings);
    const retriever = createRerankingRetriever({ vectorStore: memory, reranker: "bm25", fetchK: 16, topN: 8 });
    const docs = await retriever.invoke("OAuth2 tokens");
    expect(docs).toHaveLength(8);
    expect(new Set(docs.map((d) => d.metadata.chunkId)).size).toBe(8);
  });
});

describe("filters in pgvector's SQL", () => {
  let pgServer: Awaited<ReturnType<typeof startPgServer>>;
  beforeAll(async () => {
    pgServer = await startPgServer();
  });
  afterAll(async () => {
    await pgServer?.close();
  });

  it("selects exactly the chunks ChunkFilter.matches accepts", async () => {
    const random = seededRandom(7);
    const folders = ["authentication", "authentication/oauth", "billing", ".hidden", "docs/a", "docs/b", "docs/c"];
    const rows = Array.from({ length: 120 }, (_, i) => {
      const folder = folders[Math.floor(random() * folders.length)]!;
      const name = ["readme.md", "notes.txt", "guide.v2.md", ".env.md"][i % 4]!;
      return { relativePath: `${folder}/${name}`, source: `/srv/${folder}/${name}`, lang: ["en", "fr", "de"][i % 3], page: i % 5, draft: i % 2 === 0 };
    });
    await pgServer.query("CREATE TABLE filter_rows (id int PRIMARY KEY, metadata jsonb)");
    for (const [i, row] of rows.entries()) await pgServer.query("INSERT INTO filter_rows VALUES ($1, $2)", [i, JSON.stringify(row)]);
    const specs = [
      { source: "authentication/**" },
      { source: "**/*.md" },
      { source: ["docs/{a,b}/*", "billing/**"] },
      { source: "/srv/authentication/*.md" },
      { source: "*/readme.md", lang: "en" },
      { lang: ["en", "fr"], page: 3 },
      { draft: true },
      { lang: [] },
    ];
    for (const spec of specs) {
      const filter = new ChunkFilter(spec);
      const { where, params } = chunkFilterSql(filter, 1);
      const found = await pgServer.query<{ id: number }>(`SELECT id FROM filter_rows WHERE ${where} ORDER BY id`, params);
      const expected = rows.flatMap((row, i) => (filter.matches(row) ? [i] : []));
      expect({ spec, ids: found.map((r) => r.id) }).toEqual({ spec, ids: expected });
    }
  });

  it("the pgvector store applies the filter in its query: k matching chunks of a 1% filter, none for no match", async () => {
    const documents = corpus(1000);
    const embeddings = LsaEmbeddings.fit(
      documents.map((d) => d.pageContent),
      { dimensions: 16 },
    );
    const store = new PgvectorStore(embeddings, { pool: pgServer.pool, tableName: "filter_chunks" });
    await store.ensureTableInDatabase(embeddings.dimensions);
    await store.addVectors(await embeddings.embedDocuments(documents.map((d) => d.pageContent)), documents);
    const retriever = createRerankingRetriever({ vectorStore: store, reranker: "none", fetchK: 10, topN: 10, filter: { tenant: 42 } });
    const docs = await retriever.invoke("guide volcano");
    expect(docs).toHaveLength(10);
    expect(docs.every((d) => d.metadata.tenant === 42)).toBe(true);
    expect(await retriever.invoke("guide volcano", { configurable: { filter: { source: "nowhere/**" } } })).toEqual([]);
  });
});
