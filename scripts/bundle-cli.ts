// Bundles the compiled CLI into dist/bin: one file per command instead of ~500 modules
// (LangChain, zod, langsmith) cuts Node's module loading, the bulk of a cold start.
// The library (dist/src) stays unbundled so apps share one @langchain/core with us.
import * as esbuild from "esbuild";

/** Native addons, WebAssembly and the heavy optional parts: loaded from node_modules, only by the commands that use them. */
const EXTERNAL = ["@huggingface/transformers", "onnxruntime-node", "onnxruntime-web", "sharp", "hnswlib-node", "pg", "unpdf", "cohere-ai", "node-llama-cpp"];

await esbuild.build({
  entryPoints: {
    "rerank-rag": "dist/src/cli/bin.js",
    // The re-ranking worker pool starts it by URL next to the chunk that needs it.
    "inference-worker": "dist/src/rerankers/inference-worker.js",
  },
  outdir: "dist/bin",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  logLevel: "warning",
});
