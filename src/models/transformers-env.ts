import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../errors/index.js";

const DEFAULT_HUB = "https://huggingface.co/";

/** The Hub to download from: `HF_ENDPOINT` (a mirror), as huggingface_hub honours it, else huggingface.co. */
export function hubHost(): string {
  const endpoint = process.env.HF_ENDPOINT?.trim();
  if (!endpoint) return DEFAULT_HUB;
  if (!URL.canParse(endpoint) || !["http:", "https:"].includes(new URL(endpoint).protocol)) {
    throw new UsageError(`Invalid HF_ENDPOINT=${JSON.stringify(endpoint)}: expected an http(s) URL.`, {
      hint: "Set HF_ENDPOINT to a Hub mirror such as https://hf-mirror.com, or unset it for huggingface.co.",
    });
  }
  return endpoint.endsWith("/") ? endpoint : `${endpoint}/`;
}

/**
 * Points transformers.js at the project's model directory (Hub downloads are cached
 * there and `models import` copies folders there, so one directory serves both) and at
 * the Hub or the mirror HF_ENDPOINT names.
 * Imported lazily: onnxruntime is heavy and most commands never need it.
 */
export async function loadTransformers(modelsDir: string) {
  const transformers = await import("@huggingface/transformers");
  transformers.env.cacheDir = modelsDir;
  transformers.env.localModelPath = modelsDir;
  transformers.env.remoteHost = hubHost();
  return transformers;
}

/** Whether a model folder is present locally (downloaded or imported). */
export function isModelPresent(modelsDir: string, model: string): boolean {
  const dir = path.isAbsolute(model) ? model : path.join(modelsDir, model);
  return fs.existsSync(path.join(dir, "config.json")) && fs.existsSync(path.join(dir, "onnx"));
}
