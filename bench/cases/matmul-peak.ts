import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { measure } from "../harness.js";

const { onnx } = onnxProto;

/** A one-node MatMul graph (A[m,k] · B[k,n], B a constant) — the runtime's best case. */
function matmulModel(m: number, k: number, n: number): Uint8Array {
  const weights = new Float32Array(k * n).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "matmul",
      node: [{ opType: "MatMul", input: ["A", "B"], output: ["Y"] }],
      initializer: [{ name: "B", dataType: onnx.TensorProto.DataType.FLOAT, dims: [k, n], rawData: new Uint8Array(weights.buffer) }],
      input: [{ name: "A", type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: m }, { dimValue: k }] } } } }],
      output: [{ name: "Y", type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: m }, { dimValue: n }] } } } }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * The machine's practical fp32 peak through onnxruntime: large MatMuls shaped like a
 * transformer's (tokens × 384 · 384 × 1536), run with every core.
 */
export async function matmulPeak() {
  const shapes = [
    [4096, 384, 1536],
    [2048, 1536, 384],
    [2048, 1024, 1024],
  ] as const;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-matmul-"));
  const results = [];
  try {
    for (const [m, k, n] of shapes) {
      const file = path.join(dir, `mm-${m}-${k}-${n}.onnx`);
      fs.writeFileSync(file, matmulModel(m, k, n));
      const session = await ort.InferenceSession.create(file, { intraOpNumThreads: os.availableParallelism(), interOpNumThreads: 1 });
      const input = new ort.Tensor("float32", new Float32Array(m * k).fill(0.01), [m, k]);
      const stats = await measure(() => session.run({ A: input }), { warmup: 2, runs: 10 });
      const gflops = (2 * m * k * n) / 1e9;
      results.push({ shape: `${m}x${k}·${k}x${n}`, gflop: gflops, p50ms: stats.p50, gflopsPerSecond: gflops / (stats.p50 / 1000) });
      await session.release();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { shapes: results, peakGflopsPerSecond: Math.max(...results.map((r) => r.gflopsPerSecond)) };
}
