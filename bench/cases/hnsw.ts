import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { FakeEmbeddings } from "@langchain/core/utils/testing";
import { seededRandom } from "../../src/util/seeded-random.js";
import { HnswStore, type HnswParams } from "../../src/store/hnsw-store.js";
import { peakRssMiB, summarize } from "../harness.js";

const DIMS = 384;

function normalize(v: Float32Array): number[] {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm) || 1;
  return Array.from(v, (x) => x / norm);
}

/**
 * Unit vectors: uniformly random (the worst case: every point nearly equidistant), or
 * "structured": a 32-d latent code mapped linearly into 384-d plus a little noise, like real
 * text embeddings whose intrinsic dimension is far below their width.
 */
function vectors(count: number, kind: "random" | "structured", seed: number): number[][] {
  const random = seededRandom(seed);
  const basisRandom = seededRandom(7); // the same map for data and queries
  const gaussianFrom = (r: () => number) => () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  const gaussian = gaussianFrom(random);
  const basisGaussian = gaussianFrom(basisRandom);
  const LATENT = 32;
  const basis = Array.from({ length: LATENT }, () => Float32Array.from({ length: DIMS }, basisGaussian));
  return Array.from({ length: count }, () => {
    const v = Float32Array.from({ length: DIMS }, () => (kind === "random" ? gaussian() : 0.1 * gaussian()));
    if (kind === "structured") {
      for (let l = 0; l < LATENT; l++) {
        const weight = gaussian();
        const row = basis[l]!;
        for (let d = 0; d < DIMS; d++) v[d]! += weight * row[d]!;
      }
    }
    return normalize(v);
  });
}

function exactTopK(data: number[][], query: number[], k: number): Set<number> {
  const scores = data.map((v, i) => {
    let dot = 0;
    for (let d = 0; d < DIMS; d++) dot += v[d]! * query[d]!;
    return [dot, i] as const;
  });
  scores.sort((a, b) => b[0] - a[0]);
  return new Set(scores.slice(0, k).map(([, i]) => i));
}

/** Build time, size, memory, query latency and recall@50 against brute force, per efSearch. */
export async function hnswCase(count: number, kind: "random" | "structured", hnsw: Partial<HnswParams> = {}, queries = 100) {
  const data = vectors(count, kind, 11);
  const queryVectors = vectors(queries, kind, 99);
  const docs = data.map((_, i) => new Document({ pageContent: "", metadata: { i } }));
  const rssBefore = peakRssMiB();
  const started = performance.now();
  const store = await HnswStore.build(new FakeEmbeddings(), data, docs, { dimensions: DIMS, hnsw });
  const buildSeconds = (performance.now() - started) / 1000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-hnsw-"));
  await store.save(dir);
  const indexMiB = fs.statSync(path.join(dir, "hnswlib.index")).size / 2 ** 20;
  fs.rmSync(dir, { recursive: true, force: true });
  const truth = queryVectors.map((q) => exactTopK(data, q, 50));
  const perEf = [];
  for (const efSearch of [50, 100, 200, 300, 400]) {
    store.index.setEf(efSearch);
    const samples: number[] = [];
    let recall = 0;
    for (const [qi, q] of queryVectors.entries()) {
      const t = performance.now();
      const { neighbors } = store.index.searchKnn(q, 50);
      samples.push(performance.now() - t);
      recall += neighbors.filter((n) => truth[qi]!.has(n)).length / 50;
    }
    const stats = summarize(samples);
    perEf.push({ efSearch, recallAt50: recall / queries, p50ms: stats.p50, p99ms: stats.p99 });
  }
  return {
    count,
    kind,
    dims: DIMS,
    M: store.hnsw.M,
    efConstruction: store.hnsw.efConstruction,
    buildSeconds,
    indexMiB,
    peakRssGrowthMiB: peakRssMiB() - rssBefore,
    perEf,
  };
}
