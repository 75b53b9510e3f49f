import { existsSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import type { DataType } from "@huggingface/transformers";
import { RagError, redact, secretsOf, UsageError } from "../errors/index.js";
import { idleTimeoutFetch } from "../util/idle-timeout-fetch.js";
import { ggufFiles, HUB_GGUF, readGguf, type GgufInfo } from "./gguf.js";
import { hubHost, isModelPresent, loadTransformers, shownHubHost } from "./transformers-env.js";

/** A model folder in RAG_MODELS_DIR: files are relative paths with `/` separators. */
export interface ModelFolder {
  id: string;
  dir: string;
  files: string[];
  bytes: number;
}

export interface ModelSummary {
  id: string;
  dir: string;
  bytes: number;
  files: number;
  architectures: string[];
  /** ONNX weight files under onnx/, e.g. model.onnx, model_quantized.onnx. */
  onnx: string[];
}

export interface PullOptions {
  /** transformers.js dtype: fp32 (the Node default, onnx/model.onnx), q8 (model_quantized.onnx), … */
  dtype?: string;
  /** Called once per file as it lands (or is found already present). */
  onFile?: (file: string) => void;
  /** Abort a request that sends nothing for this long (connecting or mid-download). Default 30 s. */
  timeoutMs?: number;
}

const VALID_FOLDER =
  "A model folder holds config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx (or onnx/model_quantized.onnx), like an ONNX repository on huggingface.co (e.g. Xenova/all-MiniLM-L6-v2).";

/** `name` or `org/name` in Hub characters; anything else (`..`, absolute, deeper) could escape modelsDir. */
function checkModelId(id: string): string {
  const parts = id.split("/");
  if (parts.length <= 2 && parts.every((part) => /^[\w.-]+$/.test(part)) && !id.includes("..")) return id;
  throw new UsageError(`Invalid model id ${JSON.stringify(id)}: expected "name" or "org/name" (letters, digits, "-", "_", "."), without "..".`, {
    hint: 'Use the id as on huggingface.co, e.g. "Xenova/all-MiniLM-L6-v2" (for imports: --as org/name).',
  });
}

/**
 * Downloads a model by letting transformers.js load it with RAG_MODELS_DIR as its file cache, which
 * stores `<modelsDir>/<id>/<file>`: exactly where offline loads (cacheDir, localModelPath) look.
 * Loading the ONNX session also proves the weights work. Files already present are not fetched again.
 */
export async function pullModel(id: string, modelsDir: string, options: PullOptions = {}): Promise<ModelFolder> {
  checkModelId(id);
  const host = shownHubHost();
  const transformers = await loadTransformers(modelsDir);
  const { env } = transformers;
  const saved = { allowRemoteModels: env.allowRemoteModels, fetch: env.fetch };
  const network: { error?: Error } = {};
  env.allowRemoteModels = true;
  // transformers.js rethrows a failed download without its cause: keep the first one for the message.
  env.fetch = idleTimeoutFetch(options.timeoutMs ?? 30_000, {
    base: saved.fetch as typeof fetch,
    headers: true,
    onError: (error) => (network.error ??= error),
  });

  const seen = new Set<string>();
  const progress_callback = (info: { status: string; file?: string }) => {
    if (info.status !== "done" || !info.file || seen.has(info.file)) return;
    seen.add(info.file);
    options.onFile?.(info.file);
  };
  const load = { cache_dir: modelsDir, progress_callback };
  let stage: "config" | "tokenizer" | "weights" = "config";
  try {
    const config = await transformers.AutoConfig.from_pretrained(id, load);
    stage = "tokenizer";
    await transformers.AutoTokenizer.from_pretrained(id, load);
    stage = "weights";
    // An unknown dtype is reported by transformers.js with the list of valid ones.
    const model = await transformers.AutoModel.from_pretrained(id, { ...load, config, dtype: options.dtype as DataType | undefined });
    await model.dispose();
  } catch (error) {
    throw pullError(error, { id, host, stage, dtype: options.dtype, network: network.error });
  } finally {
    Object.assign(env, saved);
  }
  const dir = path.join(modelsDir, id);
  return { id, dir, ...(await folderContents(dir)) };
}

function pullError(error: unknown, c: { id: string; host: string; stage: string; dtype?: string; network?: Error }): RagError {
  if (RagError.isInstance(error)) return error;
  // transformers.js quotes the file's URL, which holds HF_ENDPOINT's credentials if it has any.
  const message = redact(error instanceof Error ? error.message : String(error), secretsOf(process.env));
  // transformers.js throws ModelFileNotFoundError for 401/403/404: the Hub answers 401 for unknown repositories.
  const notFound = error instanceof Error && error.name === "ModelFileNotFoundError";
  if (notFound && c.stage === "config") {
    return new UsageError(`Model ${c.id} was not found on ${c.host} (${message})`, {
      cause: error,
      hint: "Check the id (org/name, as on huggingface.co); private or gated models need HF_TOKEN.",
    });
  }
  // Without tokenizer_config.json transformers.js fails with a TypeError rather than a not-found error.
  if (notFound || (c.stage === "tokenizer" && !c.network)) {
    const what = c.stage === "weights" ? `ONNX weights for dtype ${c.dtype ?? "fp32"}` : "usable tokenizer (tokenizer.json and tokenizer_config.json)";
    return new UsageError(`Model ${c.id} on ${c.host} has no ${what} (${message})`, {
      cause: error,
      hint: "transformers.js runs ONNX models: pick an ONNX conversion (e.g. an Xenova/… or onnx-community/… repository).",
    });
  }
  if (c.network) {
    const cause = (c.network.cause ?? {}) as { code?: string; message?: string };
    const reason = redact(c.network.name === "TimeoutError" ? c.network.message : (cause.code ?? cause.message ?? c.network.message), secretsOf(process.env));
    return new RagError(`Could not download ${c.id}: ${c.host} is unreachable (${reason}).`, {
      cause: error,
      hint:
        `Check the network or proxy, or set HF_ENDPOINT to a reachable Hub mirror. On an air-gapped machine, ` +
        `run \`rerank-rag models pull ${c.id}\` where the Hub is reachable, copy the folder <RAG_MODELS_DIR>/${c.id} over, ` +
        `then run \`rerank-rag models import <dir> --as ${c.id}\`.`,
    });
  }
  return new RagError(`Could not pull ${c.id} from ${c.host} (${c.stage}): ${message}`, { cause: error });
}

/**
 * Copies a model folder (e.g. carried over from a connected machine) into `<modelsDir>/<id>`: validated
 * first, copied to a temporary folder inside modelsDir, then renamed into place, so a reader never sees half a model.
 */
export async function importModel(sourceDir: string, modelsDir: string, options: { as?: string } = {}): Promise<ModelFolder> {
  const source = path.resolve(sourceDir);
  if (!(await fs.stat(source).catch(() => null))?.isDirectory()) {
    throw new UsageError(`${sourceDir} is not a directory.`, { hint: VALID_FOLDER });
  }
  const config = await readConfig(source);
  const missing = [
    config ? null : "config.json",
    ...["tokenizer.json", "tokenizer_config.json"].filter((file) => !existsSync(path.join(source, file))),
    ["onnx/model.onnx", "onnx/model_quantized.onnx"].some((file) => existsSync(path.join(source, file)))
      ? null
      : "onnx/model.onnx (or onnx/model_quantized.onnx)",
  ].filter((file): file is string => file !== null);
  if (missing.length > 0) {
    throw new UsageError(`${sourceDir} is not a usable model folder: missing ${missing.join(", ")}.`, { hint: VALID_FOLDER });
  }
  const named = typeof config?._name_or_path === "string" && /^[\w.-]+\/[\w.-]+$/.test(config._name_or_path) ? config._name_or_path : null;
  const id = checkModelId(options.as ?? named ?? path.basename(source));

  const target = path.join(modelsDir, id);
  await fs.mkdir(path.dirname(target), { recursive: true });
  // Dot-named, so listModels never shows a copy in progress or one left by a killed run.
  const temp = await fs.mkdtemp(path.join(modelsDir, ".import-"));
  const old = `${temp}.old`;
  try {
    // dereference: Hugging Face caches keep files as symlinks into a blobs folder.
    await fs.cp(source, temp, { recursive: true, dereference: true });
    const replacing = existsSync(target);
    if (replacing) await fs.rename(target, old);
    await fs.rename(temp, target);
    if (replacing) await fs.rm(old, { recursive: true, force: true });
  } catch (error) {
    await fs.rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { id, dir: target, ...(await folderContents(target)) };
}

/** config.json as an object; null when absent; a UsageError when it is not JSON. */
async function readConfig(dir: string): Promise<Record<string, unknown> | null> {
  const file = path.join(dir, "config.json");
  const text = await fs.readFile(file, "utf8").catch(() => null);
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`, { cause: error, hint: VALID_FOLDER });
  }
  throw new UsageError(`${file} is not a JSON object.`, { hint: VALID_FOLDER });
}

/** The models in modelsDir, as `name` or `org/name` folders (the layouts transformers.js resolves ids to). */
export async function listModels(modelsDir: string): Promise<ModelSummary[]> {
  const ids: string[] = [];
  for (const name of await subfolders(modelsDir)) {
    if (isModelPresent(modelsDir, name)) ids.push(name);
    else for (const inner of await subfolders(path.join(modelsDir, name))) if (isModelPresent(modelsDir, `${name}/${inner}`)) ids.push(`${name}/${inner}`);
  }
  return Promise.all(
    ids.sort().map(async (id) => {
      const dir = path.join(modelsDir, id);
      const { files, bytes } = await folderContents(dir);
      const config = await readConfig(dir).catch(() => null);
      const architectures = Array.isArray(config?.architectures) ? config.architectures.filter((a): a is string => typeof a === "string") : [];
      const onnx = files.filter((file) => file.startsWith("onnx/") && file.endsWith(".onnx")).map((file) => file.slice("onnx/".length));
      return { id, dir, bytes, files: files.length, architectures, onnx };
    }),
  );
}

async function subfolders(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith(".")).map((e) => e.name);
}

async function folderContents(dir: string, prefix = ""): Promise<{ files: string[]; bytes: number }> {
  const result = { files: [] as string[], bytes: 0 };
  for (const entry of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      const inner = await folderContents(dir, relative);
      result.files.push(...inner.files);
      result.bytes += inner.bytes;
    } else if (entry.isFile()) {
      result.files.push(relative);
      result.bytes += (await fs.stat(path.join(dir, relative))).size;
    }
  }
  result.files.sort();
  return result;
}

/** A GGUF model file in RAG_MODELS_DIR: `id` is its path there (owner/repo/file.gguf when pulled). */
export interface GgufFile extends GgufInfo {
  id: string;
}

export interface GgufPullOptions {
  /** Abort a request that sends nothing for this long (connecting or mid-download). Default 30 s. */
  timeoutMs?: number;
  /** Bytes on disk so far (a resumed download starts above 0) and the file's size when the server says it. */
  onProgress?: (received: number, total: number | undefined) => void;
}

/**
 * Downloads `owner/repo/file.gguf` from the Hub (or HF_ENDPOINT) to `<modelsDir>/owner/repo/file.gguf`.
 * The bytes go to a `.part` file first; run again after a cut connection and it asks for the rest
 * (an HTTP Range request), then checks the file is a whole GGUF before moving it into place.
 */
export async function pullGguf(ref: string, modelsDir: string, options: GgufPullOptions = {}): Promise<GgufFile> {
  if (!HUB_GGUF.test(ref) || ref.includes("..")) {
    throw new UsageError(`Invalid GGUF reference ${JSON.stringify(ref)}: expected owner/repo/file.gguf.`, {
      hint: "Name the file as in the repository's Files tab, e.g. Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf.",
    });
  }
  const target = path.join(modelsDir, ref);
  if (existsSync(target)) return { id: ref, ...(await readGguf(target)) };
  const [owner, repo, ...file] = ref.split("/");
  const host = shownHubHost();
  const url = `${hubHost()}${owner}/${repo}/resolve/main/${file.map(encodeURIComponent).join("/")}`;
  const part = `${target}.part`;
  await fs.mkdir(path.dirname(target), { recursive: true });
  const have = (await fs.stat(part).catch(() => null))?.size ?? 0;
  const headers: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
  if (process.env.HF_TOKEN) headers.authorization = `Bearer ${process.env.HF_TOKEN}`;
  const failed = (error: unknown) =>
    new RagError(`Could not download ${ref} from ${host}: ${redact(error instanceof Error ? error.message : String(error), secretsOf(process.env))}.`, {
      cause: error,
      hint: `Run the same command again to resume (${part} keeps what arrived), set HF_ENDPOINT to a reachable mirror, or copy the file over and run \`rerank-rag models import <file.gguf>\`.`,
    });
  let response: Response;
  try {
    response = await idleTimeoutFetch(options.timeoutMs ?? 30_000, { headers: true })(url, { headers, redirect: "follow" });
  } catch (error) {
    throw failed((error as Error).cause ?? error);
  }
  if (response.status === 401 || response.status === 404) {
    throw new UsageError(`${ref} was not found on ${host} (HTTP ${response.status}).`, {
      hint: "Check owner/repo/file.gguf against the repository's Files tab; private or gated models need HF_TOKEN.",
    });
  }
  const resumed = response.status === 206;
  if (!response.ok && response.status !== 416) throw failed(new Error(`HTTP ${response.status} ${response.statusText}`));
  if (response.status !== 416) {
    const length = Number(response.headers.get("content-length") ?? NaN);
    const total = Number(/\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1] ?? (resumed ? NaN : length));
    let received = resumed ? have : 0;
    const out = (await fs.open(part, resumed ? "a" : "w")).createWriteStream();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
        received += chunk.length;
        options.onProgress?.(received, Number.isFinite(total) ? total : undefined);
      }
    } catch (error) {
      throw failed(error);
    } finally {
      await new Promise<void>((resolve) => out.end(() => resolve()));
    }
  }
  await readGguf(part);
  await fs.rename(part, target);
  return { id: ref, ...(await readGguf(target)) };
}

/** Copies a GGUF file into `<modelsDir>/<as or its name>`, after checking it is a whole GGUF model. */
export async function importGguf(file: string, modelsDir: string, options: { as?: string } = {}): Promise<GgufFile> {
  await readGguf(file);
  const id = options.as ?? path.basename(file);
  if (!/^(?:[\w.-]+\/)*[\w.-]+\.gguf$/i.test(id) || id.split("/").includes("..")) {
    throw new UsageError(`Invalid name ${JSON.stringify(id)} for a GGUF model: expected file.gguf or owner/repo/file.gguf.`, {
      hint: "Pass --as owner/repo/file.gguf to file it under its Hub reference.",
    });
  }
  const target = path.join(modelsDir, id);
  await fs.mkdir(path.dirname(target), { recursive: true });
  // Copied beside the target under a dot name (never listed), then renamed: a reader never sees half a file.
  const temp = path.join(path.dirname(target), `.import-${process.pid}-${path.basename(target)}`);
  try {
    await fs.copyFile(file, temp);
    await fs.rename(temp, target);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
  return { id, ...(await readGguf(target)) };
}

/** The GGUF files in modelsDir with what their headers say; an unreadable one is listed with quantisation "unreadable". */
export async function listGgufs(modelsDir: string): Promise<GgufFile[]> {
  return Promise.all(
    ggufFiles(modelsDir).map(async (id) => {
      const file = path.join(modelsDir, id);
      return readGguf(file).then(
        (info) => ({ id, ...info }),
        async () => ({ id, file, bytes: (await fs.stat(file)).size, architecture: "?", quantisation: "unreadable", chatTemplate: false }),
      );
    }),
  );
}
