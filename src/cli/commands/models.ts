import { loadConfig } from "../../config/index.js";
import { importModel, listModels, pullModel, type ModelFolder } from "../../models/provision.js";
import { hubHost } from "../../models/transformers-env.js";
import { bold, dim, note } from "../output.js";

export interface ModelsFlags {
  modelsDir?: string;
  json?: boolean;
}

/** `rerank-rag models pull <id>` */
export async function runModelsPull(id: string, flags: ModelsFlags): Promise<void> {
  const config = loadConfig({ RAG_MODELS_DIR: flags.modelsDir });
  if (!flags.json) note(`Pulling ${id} from ${hubHost()} into ${config.RAG_MODELS_DIR} …`);
  const model = await pullModel(id, config.RAG_MODELS_DIR, {
    timeoutMs: config.RAG_TIMEOUT_MS,
    onFile: flags.json ? undefined : (file) => note(dim(`  ${file}`)),
  });
  printFolder(model, flags.json);
}

/** `rerank-rag models import <dir> [--as <id>]` */
export async function runModelsImport(dir: string, flags: ModelsFlags & { as?: string }): Promise<void> {
  const config = loadConfig({ RAG_MODELS_DIR: flags.modelsDir });
  printFolder(await importModel(dir, config.RAG_MODELS_DIR, { as: flags.as }), flags.json);
}

/** `rerank-rag models list` */
export async function runModelsList(flags: ModelsFlags): Promise<void> {
  const config = loadConfig({ RAG_MODELS_DIR: flags.modelsDir });
  const models = await listModels(config.RAG_MODELS_DIR);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ modelsDir: config.RAG_MODELS_DIR, models }, null, 2)}\n`);
    return;
  }
  if (models.length === 0) {
    note(`No models in ${config.RAG_MODELS_DIR}. Add one with \`rerank-rag models pull <id>\`, or \`rerank-rag models import <dir>\` offline.`);
    return;
  }
  note(dim(`models in ${config.RAG_MODELS_DIR}`));
  const rows = models.map((m) => [m.id, formatBytes(m.bytes), String(m.files), m.onnx.join(", ") || "–", m.architectures.join(", ") || "–"]);
  process.stdout.write(table(["MODEL", "SIZE", "FILES", "ONNX", "ARCHITECTURES"], rows));
}

function printFolder(model: ModelFolder, json?: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    return;
  }
  note(`${model.id} is ready offline: ${model.files.length} files, ${formatBytes(model.bytes)} in ${model.dir}`);
  process.stdout.write(`${model.id}\t${model.dir}\n`);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return `${bold(line(header))}\n${rows.map(line).join("\n")}\n`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
