// docs/api.md is the hand-written list of the public API. This keeps it honest: every export
// of every entry point (imported from the built package by its own name, through package.json
// `exports`) is documented under its import path with the right kind, and every documented
// name exists.
import fs from "node:fs/promises";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./helpers/cli.js";

const pkg = JSON.parse(await fs.readFile(path.join(REPO_ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, { types: string; default: string }>;
};
const SUBPATHS = Object.keys(pkg.exports).map((key) => (key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`));
const RUNTIME_KINDS = new Set(["function", "class", "const"]);

/** `## \`subpath\`` sections → name → kind, from the tables' first two columns. */
async function documented(): Promise<Map<string, Map<string, string>>> {
  const text = await fs.readFile(path.join(REPO_ROOT, "docs", "api.md"), "utf8");
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split("\n")) {
    const heading = /^## `([^`]+)`\s*$/.exec(line);
    if (heading) sections.set(heading[1]!, (current = new Map()));
    const row = /^\| `([A-Za-z_$][\w$]*)` \| (\w+) \|/.exec(line);
    if (row && current) {
      expect(current.has(row[1]!), `${row[1]} is listed twice`).toBe(false);
      current.set(row[1]!, row[2]!);
    }
  }
  return sections;
}

/** Every name the declaration file of a subpath exports, with its kind. */
function declared(): Map<string, Map<string, string>> {
  const files = Object.fromEntries(Object.entries(pkg.exports).map(([key, target]) => [key, path.join(REPO_ROOT, target.types)]));
  const program = ts.createProgram(Object.values(files), {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const result = new Map<string, Map<string, string>>();
  for (const [key, file] of Object.entries(files)) {
    const source = program.getSourceFile(file);
    expect(source, `${file} (run npm run build)`).toBeDefined();
    const kinds = new Map<string, string>();
    for (const symbol of checker.getExportsOfModule(checker.getSymbolAtLocation(source!)!)) {
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      const f = target.flags;
      const kind =
        f & ts.SymbolFlags.Class
          ? "class"
          : f & ts.SymbolFlags.Function
            ? "function"
            : f & ts.SymbolFlags.Variable
              ? "const"
              : f & ts.SymbolFlags.Interface
                ? "interface"
                : "type";
      kinds.set(symbol.name, kind);
    }
    result.set(key === "." ? pkg.name : `${pkg.name}/${key.slice(2)}`, kinds);
  }
  return result;
}

describe("docs/api.md", () => {
  it("has one section per entry point in package.json exports", async () => {
    expect([...(await documented()).keys()]).toEqual(SUBPATHS);
  });

  it.each(SUBPATHS)("lists exactly the runtime exports of %s", async (subpath) => {
    const actual = Object.keys(await import(subpath)).sort();
    const docs = (await documented()).get(subpath)!;
    const documentedRuntime = [...docs]
      .filter(([, kind]) => RUNTIME_KINDS.has(kind))
      .map(([name]) => name)
      .sort();
    expect(actual.length).toBeGreaterThan(0);
    expect(documentedRuntime, `docs/api.md "${subpath}" vs import("${subpath}")`).toEqual(actual);
  });

  it("lists exactly the declared exports, types included, with their kinds", async () => {
    const docs = await documented();
    for (const [subpath, kinds] of declared()) {
      expect(Object.fromEntries(docs.get(subpath)!), `docs/api.md "${subpath}" vs its .d.ts`).toEqual(Object.fromEntries(kinds));
    }
  });
});
