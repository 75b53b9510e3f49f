import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Live tests call the real Cohere and OpenAI APIs: only `npm run test:live` runs them.
    exclude: [...configDefaults.exclude, "test/live/**"],
    // Native addons (hnswlib, onnxruntime) are safest in child processes.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
