import { existsSync, readdirSync, statSync, type Dirent } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors/index.js";

/** What the header of a GGUF file says, read without llama.cpp (so `models list` works without node-llama-cpp). */
export interface GgufInfo {
  file: string;
  bytes: number;
  /** general.architecture, e.g. "llama", "qwen2". */
  architecture: string;
  /** general.name, when the file has one. */
  name?: string;
  /** From general.file_type, e.g. "Q4_K_M", "F16"; else guessed from the file name, else the commonest tensor type. */
  quantisation: string;
  /** <architecture>.context_length: the context the model was trained with. */
  trainContext?: number;
  /** Whether the file carries its own chat template (tokenizer.chat_template). */
  chatTemplate: boolean;
}

const HINT =
  "A GGUF model is a single .gguf file (llama.cpp's format), e.g. from a Hugging Face repository's Files tab; download it again if it was cut short.";

// llama.cpp's llama_ftype, the value of general.file_type.
const FILE_TYPES: Record<number, string> = {
  0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L",
  14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
  23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M",
  32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}; // prettier-ignore

// ggml tensor types: [elements per block, bytes per block], to know how long the tensor data must be.
const TENSOR_TYPES: Record<number, [number, number]> = {
  0: [1, 4], 1: [1, 2], 2: [32, 18], 3: [32, 20], 6: [32, 22], 7: [32, 24], 8: [32, 34], 9: [32, 36], 10: [256, 84],
  11: [256, 110], 12: [256, 144], 13: [256, 176], 14: [256, 210], 15: [256, 292], 16: [256, 66], 17: [256, 74], 18: [256, 98],
  19: [256, 50], 20: [32, 18], 21: [256, 110], 22: [256, 82], 23: [256, 136], 24: [1, 1], 25: [1, 2], 26: [1, 4], 27: [1, 8],
  28: [1, 8], 29: [256, 56], 30: [1, 2], 34: [256, 54], 35: [256, 66], 39: [32, 17],
}; // prettier-ignore

// Names of the ggml tensor types above, for files without general.file_type (named by their commonest tensor type).
const TENSOR_TYPE_NAMES =
  "F32 F16 Q4_0 Q4_1 - - Q5_0 Q5_1 Q8_0 Q8_1 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K IQ2_XXS IQ2_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS I8 I16 I32 I64 F64 IQ1_M BF16".split(
    " ",
  );

class Truncated extends Error {}

/** Reads a file front to back through a growing buffer: GGUF headers hold whole vocabularies (megabytes). */
class HeaderReader {
  private buffer = Buffer.alloc(0);
  private start = 0;
  pos = 0;
  constructor(
    private readonly handle: fs.FileHandle,
    private readonly size: number,
  ) {}

  private async need(n: number): Promise<Buffer> {
    if (this.pos + n > this.size) throw new Truncated();
    if (this.pos < this.start || this.pos + n > this.start + this.buffer.length) {
      const length = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
      this.buffer = Buffer.alloc(length);
      await this.handle.read(this.buffer, 0, length, this.pos);
      this.start = this.pos;
    }
    const at = this.pos - this.start;
    this.pos += n;
    return this.buffer.subarray(at, at + n);
  }

  async u32(): Promise<number> {
    return (await this.need(4)).readUInt32LE(0);
  }
  async u64(): Promise<number> {
    return Number((await this.need(8)).readBigUInt64LE(0));
  }
  async string(): Promise<string> {
    return (await this.need(await this.u64())).toString("utf8");
  }
  skip(n: number): void {
    if (this.pos + n > this.size) throw new Truncated();
    this.pos += n;
  }

  /** A metadata value of GGUF type `type`: numbers and strings are returned, arrays skipped. */
  async value(type: number): Promise<unknown> {
    const fixed = [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][type];
    if (fixed === undefined) throw new Error(`unknown metadata type ${type}`);
    if (type === 8) return this.string();
    if (type === 9) {
      const [inner, count] = [await this.u32(), await this.u64()];
      if (inner === 8) for (let i = 0; i < count; i++) this.skip(await this.u64());
      else if (inner === 9) throw new Error("nested metadata arrays");
      else this.skip(count * [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][inner]!);
      return undefined;
    }
    const bytes = await this.need(fixed);
    if (type === 0 || type === 7) return bytes.readUInt8(0);
    if (type === 4) return bytes.readUInt32LE(0);
    if (type === 5) return bytes.readInt32LE(0);
    if (type === 10) return Number(bytes.readBigUInt64LE(0));
    return undefined;
  }
}

/**
 * Reads and checks a GGUF file's header: the magic, the metadata, and that the file is as long as its
 * tensors say (a cut download fails here, by name, instead of deep inside llama.cpp).
 * Throws a UsageError naming the file for a missing file, a file that is not GGUF, or a truncated one.
 */
export async function readGguf(file: string): Promise<GgufInfo> {
  const stat = await fs.stat(file).catch(() => null);
  if (!stat?.isFile()) {
    throw new UsageError(`GGUF model ${file} does not exist${stat ? " (it is not a file)" : ""}.`, {
      setting: "RAG_LLM_MODEL",
      hint: "Set RAG_LLM_MODEL to a .gguf file, or to a Hub reference owner/repo/file.gguf after `rerank-rag models pull owner/repo/file.gguf`.",
    });
  }
  const handle = await fs.open(file, "r");
  try {
    const reader = new HeaderReader(handle, stat.size);
    const magic = stat.size >= 4 ? (await handle.read(Buffer.alloc(4), 0, 4, 0)).buffer.toString("latin1") : "";
    if (magic !== "GGUF") {
      throw new UsageError(`${file} is not a GGUF model (it does not start with "GGUF").`, { setting: "RAG_LLM_MODEL", hint: HINT });
    }
    reader.skip(4);
    const version = await reader.u32();
    if (version < 2 || version > 3) {
      throw new UsageError(`${file} is GGUF version ${version}; llama.cpp reads versions 2 and 3.`, { setting: "RAG_LLM_MODEL", hint: HINT });
    }
    const [tensors, entries] = [await reader.u64(), await reader.u64()];
    const meta = new Map<string, unknown>();
    for (let i = 0; i < entries; i++) {
      const key = await reader.string();
      meta.set(key, await reader.value(await reader.u32()));
    }
    let dataEnd = 0;
    let sizesKnown = true;
    const typeCounts = new Map<number, number>();
    for (let i = 0; i < tensors; i++) {
      await reader.string();
      let elements = 1;
      for (let d = await reader.u32(); d > 0; d--) elements *= await reader.u64();
      const typeId = await reader.u32();
      typeCounts.set(typeId, (typeCounts.get(typeId) ?? 0) + 1);
      const type = TENSOR_TYPES[typeId];
      const offset = await reader.u64();
      if (type) dataEnd = Math.max(dataEnd, offset + (elements / type[0]) * type[1]);
      else sizesKnown = false;
    }
    const alignment = typeof meta.get("general.alignment") === "number" ? (meta.get("general.alignment") as number) : 32;
    const dataStart = Math.ceil(reader.pos / alignment) * alignment;
    if (sizesKnown && dataStart + dataEnd > stat.size) throw new Truncated();

    const architecture = typeof meta.get("general.architecture") === "string" ? (meta.get("general.architecture") as string) : "unknown";
    const fileType = meta.get("general.file_type");
    const trainContext = meta.get(`${architecture}.context_length`);
    const commonest = [...typeCounts].sort((a, b) => b[1] - a[1])[0]?.[0];
    return {
      file,
      bytes: stat.size,
      architecture,
      name: typeof meta.get("general.name") === "string" ? (meta.get("general.name") as string) : undefined,
      quantisation:
        (typeof fileType === "number" ? FILE_TYPES[fileType] : undefined) ??
        /(?:^|[-_.])((?:I?Q\d[\w]*?)|F16|BF16|F32)(?=\.gguf$)/i.exec(file)?.[1]?.toUpperCase() ??
        (commonest !== undefined ? TENSOR_TYPE_NAMES[commonest] : undefined) ??
        "unknown",
      trainContext: typeof trainContext === "number" ? trainContext : undefined,
      chatTemplate: typeof meta.get("tokenizer.chat_template") === "string",
    };
  } catch (error) {
    if (error instanceof Truncated) {
      throw new UsageError(`${file} is a truncated GGUF model: the file (${stat.size} bytes) ends before its header or weights do.`, {
        setting: "RAG_LLM_MODEL",
        hint: `${HINT} \`rerank-rag models pull\` resumes a cut download.`,
      });
    }
    if (error instanceof Error && !(error instanceof UsageError)) {
      throw new UsageError(`${file} has an unreadable GGUF header: ${error.message}.`, { setting: "RAG_LLM_MODEL", hint: HINT, cause: error });
    }
    throw error;
  } finally {
    await handle.close();
  }
}

/** `owner/repo/file.gguf` (the file may sit in a folder of the repository): a model on the Hub. */
export const HUB_GGUF = /^[\w.-]+\/[\w.-]+\/(?:[\w.-]+\/)*[\w.-]+\.gguf$/i;

/** The .gguf files in modelsDir, relative (pulled ones sit at owner/repo/file.gguf, imported ones at the top). */
export function ggufFiles(modelsDir: string, prefix = "", depth = 0): string[] {
  const found: string[] = [];
  for (const entry of readdirQuiet(path.join(modelsDir, prefix))) {
    if (entry.name.startsWith(".")) continue;
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isFile() && entry.name.toLowerCase().endsWith(".gguf")) found.push(relative);
    else if (entry.isDirectory() && depth < 3) found.push(...ggufFiles(modelsDir, relative, depth + 1));
  }
  return found.sort();
}

function readdirQuiet(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/**
 * The GGUF file RAG_LLM_MODEL names: a path (absolute, or relative to the working directory), a file
 * in RAG_MODELS_DIR (a pulled `owner/repo/file.gguf`, an imported `file.gguf`); unset, the only GGUF in
 * RAG_MODELS_DIR. `found` says whether the file exists; an error says what to do when none can be chosen.
 */
export function locateGguf(config: { RAG_LLM_MODEL?: string; RAG_MODELS_DIR: string }): { file: string; found: boolean } {
  const named = config.RAG_LLM_MODEL;
  if (named) {
    const candidates = [path.resolve(named), ...(path.isAbsolute(named) ? [] : [path.join(config.RAG_MODELS_DIR, named)])];
    const file = candidates.find((candidate) => statSync(candidate, { throwIfNoEntry: false })?.isFile());
    if (file) return { file, found: true };
    if (HUB_GGUF.test(named) && !existsSync(path.dirname(path.resolve(named)))) {
      throw new UsageError(`GGUF model ${named} is not in ${config.RAG_MODELS_DIR} yet.`, {
        setting: "RAG_LLM_MODEL",
        hint: `Download it with \`rerank-rag models pull ${named}\`, or copy the file over and run \`rerank-rag models import <file.gguf>\`.`,
      });
    }
    return { file: path.resolve(named), found: false };
  }
  const files = ggufFiles(config.RAG_MODELS_DIR);
  if (files.length === 1) return { file: path.join(config.RAG_MODELS_DIR, files[0]!), found: true };
  throw new UsageError(
    files.length === 0
      ? `No GGUF model: RAG_LLM_MODEL is not set and ${config.RAG_MODELS_DIR} holds no .gguf file.`
      : `RAG_LLM_MODEL is not set and ${config.RAG_MODELS_DIR} holds several GGUF models: ${files.join(", ")}.`,
    {
      setting: "RAG_LLM_MODEL",
      hint:
        files.length === 0
          ? "Set RAG_LLM_MODEL to a .gguf file, or fetch one with `rerank-rag models pull owner/repo/file.gguf` (e.g. a 0.5–3B instruct model at Q4_K_M)."
          : "Set RAG_LLM_MODEL to the one to use.",
    },
  );
}
