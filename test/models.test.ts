// Model provisioning: `pull` through a local stand-in for the Hub, `import` of a folder for air-gapped
// machines, and `list`; each proven by loading the result offline with the real transformers.js.
import fs from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AutoModelForSequenceClassification, AutoTokenizer, env, type Tensor } from "@huggingface/transformers";
import { writeTestModel } from "../scripts/test-models/write-model.js";
import { RagError, UsageError } from "../src/errors/index.js";
import { idleTimeoutFetch } from "../src/util/idle-timeout-fetch.js";
import { importModel, listModels, pullModel } from "../src/models/provision.js";
import { runModelsImport, runModelsList, runModelsPull } from "../src/cli/commands/models.js";
import { tempDir } from "./helpers/fs.js";
import { startHubServer } from "./helpers/hub-server.js";

const MODEL_FILES = ["config.json", "onnx/model.onnx", "tokenizer.json", "tokenizer_config.json"];

let root: string;
let hub: Awaited<ReturnType<typeof startHubServer>>;
const savedEndpoint = process.env.HF_ENDPOINT;

/** A generated tiny BERT folder; each test uses its own id, as transformers.js memoizes lookups per id. */
function modelFolder(name: string): string {
  return writeTestModel(path.join(root, "sources", name)).dir;
}

/** Loads a model the way the pipeline will, with downloads disabled, and runs it once. */
async function loadOffline(id: string, modelsDir: string) {
  env.allowRemoteModels = false;
  env.cacheDir = modelsDir;
  env.localModelPath = modelsDir;
  const tokenizer = await AutoTokenizer.from_pretrained(id);
  const model = await AutoModelForSequenceClassification.from_pretrained(id);
  const { logits } = (await model(tokenizer(["a query"], { text_pair: ["a passage"] }))) as { logits: Tensor };
  await model.dispose();
  return logits;
}

async function captureStdout(run: () => Promise<void>): Promise<string> {
  let out = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((out += String(chunk)), true));
  const quiet = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await run();
  } finally {
    spy.mockRestore();
    quiet.mockRestore();
  }
  return out;
}

beforeAll(async () => {
  root = await tempDir("rerank-rag-models-");
  const noOnnx = modelFolder("no-onnx");
  await fs.rm(path.join(noOnnx, "onnx"), { recursive: true });
  const noTokenizerConfig = modelFolder("no-tokenizer-config");
  await fs.rm(path.join(noTokenizerConfig, "tokenizer_config.json"));
  hub = await startHubServer({
    "acme/tiny-pull": modelFolder("tiny-pull"),
    "acme/tiny-cli": modelFolder("tiny-cli"),
    "acme/no-onnx": noOnnx,
    "acme/no-tokenizer-config": noTokenizerConfig,
  });
});

afterAll(() => hub.close());

afterEach(() => {
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
});

describe("pullModel", () => {
  it("downloads a model into <modelsDir>/<id> through HF_ENDPOINT, then it loads offline", async () => {
    process.env.HF_ENDPOINT = hub.url;
    const modelsDir = path.join(root, "pulled");
    const reported: string[] = [];
    const pulled = await pullModel("acme/tiny-pull", modelsDir, { onFile: (file) => reported.push(file) });

    expect(pulled.dir).toBe(path.join(modelsDir, "acme", "tiny-pull"));
    expect(pulled.files).toEqual(MODEL_FILES);
    expect([...reported].sort()).toEqual(MODEL_FILES);
    const source = path.join(root, "sources", "tiny-pull");
    for (const file of MODEL_FILES) {
      expect((await fs.readFile(path.join(pulled.dir, file))).equals(await fs.readFile(path.join(source, file))), file).toBe(true);
    }
    const sizes = await Promise.all(MODEL_FILES.map(async (file) => (await fs.stat(path.join(source, file))).size));
    expect(pulled.bytes).toBe(sizes.reduce((a, b) => a + b, 0));
    expect(hub.downloads().sort()).toEqual(MODEL_FILES.map((file) => `acme/tiny-pull/${file}`));
    expect(hub.requests.every((r) => r.revision === "main")).toBe(true);

    const before = hub.requests.length;
    const logits = await loadOffline("acme/tiny-pull", modelsDir);
    expect(logits.dims).toEqual([1, 1]);
    expect(Number.isFinite((logits.data as Float32Array)[0])).toBe(true);

    expect(env.allowRemoteModels).toBe(false); // pullModel restores what it changed
    // A second pull finds everything in place: no request at all, so it also works offline.
    await pullModel("acme/tiny-pull", modelsDir);
    expect(hub.requests.length).toBe(before);
  });

  it("reports an unknown model as a usage error naming it", async () => {
    process.env.HF_ENDPOINT = hub.url;
    const error = await pullModel("acme/does-not-exist", path.join(root, "unknown")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/acme\/does-not-exist was not found on http:\/\/127\.0\.0\.1/);
  });

  it("reports a model without ONNX weights or tokenizer files as a usage error", async () => {
    process.env.HF_ENDPOINT = hub.url;
    const cases = [
      ["acme/no-onnx", /acme\/no-onnx on .* has no ONNX weights for dtype fp32/],
      ["acme/no-tokenizer-config", /has no usable tokenizer \(tokenizer\.json and tokenizer_config\.json\)/],
    ] as const;
    for (const [id, message] of cases) {
      const error = await pullModel(id, path.join(root, "incomplete-remote")).catch((e: unknown) => e);
      expect(error, id).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("fails fast on an unreachable host, naming the model, the host and `models import`", async () => {
    process.env.HF_ENDPOINT = "http://127.0.0.1:9";
    const started = Date.now();
    const error = (await pullModel("acme/unreachable", path.join(root, "unreachable")).catch((e: unknown) => e)) as RagError;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(RagError.isInstance(error) && !(error instanceof UsageError)).toBe(true);
    expect(error.message).toContain("acme/unreachable");
    expect(error.message).toContain("http://127.0.0.1:9/"); // fetch refuses port 9 outright ("bad port")
    expect(error.hint).toContain("rerank-rag models import <dir> --as acme/unreachable");
    expect(error.hint).toContain("HF_ENDPOINT");

    // A port nobody listens on: the connection is refused.
    const closed = await startHubServer({});
    await closed.close();
    process.env.HF_ENDPOINT = closed.url;
    const refused = (await pullModel("acme/refused", path.join(root, "unreachable")).catch((e: unknown) => e)) as RagError;
    expect(refused.message).toBe(`Could not download acme/refused: ${closed.url}/ is unreachable (ECONNREFUSED).`);
  });

  it("times out on a host that accepts connections but never answers", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    try {
      const started = Date.now();
      const error = (await pullModel("acme/silent", path.join(root, "silent"), { timeoutMs: 300 }).catch((e: unknown) => e)) as RagError;
      expect(Date.now() - started).toBeLessThan(3000);
      expect(error.message).toMatch(/acme\/silent: .* is unreachable \(no data for 300 ms\)/);
    } finally {
      sockets.forEach((s) => s.destroy());
      silent.close();
    }
  });

  it("limits idle time, not total time: a stalled download fails, a slow steady one finishes", async () => {
    // Sends `chunks` bytes 100 ms apart, then stalls if `stall`, else ends.
    const server = http.createServer((req, res) => {
      const stall = req.url === "/stall";
      res.writeHead(200, { "content-length": stall ? 10 : 5 });
      let sent = 0;
      const tick = setInterval(() => {
        res.write("x");
        if (++sent === 5) {
          clearInterval(tick);
          if (!stall) res.end();
        }
      }, 100);
      res.on("close", () => clearInterval(tick));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      const network: { error?: Error } = {};
      const timedFetch = idleTimeoutFetch(250, { headers: true, onError: (error) => (network.error ??= error) });
      expect(await (await timedFetch(`${base}/steady`)).text()).toBe("xxxxx"); // 500 ms in total
      expect(network.error).toBeUndefined();
      const stalled = await timedFetch(`${base}/stall`);
      await expect(stalled.text()).rejects.toThrow(/no data for 250 ms/);
      expect(network.error?.name).toBe("TimeoutError");
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("rejects a malformed HF_ENDPOINT and unsafe ids before any request", async () => {
    process.env.HF_ENDPOINT = "hf-mirror.com";
    await expect(pullModel("acme/x", root)).rejects.toThrow(/Invalid HF_ENDPOINT="hf-mirror.com"/);
    process.env.HF_ENDPOINT = hub.url;
    await expect(pullModel("../evil", root)).rejects.toBeInstanceOf(UsageError);
  });
});

describe("importModel and listModels", () => {
  it("copies a model folder under its name and under --as, lists both, and the copy loads offline", async () => {
    const modelsDir = path.join(root, "imported");
    const source = modelFolder("tiny-import");
    const byName = await importModel(source, modelsDir);
    const byAs = await importModel(source, modelsDir, { as: "acme/tiny-as" });
    expect(byName).toMatchObject({ id: "tiny-import", dir: path.join(modelsDir, "tiny-import") });
    expect(byAs.dir).toBe(path.join(modelsDir, "acme", "tiny-as"));
    expect(byAs.files).toEqual([...MODEL_FILES, "generator.json", "special_tokens_map.json"].sort());

    const listed = await listModels(modelsDir);
    expect(listed.map((m) => m.id)).toEqual(["acme/tiny-as", "tiny-import"]);
    expect(listed[0]).toMatchObject({ architectures: ["BertForSequenceClassification"], onnx: ["model.onnx"], files: 6, bytes: byAs.bytes });

    expect((await loadOffline("acme/tiny-as", modelsDir)).dims).toEqual([1, 1]);
  });

  it("takes the id from config.json's _name_or_path and replaces an earlier copy atomically", async () => {
    const modelsDir = path.join(root, "named");
    const source = modelFolder("named-source");
    const configPath = path.join(source, "config.json");
    const config = JSON.parse(await fs.readFile(configPath, "utf8"));
    await fs.writeFile(configPath, JSON.stringify({ ...config, _name_or_path: "acme/named" }));
    await importModel(source, modelsDir);
    await fs.writeFile(path.join(source, "README.md"), "second version");
    const second = await importModel(source, modelsDir);

    expect(second.id).toBe("acme/named");
    expect(await fs.readFile(path.join(second.dir, "README.md"), "utf8")).toBe("second version");
    expect(await fs.readdir(modelsDir)).toEqual(["acme"]); // no temporary folders left
  });

  it("names exactly the missing files of an incomplete folder and writes nothing", async () => {
    const modelsDir = path.join(root, "incomplete");
    const source = modelFolder("incomplete");
    await fs.rm(path.join(source, "onnx"), { recursive: true });
    await fs.rm(path.join(source, "tokenizer.json"));
    const error = (await importModel(source, modelsDir).catch((e: unknown) => e)) as UsageError;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/missing tokenizer\.json, onnx\/model\.onnx \(or onnx\/model_quantized\.onnx\)\.$/);
    expect(error.hint).toContain("config.json, tokenizer.json, tokenizer_config.json and onnx/model.onnx");
    await expect(fs.stat(modelsDir)).rejects.toThrow();

    await fs.writeFile(path.join(source, "config.json"), "{ not json");
    await expect(importModel(source, modelsDir)).rejects.toThrow(/config\.json is not valid JSON/);
  });

  it("refuses ids that would escape the models directory", async () => {
    const modelsDir = path.join(root, "safe");
    const source = modelFolder("escape");
    for (const as of ["../evil", "/tmp/evil", "a/b/c", "acme/.."]) {
      await expect(importModel(source, modelsDir, { as })).rejects.toBeInstanceOf(UsageError);
    }
    await expect(fs.stat(path.join(root, "evil"))).rejects.toThrow();
    expect(await listModels(modelsDir)).toEqual([]);
  });
});

describe("models commands", () => {
  it("pull, import and list print JSON with --json and a table otherwise", async () => {
    process.env.HF_ENDPOINT = hub.url;
    const modelsDir = path.join(root, "cli");
    const pulled = JSON.parse(await captureStdout(() => runModelsPull("acme/tiny-cli", { modelsDir, json: true })));
    expect(pulled).toMatchObject({ id: "acme/tiny-cli", files: MODEL_FILES });

    const source = modelFolder("cli-import");
    const imported = JSON.parse(await captureStdout(() => runModelsImport(source, { as: "local/cli-import", modelsDir, json: true })));
    expect(imported.dir).toBe(path.join(modelsDir, "local", "cli-import"));

    const listed = JSON.parse(await captureStdout(() => runModelsList({ modelsDir, json: true })));
    expect(listed.models.map((m: { id: string }) => m.id)).toEqual(["acme/tiny-cli", "local/cli-import"]);

    const text = await captureStdout(() => runModelsList({ modelsDir }));
    expect(text.split("\n")[0]).toMatch(/^MODEL\s+SIZE\s+FILES\s+ONNX\s+ARCHITECTURES$/);
    expect(text).toMatch(/acme\/tiny-cli\s+[\d.]+ KiB\s+4\s+model\.onnx\s+BertForSequenceClassification/);
    expect(await captureStdout(() => runModelsList({ modelsDir: path.join(root, "empty") }))).toBe("");
  });
});
