import fs from "node:fs/promises";
import path from "node:path";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { Document } from "@langchain/core/documents";
import { SaveableVectorStore } from "@langchain/core/vectorstores";
import type { HierarchicalNSW, SpaceName } from "hnswlib-node";
import { ACCEPTS_CHUNK_FILTER, ChunkFilter, type ChunkFilterStore } from "./chunk-filter.js";

/** Graph parameters of the HNSW index (hnswlib's names). */
export interface HnswParams {
  /** Links per node: more = better recall, more memory. */
  M: number;
  /** Candidate list size while building: more = better graph, slower build. */
  efConstruction: number;
  /** Candidate list size while searching (hnswlib always uses at least k). */
  efSearch: number;
}

/** What LangChain's HNSWLib saves, and so what this store writes and reads: either class opens the other's folder. */
const SAVED_FILES = ["hnswlib.index", "args.json", "docstore.json"];

/** What args.json holds. */
interface HnswArgs {
  space: SpaceName;
  numDimensions: number;
}

/** hnswlib-node is native: loaded on the first search or build, not when the package is imported. */
async function hierarchicalNsw(args: HnswArgs): Promise<HierarchicalNSW> {
  const { default: hnswlib } = await import("hnswlib-node");
  return new hnswlib.HierarchicalNSW(args.space, args.numDimensions);
}

export const DEFAULT_HNSW: HnswParams = { M: 16, efConstruction: 200, efSearch: 200 };

/**
 * A filter matching at most this many chunks (or 4 × k) is searched exactly: scoring a few
 * thousand stored vectors takes a millisecond or two, while a graph walk that must skip most
 * nodes is slower and can come back short.
 */
const EXACT_SEARCH_BELOW = 2000;

/**
 * An HNSW vector store over hnswlib-node with the files and results of LangChain's HNSWLib
 * (@langchain/community, which this package does not depend on: its peers break installs),
 * built with chosen graph parameters (the stock class always uses hnswlib's defaults and an
 * efSearch of 10) and with k clamped to the index size without a console warning: fetchK
 * above a small corpus is normal here, not a mistake.
 */
export class HnswStore extends SaveableVectorStore implements ChunkFilterStore {
  declare FilterType: (doc: Document) => boolean;
  readonly [ACCEPTS_CHUNK_FILTER] = true as const;
  readonly hnsw: HnswParams;
  readonly args: HnswArgs;
  /** The chunks by label (as strings, as docstore.json keeps them). */
  readonly docstore: Map<string, Document>;
  readonly index: HierarchicalNSW;

  constructor(embeddings: EmbeddingsInterface, args: HnswArgs & { index: HierarchicalNSW; docstore: Map<string, Document>; hnsw?: Partial<HnswParams> }) {
    super(embeddings, {});
    this.args = { space: args.space, numDimensions: args.numDimensions };
    this.index = args.index;
    this.docstore = args.docstore;
    this.hnsw = { ...DEFAULT_HNSW, ...args.hnsw };
    this.index.setEf(this.hnsw.efSearch);
  }

  /** Read as a distance store by the retriever (cosine distance → similarity), like HNSWLib. */
  _vectorstoreType(): string {
    return "hnswlib";
  }

  /** Builds an index over precomputed vectors (label i ↔ documents[i]). */
  static async build(
    embeddings: EmbeddingsInterface,
    vectors: readonly number[][],
    documents: readonly Document[],
    { dimensions, hnsw = {} }: { dimensions: number; hnsw?: Partial<HnswParams> },
  ): Promise<HnswStore> {
    const params = { ...DEFAULT_HNSW, ...hnsw };
    const index = await hierarchicalNsw({ space: "cosine", numDimensions: dimensions });
    index.initIndex(Math.max(vectors.length, 1), params.M, params.efConstruction, 100);
    vectors.forEach((vector, label) => index.addPoint(vector, label));
    const docstore = new Map(documents.map((doc, label) => [String(label), doc]));
    return new HnswStore(embeddings, { space: "cosine", numDimensions: dimensions, index, docstore, hnsw: params });
  }

  static async loadWith(directory: string, embeddings: EmbeddingsInterface, hnsw: Partial<HnswParams>): Promise<HnswStore> {
    const saved = JSON.parse(await fs.readFile(path.join(directory, "args.json"), "utf8")) as HnswArgs;
    const args: HnswArgs = { space: saved.space, numDimensions: saved.numDimensions };
    const index = await hierarchicalNsw(args);
    const [entries] = await Promise.all([
      fs.readFile(path.join(directory, "docstore.json"), "utf8").then((text) => JSON.parse(text) as Array<[string, Document]>),
      index.readIndex(path.join(directory, "hnswlib.index")),
    ]);
    return new HnswStore(embeddings, { ...args, index, docstore: new Map(entries), hnsw });
  }

  /** LangChain's HNSWLib.load, for the base class's contract; loadWith chooses the graph parameters. */
  static override load(directory: string, embeddings: EmbeddingsInterface): Promise<HnswStore> {
    return HnswStore.loadWith(directory, embeddings, {});
  }

  /**
   * hnswlib's native writer takes no file mode; a file that already exists keeps its mode
   * when rewritten, so create them empty and owner-only first.
   */
  async save(directory: string): Promise<void> {
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    await Promise.all(SAVED_FILES.map((file) => fs.writeFile(path.join(directory, file), "", { mode: 0o600 })));
    await Promise.all([
      this.index.writeIndex(path.join(directory, "hnswlib.index")),
      fs.writeFile(path.join(directory, "args.json"), JSON.stringify(this.args)),
      fs.writeFile(path.join(directory, "docstore.json"), JSON.stringify([...this.docstore.entries()])),
    ]);
  }

  async addDocuments(documents: Document[]): Promise<void> {
    await this.addVectors(await this.embeddings.embedDocuments(documents.map((doc) => doc.pageContent)), documents);
  }

  /** Appends chunks after the last label, growing the graph as needed. */
  // eslint-disable-next-line @typescript-eslint/require-await -- LangChain's interface is async, hnswlib is not; a bad input rejects
  async addVectors(vectors: number[][], documents: Document[]): Promise<void> {
    if (vectors.length !== documents.length) throw new Error(`addVectors: ${vectors.length} vectors for ${documents.length} documents`);
    const wrong = vectors.find((vector) => vector.length !== this.args.numDimensions);
    if (wrong) throw new Error(`addVectors: a ${wrong.length}-d vector for a ${this.args.numDimensions}-d index`);
    const first = this.size;
    if (first + vectors.length > this.index.getMaxElements()) this.index.resizeIndex(first + vectors.length);
    vectors.forEach((vector, i) => this.index.addPoint(vector, first + i));
    documents.forEach((doc, i) => this.docstore.set(String(first + i), doc));
  }

  /** Number of chunks in the index. */
  get size(): number {
    return this.index.getCurrentCount();
  }

  /** Every stored chunk with its label, in label order. */
  entries(): Array<{ label: number; document: Document }> {
    return [...this.docstore.entries()].map(([label, document]) => ({ label: Number(label), document })).sort((a, b) => a.label - b.label);
  }

  /** The stored (unit-length) vector of a chunk, reused when its file did not change. */
  vectorOf(label: number): number[] {
    return this.index.getPoint(label);
  }

  /** The k nearest chunks with their cosine distances (the retriever turns them into similarities); a ChunkFilter is applied inside the search (see filteredSearch), a function filter is hnswlib's own. */
  // eslint-disable-next-line @typescript-eslint/require-await -- as addVectors
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: this["FilterType"] | ChunkFilter): Promise<[Document, number][]> {
    const available = this.size;
    if (available === 0) return [];
    if (query.length !== this.args.numDimensions) throw new Error(`a ${query.length}-d query vector for a ${this.args.numDimensions}-d index`);
    if (ChunkFilter.isInstance(filter)) return this.filteredSearch(query, k, filter);
    const keep = filter && ((label: number) => filter(this.docstore.get(String(label))!));
    const { neighbors, distances } = this.index.searchKnn(query, Math.min(k, available), keep);
    return neighbors.map((label, i) => [this.docstore.get(String(label))!, distances[i]!]);
  }

  /**
   * The k nearest chunks that pass the filter, as [document, cosine distance]: through hnswlib's
   * filter function when many chunks match, exactly over the matching ones when few do or when
   * the graph walk returns fewer than k of the chunks that match.
   */
  private filteredSearch(query: number[], k: number, filter: ChunkFilter): Array<[Document, number]> {
    const matching: number[] = [];
    for (const [label, document] of this.docstore) if (filter.matches(document.metadata)) matching.push(Number(label));
    const want = Math.min(k, matching.length);
    if (want === 0) return [];
    if (matching.length > Math.max(EXACT_SEARCH_BELOW, 4 * k)) {
      const allowed = new Set(matching);
      const { neighbors, distances } = this.index.searchKnn(query, want, (label) => allowed.has(label));
      if (neighbors.length >= want) return neighbors.map((label, i) => [this.documentOf(label), distances[i]!]);
    }
    return this.exactSearch(query, matching, want);
  }

  /** Cosine distance to each listed chunk (stored vectors are unit length), the nearest first. */
  private exactSearch(query: number[], labels: readonly number[], k: number): Array<[Document, number]> {
    const norm = Math.hypot(...query) || 1;
    const scored = labels.map((label) => {
      const point = this.index.getPoint(label);
      let dot = 0;
      for (let i = 0; i < point.length; i++) dot += point[i]! * query[i]!;
      return { label, distance: 1 - dot / norm };
    });
    scored.sort((l, r) => l.distance - r.distance || l.label - r.label);
    return scored.slice(0, k).map(({ label, distance }) => [this.documentOf(label), distance]);
  }

  private documentOf(label: number): Document {
    return this.docstore.get(String(label))!;
  }
}
