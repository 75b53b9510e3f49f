import fs from "node:fs/promises";
import path from "node:path";
import { Document } from "@langchain/core/documents";
import { describe, expect, it } from "vitest";
import { splitDocuments } from "../src/ingest/chunker.js";
import { contextualText, readableText } from "../src/text/contextual-text.js";
import { splitSentences } from "../src/text/sentences.js";
import { loadFile } from "../src/ingest/loaders.js";
import { SAMPLE_DOCS, SAMPLE_PDFS } from "./helpers/fs.js";

const HASH = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const SMALL = { chunkSize: 300, chunkOverlap: 50 };

async function loadSample(relative: string): Promise<Document> {
  const file = path.join(SAMPLE_DOCS, relative);
  const { documents } = await loadFile(file, await fs.readFile(file));
  return documents[0]!;
}

/** Markdown headings outside fenced code blocks, with their offsets. */
function realHeadings(text: string): Array<{ at: number; text: string }> {
  const headings: Array<{ at: number; text: string }> = [];
  let inFence = false;
  let offset = 0;
  for (const line of text.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const match = /^#{1,6}[ \t]+(.+?)[ \t#]*$/.exec(line);
    if (!inFence && match) headings.push({ at: offset, text: match[1]!.trim() });
    offset += line.length + 1;
  }
  return headings;
}

const SAMPLES = ["pagination/cursor-pagination.md", "authentication/api-keys.md", "webhooks/verifying-signatures.md", "rate-limits/handling-429.html"];

describe("splitDocuments: locations", () => {
  it.each(SAMPLES)("gives every chunk of %s offsets with text.slice(start, end) === pageContent", async (relative) => {
    const doc = await loadSample(relative);
    const chunks = await splitDocuments([doc], SMALL, HASH);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) {
      const { start, end } = chunk.metadata as { start: number; end: number };
      expect(doc.pageContent.slice(start, end)).toBe(chunk.pageContent);
      expect(chunk.pageContent.length).toBeLessThanOrEqual(SMALL.chunkSize);
      expect(chunk.pageContent.trim()).toBe(chunk.pageContent);
    }
    // Chunks are in document order and together cover every word of the document.
    const starts = chunks.map((c) => c.metadata.start as number);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    const covered = chunks.map((c) => c.pageContent).join(" ");
    for (const word of new Set(doc.pageContent.match(/[A-Za-z]{6,}/g))) expect(covered).toContain(word);
  });

  it("overlaps neighbouring chunks of a long paragraph by at most chunkOverlap characters", async () => {
    const sentences = Array.from(
      { length: 40 },
      (_, i) => `Sentence ${i} explains how the ledger reconciles payout number ${i * 7} against the bank statement.`,
    );
    const text = sentences.join(" ");
    const chunks = await splitDocuments([new Document({ pageContent: text, metadata: {} })], { chunkSize: 200, chunkOverlap: 60 }, HASH);
    expect(chunks.length).toBeGreaterThan(10);
    for (let i = 1; i < chunks.length; i++) {
      const prev = chunks[i - 1]!.metadata as { start: number; end: number };
      const next = chunks[i]!.metadata as { start: number; end: number };
      expect(next.start).toBeLessThan(prev.end);
      expect(next.start).toBeGreaterThan(prev.start);
      const shared = text.slice(next.start, prev.end);
      expect(shared.length).toBeGreaterThan(0);
      expect(shared.length).toBeLessThanOrEqual(60);
      expect(chunks[i - 1]!.pageContent.endsWith(shared)).toBe(true);
      expect(chunks[i]!.pageContent.startsWith(shared)).toBe(true);
    }
  });
});

describe("splitDocuments: headings", () => {
  it("labels each chunk with the heading of the section it falls in", async () => {
    const section = (name: string, topic: string) =>
      `## ${name}\n\n` +
      Array.from({ length: 6 }, (_, i) => `Paragraph ${i} about ${topic}: it covers ${topic} in enough words to need its own chunk here.`).join("\n\n");
    const text = `# Handbook\n\n${section("Billing", "invoices")}\n\n${section("Shipping", "parcels")}\n\n${section("Returns", "refunds")}`;
    const chunks = await splitDocuments([new Document({ pageContent: text, metadata: { title: "Handbook" } })], SMALL, HASH);
    for (const chunk of chunks) {
      const expected = chunk.pageContent.includes("invoices")
        ? "Billing"
        : chunk.pageContent.includes("parcels")
          ? "Shipping"
          : chunk.pageContent.includes("refunds")
            ? "Returns"
            : "Handbook";
      expect({ chunk: chunk.pageContent.slice(0, 40), heading: chunk.metadata.heading }).toEqual({
        chunk: chunk.pageContent.slice(0, 40),
        heading: expected,
      });
    }
    expect(new Set(chunks.map((c) => c.metadata.heading))).toEqual(new Set(["Handbook", "Billing", "Shipping", "Returns"]));
  });

  it("labels a chunk that starts mid-section with that section, and records the heading path", async () => {
    const para = (topic: string, i: number) => `Paragraph ${i} on ${topic}: enough words about ${topic} to fill a good part of one chunk.`;
    const text = [
      "# HTTP",
      "## Class: http.Server",
      "### server.timeout",
      para("timeouts", 0),
      "### server.keepAliveTimeout",
      ...[0, 1, 2, 3, 4].map((i) => para("keep-alive", i)),
    ].join("\n\n");
    const chunks = await splitDocuments([new Document({ pageContent: text, metadata: {} })], { chunkSize: 250, chunkOverlap: 100 }, HASH);
    const keepAlive = ["HTTP", "Class: http.Server", "server.keepAliveTimeout"];
    // Starts with a paragraph of the keep-alive section, its heading two chunks back.
    const midSection = chunks.find((c) => c.pageContent.startsWith("Paragraph 3 on keep-alive"));
    expect(midSection, chunks.map((c) => c.pageContent).join("\n---\n")).toBeDefined();
    expect(midSection!.metadata).toMatchObject({ heading: "server.keepAliveTimeout", headings: keepAlive });
    // Two short sections in one chunk: the one with the most text governs it.
    const merged = chunks.find((c) => c.pageContent.includes("### server.timeout"))!;
    expect(merged.pageContent).toContain("## Class: http.Server");
    expect(merged.metadata).toMatchObject({ heading: "server.timeout", headings: ["HTTP", "Class: http.Server", "server.timeout"] });
    for (const chunk of chunks.filter((c) => c.pageContent.includes("keep-alive"))) expect(chunk.metadata).toMatchObject({ headings: keepAlive });
  });

  it("labels each chunk of a README shaped like commander's by the section that holds most of its text", async () => {
    const required = (i: number) => `Required ${i}: make an option mandatory with .requiredOption(); parsing fails when the option has no value.`;
    const help = (usage: string) =>
      [
        "## Automated help",
        "### .name",
        "The command name appears in the help, and is also used for locating stand-alone executable subcommands.",
        "### .usage",
        usage,
      ].join("\n\n");
    const readme = (usage: string) =>
      [
        "# Commander.js",
        "## Options",
        "### Required option",
        ...[0, 1, 2, 3].map(required),
        "### Variadic option",
        "Add ... to make it variadic.",
        help(usage),
      ].join("\n\n");
    const split = (text: string) => splitDocuments([new Document({ pageContent: text, metadata: {} })], { chunkSize: 300, chunkOverlap: 60 }, HASH);

    const chunks = await split(readme("This allows you to customise the usage line."));
    const show = chunks.map((c) => `${(c.metadata.headings as string[]).join(" › ")}: ${c.pageContent}`).join("\n---\n");
    // The long section is split; every part of it, the mid-section ones too, keeps its own path.
    const requiredChunks = chunks.filter((c) => c.pageContent.includes(".requiredOption()"));
    expect(requiredChunks.length, show).toBeGreaterThan(1);
    for (const chunk of requiredChunks) expect(chunk.metadata.headings, show).toEqual(["Commander.js", "Options", "Required option"]);
    // Short sections merged into one chunk: the one with the most text governs it, either way round.
    const helpChunk = chunks.find((c) => c.pageContent.includes("### .usage"))!;
    expect(helpChunk.pageContent, show).toContain("### .name");
    expect(helpChunk.metadata.headings).toEqual(["Commander.js", "Automated help", ".name"]);
    const longerUsage = await split(readme("This allows you to customise the usage description in the first line of the help, given the name of the program."));
    expect(longerUsage.find((c) => c.pageContent.includes("### .usage"))!.metadata.headings).toEqual(["Commander.js", "Automated help", ".usage"]);
  });

  it("never starts a chunk in one top-level (#) section and ends it in the next, so a section's tail keeps its label", async () => {
    // The splitter cuts at ## to ###### only; a README whose sections are all # (or an HTML page with several h1) was cut mid-section.
    const para = (topic: string, i: number) => `Paragraph ${i} on ${topic}: enough words about ${topic} to fill a good part of one chunk.`;
    const text = [
      "# Install",
      ...[0, 1, 2, 3].map((i) => para("installing", i)),
      "# Usage",
      ...[0, 1, 2].map((i) => para("usage", i)),
      "```bash\n# a shell comment, not a heading\nnpx tool\n```",
      "# License",
      "MIT.",
      "# Credits",
      "Thanks to all.",
    ].join("\n\n");
    const chunks = await splitDocuments([new Document({ pageContent: text, metadata: {} })], { chunkSize: 300, chunkOverlap: 60 }, HASH);
    const show = chunks.map((c) => `${(c.metadata.headings as string[]).join(" › ")}: ${c.pageContent}`).join("\n---\n");
    for (const chunk of chunks) {
      const sections = ["installing", "on usage", "MIT", "Thanks"].filter((t) => chunk.pageContent.includes(t));
      if (sections.includes("installing")) expect(chunk.metadata.headings, show).toEqual(["Install"]);
      if (sections.includes("on usage")) expect(chunk.metadata.headings, show).toEqual(["Usage"]);
      // Short whole sections may share a chunk, as ## sections do; a long one is never cut into another.
      if (sections.length > 1) expect(sections, show).toEqual(["MIT", "Thanks"]);
      expect(text.slice(chunk.metadata.start as number, chunk.metadata.end as number)).toBe(chunk.pageContent);
    }
    expect(chunks.some((c) => c.pageContent.includes("# a shell comment"))).toBe(true);
  });

  it("does not take a '# comment' inside a fenced code block for a section heading", async () => {
    // cursor-pagination.md has a bash block with "# first page" / "# next page: …" comments.
    const doc = await loadSample("pagination/cursor-pagination.md");
    const headings = realHeadings(doc.pageContent);
    const headingTexts = new Set(headings.map((h) => h.text));
    const chunks = await splitDocuments([doc], SMALL, HASH);
    for (const chunk of chunks) {
      const start = chunk.metadata.start as number;
      const expected = headings.filter((h) => h.at <= start).at(-1)?.text;
      const heading = chunk.metadata.heading as string;
      expect(headingTexts, `chunk at ${start} is labelled "${heading}"`).toContain(heading);
      // Either the section it starts in, or a real heading early in the chunk.
      if (heading !== expected) expect(chunk.pageContent.slice(0, chunk.pageContent.length / 4)).toContain(`# ${heading}`);
    }
  });
});

describe("splitDocuments: code cut by a chunk's edge", () => {
  it("marks a chunk that starts inside a fenced block, so its code reads as code in sentences and prompts", async () => {
    const usage = Array.from({ length: 12 }, (_, i) => `-o${i} --option-${i}\n        Describes option ${i} of the command line`).join("\n\n");
    const text = `# semver\n\nAs a command-line utility:\n\n\`\`\`\n${usage}\n\`\`\`\n\nVersions are compared by precedence.`;
    const chunks = await splitDocuments([new Document({ pageContent: text, metadata: { source: "/d/semver.md" } })], SMALL, HASH);
    const inside = chunks.filter((c) => c.metadata.startsInCode === true);
    expect(inside.length).toBeGreaterThan(0);
    expect(chunks[0]!.metadata.startsInCode).toBeUndefined();
    for (const chunk of inside) {
      // The chunk's own text is still the verbatim slice; only the readable text gets the fence back.
      expect(chunk.pageContent).toBe(text.slice(chunk.metadata.start as number, chunk.metadata.end as number));
      const sentences = splitSentences(readableText(chunk)).map((s) => s.text);
      expect(
        sentences.filter((s) => /--option-|Describes option/.test(s)),
        sentences.join(" / "),
      ).toEqual([]);
    }
    expect(chunks.flatMap((c) => splitSentences(readableText(c)).map((s) => s.text))).toContain("Versions are compared by precedence.");
  });
});

describe("splitSentences: fences", () => {
  it("reads a ~~~ block as code, as the chunker does, so a chunk cut inside one reads right too", () => {
    const text = "Run it like this:\n\n~~~\nsemver -c --coerce 1.2\n    Coerce a string into SemVer if possible\n~~~\n\nVersions are compared by precedence.";
    expect(splitSentences(text).map((s) => s.text)).toEqual(["Run it like this:", "Versions are compared by precedence."]);
    const cut = new Document({ pageContent: text.slice(text.indexOf("semver")), metadata: { startsInCode: true } });
    expect(splitSentences(readableText(cut)).map((s) => s.text)).toEqual(["Versions are compared by precedence."]);
  });
});

describe("splitDocuments: a chunk that starts mid-section", () => {
  it("records the section it starts in, which its readable text restates as continued", async () => {
    const body = Array.from({ length: 8 }, (_, i) => `Sentence ${i} about namespace colors and how they are picked for each instance.`).join(" ");
    const text = `# debug\n\n## Namespace Colors\n\n${body}\n\n## Millisecond diff\n\nThe +NNNms shows the time between calls.`;
    const chunks = await splitDocuments([new Document({ pageContent: text, metadata: { source: "/d/debug.md" } })], SMALL, HASH);
    const mid = chunks.find((c) => c.metadata.startHeading === "Namespace Colors");
    expect(mid, chunks.map((c) => JSON.stringify(c.metadata)).join("\n")).toBeDefined();
    expect(chunks[0]!.metadata.startHeading).toBeUndefined();
    const sentences = splitSentences(readableText(mid!));
    expect(sentences[0]!.heading).toBe("Namespace Colors");
    // Restated, the heading does not make the chunk's first sentence the section's opening one.
    expect(sentences[0]!.leads).toBe(false);
  });
});

describe("splitDocuments: ids and pages", () => {
  it("prefixes chunk ids with the given file id: stable across runs, distinct across chunks", async () => {
    const doc = await loadSample("authentication/api-keys.md");
    const first = await splitDocuments([doc], SMALL, HASH);
    const again = await splitDocuments([doc], SMALL, HASH);
    const ids = first.map((c) => c.metadata.chunkId as string);
    expect(again.map((c) => c.metadata.chunkId)).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => id.startsWith(HASH + "-"))).toBe(true);
    const otherHash = "f".repeat(64);
    const other = await splitDocuments([doc], SMALL, otherHash);
    expect(other.map((c) => c.metadata.chunkId).some((id) => ids.includes(id as string))).toBe(false);
  });

  it("keeps chunk ids distinct across the records of one file", async () => {
    const records = ["alpha ".repeat(80), "beta ".repeat(80), "gamma ".repeat(80)].map(
      (text, record) => new Document({ pageContent: text.trim(), metadata: { record } }),
    );
    const chunks = await splitDocuments(records, SMALL, HASH);
    const ids = chunks.map((c) => c.metadata.chunkId);
    expect(new Set(ids).size).toBe(chunks.length);
    expect(new Set(chunks.map((c) => c.metadata.record))).toEqual(new Set([0, 1, 2]));
  });

  it("gives PDF chunks the page their start offset falls on, and drops pageStarts", async () => {
    const { documents } = await loadFile(SAMPLE_PDFS.whitepaper, await fs.readFile(SAMPLE_PDFS.whitepaper));
    const doc = documents[0]!;
    const pageStarts = doc.metadata.pageStarts as number[];
    const chunks = await splitDocuments(documents, SMALL, HASH);
    const pages = chunks.map((c) => c.metadata.page as number);
    for (const chunk of chunks) {
      const { start, end, page } = chunk.metadata as { start: number; end: number; page: number };
      expect(doc.pageContent.slice(start, end)).toBe(chunk.pageContent);
      expect(pageStarts[page - 1]!).toBeLessThanOrEqual(start);
      if (page < pageStarts.length) expect(start).toBeLessThan(pageStarts[page]!);
      expect(chunk.metadata).not.toHaveProperty("pageStarts");
    }
    expect(pages[0]).toBe(1);
    expect(pages.at(-1)).toBe(pageStarts.length);
    expect(new Set(pages).size).toBe(pageStarts.length);
  });
});

describe("contextualText", () => {
  const chunk = (pageContent: string, metadata: Record<string, unknown>) => ({ pageContent, metadata });

  it("prepends title and section heading", () => {
    expect(contextualText(chunk("Use the refresh token.", { title: "OAuth2", heading: "Token expiry" }))).toBe("OAuth2 — Token expiry\nUse the refresh token.");
  });

  it("prepends the title once when the heading is the title", () => {
    expect(contextualText(chunk("Body.", { title: "Webhooks", heading: "Webhooks" }))).toBe("Webhooks\nBody.");
  });

  it("leaves text alone without title/heading, or when it already starts with them", () => {
    expect(contextualText(chunk("Body.", {}))).toBe("Body.");
    expect(contextualText(chunk("Webhooks\nBody.", { title: "Webhooks" }))).toBe("Webhooks\nBody.");
  });
});
