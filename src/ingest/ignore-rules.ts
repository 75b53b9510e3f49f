import fs from "node:fs/promises";
import path from "node:path";
import ignore, { type Ignore } from "ignore";

/** Read in every folder; the later one wins, so a .ragignore can re-include what its folder's .gitignore hides. */
const GITIGNORE = ".gitignore";
const RAGIGNORE = ".ragignore";
/** As git does where the file system ignores case. */
const IGNORE_CASE = process.platform === "darwin" || process.platform === "win32";

interface RuleSet {
  /** The folder the patterns are relative to. */
  dir: string;
  /** The ignore file the patterns come from, or null for the exclude patterns. */
  file: string | null;
  rules: Ignore;
}

/** The rules in force in one folder: the exclude patterns of its root, then ignore files from the root down. */
export interface RuleChain {
  exclude: RuleSet | null;
  /** Outermost first. */
  files: readonly RuleSet[];
}

/** The rule that ignores a path. */
export interface IgnoreMatch {
  pattern: string;
  /** The ignore file holding it, or null for an exclude pattern. */
  file: string | null;
}

/** An ignore file that exists but cannot be read. */
export interface UnreadableIgnoreFile {
  unreadable: string;
  code: string;
}

export interface IgnoreOptions {
  /** Honour .gitignore files as well as .ragignore ones. */
  gitignore: boolean;
  /** Patterns, relative to each root, that no ignore file can re-include. */
  exclude: readonly string[];
}

/** The ignore files of the ingested tree and the exclude patterns, with git's semantics (via `ignore`). */
export class IgnoreRules {
  constructor(private readonly options: IgnoreOptions) {}

  /** The chain at a root: only its exclude patterns, until its folders are entered. */
  atRoot(root: string): RuleChain {
    const exclude = this.options.exclude.length ? { dir: root, file: null, rules: newRules().add(this.options.exclude) } : null;
    return { exclude, files: [] };
  }

  /** The chain inside `dir`: the parent's, plus the ignore files found in `dir`. Fails with the file it cannot read. */
  async enter(chain: RuleChain, dir: string): Promise<RuleChain | UnreadableIgnoreFile> {
    const names = this.options.gitignore ? [GITIGNORE, RAGIGNORE] : [RAGIGNORE];
    // A folder is entered although an outer file ignores it only when a deeper file re-included it;
    // `ignore` would pass the outer exclusion down to all it holds, so that file stops applying here.
    const files = chain.files.filter((set) => !test(set, dir, true)?.ignored);
    for (const name of names) {
      const file = path.join(dir, name);
      let text: string;
      try {
        text = await fs.readFile(file, "utf8");
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
        if (code === "ENOENT") continue;
        return { unreadable: file, code };
      }
      files.push({ dir, file, rules: newRules().add(text) });
    }
    return { exclude: chain.exclude, files };
  }

  /**
   * The rule that ignores `entry`, or null. Exclude patterns decide first; then the deepest
   * ignore file with a rule for the path (negations included) decides, as in git.
   */
  match(chain: RuleChain, entry: string, isDirectory: boolean): IgnoreMatch | null {
    for (const set of [chain.exclude, ...[...chain.files].reverse()]) {
      const result = set && test(set, entry, isDirectory);
      if (result?.ignored) return { pattern: result.rule!.pattern, file: set!.file };
      if (result?.unignored) return null;
    }
    return null;
  }
}

function test(set: RuleSet, entry: string, isDirectory: boolean): ReturnType<Ignore["test"]> | null {
  const relative = path.relative(set.dir, entry);
  // A folder is not matched against its own rules.
  if (!relative) return null;
  // `ignore` takes POSIX paths; a trailing slash lets directory patterns (`drafts/`) match.
  return set.rules.test(relative.split(path.sep).join("/") + (isDirectory ? "/" : ""));
}

/** Why an explicitly named path was not ingested. */
export function ignoredReason({ pattern, file }: IgnoreMatch): string {
  if (file === null) return `ignored: matches --exclude "${pattern}"`;
  const hint = path.basename(file) === GITIGNORE ? " (--no-gitignore to include it)" : "";
  return `ignored: matches "${pattern}" in ${file}${hint}`;
}

function newRules(): Ignore {
  return ignore({ ignorecase: IGNORE_CASE });
}
