// `node --import ./record-loads.mjs …`: appends the URL of every module the process loads
// (ES modules, and CommonJS ones reached by import) to the file named by RECORD_LOADS, and at
// exit the CommonJS modules that were required, so a test can check what a command loads.
import fs from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

const file = process.env.RECORD_LOADS;
if (file) {
  register("./record-loads-hooks.mjs", import.meta.url);
  const cache = createRequire(import.meta.url).cache;
  process.on("exit", () =>
    fs.appendFileSync(
      file,
      Object.keys(cache)
        .map((p) => `${pathToFileURL(p).href}\n`)
        .join(""),
    ),
  );
}
