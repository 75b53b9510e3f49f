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
  return JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8"));
}
