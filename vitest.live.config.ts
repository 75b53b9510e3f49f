// `npm run test:live`: the opt-in tests against the real Cohere and OpenAI APIs (test/live/*.int.test.ts).
// Keys come from the environment or .env, as for the CLI; a suite without its key is skipped.
import dotenv from "dotenv";
import { defineConfig } from "vitest/config";

dotenv.config({ quiet: true });

export default defineConfig({
  test: {
    include: ["test/live/**/*.int.test.ts"],
    // Lists every test, so a skipped suite shows the key it waits for.
    reporters: ["verbose"],
    pool: "forks",
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
