// Module hooks for record-loads.mjs (they run on the loader thread).
import fs from "node:fs";

export async function load(url, context, nextLoad) {
  fs.appendFileSync(process.env.RECORD_LOADS, `${url}\n`);
  return nextLoad(url, context);
}
