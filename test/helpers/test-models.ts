import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { writeTestModel, type WriteTestModelOptions } from "../../scripts/test-models/write-model.js";

/**
 * A models directory holding generated tiny BERT models in the Hub layout
 * (<dir>/<org>/<name>), so code loads them exactly as it would a downloaded model.
 */
export function makeModelsDir(models: Record<string, WriteTestModelOptions> = { "test-org/tiny-cross-encoder": { preset: "tiny" } }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rerank-rag-models-"));
  for (const [id, options] of Object.entries(models)) writeTestModel(path.join(dir, id), options);
  return dir;
}
