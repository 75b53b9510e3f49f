import fs from "node:fs";
import path from "node:path";
import { importOptional, redactUrl, secretsOf, UsageError } from "../errors/index.js";

const DEFAULT_HUB = "https://huggingface.co/";

/** The Hub to download from: `HF_ENDPOINT` (a mirror), as huggingface_hub honours it, else huggingface.co. */
export function hubHost(): string {
  const endpoint = process.env.HF_ENDPOINT?.trim();
  if (!endpoint) return DEFAULT_HUB;
  if (!URL.canParse(endpoint) || !["http:", "https:"].includes(new URL(endpoint).protocol)) {
    throw new UsageError(`Invalid HF_ENDPOINT=${JSON.stringify(redactUrl(endpoint, []))}: expected an http(s) URL.`, {
      hint: "Set HF_ENDPOINT to a Hub mirror such as https://hf-mirror.com, or unset it for huggingface.co.",
    });
  }
  const { username, password } = new URL(endpoint);
  if (username || password) {
    // fetch refuses such URLs, so every download would fail.
    throw new UsageError(`Invalid HF_ENDPOINT=${JSON.stringify(redactUrl(endpoint, []))}: it must not contain user:password@.`, {
      hint: "Remove the credentials from HF_ENDPOINT; private or gated models take HF_TOKEN instead.",
    });
  }
  return endpoint.endsWith("/") ? endpoint : `${endpoint}/`;
}

/** The Hub as messages show it: HF_ENDPOINT without user, password or query (and, like hubHost, ending in "/"). */
export function shownHubHost(): string {
  return `${redactUrl(hubHost(), secretsOf(process.env))}/`;
}

/**
 * Points transformers.js at the project's model directory (Hub downloads are cached
 * there and `models import` copies folders there, so one directory serves both) and at
 * the Hub or the mirror HF_ENDPOINT names.
 * Imported lazily and installed optionally: onnxruntime is heavy and most apps never need it.
 */
export async function loadTransformers(modelsDir: string) {
  const feature = "A local ONNX model (the cross-encoder re-ranker, transformers embeddings, `models pull`)";
  const transformers = await importOptional(["@huggingface/transformers"], feature, () => import("@huggingface/transformers"));
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

/** The file name suffix transformers.js gives each ONNX weights variant (onnx/model<suffix>.onnx). */
const DTYPE_SUFFIX: Record<string, string> = { fp32: "", fp16: "_fp16", q8: "_quantized", int8: "_int8", uint8: "_uint8", q4: "_q4" };

/**
 * The weights variant to load: the one asked for, or fp32 (with a one-line warning) when the
 * local model folder lacks that file, as many exports ship fp32 only. A model not on disk yet
 * keeps the asked variant: the download will say whether the Hub has it.
 */
export function dtypeOnDisk<T extends string>(modelsDir: string, model: string, dtype: T): T | "fp32" {
  if (dtype === "fp32" || !isModelPresent(modelsDir, model)) return dtype;
  const dir = path.isAbsolute(model) ? model : path.join(modelsDir, model);
  const file = `onnx/model${DTYPE_SUFFIX[dtype] ?? `_${dtype}`}.onnx`;
  if (fs.existsSync(path.join(dir, file))) return dtype;
  process.emitWarning(`${model} has no ${file}; loading the fp32 weights instead of dtype ${dtype}.`, { code: "RERANK_RAG_DTYPE_FALLBACK" });
  return "fp32";
}

/** What to do when onnxruntime cannot run a model on the GPU asked for. */
const DEVICE_HINTS: Record<string, string> = {
  cuda: "CUDA needs Linux x64 with CUDA 12 and cuDNN 9, and onnxruntime-node's GPU libraries, which its install script downloads from NuGet: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (not with ONNXRUNTIME_NODE_INSTALL=skip or without network access).",
  webgpu: "WebGPU in Node needs a GPU driver with Vulkan (Linux), Metal (macOS) or Direct3D 12 (Windows).",
  dml: "DirectML runs on Windows only, with onnxruntime-node's bundled DirectML build.",
};

/** A GPU device that failed to start, with how to install what it needs or how to go back to the CPU. */
export function deviceUnavailable(device: string, setting: string, cause: unknown): UsageError {
  const reason = (cause as Error)?.message?.split("\n")[0] ?? String(cause);
  return new UsageError(`The model cannot run on device "${device}": ${reason}`, {
    cause,
    setting,
    hint: `${DEVICE_HINTS[device] ?? "Use one of cpu, cuda, webgpu, dml."} Or set ${setting}=cpu.`,
  });
}
