// `npm run examples`: runs every example in its own process, offline, and fails if any fails.
// The examples import "rerank-rag" itself (the package's own exports, from dist/), so build first.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const EXAMPLES = ["retrieval-chain.ts", "compression-pipeline.ts", "agent-tool.ts", "lcel-toggle.ts"] as const;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
if (!fs.existsSync(path.join(root, "dist", "src", "index.js"))) {
  console.error("rerank-rag is not built yet: run `npm run build` first.");
  process.exit(1);
}

const failed: string[] = [];
for (const example of EXAMPLES) {
  console.log(`\n━━ examples/${example} ━━`);
  const started = performance.now();
  const { status, signal } = spawnSync(process.execPath, ["--import", "tsx", path.join(here, example)], { cwd: root, stdio: "inherit" });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (status === 0) console.log(`✓ ${example} (${seconds} s)`);
  else {
    console.log(`✗ ${example} failed (${signal ?? `exit ${status}`}, ${seconds} s)`);
    failed.push(example);
  }
}
console.log(failed.length ? `\n${failed.length} of ${EXAMPLES.length} examples failed: ${failed.join(", ")}` : `\nAll ${EXAMPLES.length} examples ran.`);
process.exitCode = failed.length ? 1 : 0;
