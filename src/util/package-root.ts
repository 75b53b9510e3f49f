import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (works from src/ under tsx, from dist/ after the build, and installed under node_modules). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("rerank-rag: cannot find package.json above the CLI");
    dir = parent;
  }
  return dir;
}

/** A file of the package as a path to open from the working directory: relative below it (a checkout), else absolute (an installed package). */
export function packageFile(...segments: string[]): string {
  const file = path.join(packageRoot(), ...segments);
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}
