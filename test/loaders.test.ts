import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { splitSentences } from "../src/text/sentences.js";
import zlib from "node:zlib";
import { loadFile, MAX_FILE_BYTES } from "../src/ingest/loaders.js";
import { discoverFiles } from "../src/ingest/discover.js";
import { describeSupportedTypes } from "../src/ingest/file-types.js";
import { UsageError } from "../src/errors/index.js";
import { MARKDOWN_FIXTURES, pseudoRandomBytes, SAMPLE_PDFS, tempDir, writeCorpus } from "./helpers/fs.js";

const text = (s: string) => Buffer.from(s, "utf8");

describe("loadFile: text formats", () => {
  it("loads markdown with its first # heading as the title", async () => {
    const md = "Intro line.\n\n# Rotating API keys\n\nCreate the new key first.\n\n## Steps\n\nThen revoke the old one.\n";
    const { documents, warnings } = await loadFile("/docs/keys.md", text(md));
    expect(warnings).toEqual([]);
    expect(documents).toHaveLength(1);
    // Plain Markdown without markup reads the same as clean text (trailing blank lines dropped).
    expect(documents[0]!.pageContent).toBe(md.trimEnd());
    expect(documents[0]!.metadata).toMatchObject({ source: "/docs/keys.md", format: "md", title: "Rotating API keys" });
  });

  it("turns Markdown into clean text: comments, link definitions and markup dropped, wrapped lines joined, code kept", async () => {
    const file = path.join(MARKDOWN_FIXTURES, "http-server.md");
    const { documents } = await loadFile(file, await fs.readFile(file));
    const content = documents[0]!.pageContent;
    for (const markup of ["<!--", "YAML", "added: v", "][server", "]: #", "](", "**", "net.md#"]) expect(content).not.toContain(markup);
    expect(content).toContain(
      "The number of milliseconds of inactivity a server needs to wait for additional incoming data, after it has finished writing the last response, before a socket will be destroyed.",
    );
    expect(content).toContain("See server.listen(handle[, backlog][, callback]) for how a server starts listening.");
    expect(content).toContain("- {number} Timeout in milliseconds. Default: 5000 (5 seconds).");
    expect(content).toContain(
      "```js\nconst server = http.createServer();\n// Wait 10 s for the next request. Then close.\nserver.keepAliveTimeout = 10_000;\n```",
    );
    expect(content).toContain("\n### server.keepAliveTimeout\n");
    expect(documents[0]!.metadata.title).toBe("HTTP");
  });

  it("reads Markdown's character references as the characters they name, in headings and text", async () => {
    const { documents } = await loadFile(
      "/docs/compare.md",
      Buffer.from("Natural Compare &ndash; sorting\n===\n\nStrings &amp; numbers&nbsp;sort as a person would &#8212; `a &lt; b` &copy; 2015.\n"),
    );
    expect(documents[0]!.pageContent).toBe("# Natural Compare – sorting\n\nStrings & numbers sort as a person would — a < b © 2015.");
    expect(documents[0]!.metadata.title).toBe("Natural Compare – sorting");
  });

  it("keeps tables readable, one row a line, and leaves front matter out of the text", async () => {
    const md = "---\ntitle: Limits\n---\n\n| Plan | Requests per minute |\n|---|---|\n| Growth | `600` |\n| *Scale* | 3000 |\n";
    const { documents } = await loadFile("/docs/limits.md", text(md));
    expect(documents[0]!.pageContent).toBe("Plan | Requests per minute\nGrowth | 600\nScale | 3000");
    expect(documents[0]!.metadata.title).toBe("Limits");
  });

  it("reads a gzip-compressed file of a text type as that type", async () => {
    const md = "# Tides\n\nThe tide\nturns twice a day. <!-- hidden -->\n";
    const { documents } = await loadFile("/docs/tides.md.gz", zlib.gzipSync(text(md)));
    expect(documents[0]!.pageContent).toBe("# Tides\n\nThe tide turns twice a day.");
    expect(documents[0]!.metadata).toMatchObject({ source: "/docs/tides.md.gz", format: "md", title: "Tides" });
    const json = await loadFile("/docs/rows.json.gz", zlib.gzipSync(text(JSON.stringify([{ text: "first row" }]))));
    expect(json.documents[0]!.pageContent).toBe("first row");
  });

  it("refuses a gzip file that decompresses past the size limit, or is no gzip at all", async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(MAX_FILE_BYTES + 1, 0x61));
    await expect(loadFile("/docs/bomb.txt.gz", bomb)).rejects.toThrow(/decompresses to more than 64 MB/);
    await expect(loadFile("/docs/fake.md.gz", text("not gzip"))).rejects.toThrow(/not a valid gzip file/);
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

  it("drops the navigation of a page shaped like the PostgreSQL manual, keeping the chapter body and the article's own header", async () => {
    // Modelled on the manual's DocBook pages: a navheader and navfooter table (Prev / Up / Home / Next),
    // a breadcrumb, a table of contents in a sidebar and at the top of the section, a skip link,
    // ARIA landmarks, and the chapter body in an <article> whose <header> carries the title.
    const html = `<!DOCTYPE html><html><head><title>5.4. Constraints</title></head>
      <body id="docContent">
      <a class="skip-link" href="#main">SkipLinkText</a>
      <header class="site-header"><a href="/">SiteBannerText</a></header>
      <div role="banner">BannerRoleText</div>
      <div class="breadcrumbs"><a href="index.html">Docs</a> &gt; <a href="ddl.html">BreadcrumbText</a></div>
      <div class="navheader"><table width="100%" summary="Navigation header">
        <tr><th colspan="5" align="center">5.4. Constraints</th></tr>
        <tr><td width="10%" align="left"><a accesskey="p" href="ddl-generated-columns.html">Prev</a></td>
        <td width="10%" align="left"><a accesskey="u" href="ddl.html">Up</a></td>
        <th width="60%" align="center">Chapter 5. NavHeaderChapterText</th>
        <td width="10%" align="right"><a accesskey="h" href="index.html">Home</a></td>
        <td width="10%" align="right"><a accesskey="n" href="ddl-system-columns.html">Next</a></td></tr>
      </table><hr /></div>
      <div id="sidebar"><ul><li><a href="ddl-basics.html">SidebarTocText</a></li></ul></div>
      <div role="navigation" aria-label="Chapter">NavigationRoleText</div>
      <main id="main"><article class="sect1" id="DDL-CONSTRAINTS">
        <header><h1 class="title">5.4. Constraints</h1><p>Data types are a way to limit what can be stored.</p></header>
        <div class="toc"><dl class="toc"><dt><a href="#DDL-CONSTRAINTS-CHECK">5.4.1. TocEntryText</a></dt></dl></div>
        <h2>5.4.1. Check Constraints</h2>
        <p>A check constraint is the most generic constraint type.</p>
        <pre><code>CREATE TABLE products (price numeric CHECK (price &gt; 0));</code></pre>
        <footer class="article-footer"><p>Submit correction: ArticleFooterText</p></footer>
      </article></main>
      <div class="navfooter"><hr /><table width="100%" summary="Navigation footer">
        <tr><td width="40%" align="left"><a accesskey="p" href="ddl-generated-columns.html">Prev</a></td>
        <td width="20%" align="center"><a accesskey="u" href="ddl.html">Up</a></td>
        <td width="40%" align="right"><a accesskey="n" href="ddl-system-columns.html">Next</a></td></tr>
        <tr><td align="left" valign="top">5.3. NavFooterPrevText</td><td align="center"><a accesskey="h" href="index.html">Home</a></td>
        <td align="right" valign="top">5.5. System Columns</td></tr>
      </table></div>
      <footer role="contentinfo">PageFooterText</footer>
      <div role="contentinfo">ContentInfoRoleText</div>
      </body></html>`;
    const { documents } = await loadFile("/manual/ddl-constraints.html", text(html));
    const content = documents[0]!.pageContent;
    expect(content.split("\n")).toContain("# 5.4. Constraints");
    expect(content).toContain("Data types are a way to limit what can be stored.");
    expect(content.split("\n")).toContain("## 5.4.1. Check Constraints");
    expect(content).toContain("A check constraint is the most generic constraint type.");
    expect(content).toContain("CREATE TABLE products (price numeric CHECK (price > 0));");
    expect(content).toContain("Submit correction: ArticleFooterText");
    const chrome = ["SkipLinkText", "SiteBannerText", "BannerRoleText", "BreadcrumbText", "NavHeaderChapterText", "SidebarTocText", "NavigationRoleText"];
    for (const hidden of [...chrome, "TocEntryText", "NavFooterPrevText", "PageFooterText", "ContentInfoRoleText", "Prev", "Next", "Home"]) {
      expect(content, hidden).not.toContain(hidden);
    }
  });

  it("drops Texinfo's Next / Previous / Up bar and the ¶ of its permalinks, keeping a header block that links no page", async () => {
    // Modelled on GNU Texinfo's HTML output (libffi's manual): the bar above every node, and a
    // copiable "¶" anchor after each function signature.
    const html = `<html><body><div class="section" id="The-Basics">
      <div class="header"><p>Next: <a href="Simple-Example.html" accesskey="n" rel="next">Simple Example</a>, Up: <a href="Using-libffi.html" rel="up">Using libffi</a> &nbsp; [<a href="Index.html" rel="index">Index</a>]</p></div>
      <h3 class="section">2.1 The Basics</h3>
      <dl><dt><span>Function: ffi_call (ffi_cif *cif, void **avalues)</span><a href="#index-void" class="copiable-anchor"> &para;</a></dt>
      <dd><p>This calls the function <a href="#fn">fn</a> according to the description given in cif.</p></dd></dl>
      <div class="header"><p>Card title kept</p></div>
      </div></body></html>`;
    const content = (await loadFile("/manual/The-Basics.html", text(html))).documents[0]!.pageContent;
    expect(content).not.toMatch(/Next:|Simple Example|Index|¶/);
    expect(content).toContain("Function: ffi_call (ffi_cif *cif, void **avalues)\n");
    expect(content).toContain("This calls the function fn according to the description given in cif.");
    expect(content).toContain("Card title kept");
  });

  it("reads a definition list of short terms as 'term: description' items, and a signature or a long description as it was", async () => {
    const html = `<html><body><p>The arguments to ffi_prep_closure_loc are:</p>
      <dl compact="compact"><dt><var>closure</var></dt><dd><p>The address of a <code>ffi_closure</code> object.</p></dd>
      <dt><var>fun</var></dt><dd><p>The function to call. It is called with:</p><dl><dt>ret</dt><dd><p>A pointer to the return value.</p></dd></dl></dd></dl>
      <dl class="def"><dt>Function: void ffi_call (ffi_cif *cif, void **avalues)</dt><dd><p>This calls the function.</p></dd></dl></body></html>`;
    const lines = (await loadFile("/manual/closures.html", text(html))).documents[0]!.pageContent.split("\n").filter(Boolean);
    expect(lines).toEqual([
      "The arguments to ffi_prep_closure_loc are:",
      "- closure: The address of a ffi_closure object.",
      "- fun:",
      "The function to call. It is called with:",
      "- ret: A pointer to the return value.",
      "Function: void ffi_call (ffi_cif *cif, void **avalues)",
      "This calls the function.",
    ]);
  });

  it("keeps a header and footer inside <main> or a <section>, which belong to the content", async () => {
    const html = `<body><main><header><h1>Release notes</h1></header><section><header><h2>Version 2</h2></header>
      <p>Faster ingest.</p><footer>Released in March.</footer></section></main></body>`;
    const content = (await loadFile("/site/notes.html", text(html))).documents[0]!.pageContent;
    expect(content.split("\n")).toEqual(expect.arrayContaining(["# Release notes", "## Version 2"]));
    expect(content).toContain("Released in March.");
  });

  it("renders an HTML table a row a line with its cells between pipes, as a Markdown table reads, a long cell unwrapped, each row a sentence with its column names", async () => {
    const long = "The amount is below the minimum for the currency. Minimums are listed in the payments reference, per currency and payment method.";
    const html = `<html><body><h2>Payment errors</h2><table>
      <thead><tr><th>Code</th><th>Status</th><th>Description</th></tr></thead>
      <tbody><tr><td><code>expired_card</code></td><td>402</td><td>The card's expiry date has passed.</td></tr>
      <tr><td><code>amount_too_small</code></td><td>402</td><td>${long}</td></tr></tbody></table>
      <p>Show the customer a generic message.</p></body></html>`;
    const { documents } = await loadFile("/site/errors.html", text(html));
    expect(documents[0]!.pageContent.split("\n")).toEqual(
      expect.arrayContaining(["Code | Status | Description", "expired_card | 402 | The card's expiry date has passed.", `amount_too_small | 402 | ${long}`]),
    );
    // A row is a sentence of its own, read with its column names: a question matching one row is
    // not answered with the whole table, nor with a bare "expired_card | 402".
    const sentences = splitSentences(documents[0]!.pageContent).map((s) => s.text);
    expect(sentences).toContain("Code: expired_card; Status: 402; Description: The card's expiry date has passed.");
    expect(sentences.filter((s) => s.includes("expired_card") || s.includes("amount_too_small"))).toHaveLength(2);
    expect(sentences.some((s) => s.includes("Code | Status"))).toBe(false);
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
    expect(documents.map((d) => d.pageContent)).toEqual(["Refunds\n\nRefunds return money to the card.", "Payouts\n\nPayouts move your balance to a bank."]);
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
    await expect(loadFile("/data/all-bad.jsonl", text("nope\n{also not\n"))).rejects.toThrow(/no valid JSON lines \(line 1: invalid JSON/);
  });
});

describe("loadFile: nesting", () => {
  const deeply = (depth: number, open: string, close: string, inner: string) => open.repeat(depth) + inner + close.repeat(depth);

  it.each([
    ["JSON arrays", "/data/deep.json", deeply(100_000, "[", "]", '"x"')],
    ["JSON objects", "/data/deep.json", deeply(100_000, '{"a":', "}", "1")],
    ["HTML divs", "/site/deep.html", deeply(100_000, "<div>", "</div>", "hi")],
    ["HTML tables", "/site/deep.html", deeply(20_000, "<table><tr><td>", "</td></tr></table>", "hi")],
  ])("refuses %s nested 100k deep with a readable reason, not a stack overflow", async (_name, file, content) => {
    await expect(loadFile(file, text(content))).rejects.toThrow(/^nested too deeply \(more than 500 levels\)$/);
  });

  it("warns about a JSONL line nested too deeply, and loads the others", async () => {
    const lines = `{"text": "first record"}\n${deeply(100_000, "[", "]", "1")}\n{"text": "third record"}\n`;
    const { documents, warnings } = await loadFile("/data/rows.jsonl", text(lines));
    expect(documents.map((d) => d.pageContent)).toEqual(["first record", "third record"]);
    expect(warnings).toEqual(["line 2: nested too deeply (more than 500 levels)"]);
  });

  it.each([
    ["JSON", "/data/ok.json", deeply(500, "[", "]", '"at the bottom"')],
    ["JSON objects", "/data/ok.json", deeply(500, '{"a":', "}", '"at the bottom"')],
    ["HTML", "/site/ok.html", deeply(498, "<div>", "</div>", "<p>at the bottom</p>")],
    ["HTML lists", "/site/ok.html", deeply(249, "<ul><li>", "</li></ul>", "at the bottom")],
    ["HTML tables", "/site/ok.html", deeply(166, "<table><tr><td>", "</td></tr></table>", "at the bottom")],
    ["HTML headings and links", "/site/ok.html", deeply(249, "<blockquote><a href='x'>", "</a></blockquote>", "<h2>at the bottom</h2>")],
  ])("loads %s nested up to the limit", async (_name, file, content) => {
    const { documents } = await loadFile(file, text(content));
    expect(documents[0]!.pageContent).toContain("at the bottom");
  });
});

describe("loadFile: files it must refuse", () => {
  it("refuses a markdown file containing NUL bytes as binary", async () => {
    const bytes = Buffer.concat([text("# Title\n"), Buffer.from([0, 1, 2, 0]), text("more")]);
    await expect(loadFile("/docs/image.md", bytes)).rejects.toThrow(/binary content/);
  });

  describe("UTF-16", () => {
    const MARMALADE = "# Seville marmalade\n\nBitter oranges from Seville are boiled whole, then sliced — peel, pith and all — for a café breakfast.\n";
    const utf16le = (s: string) => Buffer.from(s, "utf16le");
    const utf16be = (s: string) => utf16le(s).swap16();

    it.each([
      ["LE", "notes.md", utf16le],
      ["BE", "notes.md", utf16be],
      ["LE", "notes.txt", utf16le],
      ["BE", "notes.txt", utf16be],
    ])("reads UTF-16 %s with a byte-order mark (%s) as the text it holds", async (_order, name, encode) => {
      const { documents } = await loadFile(`/docs/${name}`, encode(`\uFEFF${MARMALADE}`));
      expect(documents[0]!.pageContent).toContain("Bitter oranges from Seville are boiled whole, then sliced — peel, pith and all — for a café breakfast.");
      expect(documents[0]!.pageContent).not.toContain("\uFEFF");
      expect(documents[0]!.metadata.title).toBe("Seville marmalade");
    });

    it.each([
      ["LE", utf16le, "UTF-16LE"],
      ["BE", utf16be, "UTF-16BE"],
    ])("refuses UTF-16 %s without a byte-order mark, saying how to convert it", async (_order, encode, iconvName) => {
      await expect(loadFile("/docs/notes.md", encode(MARMALADE))).rejects.toThrow(
        `looks like ${iconvName} text without a byte-order mark; convert it to UTF-8, e.g. iconv -f ${iconvName} -t UTF-8 notes.md > notes.utf8.md`,
      );
    });

    it("still refuses binary content that merely starts with a UTF-16 byte-order mark", async () => {
      await expect(loadFile("/docs/blob.txt", Buffer.from([0xff, 0xfe, 0x00, 0x00, 0x01, 0x00]))).rejects.toThrow(/binary content/);
      await expect(loadFile("/docs/odd.txt", Buffer.from([0xff, 0xfe, 0x41, 0x00, 0x42]))).rejects.toThrow(/not valid UTF-16/);
    });
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

  it("describes the supported types in the same words in the loader's error, discovery's reason and the README", async () => {
    const types = describeSupportedTypes();
    expect(types).toMatch(/^\.md \.markdown \.txt \.html \.htm \.pdf \.json \.jsonl\b/);
    await expect(loadFile("/docs/report.docx", text("hello"))).rejects.toThrow(`supported: ${types}`);
    const root = await tempDir();
    await writeCorpus(root, { "a.md": "# A", "report.docx": "x" });
    const found = await discoverFiles([root]);
    expect(found.skipped.map((s) => s.reason)).toEqual([`unsupported file type (supported: ${types})`]);
    expect(await fs.readFile(path.join(import.meta.dirname, "..", "README.md"), "utf8")).toContain(types);
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
    expect(found.files).toEqual([files["a.md"]!, files["guides/b.txt"]!, files["guides/deep/d.jsonl"]!, files["guides/deep/er/c.HTML"]!].sort());
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
