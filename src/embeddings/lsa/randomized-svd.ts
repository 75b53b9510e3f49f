import { createRequire } from "node:module";
import type * as MlMatrix from "ml-matrix";
import { seededRandom } from "../../util/seeded-random.js";

// ml-matrix is needed only to fit (ingest), not to embed a query: loaded on first use, in
// step with the synchronous fit.
const require = createRequire(import.meta.url);
const mlMatrix = () => require("ml-matrix") as typeof MlMatrix;

/** A sparse matrix in compressed-row form (rows = chunks, columns = terms). */
export interface CsrMatrix {
  rows: number;
  cols: number;
  rowStart: Int32Array; // length rows + 1
  colIndex: Int32Array;
  values: Float64Array;
}

function gaussianMatrix(rows: number, cols: number, random: () => number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < out.length; i += 2) {
    const u = Math.max(random(), 1e-12);
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

/** A · D where D is dense (A.cols × width, row-major); result A.rows × width. */
function multiply(a: CsrMatrix, dense: Float64Array, width: number): Float64Array {
  const out = new Float64Array(a.rows * width);
  for (let i = 0; i < a.rows; i++) {
    const target = i * width;
    for (let p = a.rowStart[i]!; p < a.rowStart[i + 1]!; p++) {
      const source = a.colIndex[p]! * width;
      const value = a.values[p]!;
      for (let c = 0; c < width; c++) out[target + c]! += value * dense[source + c]!;
    }
  }
  return out;
}

/** Aᵀ · D where D is dense (A.rows × width); result A.cols × width. */
function multiplyTransposed(a: CsrMatrix, dense: Float64Array, width: number): Float64Array {
  const out = new Float64Array(a.cols * width);
  for (let i = 0; i < a.rows; i++) {
    const source = i * width;
    for (let p = a.rowStart[i]!; p < a.rowStart[i + 1]!; p++) {
      const target = a.colIndex[p]! * width;
      const value = a.values[p]!;
      for (let c = 0; c < width; c++) out[target + c]! += value * dense[source + c]!;
    }
  }
  return out;
}

/** Orthonormalises the columns of a row-major rows × width matrix in place (modified Gram-Schmidt). */
function orthonormalizeColumns(m: Float64Array, rows: number, width: number): void {
  const column = (c: number) => {
    const v = new Float64Array(rows);
    for (let r = 0; r < rows; r++) v[r] = m[r * width + c]!;
    return v;
  };
  const columns = Array.from({ length: width }, (_, c) => column(c));
  for (let c = 0; c < width; c++) {
    const v = columns[c]!;
    for (let prev = 0; prev < c; prev++) {
      const u = columns[prev]!;
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += u[r]! * v[r]!;
      for (let r = 0; r < rows; r++) v[r]! -= dot * u[r]!;
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += v[r]! * v[r]!;
    norm = Math.sqrt(norm);
    // A rank-deficient column becomes zero rather than noise.
    const scale = norm > 1e-10 ? 1 / norm : 0;
    for (let r = 0; r < rows; r++) v[r]! *= scale;
  }
  for (let c = 0; c < width; c++) for (let r = 0; r < rows; r++) m[r * width + c] = columns[c]![r]!;
}

/**
 * Top-`rank` right singular vectors of a sparse matrix, by the randomized range finder
 * with power iterations (Halko, Martinsson & Tropp 2011). Written by hand because no
 * maintained JS library does truncated SVD of a sparse matrix; the small dense
 * eigenproblem at the end goes to ml-matrix.
 *
 * Returns the term-space basis (cols × rank, row-major) and the singular values.
 */
export function truncatedSvd(
  a: CsrMatrix,
  rank: number,
  { oversample = 16, powerIterations = 2, seed = 42 } = {},
): { components: Float32Array; singularValues: Float64Array; rank: number } {
  const width = Math.min(rank + oversample, a.rows, a.cols);
  const random = seededRandom(seed);
  let q = multiply(a, gaussianMatrix(a.cols, width, random), width);
  orthonormalizeColumns(q, a.rows, width);
  for (let i = 0; i < powerIterations; i++) {
    // Aᵀ Q has bounded norms because Q is orthonormal, so only the (shorter) row side is
    // re-orthonormalised: the term side is the expensive one to orthonormalise.
    q = multiply(a, multiplyTransposed(a, q, width), width);
    orthonormalizeColumns(q, a.rows, width);
  }
  // Bᵀ = Aᵀ Q (cols × width); B Bᵀ = (Bᵀ)ᵀ Bᵀ is small (width × width).
  const bt = multiplyTransposed(a, q, width);
  const gram = new Float64Array(width * width);
  for (let j = 0; j < a.cols; j++) {
    const row = j * width;
    for (let x = 0; x < width; x++) {
      const bx = bt[row + x]!;
      if (bx === 0) continue;
      for (let y = x; y < width; y++) gram[x * width + y]! += bx * bt[row + y]!;
    }
  }
  const { EigenvalueDecomposition, Matrix } = mlMatrix();
  const gramMatrix = Matrix.zeros(width, width);
  for (let x = 0; x < width; x++) {
    for (let y = x; y < width; y++) {
      gramMatrix.set(x, y, gram[x * width + y]!);
      gramMatrix.set(y, x, gram[x * width + y]!);
    }
  }
  const evd = new EigenvalueDecomposition(gramMatrix, { assumeSymmetric: true });
  const order = evd.realEigenvalues
    .map((value, index) => ({ value, index }))
    .sort((l, r) => r.value - l.value)
    .filter((e) => e.value > 1e-10)
    .slice(0, rank);
  const k = order.length;
  const singularValues = Float64Array.from(order, (e) => Math.sqrt(e.value));
  // V = Bᵀ Û Σ⁻¹: each right singular vector from the matching eigenvector of B Bᵀ.
  // Eigenvectors of the kept values, column c scaled by 1/σ_c, as one dense width × k block.
  const projection = new Float64Array(width * k);
  for (let x = 0; x < width; x++) {
    for (let c = 0; c < k; c++) projection[x * k + c] = evd.eigenvectorMatrix.get(x, order[c]!.index) / singularValues[c]!;
  }
  const components = new Float32Array(a.cols * k);
  for (let j = 0; j < a.cols; j++) {
    const row = j * width;
    for (let x = 0; x < width; x++) {
      const bx = bt[row + x]!;
      if (bx === 0) continue;
      for (let c = 0; c < k; c++) components[j * k + c]! += bx * projection[x * k + c]!;
    }
  }
  return { components, singularValues, rank: k };
}
