import fs from "node:fs";
import path from "node:path";
import { packageRoot } from "../util/package-root.js";

export { packageRoot };

export function packageInfo(): { name: string; version: string } {
  const file = path.join(packageRoot(), "package.json");
  const { name, version } = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: unknown; version?: unknown };
  if (typeof name !== "string" || typeof version !== "string") throw new Error(`rerank-rag: ${file} has no name or version; reinstall the package`);
  return { name, version };
}
