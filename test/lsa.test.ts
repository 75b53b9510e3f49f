import { Matrix, SingularValueDecomposition } from "ml-matrix";
import { describe, expect, it } from "vitest";
import { LsaEmbeddings } from "../src/embeddings/lsa/lsa-embeddings.js";
import { truncatedSvd, type CsrMatrix } from "../src/embeddings/lsa/randomized-svd.js";
import { IndexError } from "../src/errors/index.js";
import { TOPICS } from "./helpers/corpus.js";
import { tempDir } from "./helpers/fs.js";

const TEXTS = Object.values(TOPICS);
const BEES = TOPICS["outdoors/beekeeping.md"];
const CHESS = TOPICS["games/chess-openings.md"];

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  a.forEach((x, i) => {
    dot += x * b[i]!;
    na += x * x;
    nb += b[i]! * b[i]!;
  });
  return dot / Math.sqrt(na * nb);
}

/** Dense row-major rows → CSR, keeping only non-zeros. */
function toCsr(dense: number[][]): CsrMatrix {
  const rowStart = new Int32Array(dense.length + 1);
  const cols: number[] = [];
  const values: number[] = [];
  dense.forEach((row, r) => {
    row.forEach((v, c) => {
      if (v !== 0) {
        cols.push(c);
        values.push(v);
      }
    });
    rowStart[r + 1] = values.length;
  });
  return { rows: dense.length, cols: dense[0]!.length, rowStart, colIndex: Int32Array.from(cols), values: Float64Array.from(values) };
}

describe("LsaEmbeddings.fit", () => {
  it("uses no more dimensions than requested, than texts, or than terms", () => {
    expect(LsaEmbeddings.fit(TEXTS, { dimensions: 5 }).dimensions).toBeLessThanOrEqual(5);
    const full = LsaEmbeddings.fit(TEXTS);
    expect(full.dimensions).toBeGreaterThan(1);
    expect(full.dimensions).toBeLessThanOrEqual(TEXTS.length);
    expect(full.fittedOnChunks).toBe(TEXTS.length);
    const tiny = LsaEmbeddings.fit(["apple apple", "apple banana"], { dimensions: 64 });
    expect(tiny.dimensions).toBeLessThanOrEqual(2);
    expect(tiny.embedText("banana")).toHaveLength(tiny.dimensions);
  });

  it("embeds a query nearer the document it shares words with than an unrelated one", async () => {
    const lsa = LsaEmbeddings.fit(TEXTS, { dimensions: 8 });
    const [bees, chess] = await lsa.embedDocuments([BEES, CHESS]);
    const query = await lsa.embedQuery("how often should I inspect the hive for the queen's eggs");
    expect(cosine(query, bees!)).toBeGreaterThan(cosine(query, chess!) + 0.2);
    const chessQuery = await lsa.embedQuery("castle early and develop the knights");
    expect(cosine(chessQuery, chess!)).toBeGreaterThan(cosine(chessQuery, bees!) + 0.2);
  });

  it("gives identical vectors when fitted twice on the same texts (seeded)", () => {
    const a = LsaEmbeddings.fit(TEXTS, { dimensions: 8 });
    const b = LsaEmbeddings.fit(TEXTS, { dimensions: 8 });
    for (const text of [BEES, CHESS, "telescope aperture"]) expect(b.embedText(text)).toEqual(a.embedText(text));
  });

  it("gives identical vectors after a save/load round trip", async () => {
    const dir = await tempDir();
    const fitted = LsaEmbeddings.fit(TEXTS, { dimensions: 8 });
    await fitted.save(dir);
    const loaded = await LsaEmbeddings.load(dir);
    expect(loaded.dimensions).toBe(fitted.dimensions);
    expect(loaded.fittedOnChunks).toBe(fitted.fittedOnChunks);
    for (const text of [...TEXTS, "lighthouse lens beam"]) expect(loaded.embedText(text)).toEqual(fitted.embedText(text));
  });

  it("refuses to fit a corpus without indexable words, with an IndexError", () => {
    expect(() => LsaEmbeddings.fit(["the and of", "...!!! ---", "   "])).toThrow(IndexError);
  });

  it("refuses to load a directory without saved state, with an IndexError", async () => {
    await expect(LsaEmbeddings.load(await tempDir())).rejects.toThrow(IndexError);
  });
});

describe("truncatedSvd", () => {
  it("recovers the two singular values of a rank-2 sparse matrix, matching a dense SVD", () => {
    // 30 rows × 40 terms, each row a mix of two patterns on disjoint terms (0–19 and 20–39).
    // 30 rows > rank + oversampling, so the randomized range finder really has to find the range.
    const p = Array.from({ length: 40 }, (_, i) => (i < 20 && i % 3 !== 0 ? (i % 4) + 1 : 0));
    const q = Array.from({ length: 40 }, (_, i) => (i >= 20 && i % 2 === 0 ? (i % 5) + 1 : 0));
    const dense = Array.from({ length: 30 }, (_, r) => {
      const [a, b] = [r % 3 === 0 ? 0 : (r % 4) + 1, r % 5 === 0 ? 0 : (r % 3) - 1];
      return p.map((x, i) => a * x + b * q[i]!);
    });
    const result = truncatedSvd(toCsr(dense), 4);
    const reference = new SingularValueDecomposition(new Matrix(dense)).diagonal;
    expect(result.rank).toBe(2);
    expect(reference.filter((s) => s > 1e-9)).toHaveLength(2);
    result.singularValues.forEach((s, i) => expect(Math.abs(s - reference[i]!)).toBeLessThan(1e-6));
  });

  it("matches a dense SVD's top singular values and vectors on a full-rank sparse matrix", () => {
    const dense = [
      [1, 0, 0, 2, 0, 0, 0, 1, 0, 0],
      [0, 3, 0, 0, 0, 1, 0, 0, 0, 0],
      [0, 0, 1, 0, 4, 0, 0, 0, 2, 0],
      [2, 0, 0, 0, 0, 0, 1, 0, 0, 1],
      [0, 1, 0, 0, 1, 0, 0, 2, 0, 0],
      [0, 0, 0, 1, 0, 0, 3, 0, 0, 2],
    ];
    const k = 3;
    const result = truncatedSvd(toCsr(dense), k);
    const svd = new SingularValueDecomposition(new Matrix(dense));
    expect(result.rank).toBe(k);
    for (let c = 0; c < k; c++) {
      expect(Math.abs(result.singularValues[c]! - svd.diagonal[c]!)).toBeLessThan(1e-6);
      // Same right singular vector up to sign.
      let dot = 0;
      for (let j = 0; j < 10; j++) dot += result.components[j * k + c]! * svd.rightSingularVectors.get(j, c);
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-5);
    }
  });

  it("is deterministic for a given seed", () => {
    const matrix = toCsr([
      [1, 0, 2, 0],
      [0, 1, 0, 3],
      [4, 0, 0, 1],
    ]);
    expect(truncatedSvd(matrix, 2, { seed: 7 }).components).toEqual(truncatedSvd(matrix, 2, { seed: 7 }).components);
  });
});
