// Loaded only when a command fails: it needs the config schema, which `--version` must not load.
import { FLAG_FOR_KEY, type ConfigKey } from "../config/index.js";
import type { RagError } from "../errors/index.js";

/** The library's option names for settings the CLI sets by flag. */
const KEY_FOR_OPTION: Record<string, ConfigKey> = { fetchK: "RAG_FETCH_K", topN: "RAG_TOP_N" };

/**
 * A library error's hint, with the command-line flag for the setting it names (library hints name
 * options and keys), unless the hint names the flag already (a bad flag's own value).
 */
export function cliHint({ hint, setting }: Pick<RagError, "hint" | "setting">): string | undefined {
  const flag = setting && FLAG_FOR_KEY[(KEY_FOR_OPTION[setting] ?? setting) as ConfigKey];
  return hint && flag && !hint.includes(flag) ? `${hint} On the command line: ${flag}.` : hint;
}
