import fs from "node:fs";
import path from "node:path";

/**
 * Points transformers.js at the project's model directory: Hub downloads are cached
 * there and `models import` copies folders there, so one directory serves both.
 * Imported lazily: onnxruntime is heavy and most commands never need it.
 */
export async function loadTransformers(modelsDir: string) {
  const transformers = await import("@huggingface/transformers");
  transformers.env.cacheDir = modelsDir;
  transformers.env.localModelPath = modelsDir;
  return transformers;
}

/** Whether a model folder is present locally (downloaded or imported). */
export function isModelPresent(modelsDir: string, model: string): boolean {
  const dir = path.isAbsolute(model) ? model : path.join(modelsDir, model);
  return fs.existsSync(path.join(dir, "config.json")) && fs.existsSync(path.join(dir, "onnx"));
}
