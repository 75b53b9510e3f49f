// Builds a randomly initialised BERT encoder (+ pooler + classifier head) as an ONNX model
// and streams it to disk, so tests and benchmarks get a real graph without Hub downloads.
import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { seededRandom } from "../../src/util/seeded-random.js";
import { TINY_VOCAB_SIZE } from "./wordpiece-tokenizer.js";

// onnx-proto is CommonJS and only exposes its namespace through module.exports (types come from Onnx).
const { onnx } = onnxProto;

export interface BertParams {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  numLabels: number;
  seed: number;
}

export type BertOutput = "logits" | "last_hidden_state";
export const BERT_OUTPUTS: readonly BertOutput[] = ["logits", "last_hidden_state"];

export const TINY: BertParams = {
  layers: 2,
  hidden: 32,
  heads: 2,
  intermediate: 64,
  vocabSize: TINY_VOCAB_SIZE,
  maxPositions: 512,
  numLabels: 1,
  seed: 42,
};

// Same shapes as cross-encoder/ms-marco-MiniLM-L-6-v2, for latency benchmarks.
export const MINILM_L6: BertParams = {
  layers: 6,
  hidden: 384,
  heads: 12,
  intermediate: 1536,
  vocabSize: 30522,
  maxPositions: 512,
  numLabels: 1,
  seed: 42,
};

// Opset 17 is the first with LayerNormalization, which onnxruntime runs as one fused kernel.
const OPSET = 17;
const IR_VERSION = 8;
const INIT_STD = 0.02;
const LAYER_NORM_EPS = 1e-12;
const MASK_NEGATIVE = -10000; // classic BERT value: exp() underflows to exactly 0 in float32
const TYPE_VOCAB_SIZE = 2;

const { FLOAT, INT64, INT8 } = onnx.TensorProto.DataType;
/** int8 weights: N(0, 0.02) samples clipped at 4σ, one scale per tensor (symmetric, zero point 0). */
const INT8_WEIGHT_SCALE = (4 * INIT_STD) / 127;
const AT = onnx.AttributeProto.AttributeType;
const int = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: AT.INT, i });
const ints = (name: string, v: number[]): Onnx.IAttributeProto => ({ name, type: AT.INTS, ints: v });
const float = (name: string, f: number): Onnx.IAttributeProto => ({ name, type: AT.FLOAT, f });

type Fill = "normal" | "zeros" | "ones" | "normal-int8";
interface Initializer {
  name: string;
  dims: number[];
  dataType: Onnx.TensorProto.DataType;
  fill?: Fill;
  values?: Float32Array | BigInt64Array | Int8Array;
}

class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly inits: Initializer[] = [];

  /** With `quantize`, dense layers are what onnxruntime's dynamic quantization emits (MatMulInteger). */
  constructor(private readonly quantize = false) {}

  op(opType: string, input: string[], attribute: Onnx.IAttributeProto[] = [], output?: string): string {
    const name = output ?? `${opType}_${this.nodes.length}`;
    this.nodes.push({ opType, input, output: [name], name, attribute });
    return name;
  }

  /** A node with several outputs, named `<node>:<i>`. */
  opMulti(opType: string, input: string[], outputs: number): string[] {
    const name = `${opType}_${this.nodes.length}`;
    const output = Array.from({ length: outputs }, (_, i) => `${name}:${i}`);
    this.nodes.push({ opType, input, output, name });
    return output;
  }

  param(name: string, dims: number[], fill: Fill): string {
    this.inits.push({ name, dims, dataType: FLOAT, fill });
    return name;
  }

  floats(name: string, values: number[], dims: number[] = []): string {
    this.inits.push({ name, dims, dataType: FLOAT, values: Float32Array.from(values) });
    return name;
  }

  int64s(name: string, values: number[], dims: number[] = [values.length]): string {
    this.inits.push({ name, dims, dataType: INT64, values: BigInt64Array.from(values, BigInt) });
    return name;
  }

  dense(x: string, name: string, inDim: number, outDim: number): string {
    const b = this.param(`${name}.bias`, [outDim], "zeros");
    if (!this.quantize) return this.op("Add", [this.op("MatMul", [x, this.param(`${name}.weight`, [inDim, outDim], "normal")]), b]);
    // x → uint8 with a per-call scale; W stored int8; int32 product rescaled to float.
    this.inits.push({ name: `${name}.weight_quantized`, dims: [inDim, outDim], dataType: INT8, fill: "normal-int8" });
    this.inits.push({ name: `${name}.weight_zero_point`, dims: [], dataType: INT8, values: new Int8Array(1) });
    const [xq, xScale, xZero] = this.opMulti("DynamicQuantizeLinear", [x], 3) as [string, string, string];
    const product = this.op("MatMulInteger", [xq, `${name}.weight_quantized`, xZero, `${name}.weight_zero_point`]);
    const scale = this.op("Mul", [xScale, this.floats(`${name}.weight_scale`, [INT8_WEIGHT_SCALE])]);
    return this.op("Add", [this.op("Mul", [this.op("Cast", [product], [int("to", FLOAT)]), scale]), b]);
  }

  layerNorm(x: string, name: string, dim: number): string {
    const scale = this.param(`${name}.weight`, [dim], "ones");
    const bias = this.param(`${name}.bias`, [dim], "zeros");
    return this.op("LayerNormalization", [x, scale, bias], [int("axis", -1), float("epsilon", LAYER_NORM_EPS)]);
  }
}

function tensorInfo(name: string, elemType: number, dims: (string | number)[]): Onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function validate(p: BertParams): void {
  for (const [key, value] of Object.entries(p)) {
    if (!Number.isInteger(value) || value < (key === "seed" ? 0 : 1)) {
      throw new Error(`BertParams.${key} must be a positive integer, got ${value}`);
    }
  }
  if (p.hidden % p.heads !== 0) throw new Error(`hidden (${p.hidden}) must be divisible by heads (${p.heads})`);
}

/** The graph (nodes, inputs, outputs) plus the initializer specs whose data is generated while writing. */
export function buildBertGraph(p: BertParams, outputs: readonly BertOutput[] = BERT_OUTPUTS, { quantize = false } = {}) {
  validate(p);
  if (outputs.length === 0) throw new Error("at least one output is required");
  const g = new GraphBuilder(quantize);
  const H = p.hidden;
  const headDim = H / p.heads;

  // Embeddings: word + position (sliced to the sequence length) + token type, then LayerNorm.
  const seqLen = g.op("Shape", ["input_ids"], [int("start", 1), int("end", 2)]);
  const positions = g.op("Slice", [
    g.param("bert.embeddings.position_embeddings.weight", [p.maxPositions, H], "normal"),
    g.int64s("const.zero_1d", [0]),
    seqLen,
    g.int64s("const.zero_axis", [0]),
  ]);
  const words = g.op("Gather", [g.param("bert.embeddings.word_embeddings.weight", [p.vocabSize, H], "normal"), "input_ids"]);
  const types = g.op("Gather", [g.param("bert.embeddings.token_type_embeddings.weight", [TYPE_VOCAB_SIZE, H], "normal"), "token_type_ids"]);
  let x = g.layerNorm(g.op("Add", [g.op("Add", [words, positions]), types]), "bert.embeddings.LayerNorm", H);

  // Additive mask [batch, 1, 1, seq]: 0 where attention_mask is 1, MASK_NEGATIVE where it is 0.
  const one = g.floats("const.one", [1]);
  const keep = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], [int("to", FLOAT)]), g.int64s("const.mask_axes", [1, 2])]);
  const maskBias = g.op("Mul", [g.op("Sub", [one, keep]), g.floats("const.mask_negative", [MASK_NEGATIVE])]);

  const headShape = g.int64s("const.head_shape", [0, 0, p.heads, headDim]);
  const hiddenShape = g.int64s("const.hidden_shape", [0, 0, H]);
  const scale = g.floats("const.attention_scale", [Math.sqrt(headDim)]);
  const half = g.floats("const.half", [0.5]);
  const sqrt2 = g.floats("const.sqrt2", [Math.SQRT2]);
  const toHeads = (t: string, perm: number[]) => g.op("Transpose", [g.op("Reshape", [t, headShape])], [ints("perm", perm)]);

  for (let i = 0; i < p.layers; i++) {
    const prefix = `bert.encoder.layer.${i}`;
    const q = toHeads(g.dense(x, `${prefix}.attention.self.query`, H, H), [0, 2, 1, 3]);
    const k = toHeads(g.dense(x, `${prefix}.attention.self.key`, H, H), [0, 2, 3, 1]); // pre-transposed for Q·Kᵀ
    const v = toHeads(g.dense(x, `${prefix}.attention.self.value`, H, H), [0, 2, 1, 3]);
    const scores = g.op("Add", [g.op("Div", [g.op("MatMul", [q, k]), scale]), maskBias]);
    const probs = g.op("Softmax", [scores], [int("axis", -1)]);
    const context = g.op("Transpose", [g.op("MatMul", [probs, v])], [ints("perm", [0, 2, 1, 3])]);
    const attnOut = g.dense(g.op("Reshape", [context, hiddenShape]), `${prefix}.attention.output.dense`, H, H);
    const attn = g.layerNorm(g.op("Add", [attnOut, x]), `${prefix}.attention.output.LayerNorm`, H);

    // Exact (erf) GELU as in BERT: 0.5·h·(1 + erf(h/√2)).
    const h = g.dense(attn, `${prefix}.intermediate.dense`, H, p.intermediate);
    const gelu = g.op("Mul", [g.op("Mul", [h, half]), g.op("Add", [one, g.op("Erf", [g.op("Div", [h, sqrt2])])])]);
    const ffnOut = g.dense(gelu, `${prefix}.output.dense`, p.intermediate, H);
    x = g.layerNorm(g.op("Add", [ffnOut, attn]), `${prefix}.output.LayerNorm`, H);
  }

  const graphOutputs: Onnx.IValueInfoProto[] = [];
  if (outputs.includes("logits")) {
    const first = g.op("Gather", [x, g.int64s("const.first_token", [0], [])], [int("axis", 1)]);
    const pooled = g.op("Tanh", [g.dense(first, "bert.pooler.dense", H, H)]);
    g.op("Identity", [g.dense(pooled, "classifier", H, p.numLabels)], [], "logits");
    graphOutputs.push(tensorInfo("logits", FLOAT, ["batch_size", p.numLabels]));
  }
  if (outputs.includes("last_hidden_state")) {
    g.op("Identity", [x], [], "last_hidden_state");
    graphOutputs.push(tensorInfo("last_hidden_state", FLOAT, ["batch_size", "sequence_length", H]));
  }

  const inputs = ["input_ids", "attention_mask", "token_type_ids"].map((name) => tensorInfo(name, INT64, ["batch_size", "sequence_length"]));
  const graph: Onnx.IGraphProto = { name: "bert", node: g.nodes, input: inputs, output: graphOutputs };
  return { graph, initializers: g.inits };
}

/** Box–Muller normal samples from one seeded stream (uses both values of each pair). */
function normalSampler(seed: number, std: number): () => number {
  const uniform = seededRandom(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const radius = std * Math.sqrt(-2 * Math.log(1 - uniform()));
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

/** Tag + length prefix of a length-delimited protobuf field. */
const lengthPrefix = (field: number, length: number) => Uint8Array.from([...varint((field << 3) | 2), ...varint(length)]);

// Protobuf field numbers (onnx.proto): ModelProto.graph, GraphProto.initializer, TensorProto.raw_data.
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;

/** Buffers small writes into 1 MiB chunks so the file is produced without holding the weights in memory. */
class FileSink {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  bytes = 0;
  constructor(private readonly fd: number) {}

  write(data: Uint8Array): void {
    if (this.used + data.length > this.buf.length) this.flush();
    if (data.length > this.buf.length) writeSync(this.fd, data);
    else {
      this.buf.set(data, this.used);
      this.used += data.length;
    }
    this.bytes += data.length;
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }
}

function writeFill(sink: FileSink, count: number, fill: Fill, next: () => number): void {
  if (fill === "normal-int8") {
    const chunk = new Int8Array(Math.min(count, 1 << 16));
    for (let done = 0; done < count; done += chunk.length) {
      const n = Math.min(chunk.length, count - done);
      for (let i = 0; i < n; i++) chunk[i] = Math.max(-127, Math.min(127, Math.round(next() / INT8_WEIGHT_SCALE)));
      sink.write(new Uint8Array(chunk.buffer, 0, n));
    }
    return;
  }
  const chunk = new Float32Array(Math.min(count, 1 << 16));
  if (fill === "ones") chunk.fill(1);
  for (let done = 0; done < count; done += chunk.length) {
    const n = Math.min(chunk.length, count - done);
    if (fill === "normal") for (let i = 0; i < n; i++) chunk[i] = next();
    sink.write(new Uint8Array(chunk.buffer, 0, n * 4));
  }
}

/**
 * Writes the model as a single self-contained .onnx file (weights as raw_data initializers).
 * The protobuf is assembled by hand around onnx-proto-encoded pieces: every length is known
 * from the shapes, so each tensor's data can be generated and written chunk by chunk.
 * Returns the file size in bytes.
 */
export function writeBertOnnx(file: string, params: BertParams, outputs: readonly BertOutput[] = BERT_OUTPUTS, { quantize = false } = {}): number {
  if (endianness() !== "LE") throw new Error("ONNX raw_data is little-endian; big-endian hosts are not supported");
  const { graph, initializers } = buildBertGraph(params, outputs, { quantize });
  const modelHead = onnx.ModelProto.encode({
    irVersion: IR_VERSION,
    producerName: "rerank-rag test-models",
    opsetImport: [{ domain: "", version: OPSET }],
  }).finish();
  const graphHead = onnx.GraphProto.encode(graph).finish();
  const tensors = initializers.map((init) => {
    const head = onnx.TensorProto.encode({ name: init.name, dims: init.dims, dataType: init.dataType }).finish();
    const count = init.dims.reduce((a, b) => a * b, 1);
    const rawLength = count * (init.dataType === INT64 ? 8 : init.dataType === INT8 ? 1 : 4);
    const rawPrefix = lengthPrefix(TENSOR_RAW_DATA, rawLength);
    const tensorLength = head.length + rawPrefix.length + rawLength;
    return { init, head, count, rawPrefix, prefix: lengthPrefix(GRAPH_INITIALIZER, tensorLength), tensorLength };
  });
  const graphLength = tensors.reduce((sum, t) => sum + t.prefix.length + t.tensorLength, graphHead.length);

  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  const sink = new FileSink(fd);
  try {
    const next = normalSampler(params.seed, INIT_STD);
    sink.write(modelHead);
    sink.write(lengthPrefix(MODEL_GRAPH, graphLength));
    sink.write(graphHead);
    for (const t of tensors) {
      sink.write(t.prefix);
      sink.write(t.head);
      sink.write(t.rawPrefix);
      const { values, fill } = t.init;
      if (values) sink.write(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      else writeFill(sink, t.count, fill ?? "zeros", next);
    }
    sink.flush();
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file); // atomic: a half-written model is never visible under the final name
  return sink.bytes;
}
