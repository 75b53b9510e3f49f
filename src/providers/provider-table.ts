import type { RagConfig } from "../config/schema.js";
import { UsageError } from "../errors/index.js";

/**
 * One provider in a kind's table (re-rankers, embedders, LLMs). The table is the only place a
 * provider's name is spelled: the config enum, the CLI choices, `auto` and the hints derive from it.
 * It stays light (the CLI reads it at start-up): `create` imports the provider's modules lazily.
 */
export interface ProviderEntry<Made, Context> {
  /** One line for help text and hints. */
  readonly describe: string;
  /** The model used when none is configured (absent for providers without a model). */
  readonly defaultModel?: string;
  /** `auto` tries the entries that have a rank, highest first, and takes the first available one. */
  readonly autoRank?: number;
  /** Whether `auto` may take it, decided from the configuration alone (no network). Absent: always. */
  readonly isAvailable?: (config: RagConfig) => boolean;
  /** Why `auto` passed it over, in one line, when that is worth telling the user. */
  readonly unavailableNote?: (config: RagConfig) => string;
  /** Builds the provider; absent for one the index itself builds (the offline embedder is fitted on the corpus). */
  readonly create?: (context: Context) => Promise<Made>;
}

export type ProviderTable = Readonly<Record<string, ProviderEntry<unknown, never>>>;

/** The table's names, in its order (for the zod enum and the CLI choices, after "auto"). */
export function providerNames<T extends ProviderTable>(table: T): [keyof T & string, ...Array<keyof T & string>] {
  return Object.keys(table) as [keyof T & string, ...Array<keyof T & string>];
}

/** The entry for `name`, or a UsageError naming the kind and listing the valid names. */
export function providerEntry<T extends ProviderTable>(table: T, kind: string, name: string): T[keyof T] {
  if (Object.hasOwn(table, name)) return table[name] as T[keyof T];
  const valid = providerNames(table).map((n) => JSON.stringify(n));
  throw new UsageError(`Unknown ${kind} "${name}": the valid names are ${valid.join(", ")}, or "auto".`, {
    hint: `Choose one of ${valid.join(", ")}, or "auto" to pick one from what is set up.`,
  });
}

/** `auto`: the available entry with the highest rank, and what was passed over on the way (one line each). */
export function resolveAuto<T extends ProviderTable>(table: T, config: RagConfig): { name: keyof T & string; passedOver: string[] } {
  const ranked = providerNames(table)
    .filter((name) => table[name]!.autoRank !== undefined)
    .sort((l, r) => table[r]!.autoRank! - table[l]!.autoRank!);
  const passedOver: string[] = [];
  for (const name of ranked) {
    const entry = table[name]!;
    if (!entry.isAvailable || entry.isAvailable(config)) return { name, passedOver };
    if (entry.unavailableNote) passedOver.push(entry.unavailableNote(config));
  }
  throw new Error(`no provider in the table is always available for auto: ${ranked.join(", ")}`);
}
