import type { RagConfig } from "../../src/config/index.js";
import { ingest, writerFor, type IngestOptions } from "../../src/ingest/ingest.js";

/**
 * Runs an ingest while another writer holds the store's lock, aborting it as soon as it starts to
 * wait: what it threw, or "still waiting" when it did not stop within 5 s (before the lock came free).
 */
export async function ingestAbortedWhileLocked(config: RagConfig, options: Omit<IngestOptions, "config" | "signal" | "onWait">): Promise<unknown> {
  let letGo!: () => void;
  const held = new Promise<void>((resolve) => (letGo = resolve));
  let locked!: () => void;
  const taken = new Promise<void>((resolve) => (locked = resolve));
  const holder = (await writerFor(config)).session(
    async () => {
      locked();
      await held;
    },
    { rebuild: false },
  );
  await taken;
  const abort = new AbortController();
  const waiting = ingest({ ...options, config, signal: abort.signal, onWait: () => abort.abort() });
  const outcome = await Promise.race([waiting.catch((e: unknown) => e), new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5_000))]);
  letGo();
  await holder;
  return outcome;
}
