import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (works from src/ under tsx and from dist/ after the build). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("rerank-rag: cannot find package.json above the CLI");
    dir = parent;
  }
  return dir;
}

export function packageInfo(): { name: string; version: string } {
  const file = path.join(packageRoot(), "package.json");
  const { name, version } = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
  if (typeof name !== "string" || typeof version !== "string") throw new Error(`rerank-rag: ${file} has no name or version; reinstall the package`);
  return { name, version };
}
