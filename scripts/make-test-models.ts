// CLI: tsx scripts/make-test-models.ts [--out <dir>] [--preset tiny|minilm-l6] [--name <folder>] [--quantized]
// Writes a random-weight BERT model folder that transformers.js loads offline (model id = folder name).
import { resolve, join } from "node:path";
import { parseArgs } from "node:util";
import { PRESETS, writeTestModel, type PresetName } from "./test-models/write-model.js";

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: "models/test" },
      preset: { type: "string", default: "tiny" },
      name: { type: "string" },
      quantized: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("usage: tsx scripts/make-test-models.ts [--out models/test] [--preset tiny|minilm-l6] [--name <folder>] [--quantized]");
    return;
  }
  const preset = values.preset;
  if (!(preset in PRESETS)) {
    throw new Error(`unknown preset "${preset}" (expected one of: ${Object.keys(PRESETS).join(", ")})`);
  }
  const name = values.name ?? `${preset}-bert`;
  const dir = join(resolve(values.out), name);

  const started = performance.now();
  const result = writeTestModel(dir, { preset: preset as PresetName, quantized: values.quantized });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);

  console.log(`${result.skipped ? "up to date" : `wrote in ${seconds}s`}: ${dir}`);
  for (const file of result.files) console.log(`  ${file.path.padEnd(26)} ${formatBytes(file.bytes).padStart(10)}`);
  console.log(`load with env.localModelPath = "${resolve(values.out)}", model id "${name}"`);
}

main();
