import cliProgress from "cli-progress";
import { loadConfig } from "../../config/index.js";
import { HUB_GGUF } from "../../models/gguf.js";
import { importGguf, importModel, listGgufs, listModels, pullGguf, pullModel, type GgufFile, type ModelFolder } from "../../models/provision.js";
import { shownHubHost } from "../../models/transformers-env.js";
import { bold, dim, note, printable } from "../output.js";

export interface ModelsFlags {
  modelsDir?: string;
  json?: boolean;
}

/** `rerank-rag models pull <id>` */
export async function runModelsPull(id: string, flags: ModelsFlags): Promise<void> {
  const config = loadConfig({ RAG_MODELS_DIR: flags.modelsDir });
  if (!flags.json) note(`Pulling ${id} from ${shownHubHost()} into ${config.RAG_MODELS_DIR} …`);
  if (HUB_GGUF.test(id)) {
    // Draws nothing when stderr is not a terminal.
    const bar = new cliProgress.SingleBar(
      { format: "  {bar} {percentage}% {value}/{total} MiB", stream: process.stderr, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    const mib = (bytes: number) => Math.round(bytes / 1024 ** 2);
    const gguf = await pullGguf(id, config.RAG_MODELS_DIR, {
      timeoutMs: config.RAG_TIMEOUT_MS,
      onProgress: flags.json
        ? undefined
        : (received, total) => {
            if (!bar.isActive) bar.start(mib(total ?? received), mib(received));
            bar.update(mib(received));
          },
    }).finally(() => bar.stop());
    printGguf(gguf, flags.json);
    return;
  }
  const model = await pullModel(id, config.RAG_MODELS_DIR, {
    timeoutMs: config.RAG_TIMEOUT_MS,
    onFile: flags.json ? undefined : (file) => note(dim(`  ${file}`)),
  });
  printFolder(model, flags.json);
}

/** `rerank-rag models import <dir> [--as <id>]` */
export async function runModelsImport(dir: string, flags: ModelsFlags & { as?: string }): Promise<void> {
  const config = loadConfig({ RAG_MODELS_DIR: flags.modelsDir });
  if (dir.toLowerCase().endsWith(".gguf")) printGguf(await importGguf(dir, config.RAG_MODELS_DIR, { as: flags.as }), flags.json);
  else printFolder(await importModel(dir, config.RAG_MODELS_DIR, { as: flags.as }), flags.json);
}

/** `rerank-rag models list` */
export async function runModelsList(flags: ModelsFlags): Promise<void> {
  const config = loadConfig({ RAG_MODELS_DIR: flags.modelsDir });
  const [models, gguf] = await Promise.all([listModels(config.RAG_MODELS_DIR), listGgufs(config.RAG_MODELS_DIR)]);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ modelsDir: config.RAG_MODELS_DIR, models, gguf }, null, 2)}\n`);
    return;
  }
  if (models.length === 0 && gguf.length === 0) {
    note(`No models in ${config.RAG_MODELS_DIR}. Add one with \`rerank-rag models pull <id>\`, or \`rerank-rag models import <dir>\` offline.`);
    return;
  }
  note(dim(`models in ${config.RAG_MODELS_DIR}`));
  if (gguf.length > 0) {
    const rows = gguf.map((g) => [g.id, formatBytes(g.bytes), g.quantisation, g.architecture].map((c) => printable(c)));
    process.stdout.write(table(["GGUF", "SIZE", "QUANT", "ARCHITECTURE"], rows));
    if (models.length === 0) return;
  }
  // Folder names and config.json fields are whatever the models directory holds.
  const rows = models.map((m) =>
    [m.id, formatBytes(m.bytes), String(m.files), m.onnx.join(", ") || "–", m.architectures.join(", ") || "–"].map((c) => printable(c)),
  );
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

function printGguf(model: GgufFile, json?: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    return;
  }
  note(
    `${model.id} is ready offline: ${formatBytes(model.bytes)}, ${model.quantisation}, ${model.architecture}; use it with RAG_LLM=llama-cpp RAG_LLM_MODEL=${model.id}`,
  );
  process.stdout.write(`${model.id}\t${model.file}\n`);
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
