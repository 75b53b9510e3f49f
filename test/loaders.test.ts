import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadFile } from "../src/ingest/loaders.js";
import { discoverFiles } from "../src/ingest/discover.js";
import { UsageError } from "../src/errors/index.js";
import { pseudoRandomBytes, SAMPLE_PDFS, tempDir, writeCorpus } from "./helpers/fs.js";

const text = (s: string) => Buffer.from(s, "utf8");

describe("loadFile: text formats", () => {
  it("loads markdown with its first # heading as the title", async () => {
    const md = "Intro line.\n\n# Rotating API keys\n\nCreate the new key first.\n\n## Steps\n\nThen revoke the old one.\n";
    const { documents, warnings } = await loadFile("/docs/keys.md", text(md));
    expect(warnings).toEqual([]);
    expect(documents).toHaveLength(1);
    expect(documents[0]!.pageContent).toBe(md);
    expect(documents[0]!.metadata).toMatchObject({ source: "/docs/keys.md", format: "md", title: "Rotating API keys" });
  });

  it("falls back to the file name as title when markdown has no heading", async () => {
    const { documents } = await loadFile("/docs/notes.md", text("Just a paragraph, no heading."));
    expect(documents[0]!.metadata.title).toBe("notes.md");
  });

  it("loads plain text verbatim, dropping a UTF-8 BOM", async () => {
    const { documents } = await loadFile("/docs/readme.txt", text("\uFEFFPlain text about tides.\nSecond line."));
    expect(documents[0]!.pageContent).toBe("Plain text about tides.\nSecond line.");
    expect(documents[0]!.metadata).toMatchObject({ format: "txt", title: "readme.txt" });
  });

  it("loads HTML as visible text: script, style and nav dropped, headings as markdown, title from <title>", async () => {
    const html = `<!doctype html><html><head><title>Webhooks &amp; Events</title>
      <style>body { color: red; }</style><script>window.trackingSecret = "abc123";</script></head>
      <body><nav><a href="/">Home</a> | <a href="/menu">MenuLinkText</a></nav>
      <h1>Webhooks</h1><p>Lumen sends an event to your endpoint.</p>
      <h2>Verifying signatures</h2><p>Compute an <a href="/hmac">HMAC</a> of the payload.</p>
      <script>console.log("inline script body")</script></body></html>`;
    const { documents } = await loadFile("/site/hooks.html", text(html));
    const content = documents[0]!.pageContent;
    expect(documents[0]!.metadata).toMatchObject({ format: "html", title: "Webhooks & Events" });
    expect(content).toContain("# Webhooks");
    expect(content.split("\n")).toContain("## Verifying signatures");
    expect(content).toContain("Compute an HMAC of the payload.");
    for (const hidden of ["trackingSecret", "color: red", "MenuLinkText", "inline script body", "/hmac"]) {
      expect(content).not.toContain(hidden);
    }
  });

  it("uses the file name as title for HTML without <title>", async () => {
    const { documents } = await loadFile("/site/page.htm", text("<p>Body only.</p>"));
    expect(documents[0]!.metadata).toMatchObject({ format: "htm", title: "page.htm" });
    expect(documents[0]!.pageContent).toBe("Body only.");
  });
});

describe("loadFile: PDF", () => {
  it.each([
    ["whitepaper", SAMPLE_PDFS.whitepaper, "Lumen Security Whitepaper"],
    ["SLA", SAMPLE_PDFS.sla, "Lumen SLA and Support Policy"],
  ])("extracts the text layer and page starts of the %s PDF", async (_name, file, title) => {
    const { documents } = await loadFile(file, await fs.readFile(file));
    expect(documents).toHaveLength(1);
    const { pageContent, metadata } = documents[0]!;
    expect(metadata).toMatchObject({ format: "pdf", title, source: file });
    expect(pageContent).toContain("Lumen");
    const pageStarts = metadata.pageStarts as number[];
    expect(pageStarts.length).toBeGreaterThan(1);
    expect(pageStarts[0]).toBe(0);
    for (let i = 1; i < pageStarts.length; i++) {
      expect(pageStarts[i]).toBeGreaterThan(pageStarts[i - 1]!);
      // Pages are joined by a blank line, so each page after the first starts right after one.
      expect(pageContent.slice(pageStarts[i]! - 2, pageStarts[i])).toBe("\n\n");
    }
    expect(pageStarts.at(-1)!).toBeLessThan(pageContent.length);
  });

  it("rejects random bytes named .pdf as a corrupt PDF", async () => {
    await expect(loadFile("/docs/scan.pdf", pseudoRandomBytes(4096))).rejects.toThrow(/corrupt or unreadable PDF/);
  });

  it("rejects a truncated PDF (first half of a real one) as corrupt", async () => {
    const bytes = await fs.readFile(SAMPLE_PDFS.whitepaper);
    await expect(loadFile("/docs/half.pdf", bytes.subarray(0, bytes.length >> 1))).rejects.toThrow(/corrupt or unreadable PDF/);
  });
});

describe("loadFile: JSON and JSONL", () => {
  it("turns a JSON array of {title,text} into one document per record", async () => {
    const records = [
      { id: 7, title: "Refunds", text: "Refunds return money to the card." },
      { id: 8, title: "Payouts", text: "Payouts move your balance to a bank." },
    ];
    const { documents } = await loadFile("/data/kb.json", text(JSON.stringify(records)));
    expect(documents.map((d) => d.pageContent)).toEqual([
      "Refunds\n\nRefunds return money to the card.",
      "Payouts\n\nPayouts move your balance to a bank.",
    ]);
    expect(documents.map((d) => d.metadata)).toEqual([
      expect.objectContaining({ title: "Refunds", record: 0, recordId: "7", format: "json" }),
      expect.objectContaining({ title: "Payouts", record: 1, recordId: "8", format: "json" }),
    ]);
  });

  it("indexes a record without a text field as its JSON", async () => {
    const record = { title: "Plan limits", requestsPerSecond: 100, burst: 200 };
    const { documents } = await loadFile("/data/one.json", text(JSON.stringify([record])));
    expect(documents).toHaveLength(1);
    expect(JSON.parse(documents[0]!.pageContent)).toEqual(record);
    expect(documents[0]!.metadata.title).toBe("Plan limits");
  });

  it("rejects invalid JSON with the parser's reason", async () => {
    await expect(loadFile("/data/bad.json", text('[{"title": "x",'))).rejects.toThrow(/^invalid JSON: /);
  });

  it("loads the good lines of a JSONL file and warns about a bad one by line number", async () => {
    const lines = ['{"text": "first record"}', "{not json", "", '{"content": "third record"}'].join("\n");
    const { documents, warnings } = await loadFile("/data/rows.jsonl", text(lines));
    expect(documents.map((d) => d.pageContent)).toEqual(["first record", "third record"]);
    expect(documents.map((d) => d.metadata.line)).toEqual([1, 4]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^line 2: invalid JSON/);
  });

  it("throws when no JSONL line is valid, quoting the first problem", async () => {
    await expect(loadFile("/data/all-bad.jsonl", text("nope\n{also not\n"))).rejects.toThrow(
      /no valid JSON lines \(line 1: invalid JSON/,
    );
  });
});

describe("loadFile: files it must refuse", () => {
  it("refuses a markdown file containing NUL bytes as binary", async () => {
    const bytes = Buffer.concat([text("# Title\n"), Buffer.from([0, 1, 2, 0]), text("more")]);
    await expect(loadFile("/docs/image.md", bytes)).rejects.toThrow(/binary content/);
  });

  it("refuses a .txt file that is not valid UTF-8", async () => {
    await expect(loadFile("/docs/latin1.txt", Buffer.from("café crème brûlée", "latin1"))).rejects.toThrow(/not valid UTF-8/);
  });

  it.each([
    ["empty", ""],
    ["whitespace-only", "  \n\n\t \n"],
  ])("refuses an %s markdown file as having no text", async (_name, content) => {
    await expect(loadFile("/docs/empty.md", text(content))).rejects.toThrow(/no text content/);
  });

  it("refuses an unsupported extension, naming it and the supported ones", async () => {
    await expect(loadFile("/docs/report.docx", text("hello"))).rejects.toThrow(/unsupported file type "\.docx".*\.md.*\.pdf/);
    await expect(loadFile("/docs/Makefile", text("all:"))).rejects.toThrow(/unsupported file type "\(none\)"/);
  });
});

describe("discoverFiles", () => {
  it("finds supported files in nested dirs, skipping hidden dirs and node_modules, reporting unsupported files", async () => {
    const root = await tempDir();
    const files = await writeCorpus(root, {
      "a.md": "# A",
      "guides/b.txt": "b",
      "guides/deep/er/c.HTML": "<p>c</p>",
      "guides/deep/d.jsonl": '{"text":"d"}',
      "logo.png": Buffer.from([0x89, 0x50, 0x4e, 0x47]),
      ".git/config.md": "hidden",
      ".cache/x.md": "hidden",
      ".hidden.md": "hidden file",
      "node_modules/pkg/README.md": "dependency",
      "guides/node_modules/x.md": "dependency",
    });
    const found = await discoverFiles([root]);
    expect(found.roots).toEqual([root]);
    expect(found.files).toEqual(
      [files["a.md"]!, files["guides/b.txt"]!, files["guides/deep/d.jsonl"]!, files["guides/deep/er/c.HTML"]!].sort(),
    );
    expect(found.skipped).toEqual([{ path: files["logo.png"], reason: expect.stringMatching(/^unsupported file type/) }]);
  });

  it("accepts a single file as a path", async () => {
    const root = await tempDir();
    const { "only.md": only } = await writeCorpus(root, { "only.md": "# Only", "other.md": "# Other" });
    const found = await discoverFiles([only!]);
    expect(found.files).toEqual([only]);
  });

  it("throws a UsageError (exit code 2) for a path that does not exist", async () => {
    const root = await tempDir();
    const missing = path.join(root, "no-such-dir");
    const error = await discoverFiles([missing]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toContain(missing);
  });

  it("throws a UsageError when given no paths", async () => {
    await expect(discoverFiles([])).rejects.toBeInstanceOf(UsageError);
  });

  it("does not hang on symlink loops, and reports them", async () => {
    const root = await tempDir();
    const files = await writeCorpus(root, { "docs/a.md": "# A", "docs/sub/b.md": "# B" });
    await fs.symlink(path.join(root, "docs"), path.join(root, "docs", "sub", "back-to-docs"));
    await fs.symlink("self-link", path.join(root, "docs", "self-link"));
    const found = await discoverFiles([path.join(root, "docs")]);
    expect(found.files).toEqual([files["docs/a.md"], files["docs/sub/b.md"]]);
    expect(found.skipped).toEqual(
      expect.arrayContaining([
        { path: path.join(root, "docs", "sub", "back-to-docs"), reason: expect.stringContaining("already visited") },
        { path: path.join(root, "docs", "self-link"), reason: "symlink loop" },
      ]),
    );
  }, 10_000);
});
