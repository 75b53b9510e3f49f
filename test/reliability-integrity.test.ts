// Damaged bytes and hostile file systems: an index file overwritten or cut short is reported by
// name before its bytes reach hnswlib (which would crash the process or answer wrongly), and a
// file-system failure in the index path is a sentence naming the path and the cause.
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EXIT_RUNTIME, EXIT_USAGE, RagError, UsageError } from "../src/errors/index.js";
import { ingest } from "../src/ingest/ingest.js";
import { indexFsError } from "../src/store/fs-errors.js";
import { IndexDir, MANIFEST_FILE } from "../src/store/index-dir.js";
import { startCli, runCli } from "./helpers/cli.js";
import { SMALL_FILE } from "./helpers/corpus.js";
import { pseudoRandomBytes, SAMPLE_DOCS, tempDir } from "./helpers/fs.js";
import { workspace, type Workspace } from "./helpers/index.js";

const QUESTION = "How do I take the ferry with a bicycle?";
const REBUILD = "run `rerank-rag ingest --rebuild <paths…>`";

let pristine: Workspace;

beforeAll(async () => {
  pristine = await workspace();
  await ingest({ paths: [pristine.docs], config: pristine.config });
}, 120_000);

/** A copy of the pristine index, so each test damages its own. */
async function freshIndex(): Promise<{ index: string; snapshot: string }> {
  const index = path.join(await tempDir(), "index");
  await fs.cp(pristine.indexDir, index, { recursive: true });
  const snapshot = path.join(index, "snapshots", (await fs.readFile(path.join(index, "CURRENT"), "utf8")).trim());
  return { index, snapshot };
}

/** Overwrites 4 KB in the middle of a file with garbage: same size, different bytes. */
async function overwrite4k(file: string): Promise<void> {
  const { size } = await fs.stat(file);
  const handle = await fs.open(file, "r+");
  try {
    await handle.write(pseudoRandomBytes(Math.min(4096, size), 7), 0, Math.min(4096, size), Math.max(0, (size >> 1) - 2048));
  } finally {
    await handle.close();
  }
}

/** The chunk settings the pristine index was built with, which an incremental ingest must repeat. */
const chunkFlags = ["--chunk-size", "400", "--chunk-overlap", "60"];
const ask = (index: string) => startCli(["ask", QUESTION, "--index", index]).done;
const check = (index: string, ...args: string[]) => runCli(["check", "--index", index, ...args]);

describe("damaged index files", () => {
  it("records the size and sha256 of every snapshot file but the manifest in the manifest", async () => {
    const { snapshot } = await freshIndex();
    const manifest = JSON.parse(await fs.readFile(path.join(snapshot, MANIFEST_FILE), "utf8"));
    const files = (await fs.readdir(snapshot)).filter((f) => f !== MANIFEST_FILE).sort();
    expect(files).toEqual(expect.arrayContaining(["hnswlib.index", "docstore.json", "offline-embedder.bin", "bm25-postings.bin"]));
    expect(Object.keys(manifest.checksums).sort()).toEqual(files);
    for (const file of files) {
      const bytes = await fs.readFile(path.join(snapshot, file));
      expect(manifest.checksums[file]).toEqual({ size: bytes.length, sha256: crypto.createHash("sha256").update(bytes).digest("hex") });
    }
  });

  it.each(["hnswlib.index", "docstore.json", "offline-embedder.bin", "bm25-postings.bin"])(
    "names %s when 4 KB of it are overwritten: ask exits 1 without a signal, check reports it",
    async (file) => {
      const { index, snapshot } = await freshIndex();
      await overwrite4k(path.join(snapshot, file));
      const run = await ask(index);
      expect(run.signal).toBeNull();
      expect(run.code).toBe(EXIT_RUNTIME);
      expect(run.stderr).toContain(`index file ${path.join(snapshot, file)} is damaged (its checksum differs from the one recorded at ingest); ${REBUILD}`);
      expect(run.stdout).toBe("");

      const checked = await check(index);
      expect(checked.code).toBe(EXIT_RUNTIME);
      expect(checked.stdout).toContain(`${file}: its checksum differs from the one recorded at ingest`);
    },
    60_000,
  );

  it.each(["args.json", "bm25-terms.json", "corpus-stats.json", "offline-embedder.json"])(
    "names %s when it is cut short, by its size",
    async (file) => {
      const { index, snapshot } = await freshIndex();
      const target = path.join(snapshot, file);
      const { size } = await fs.stat(target);
      await fs.truncate(target, size >> 1);
      const run = await ask(index);
      expect(run.signal).toBeNull();
      expect(run.code).toBe(EXIT_RUNTIME);
      expect(run.stderr).toContain(`index file ${target} is damaged (${size >> 1} bytes, ${size} recorded at ingest); ${REBUILD}`);
    },
    60_000,
  );

  it("reports a listed file that is missing, and lists every damaged file in check", async () => {
    const { index, snapshot } = await freshIndex();
    await fs.rm(path.join(snapshot, "bm25-terms.json"));
    await overwrite4k(path.join(snapshot, "hnswlib.index"));
    expect((await ask(index)).stderr).toMatch(/index file .*(bm25-terms\.json is damaged \(it is missing\)|hnswlib\.index is damaged)/);
    const checked = await check(index);
    expect(checked.code).toBe(EXIT_RUNTIME);
    expect(checked.stdout).toContain("bm25-terms.json: it is missing");
    expect(checked.stdout).toContain("hnswlib.index: its checksum differs");
    expect(checked.stderr).toContain(`2 of 8 index files in ${snapshot} are damaged.`);

    const json = JSON.parse((await check(index, "--json")).stdout);
    expect(json).toMatchObject({ ok: false, snapshot, checked: 8 });
    expect(json.damaged.map((d: { file: string }) => d.file).sort()).toEqual(["bm25-terms.json", "hnswlib.index"]);
  }, 60_000);

  it("says OK for an intact index, and answers from it", async () => {
    const { index } = await freshIndex();
    const checked = await check(index);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain(`OK: all 8 index files in ${index} match their checksums`);
    const run = await ask(index);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`[1] ${SMALL_FILE}`);
  }, 60_000);

  it("still opens an index written before checksums, and check says it cannot verify it", async () => {
    const { index, snapshot } = await freshIndex();
    const manifestFile = path.join(snapshot, MANIFEST_FILE);
    const { checksums: _dropped, ...old } = JSON.parse(await fs.readFile(manifestFile, "utf8"));
    await fs.writeFile(manifestFile, JSON.stringify(old));
    const run = await ask(index);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`[1] ${SMALL_FILE}`);
    const checked = await check(index);
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain("no checksums recorded");
  }, 60_000);

  it("fails an incremental ingest over a damaged file by name, and --rebuild recovers", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const snapshot = path.join(ws.indexDir, "snapshots", (await fs.readFile(path.join(ws.indexDir, "CURRENT"), "utf8")).trim());
    await overwrite4k(path.join(snapshot, "offline-embedder.bin"));
    await fs.appendFile(ws.files[SMALL_FILE]!, "\nThe ferry is replaced by a bus during repairs.\n");
    await expect(ingest({ paths: [ws.docs], config: ws.config })).rejects.toThrow(`index file ${path.join(snapshot, "offline-embedder.bin")} is damaged`);
    expect((await ingest({ paths: [ws.docs], config: ws.config, rebuild: true })).written).toBe(true);
    expect((await check(ws.indexDir)).code).toBe(0);
  }, 60_000);
});

/** Mounts with `mount` (root with CAP_SYS_ADMIN); false where this machine does not allow it. */
function mount(args: string[]): boolean {
  return spawnSync("mount", args, { stdio: "ignore" }).status === 0;
}
const umount = (dir: string) => spawnSync("umount", [dir], { stdio: "ignore" });

describe("file-system errors in the index path", () => {
  it("names the file in the way when the index path runs through one (ENOTDIR), exit 2", async () => {
    const root = await tempDir();
    const file = path.join(root, "passwd");
    await fs.writeFile(file, "root:x:0:0\n");
    const under = await runCli(["ingest", SAMPLE_DOCS, "--index", path.join(file, "idx")]);
    expect(under.code).toBe(EXIT_USAGE);
    expect(under.stderr).toContain(`Cannot create the index folder ${path.join(file, "idx")}: ${file} is a file, not a folder (ENOTDIR).`);
    expect(under.stderr).toContain("--index");
    const itself = await runCli(["ingest", SAMPLE_DOCS, "--index", file]);
    expect(itself.code).toBe(EXIT_USAGE);
    expect(itself.stderr).toContain(`Cannot use the index folder ${file}: ${file} is a file, not a folder (ENOTDIR).`);
    expect(await fs.readFile(file, "utf8")).toBe("root:x:0:0\n");
  });

  it("says the same when asking or checking an index path that is or runs through a file, exit 2", async () => {
    const root = await tempDir();
    const file = path.join(root, "hostname");
    await fs.writeFile(file, "host\n");
    for (const index of [file, path.join(file, "idx")]) {
      for (const args of [["ask", QUESTION], ["check"]]) {
        const run = await runCli([...args, "--index", index]);
        expect(run.code).toBe(EXIT_USAGE);
        expect(run.stderr).toContain(`Cannot read the index folder ${index}: ${file} is a file, not a folder (ENOTDIR).`);
        expect(run.stderr).toContain("hint: Choose a folder for the index (--index or RAG_INDEX_DIR).");
      }
    }
  });

  it("explains a read-only parent folder instead of Node's ENOENT, with a hint (read-only bind mount)", async (context) => {
    const parent = path.join(await tempDir(), "readonly");
    await fs.mkdir(parent);
    if (!mount(["--bind", "-o", "ro", parent, parent])) return context.skip("mount --bind -o ro is not permitted here; covered by the mapping tests below");
    try {
      for (const index of [path.join(parent, "a", "idx"), parent]) {
        const result = await runCli(["ingest", SAMPLE_DOCS, "--index", index]);
        expect(result.code).toBe(EXIT_USAGE);
        const verb = index === parent ? "write to" : "create";
        const where = index === parent ? "the file system is read-only" : `the file system holding ${parent} is read-only`;
        expect(result.stderr).toContain(`Cannot ${verb} the index folder ${index}: ${where} (EROFS).`);
        expect(result.stderr).toContain("hint: Choose a writable location with --index (or RAG_INDEX_DIR).");
        expect(result.stderr).not.toContain("ENOENT");
      }
    } finally {
      umount(parent);
    }
  });

  it("explains a full disk while writing a snapshot and leaves the live index (a tiny tmpfs)", async (context) => {
    const dir = path.join(await tempDir(), "tiny");
    await fs.mkdir(dir);
    // Room for the index and half of another: the next snapshot cannot fit.
    const { snapshot } = await freshIndex();
    let bytes = 0;
    for (const file of await fs.readdir(snapshot)) bytes += (await fs.stat(path.join(snapshot, file))).size;
    if (!mount(["-t", "tmpfs", "-o", `size=${Math.ceil((bytes * 1.5) / 4096) * 4096}`, "tmpfs", dir]))
      return context.skip("mounting a tmpfs is not permitted here; covered by the mapping tests below");
    try {
      const index = path.join(dir, "index");
      await fs.cp(pristine.indexDir, index, { recursive: true });
      const live = await fs.readFile(path.join(index, "CURRENT"), "utf8");
      const result = await runCli(["ingest", pristine.docs, SAMPLE_DOCS, "--index", index, ...chunkFlags]);
      expect(result.code).toBe(EXIT_RUNTIME);
      expect(result.stderr).toContain(`Cannot write to the index folder ${index}: the disk is full (ENOSPC).`);
      expect(result.stderr).toContain("the live index was not changed");
      expect(await fs.readFile(path.join(index, "CURRENT"), "utf8")).toBe(live);
      expect((await check(index)).code).toBe(0);
    } finally {
      umount(dir);
    }
  }, 60_000);

  /** A system error as Node raises it. */
  const errno = (code: string, syscall: string, file: string) =>
    Object.assign(new Error(`${code}: failed, ${syscall} '${file}'`), { code, syscall, path: file }) as NodeJS.ErrnoException;

  it.each([
    ["EROFS", "open", UsageError, "the file system is read-only (EROFS).", "Choose a writable location with --index"],
    ["EACCES", "open", UsageError, "permission denied (EACCES).", "Choose a folder you can write to with --index"],
    ["EPERM", "open", UsageError, "the operation is not permitted (EPERM).", "Choose a folder you can write to with --index"],
    ["ENOSPC", "write", RagError, "the disk is full (ENOSPC).", "the live index was not changed"],
    ["EDQUOT", "write", RagError, "the disk quota is used up (EDQUOT).", "the live index was not changed"],
  ])("maps %s in an existing index folder to a sentence with the path, the cause and a hint", async (code, syscall, kind, cause, hint) => {
    const root = await tempDir();
    const mapped = await indexFsError(errno(code, syscall, path.join(root, "manifest.json")), root);
    expect(mapped).toBeInstanceOf(kind);
    expect((mapped as RagError).message).toBe(`Cannot write to the index folder ${root}: ${cause}`);
    expect((mapped as RagError).hint).toContain(hint);
    expect((mapped as RagError).exitCode).toBe(kind === UsageError ? EXIT_USAGE : EXIT_RUNTIME);
    expect((mapped as RagError).cause).toMatchObject({ code });
  });

  it("tells a reader who may not read the index to get read access, not to write elsewhere", async () => {
    const root = await tempDir();
    const mapped = (await indexFsError(errno("EACCES", "open", path.join(root, "manifest.json")), root, "read")) as RagError;
    expect(mapped.message).toBe(`Cannot read the index folder ${root}: permission denied (EACCES).`);
    expect(mapped.hint).toBe("Ask its owner for read access (chmod -R a+rX on the folder), or point --index (or RAG_INDEX_DIR) at an index you can read.");
  });

  it("maps a failure to create the folder, naming the nearest existing folder as the culprit", async () => {
    const root = await tempDir();
    const index = path.join(root, "a", "b", "idx");
    const mapped = (await indexFsError(errno("EACCES", "mkdir", path.join(root, "a")), index)) as RagError;
    expect(mapped.message).toBe(`Cannot create the index folder ${index}: permission denied on ${root} (EACCES).`);
  });

  it("leaves errors it cannot explain unchanged", async () => {
    const root = await tempDir();
    const unknown = errno("EIO", "read", path.join(root, "x"));
    expect(await indexFsError(unknown, root)).toBe(unknown);
    const missing = errno("ENOENT", "open", path.join(root, "gone", "x"));
    expect(await indexFsError(missing, root)).toBe(missing);
    const plain = new Error("boom");
    expect(await indexFsError(plain, root)).toBe(plain);
  });

  it("maps an ENOSPC raised while a snapshot is written, through IndexDir.commitSnapshot", async () => {
    const { index } = await freshIndex();
    const live = await fs.readFile(path.join(index, "CURRENT"), "utf8");
    const dir = new IndexDir(index);
    const attempt = dir.withWriteLock(() => dir.commitSnapshot((d) => Promise.reject(errno("ENOSPC", "write", path.join(d, "hnswlib.index")))));
    await expect(attempt).rejects.toThrow(`Cannot write to the index folder ${index}: the disk is full (ENOSPC).`);
    expect(await fs.readFile(path.join(index, "CURRENT"), "utf8")).toBe(live);
  });
});
