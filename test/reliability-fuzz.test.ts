// Bad inputs, fuzzed: hundreds of malformed files next to good ones. `ingest --json` must exit 0,
// report every bad file in `skipped` with its path and a reason, ingest every good one, and keep
// its peak memory bounded.
import fs from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_FILE_BYTES, MAX_TEXT_CHARS } from "../src/ingest/loaders.js";
import { startCli } from "./helpers/cli.js";
import { TOPICS } from "./helpers/corpus.js";
import { pseudoRandomBytes, SAMPLE_PDFS, tempDir } from "./helpers/fs.js";
import { recordFigures, peakRss, seededRandom, sleep, STRESS, stressCount, timeVPeakRss } from "./helpers/reliability.js";

const RANDOM_FILES = stressCount(150, 600);
const TRUNCATED_PDFS = stressCount(20, 80);
const TINY_FILES = stressCount(2_000, 10_000);
const LARGE_FILE_MB = STRESS ? 200 : 20;
const MB = 1024 * 1024;
type Rng = ReturnType<typeof seededRandom>;

interface Tree {
  good: Set<string>;
  /** Bad file → what its skip reason must say. */
  bad: Map<string, RegExp>;
  /** Bytes of the largest file that is meant to be ingested, and of the largest one read only to be rejected. */
  largestGood: number;
  largestRejected: number;
  notes: string[];
}

async function put(file: string, content: string | Buffer): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
  return file;
}

/** Plain words, `bytes` long, in lines of `lineLength` (Infinity: a single line). */
function wordsText(bytes: number, lineLength: number, rng: Rng): string {
  const words = ["delta", "harbour", "quartz", "meadow", "signal", "copper", "orbit", "lantern"];
  const parts: string[] = [];
  let size = 0;
  let line = 0;
  while (size < bytes) {
    const word = rng.pick(words);
    line += word.length + 1;
    const sep = line > lineLength ? ((line = 0), ".\n") : " ";
    parts.push(word, sep);
    size += word.length + sep.length;
  }
  return parts.join("");
}

async function generate(root: string, rng: Rng): Promise<Tree> {
  const tree: Tree = { good: new Set(), bad: new Map(), largestGood: 0, largestRejected: 0, notes: [] };
  const good = async (file: string, content: string | Buffer) => {
    tree.good.add(await put(file, content));
    tree.largestGood = Math.max(tree.largestGood, Buffer.byteLength(content));
  };
  const bad = async (file: string, content: string | Buffer, reason: RegExp) => {
    tree.bad.set(await put(file, content), reason);
    const bytes = Buffer.byteLength(content);
    if (bytes <= MAX_FILE_BYTES) tree.largestRejected = Math.max(tree.largestRejected, bytes);
  };

  for (const [file, text] of Object.entries(TOPICS)) await good(path.join(root, "good", file), text);
  await good(
    path.join(root, "good", "page.html"),
    "<html><head><title>Page</title></head><body><h1>Tides</h1><p>The harbour tide tables list high water twice a day.</p></body></html>",
  );
  await good(path.join(root, "good", "records.json"), JSON.stringify([{ title: "Orbit", text: "A satellite orbit decays by drag." }]));
  await good(path.join(root, "good", "rows.jsonl"), '{"text":"Copper conducts heat well."}\n{"text":"Quartz is piezoelectric."}\n');
  for (const pdf of Object.values(SAMPLE_PDFS)) await good(path.join(root, "good", path.basename(pdf)), await fs.readFile(pdf));

  const binary = /binary content|not valid UTF-8|corrupt or unreadable PDF|invalid JSON|no valid JSON lines|no text content/;
  for (let i = 0; i < RANDOM_FILES; i++) {
    const ext = rng.pick([".pdf", ".html", ".md", ".txt", ".json", ".jsonl"]);
    const bytes = pseudoRandomBytes(rng.int(256, 64 * 1024), rng.int(1, 2 ** 31));
    const pdfish =
      ext === ".pdf" && rng.next() < 0.5 ? Buffer.concat([Buffer.from("%PDF-1.7\n"), bytes, Buffer.from(rng.next() < 0.5 ? "\n%%EOF\n" : "")]) : bytes;
    await bad(path.join(root, "random", `r${i}${ext}`), pdfish, binary);
  }
  for (let i = 0; i < TRUNCATED_PDFS; i++) {
    const whole = await fs.readFile(rng.pick(Object.values(SAMPLE_PDFS)));
    await bad(path.join(root, "truncated", `t${i}.pdf`), whole.subarray(0, Math.floor(whole.length * (0.02 + 0.96 * rng.next()))), /corrupt or unreadable PDF/);
  }
  // Cut just before the end: pdf.js would "repair" these and index them as if complete.
  for (const pdf of Object.values(SAMPLE_PDFS)) {
    const whole = await fs.readFile(pdf);
    await bad(path.join(root, "truncated", `no-eof-${path.basename(pdf)}`), whole.subarray(0, whole.length - 8), /corrupt or unreadable PDF \(truncated/);
  }
  for (let i = 0; i < 10; i++) {
    const text = Buffer.from(wordsText(2000, 80, rng));
    text[rng.int(0, text.length - 1)] = rng.pick([0xff, 0xfe, 0xc3, 0x80]);
    await bad(path.join(root, "encoding", `latin-${i}.md`), text, /not valid UTF-8/);
  }
  // Long lines are awkward, not wrong: they must be ingested without blowing memory.
  await good(path.join(root, "lines", "one-line-of-words.md"), wordsText(3 * MB, Infinity, rng));
  await good(path.join(root, "lines", "one-line-no-spaces.csv.txt"), wordsText(3 * MB, Infinity, rng).replace(/ /g, ","));
  // Over the size limit: skipped unread; over the text limit: read, then skipped.
  const large = path.join(root, "large", `large-${LARGE_FILE_MB}mb.txt`);
  const tooLarge =
    LARGE_FILE_MB * MB > MAX_FILE_BYTES ? /larger than 64 MB \(\d+ MB\); split it/ : /holds \d+ M characters of text, more than the limit of 16 M; split it/;
  const block = wordsText(MB, 100, rng);
  await fs.mkdir(path.dirname(large), { recursive: true });
  const handle = await fs.open(large, "w");
  for (let i = 0; i < LARGE_FILE_MB; i++) await handle.write(block);
  await handle.close();
  tree.bad.set(large, tooLarge);
  if (LARGE_FILE_MB * MB <= MAX_FILE_BYTES) tree.largestRejected = Math.max(tree.largestRejected, LARGE_FILE_MB * MB);
  if (STRESS) await good(path.join(root, "large", "just-under-the-text-limit.txt"), wordsText(MAX_TEXT_CHARS - MB, 100, rng));

  for (let i = 0; i < TINY_FILES; i++) {
    const file = path.join(root, "tiny", `d${i % 50}`, `t${i}.txt`);
    if (i % 10 === 9) await bad(file, rng.pick(["", " ", "\n\n", "\t \n"]), /no text content/);
    else await good(file, `Tiny note ${i}: ${rng.pick(["copper", "quartz", "orbit"])} facts.`);
  }
  let deep = path.join(root, "deep");
  for (let level = 0; level < 100; level++) deep = path.join(deep, `l${level}`);
  await good(path.join(deep, "bottom.md"), "# Bottom\n\nThe deepest note in the tree says the lantern is lit.");
  await bad(path.join(root, "deep", "l0", "l1", "l2", "empty.md"), "", /no text content/);

  const links = path.join(root, "links");
  await fs.mkdir(links, { recursive: true });
  await fs.symlink("..", path.join(links, "up"));
  await fs.symlink("self.md", path.join(links, "self.md"));
  await fs.symlink("ping.md", path.join(links, "pong.md"));
  await fs.symlink("pong.md", path.join(links, "ping.md"));
  await fs.symlink("nowhere.md", path.join(links, "dangling.md"));
  tree.bad.set(path.join(links, "up"), /already visited/);
  for (const loop of ["self.md", "ping.md", "pong.md"]) tree.bad.set(path.join(links, loop), /symlink loop/);
  tree.bad.set(path.join(links, "dangling.md"), /cannot read \(ENOENT\)/);
  execFileSync("mkfifo", [path.join(links, "pipe.md")]);
  tree.bad.set(path.join(links, "pipe.md"), /not a regular file/);

  for (const ext of [".md", ".html", ".pdf", ".json", ".jsonl", ".txt"])
    await bad(path.join(root, "empty", `empty${ext}`), "", /no text content|corrupt or unreadable PDF|invalid JSON|no valid JSON lines/);
  await bad(path.join(root, "json", "broken.json"), '{"text": "unterminated', /invalid JSON/);
  await bad(path.join(root, "json", "all-bad.jsonl"), "nope\n{also not\n[1,\n", /no valid JSON lines/);
  await good(path.join(root, "json", "some-bad.jsonl"), '{"text":"Meadow grass grows fast."}\nnot json\n{"text":"Orbit decay is slow."}\n{"oops":\n');

  const locked = await put(path.join(root, "perm", "unreadable.md"), "# Secret\n\nYou should not be able to read this.");
  await fs.chmod(locked, 0o000);
  const readable = await fs.readFile(locked).then(
    () => true,
    () => false,
  );
  if (readable) {
    tree.good.add(locked);
    tree.notes.push("running as root: chmod 000 does not stop reads, so the unreadable-file case is skipped (the file is ingested)");
    console.log(`[reliability] ${tree.notes.at(-1)}`);
  } else {
    tree.bad.set(locked, /cannot read \(EACCES\)/);
  }
  return tree;
}

describe("ingest on a fuzzed tree of bad inputs", () => {
  it("exits 0, reports every bad file with its path and reason, ingests every good one, in bounded memory", async () => {
    const rng = seededRandom();
    const work = await tempDir("rerank-rag-fuzz-");
    const root = path.join(work, "tree");
    const tree = await generate(root, rng);
    const useTime = await fs.access("/usr/bin/time").then(
      () => true,
      () => false,
    );
    const run = startCli(["ingest", root, "--index", path.join(work, "index"), "--json"], {
      prefix: useTime ? ["/usr/bin/time", "-v"] : [],
      timeoutMs: 900_000,
    });
    let polled = 0;
    const poll = (async () => {
      while (!useTime && run.child.exitCode === null) {
        polled = Math.max(polled, (await peakRss(run.child.pid!)) ?? 0);
        await sleep(50);
      }
    })();
    const result = await run.done;
    await poll;
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(result.stderr).not.toMatch(/Unhandled|unhandledRejection|^\s+at /m);

    const report = JSON.parse(result.stdout) as { added: string[]; skipped: Array<{ path: string; reason: string }>; warnings: string[] };
    const reasons = new Map(report.skipped.map((s) => [s.path, s.reason]));
    const unreported = [...tree.bad.keys()].filter((file) => !reasons.get(file)?.trim());
    expect(unreported.slice(0, 10), "bad files missing from `skipped`").toEqual([]);
    const wrongReason = [...tree.bad].filter(([file, reason]) => !reason.test(reasons.get(file) ?? "")).map(([file]) => `${file}: ${reasons.get(file)}`);
    expect(wrongReason.slice(0, 10)).toEqual([]);
    const added = new Set(report.added);
    expect([...tree.good].filter((file) => !added.has(file)).slice(0, 10), "good files not ingested").toEqual([]);
    expect([...added].filter((file) => !tree.good.has(file)).slice(0, 10), "ingested files that are bad").toEqual([]);
    expect(report.warnings.some((w) => /some-bad\.jsonl: line 2: invalid JSON/.test(w))).toBe(true);

    // Peak memory: Node itself (~100 MB, allowed 200), plus ~25x the largest ingested file (its text, chunks,
    // vectors and the offline embedder's matrices are held at once), plus ~4x the largest file read
    // only to be rejected (its bytes and its decoded text). Reading a file above the size limit,
    // or splitting a long line character by character (tens of bytes per character), breaks it.
    const peak = (useTime ? timeVPeakRss(result.stderr) : null) ?? polled;
    const bound = 200 * MB + 25 * tree.largestGood + 4 * tree.largestRejected;
    expect(peak).toBeGreaterThan(0);
    expect(peak, `peak RSS ${Math.round(peak / MB)} MB`).toBeLessThan(bound);
    await recordFigures(STRESS ? "fuzz-full" : "fuzz", {
      seed: rng.seed,
      inputs: tree.good.size + tree.bad.size,
      bad: tree.bad.size,
      good: tree.good.size,
      largeFileMb: LARGE_FILE_MB,
      peakRssMb: Math.round(peak / MB),
      boundMb: Math.round(bound / MB),
      seconds: Math.round(result.ms / 1000),
      notes: tree.notes,
      failures: 0,
    });
  }, 900_000);
});
