import picomatch from "picomatch";
import { UsageError } from "../errors/index.js";

/** A metadata value a filter compares with: as text, so `page=3` from the command line matches the number 3. */
export type FilterValue = string | number | boolean;

/**
 * Which chunks a query may see. `source` holds path globs (`"authentication/**"`, any of a list),
 * matched against the path inside the ingested folder (`relativePath`) or as ingested (`source`);
 * every other key is a metadata field equal to the value, or to one of a list (`in`). All keys
 * must hold (AND); an empty list matches nothing.
 */
export type ChunkFilterSpec = { source?: string | readonly string[] } & { readonly [key: string]: FilterValue | readonly FilterValue[] | undefined };

const marker = Symbol.for("rerank-rag.chunk-filter");
const accepts = Symbol.for("rerank-rag.accepts-chunk-filter");

/** Marks a store that applies a ChunkFilter inside its own search (HnswStore, the pgvector store). */
export interface ChunkFilterStore {
  readonly [accepts]: true;
}
export const ACCEPTS_CHUNK_FILTER: typeof accepts = accepts;

/** Whether a vector store takes a ChunkFilter as its search filter. */
export const acceptsChunkFilter = (store: object): boolean => accepts in store;

// strictBrackets: an unbalanced brace, bracket or parenthesis is an error, not literal text matching nothing.
const GLOB_OPTIONS = { dot: true, strictBrackets: true } as const;

/** A source glob as picomatch's regular expression, its syntax checked. */
function globPattern(glob: string): RegExp {
  try {
    return picomatch.makeRe(glob, GLOB_OPTIONS);
  } catch (error) {
    const missing = /^Missing (opening|closing): "(.)"/.exec((error as Error).message);
    const why = missing ? `missing ${missing[1]} "${missing[2]}" (escape it with a backslash to match it literally)` : (error as Error).message;
    throw filterError(`source glob ${JSON.stringify(glob)} is not valid: ${why}`);
  }
}

const isScalar = (value: unknown): value is FilterValue =>
  typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));

/** A checked filter: one object every store reads (a predicate for HNSW and BM25, SQL for pgvector). */
export class ChunkFilter {
  readonly [marker] = true;
  /** Source globs (any may match); null when the filter does not look at paths. */
  readonly sourceGlobs: readonly string[] | null;
  /** Metadata keys and the texts each may equal. */
  readonly fields: ReadonlyArray<{ key: string; values: readonly string[] }>;
  private readonly sourceMatch: ((path: string) => boolean) | null;

  constructor(spec: ChunkFilterSpec) {
    if (typeof spec !== "object" || spec === null || Array.isArray(spec)) {
      throw filterError(`a filter is an object of metadata keys, got ${JSON.stringify(spec)}`);
    }
    let globs: string[] | null = null;
    const fields: Array<{ key: string; values: string[] }> = [];
    for (const [key, raw] of Object.entries(spec)) {
      if (raw === undefined) continue;
      const list: unknown[] = Array.isArray(raw) ? raw : [raw];
      if (key === "source") {
        const bad = list.find((glob) => typeof glob !== "string" || glob.trim() === "");
        if (bad !== undefined) throw filterError(`source must be a path glob or a list of them, got ${JSON.stringify(bad)}`);
        globs = list as string[];
        globs.forEach(globPattern);
        continue;
      }
      const bad = list.find((value) => !isScalar(value));
      if (bad !== undefined) throw filterError(`${key} must be a string, number or boolean, or a list of them, got ${JSON.stringify(bad)}`);
      fields.push({ key, values: list.map(String) });
    }
    this.sourceGlobs = globs;
    this.fields = fields;
    this.sourceMatch = globs && globs.length > 0 ? picomatch(globs, GLOB_OPTIONS) : globs ? () => false : null;
  }

  static isInstance(value: unknown): value is ChunkFilter {
    return typeof value === "object" && value !== null && marker in value;
  }

  /** Whether a chunk with this metadata passes. */
  matches(metadata: Readonly<Record<string, unknown>>): boolean {
    if (this.sourceMatch) {
      const paths = [metadata.relativePath, metadata.source].filter((p): p is string => typeof p === "string");
      if (!paths.some((p) => this.sourceMatch!(p))) return false;
    }
    return this.fields.every(({ key, values }) => {
      const value = metadata[key];
      return isScalar(value) && values.includes(String(value));
    });
  }

  /**
   * The source globs as regular expressions (picomatch's own), for a store that matches in its
   * query language: Postgres's `~` reads the lookaheads and classes picomatch emits.
   */
  sourcePatterns(): string[] {
    return (this.sourceGlobs ?? []).map((glob) => globPattern(glob).source);
  }

  /** The filter as plain data, for traces and logs. */
  toJSON(): Record<string, readonly string[]> {
    return { ...(this.sourceGlobs ? { source: this.sourceGlobs } : {}), ...Object.fromEntries(this.fields.map(({ key, values }) => [key, values])) };
  }
}

function filterError(detail: string): UsageError {
  return new UsageError(`Invalid filter: ${detail}.`, {
    setting: "filter",
    hint: 'Pass e.g. { source: "authentication/**", lang: ["en", "fr"] } (on the command line: --filter source=authentication/** --filter lang=en,fr).',
  });
}

/** A filter from a spec, a checked filter as is, or null for none (undefined, or no keys). */
export function toChunkFilter(filter: ChunkFilterSpec | ChunkFilter | null | undefined): ChunkFilter | null {
  if (filter === undefined || filter === null) return null;
  const checked = ChunkFilter.isInstance(filter) ? filter : new ChunkFilter(filter);
  return checked.sourceGlobs === null && checked.fields.length === 0 ? null : checked;
}

/**
 * The command line's filters: each `key=value` (`source=docs/**`, `lang=en,fr` for any of a list),
 * repeatable, one key per flag. A key given twice is a mistake, not an OR.
 */
export function parseFilterArgs(args: readonly string[]): ChunkFilterSpec {
  const spec: Record<string, string[]> = {};
  for (const arg of args) {
    const eq = arg.indexOf("=");
    const key = eq > 0 ? arg.slice(0, eq).trim() : "";
    const value = eq > 0 ? arg.slice(eq + 1) : "";
    if (!key || !value.trim()) throw filterError(`--filter ${JSON.stringify(arg)} is not key=value`);
    if (Object.hasOwn(spec, key)) throw filterError(`--filter names ${key} twice; list its values once, comma-separated (${key}=a,b)`);
    spec[key] = splitList(value);
  }
  return spec;
}

/** Splits at commas outside braces, so a glob's `{a,b}` stays whole. */
function splitList(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of value) {
    if (char === "," && depth === 0) {
      parts.push(current);
      current = "";
      continue;
    }
    if (char === "{") depth++;
    else if (char === "}") depth = Math.max(0, depth - 1);
    current += char;
  }
  parts.push(current);
  return parts.map((v) => v.trim()).filter(Boolean);
}
