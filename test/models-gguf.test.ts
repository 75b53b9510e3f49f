import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pullGguf } from "../src/models/provision.js";
import { cleanEnv, REPO_ROOT, runCli } from "./helpers/cli.js";
import { startHubServer } from "./helpers/hub-server.js";

const MODEL = path.resolve(REPO_ROOT, "..", "shared", "models", "stories260K.gguf");
const present = fs.existsSync(MODEL);
if (!present) console.warn(`Skipping the GGUF model tests: the test model ${MODEL} is absent.`);
const REF = "karpathy/tinyllamas/stories260K.gguf";

let work: string;
let hub: Awaited<ReturnType<typeof startHubServer>>;
beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), "rerank-rag-gguf-"));
  const repo = path.join(work, "hub");
  await fsp.mkdir(repo);
  if (present) await fsp.copyFile(MODEL, path.join(repo, "stories260K.gguf"));
  hub = await startHubServer({ "karpathy/tinyllamas": repo });
  process.env.HF_ENDPOINT = hub.url;
});
afterAll(async () => {
  delete process.env.HF_ENDPOINT;
  await hub.close();
  await fsp.rm(work, { recursive: true, force: true });
});
afterEach(() => hub.requests.splice(0));

describe.skipIf(!present)("GGUF models: pull, import, list", () => {
  it("pulls owner/repo/file.gguf from HF_ENDPOINT into RAG_MODELS_DIR, with progress", async () => {
    const modelsDir = path.join(work, "pulled");
    const progress: number[] = [];
    const pulled = await pullGguf(REF, modelsDir, { onProgress: (received) => progress.push(received) });
    expect(pulled).toMatchObject({ id: REF, architecture: "llama", bytes: fs.statSync(MODEL).size });
    expect(fs.readFileSync(path.join(modelsDir, REF)).equals(fs.readFileSync(MODEL))).toBe(true);
    expect(progress.at(-1)).toBe(fs.statSync(MODEL).size);
    expect(hub.requests.map((r) => r.model)).toEqual(["karpathy/tinyllamas"]);
    // Present: nothing is fetched again.
    await pullGguf(REF, modelsDir);
    expect(hub.requests).toHaveLength(1);
  });

  it("resumes a cut download with a Range request", async () => {
    const modelsDir = path.join(work, "resumed");
    const bytes = fs.readFileSync(MODEL);
    const part = path.join(modelsDir, `${REF}.part`);
    await fsp.mkdir(path.dirname(part), { recursive: true });
    await fsp.writeFile(part, bytes.subarray(0, 100_000));
    await pullGguf(REF, modelsDir);
    expect(hub.requests).toMatchObject([{ range: "bytes=100000-", status: 206 }]);
    expect(fs.readFileSync(path.join(modelsDir, REF)).equals(bytes)).toBe(true);
    expect(fs.existsSync(part)).toBe(false);
  });

  it("a file missing on the Hub is a usage error naming it", async () => {
    const error = await pullGguf("karpathy/tinyllamas/absent.gguf", path.join(work, "absent")).catch((e: unknown) => e);
    expect(String(error)).toMatch(/karpathy\/tinyllamas\/absent\.gguf was not found on .*HTTP 404/);
  });

  it("models import copies a .gguf in; models list shows its size and quantisation; auto then picks it", async () => {
    const modelsDir = path.join(work, "imported");
    const env = cleanEnv({ RAG_MODELS_DIR: modelsDir });
    const imported = await runCli(["models", "import", MODEL], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(fs.existsSync(path.join(modelsDir, "stories260K.gguf"))).toBe(true);
    const listed = await runCli(["models", "list"], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/stories260K\.gguf\s+1\.1 MiB\s+(F32|F16|Q\w+)\s+llama/);
    const notGguf = path.join(work, "notes.gguf");
    await fsp.writeFile(notGguf, "text");
    const refused = await runCli(["models", "import", notGguf], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is not a GGUF model");
  });
});
