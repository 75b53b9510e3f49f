import path from "node:path";
import { IndexError, UsageError } from "../../errors/index.js";
import { IndexDir } from "../../store/index-dir.js";
import { configFromFlags, type CommonFlags } from "../flags.js";

const REBUILD = "Rebuild the index with `rerank-rag ingest --rebuild <paths…>`.";

/** `rerank-rag check`: every file of the live snapshot against the size and sha256 recorded at ingest. */
export async function runCheck(flags: Pick<CommonFlags, "index" | "json">): Promise<void> {
  const config = configFromFlags({ index: flags.index });
  if (config.RAG_STORE !== "hnsw") {
    throw new UsageError("`rerank-rag check` verifies a local index directory; a pgvector table is kept consistent by Postgres.", {
      hint: "Unset RAG_STORE (or set it to hnsw) and point --index at the index directory.",
    });
  }
  const dir = new IndexDir(config.RAG_INDEX_DIR);
  const { snapshot, checked, damage } = await dir.check();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ index: dir.root, snapshot, ok: damage.length === 0, checked, damaged: damage }, null, 2)}\n`);
  } else if (checked === null) {
    process.stdout.write(`${dir.root} has no checksums recorded (it was written by an earlier version), so its files cannot be verified. ${REBUILD}\n`);
  } else if (damage.length === 0) {
    process.stdout.write(`OK: all ${checked} index files in ${dir.root} match their checksums (${path.basename(snapshot)}).\n`);
  } else {
    for (const { file, problem } of damage) process.stdout.write(`damaged  ${path.join(snapshot, file)}: ${problem}\n`);
  }
  if (damage.length > 0) {
    throw new IndexError(`${damage.length} of ${checked} index files in ${snapshot} are damaged.`, { hint: REBUILD });
  }
}
