import fs from "node:fs/promises";
import path from "node:path";
import { HNSWLib, type HNSWLibArgs } from "@langchain/community/vectorstores/hnswlib";
import { SynchronousInMemoryDocstore } from "@langchain/classic/stores/doc/in_memory";
import type { EmbeddingsInterface } from "@langchain/core/embeddings";
import type { Document } from "@langchain/core/documents";

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
 * LangChain's HNSWLib, built with chosen graph parameters (the stock class always uses
 * hnswlib's defaults and an efSearch of 10) and with k clamped to the index size without
 * its console warning: fetchK above a small corpus is normal here, not a mistake.
 */
export class HnswStore extends HNSWLib {
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

  override async similaritySearchVectorWithScore(query: number[], k: number, filter?: this["FilterType"]): Promise<[Document, number][]> {
    const available = this.size;
    if (available === 0) return [];
    return super.similaritySearchVectorWithScore(query, Math.min(k, available), filter);
  }
}
