import fs from "node:fs/promises";
import path from "node:path";
import { HNSWLib, type HNSWLibArgs } from "@langchain/community/vectorstores/hnswlib";
import { SynchronousInMemoryDocstore } from "@langchain/classic/stores/doc/in_memory";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { Document } from "@langchain/core/documents";
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

/** What HNSWLib.save writes. */
const SAVED_FILES = ["hnswlib.index", "args.json", "docstore.json"];

export const DEFAULT_HNSW: HnswParams = { M: 16, efConstruction: 200, efSearch: 200 };

/**
 * A filter matching at most this many chunks (or 4 × k) is searched exactly: scoring a few
 * thousand stored vectors takes a millisecond or two, while a graph walk that must skip most
 * nodes is slower and can come back short.
 */
const EXACT_SEARCH_BELOW = 2000;

/**
 * LangChain's HNSWLib, built with chosen graph parameters (the stock class always uses
 * hnswlib's defaults and an efSearch of 10) and with k clamped to the index size without
 * its console warning: fetchK above a small corpus is normal here, not a mistake.
 */
export class HnswStore extends HNSWLib implements ChunkFilterStore {
  readonly [ACCEPTS_CHUNK_FILTER] = true as const;
  readonly hnsw: HnswParams;

  constructor(embeddings: EmbeddingsInterface, args: HNSWLibArgs & { hnsw?: Partial<HnswParams> }) {
    const { hnsw, ...rest } = args;
    super(embeddings, rest);
    this.hnsw = { ...DEFAULT_HNSW, ...hnsw };
    this._index?.setEf(this.hnsw.efSearch);
  }

  /** Builds an index over precomputed vectors (label i ↔ documents[i]). */
  static async build(
    embeddings: EmbeddingsInterface,
    vectors: readonly number[][],
    documents: readonly Document[],
    { dimensions, hnsw = {} }: { dimensions: number; hnsw?: Partial<HnswParams> },
  ): Promise<HnswStore> {
    const params = { ...DEFAULT_HNSW, ...hnsw };
    const { HierarchicalNSW } = await HNSWLib.imports();
    const index = new HierarchicalNSW("cosine", dimensions);
    index.initIndex(Math.max(vectors.length, 1), params.M, params.efConstruction, 100);
    vectors.forEach((vector, label) => index.addPoint(vector, label));
    const docstore = new SynchronousInMemoryDocstore(new Map(documents.map((doc, label) => [String(label), doc])));
    return new HnswStore(embeddings, { space: "cosine", numDimensions: dimensions, index, docstore, hnsw: params });
  }

  static async loadWith(directory: string, embeddings: EmbeddingsInterface, hnsw: Partial<HnswParams>): Promise<HnswStore> {
    const loaded = await HNSWLib.load(directory, embeddings);
    return new HnswStore(embeddings, { ...loaded.args, index: loaded.index, docstore: loaded.docstore, hnsw });
  }

  /**
   * LangChain's save (and hnswlib's native writer under it) takes no file mode; a file that
   * already exists keeps its mode when rewritten, so create them empty and owner-only first.
   */
  override async save(directory: string): Promise<void> {
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    await Promise.all(SAVED_FILES.map((file) => fs.writeFile(path.join(directory, file), "", { mode: 0o600 })));
    await super.save(directory);
  }

  /** Number of chunks in the index. */
  get size(): number {
    return this._index?.getCurrentCount() ?? 0;
  }

  /** Every stored chunk with its label, in label order. */
  entries(): Array<{ label: number; document: Document }> {
    return [...this.docstore._docs.entries()].map(([label, document]) => ({ label: Number(label), document })).sort((a, b) => a.label - b.label);
  }

  /** The stored (unit-length) vector of a chunk, reused when its file did not change. */
  vectorOf(label: number): number[] {
    return this.index.getPoint(label);
  }

  /** A ChunkFilter is applied inside the search (see filteredSearch); a function filter is hnswlib's own. */
  override async similaritySearchVectorWithScore(query: number[], k: number, filter?: this["FilterType"] | ChunkFilter): Promise<[Document, number][]> {
    const available = this.size;
    if (available === 0) return [];
    if (ChunkFilter.isInstance(filter)) return this.filteredSearch(query, k, filter);
    return super.similaritySearchVectorWithScore(query, Math.min(k, available), filter);
  }

  /**
   * The k nearest chunks that pass the filter, as [document, cosine distance]: through hnswlib's
   * filter function when many chunks match, exactly over the matching ones when few do or when
   * the graph walk returns fewer than k of the chunks that match.
   */
  private filteredSearch(query: number[], k: number, filter: ChunkFilter): Array<[Document, number]> {
    const matching: number[] = [];
    for (const [label, document] of this.docstore._docs) if (filter.matches(document.metadata)) matching.push(Number(label));
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
    return this.docstore._docs.get(String(label))!;
  }
}
