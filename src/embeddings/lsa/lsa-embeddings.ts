import fs from "node:fs/promises";
import path from "node:path";
import { Embeddings, type EmbeddingsParams } from "@langchain/core/embeddings";
import { z } from "zod";
import { analyze, termCounts } from "../../text/analyzer.js";
import { IndexError } from "../../errors/index.js";
import { truncatedSvd, type CsrMatrix } from "./randomized-svd.js";

const STATE_JSON = "offline-embedder.json";
const STATE_BIN = "offline-embedder.bin";
const STATE_VERSION = 1;

/** offline-embedder.json: everything but the component matrix, which is in STATE_BIN. */
const stateSchema = z.object({
  version: z.number(),
  vocabulary: z.array(z.string()),
  idf: z.array(z.number()),
  dimensions: z.number().int().positive(),
  fittedOnChunks: z.number().int().nonnegative(),
});

export interface LsaFitOptions {
  /** Target dimensions; fewer when the corpus has fewer chunks or terms. */
  dimensions?: number;
  seed?: number;
}

interface LsaState {
  vocabulary: string[];
  idf: Float64Array;
  components: Float32Array; // vocabulary.length × dimensions
  dimensions: number;
  fittedOnChunks: number;
}

/**
 * The offline embedder: latent semantic analysis, i.e. sublinear TF-IDF projected onto
 * the top singular vectors of the corpus's own TF-IDF matrix. It needs no pretrained
 * weights, is fitted at ingest time and saved with the index. On SciFact it reaches
 * recall@50 0.88 (DESIGN.md), which is what a first stage feeding a re-ranker needs.
 */
export class LsaEmbeddings extends Embeddings {
  readonly dimensions: number;
  readonly fittedOnChunks: number;
  private readonly termIndex: Map<string, number>;
  private readonly state: LsaState;

  private constructor(state: LsaState, params: EmbeddingsParams = {}) {
    super(params);
    this.state = state;
    this.dimensions = state.dimensions;
    this.fittedOnChunks = state.fittedOnChunks;
    this.termIndex = new Map(state.vocabulary.map((term, i) => [term, i]));
  }

  /** Fits the embedder on the chunk texts it will index. */
  static fit(texts: readonly string[], { dimensions = 256, seed = 42 }: LsaFitOptions = {}): LsaEmbeddings {
    const analyzed = texts.map((text) => termCounts(analyze(text)));
    const df = new Map<string, number>();
    for (const counts of analyzed) for (const term of counts.keys()) df.set(term, (df.get(term) ?? 0) + 1);
    // Terms seen once carry no co-occurrence signal in large corpora; small ones need them all.
    const minDf = texts.length >= 200 ? 2 : 1;
    const vocabulary = [...df.entries()]
      .filter(([, n]) => n >= minDf)
      .map(([term]) => term)
      .sort();
    if (vocabulary.length === 0) {
      throw new IndexError("The documents contain no indexable words, so the offline embedder cannot be fitted.", {
        hint: "Check that the files hold text (scanned PDFs without a text layer have none).",
      });
    }
    const termIndex = new Map(vocabulary.map((term, i) => [term, i]));
    const n = texts.length;
    const idf = Float64Array.from(vocabulary, (term) => Math.log((n + 1) / (df.get(term)! + 1)) + 1);
    const matrix = buildTfidfMatrix(analyzed, termIndex, idf);
    const rank = Math.max(1, Math.min(dimensions, n, vocabulary.length));
    const svd = truncatedSvd(matrix, rank, { seed });
    return new LsaEmbeddings({
      vocabulary,
      idf,
      components: svd.components,
      dimensions: svd.rank,
      fittedOnChunks: n,
    });
  }

  static async load(directory: string): Promise<LsaEmbeddings> {
    try {
      const raw: unknown = JSON.parse(await fs.readFile(path.join(directory, STATE_JSON), "utf8"));
      const version = (raw as { version?: unknown } | null)?.version;
      if (version !== STATE_VERSION) throw new Error(`unsupported state version ${JSON.stringify(version)}`);
      const meta = stateSchema.parse(raw);
      const bytes = await fs.readFile(path.join(directory, STATE_BIN));
      const expected = meta.vocabulary.length * meta.dimensions * 4;
      if (bytes.byteLength !== expected) throw new Error(`${STATE_BIN} has ${bytes.byteLength} bytes, expected ${expected}`);
      const components = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      return new LsaEmbeddings({
        vocabulary: meta.vocabulary,
        idf: Float64Array.from(meta.idf),
        components,
        dimensions: meta.dimensions,
        fittedOnChunks: meta.fittedOnChunks,
      });
    } catch (error) {
      const why = error instanceof z.ZodError ? `${STATE_JSON} is malformed: ${z.prettifyError(error)}` : (error as Error).message;
      throw new IndexError(`The offline embedder state in ${directory} cannot be read: ${why}`, {
        cause: error,
        hint: "The index is damaged; rebuild it with `rerank-rag ingest --rebuild <paths>`.",
      });
    }
  }

  async save(directory: string): Promise<void> {
    const { vocabulary, idf, components, dimensions, fittedOnChunks } = this.state;
    const meta = { version: STATE_VERSION, dimensions, fittedOnChunks, vocabulary, idf: Array.from(idf) };
    await fs.writeFile(path.join(directory, STATE_JSON), JSON.stringify(meta), { mode: 0o600 });
    await fs.writeFile(path.join(directory, STATE_BIN), new Uint8Array(components.buffer, components.byteOffset, components.byteLength), { mode: 0o600 });
  }

  /** Share of a text's known terms: lets ingest decide when a refit is due. */
  coverage(text: string): number {
    const terms = analyze(text);
    if (terms.length === 0) return 1;
    return terms.filter((t) => this.termIndex.has(t)).length / terms.length;
  }

  embedText(text: string): number[] {
    const { idf, components, dimensions } = this.state;
    const out = new Float64Array(dimensions);
    let norm = 0;
    const weights: Array<[number, number]> = [];
    for (const [term, count] of termCounts(analyze(text))) {
      const index = this.termIndex.get(term);
      if (index === undefined) continue;
      const weight = (1 + Math.log(count)) * idf[index]!;
      weights.push([index, weight]);
      norm += weight * weight;
    }
    norm = Math.sqrt(norm) || 1;
    for (const [index, weight] of weights) {
      const row = index * dimensions;
      for (let c = 0; c < dimensions; c++) out[c]! += (weight / norm) * components[row + c]!;
    }
    return Array.from(out);
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- Embeddings' contract is async; `async` keeps a throw a rejection.
  async embedDocuments(documents: string[]): Promise<number[][]> {
    return documents.map((text) => this.embedText(text));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- as embedDocuments.
  async embedQuery(document: string): Promise<number[]> {
    return this.embedText(document);
  }
}

function buildTfidfMatrix(analyzed: ReadonlyArray<Map<string, number>>, termIndex: Map<string, number>, idf: Float64Array): CsrMatrix {
  const rowStart = new Int32Array(analyzed.length + 1);
  const columns: number[] = [];
  const values: number[] = [];
  analyzed.forEach((counts, row) => {
    const start = values.length;
    let norm = 0;
    for (const [term, count] of counts) {
      const index = termIndex.get(term);
      if (index === undefined) continue;
      const weight = (1 + Math.log(count)) * idf[index]!;
      columns.push(index);
      values.push(weight);
      norm += weight * weight;
    }
    norm = Math.sqrt(norm) || 1;
    for (let p = start; p < values.length; p++) values[p]! /= norm;
    rowStart[row + 1] = values.length;
  });
  return {
    rows: analyzed.length,
    cols: termIndex.size,
    rowStart,
    colIndex: Int32Array.from(columns),
    values: Float64Array.from(values),
  };
}
