// Proves the generated BERT folders load offline through the real transformers.js + onnxruntime
// stack, exactly like Hub models (model id = folder name under env.localModelPath).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AutoModel, AutoModelForSequenceClassification, AutoTokenizer, env, pipeline, type Tensor } from "@huggingface/transformers";
import { TINY } from "../scripts/test-models/bert-onnx.js";
import { writeTestModel } from "../scripts/test-models/write-model.js";

const root = mkdtempSync(join(tmpdir(), "test-models-"));
const models = join(root, "models");
const ID = "tiny-bert";

const queries = ["what is the capital of france", "what is the capital of france", "how do neural networks learn"];
const passages = [
  "paris is the capital and largest city of france",
  "the river flows through the mountain country",
  "training a neural network uses gradient descent on data",
];

const values = (t: Tensor) => Array.from(t.data as Float32Array);

beforeAll(() => {
  writeTestModel(join(models, ID), { preset: "tiny" });
  env.allowRemoteModels = false;
  env.localModelPath = models;
  // transformers.js checks its file cache before localModelPath, so a private one avoids stale shadows.
  env.cacheDir = join(root, "cache");
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("generated tiny BERT cross-encoder", () => {
  it("scores query/passage pairs with logits [batch, 1], batched like single runs", async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(ID);
    const model = await AutoModelForSequenceClassification.from_pretrained(ID, { dtype: "fp32" });

    const batch = tokenizer(queries, { text_pair: passages, padding: true, truncation: true });
    const { logits } = (await model(batch)) as { logits: Tensor };
    expect(logits.dims).toEqual([3, 1]);
    const batched = values(logits);
    expect(batched.every(Number.isFinite)).toBe(true);
    // Same query, different passages: the passage must change the score.
    expect(Math.abs(batched[0]! - batched[1]!)).toBeGreaterThan(1e-6);

    for (let i = 0; i < queries.length; i++) {
      const single = tokenizer(queries[i]!, { text_pair: passages[i]!, truncation: true });
      const { logits: one } = (await model(single)) as { logits: Tensor };
      expect(one.dims).toEqual([1, 1]);
      expect(Math.abs(values(one)[0]! - batched[i]!)).toBeLessThan(1e-5);
    }
  });

  it("exposes last_hidden_state [1, seq, hidden] to feature extraction and AutoModel", async () => {
    const extractor = await pipeline("feature-extraction", ID); // default dtype on Node: fp32 -> onnx/model.onnx
    const features = await extractor("retrieval with re-ranking");
    expect(features.dims[0]).toBe(1);
    expect(features.dims[2]).toBe(TINY.hidden);

    const tokenizer = await AutoTokenizer.from_pretrained(ID);
    const inputs = tokenizer("retrieval with re-ranking");
    const model = await AutoModel.from_pretrained(ID);
    const { last_hidden_state } = (await model(inputs)) as { last_hidden_state: Tensor };
    expect(last_hidden_state.dims).toEqual([1, inputs.input_ids.dims[1], TINY.hidden]);
    expect(features.dims).toEqual(last_hidden_state.dims);
  });

  it("encodes pairs BERT-style: [CLS] query [SEP] -> type 0, passage [SEP] -> type 1", async () => {
    const tokenizer = await AutoTokenizer.from_pretrained(ID);
    const enc = tokenizer("capital of france", { text_pair: "paris", return_tensor: false }) as unknown as {
      input_ids: number[];
      token_type_ids: number[];
    };
    const tokens = enc.input_ids.map((id) => tokenizer.decode([id]));
    expect(tokens).toEqual(["[CLS]", "capital", "of", "france", "[SEP]", "paris", "[SEP]"]);
    expect(enc.token_type_ids).toEqual([0, 0, 0, 0, 0, 1, 1]);
    expect(enc.input_ids.slice(0, 1)).toEqual([101]);
    // Words outside the vocabulary split into WordPiece pieces instead of becoming [UNK].
    expect(tokenizer.tokenize("walking")).toEqual(["w", "##al", "##k", "##ing"]);
  });
});

describe("generator", () => {
  it("is deterministic for a seed and skips folders that are already up to date", () => {
    const a = writeTestModel(join(root, "det-a", ID));
    const b = writeTestModel(join(root, "det-b", ID));
    for (const { path } of a.files) {
      expect(readFileSync(join(a.dir, path)).equals(readFileSync(join(b.dir, path))), path).toBe(true);
    }
    expect(writeTestModel(a.dir).skipped).toBe(true);

    const reseeded = writeTestModel(join(root, "det-c", ID), { params: { ...TINY, seed: TINY.seed + 1 } });
    const onnx = (dir: string) => readFileSync(join(dir, "onnx/model.onnx"));
    expect(onnx(reseeded.dir).equals(onnx(a.dir))).toBe(false);
  });

  it("writes the variants bad-input tests need: 2 or 3 logits, or no logits output", async () => {
    // Distinct ids: transformers.js memoizes some per-id lookups regardless of localModelPath.
    writeTestModel(join(models, "two-logits"), { numLabels: 2 });
    writeTestModel(join(models, "three-logits"), { numLabels: 3 });
    writeTestModel(join(models, "no-logits"), { omitLogits: true });
    const tokenizer = await AutoTokenizer.from_pretrained(ID);
    const inputs = tokenizer(["a query"], { text_pair: ["a passage"] });

    for (const [id, labels] of [
      ["two-logits", 2],
      ["three-logits", 3],
    ] as const) {
      const model = await AutoModelForSequenceClassification.from_pretrained(id);
      expect(model.config).toMatchObject({ num_labels: labels });
      const { logits } = (await model(inputs)) as { logits: Tensor };
      expect(logits.dims).toEqual([1, labels]);
    }
    const headless = await AutoModel.from_pretrained("no-logits");
    expect(Object.keys((await headless(inputs)) as object)).toEqual(["last_hidden_state"]);
  });
});
