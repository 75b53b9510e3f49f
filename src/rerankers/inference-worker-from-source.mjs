// Runs the TypeScript inference worker from the sources (tests, benchmarks). Node 20 does not
// give a worker its parent's loader hooks, so this registers tsx (a dev dependency) first.
import { register } from "tsx/esm/api";

register();
await import(new URL("./inference-worker.ts", import.meta.url).href);
