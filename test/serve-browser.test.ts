import fs from "node:fs";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config/index.js";
import { ingest } from "../src/ingest/ingest.js";
import { createPipeline } from "../src/pipeline/create-pipeline.js";
import { createServer, type RagServer } from "../src/server/create-server.js";
import { REPO_ROOT } from "./helpers/cli.js";
import { tempDir } from "./helpers/fs.js";

/** Debian's chromium (`.ci/run` installs it); CHROMIUM_PATH points elsewhere. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SEED = "How do I configure OAuth2 in the API?";
/** A document that would run script if the page ever rendered document text as HTML. */
const HOSTILE = `# Zebra webhook probe

The zebra webhook probe checks rendering. <script>window.__pwned = "script";</script>
<img src="x" onerror="window.__pwned = 'img'"> Zebra probes end here.
`;

let work: string;
let server: RagServer;
let url: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: \`apt-get install chromium\` (as .ci/run does), or set CHROMIUM_PATH.`);
  work = await tempDir();
  const docs = path.join(work, "docs");
  fs.cpSync(path.join(REPO_ROOT, "data", "docs"), docs, { recursive: true });
  // Plain text keeps the markup verbatim (Markdown cleaning drops raw HTML): the page must show it inert.
  fs.writeFileSync(path.join(docs, "zebra-probe.txt"), HOSTILE);
  const config = loadConfig(
    { RAG_INDEX_DIR: path.join(work, "index"), RAG_RERANKER: "bm25", RAG_LLM: "extractive", RAG_MODELS_DIR: path.join(work, "no-models") },
    {},
  );
  await ingest({ paths: [docs], config });
  server = createServer(await createPipeline(config), { config, log: () => {} });
  ({ url } = await server.listen({ host: "127.0.0.1", port: 0 }));
  browser = await chromium.launch({ executablePath: CHROMIUM });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Asks through the form as a keyboard user would, and waits for the answer to finish. */
async function ask(question: string, turn: number) {
  await page.getByLabel("Your question").fill(question);
  await page.getByLabel("Your question").press("Enter");
  await waitForTurn(turn);
}

const waitForTurn = (turn: number) =>
  page
    .locator(`article.turn:nth-of-type(${turn}) .timings`)
    .filter({ hasText: /total \d+ ms/ })
    .waitFor({ timeout: 30_000 });
const cardTitles = (turn: number) => page.locator(`article.turn:nth-of-type(${turn}) .card-title`).allTextContents();

describe("the page in a real browser", () => {
  it("streams a cited answer, shows what re-ranking changed, re-runs without it, jumps to a source, follows up", async () => {
    await page.goto(url);
    await expect.poll(() => page.locator("#pipeline").textContent()).toMatch(/rerank=bm25/);
    // The answer's length at each render, from the nodes each render put in: several lengths mean it
    // was drawn token by token (records, not observer calls: tokens that arrive in one read render in one task).
    await page.evaluate(() => {
      const w = window as unknown as { renders: number[] };
      w.renders = [];
      new MutationObserver((records) => {
        for (const record of records) {
          if (!(record.target instanceof Element) || !record.target.matches(".answer")) continue;
          w.renders.push([...record.addedNodes].reduce((length, node) => length + (node.textContent?.length ?? 0), 0));
        }
      }).observe(document.getElementById("conversation")!, { childList: true, subtree: true });
    });
    await ask(SEED, 1);
    const renders = await page.evaluate(() => (window as unknown as { renders: number[] }).renders);
    expect(new Set(renders.filter((n) => n > 0)).size).toBeGreaterThan(1);

    const reranked = await cardTitles(1);
    expect(reranked[0]).toBe("[1] authentication/oauth2-client-credentials.md › Configuring OAuth2 client credentials");
    const moves = await page.locator("article.turn:nth-of-type(1) .move").allTextContents();
    expect(moves.join("\n")).toMatch(/first stage #\d+ → #\d+/);
    await expect.poll(() => page.getByRole("region", { name: "Before re-ranking" }).locator("li").count()).toBeGreaterThanOrEqual(5);
    // The README's screenshot, refreshed on request (UPDATE_SCREENSHOT=1) so a test run leaves the tree clean.
    const screenshot = await page.screenshot({ fullPage: true });
    expect(screenshot.length).toBeGreaterThan(10_000);
    if (process.env.UPDATE_SCREENSHOT === "1") fs.writeFileSync(path.join(REPO_ROOT, "docs", "web-ui.png"), screenshot);

    // Re-ranking off re-asks the question: the first-stage order, which differs.
    await page.getByRole("checkbox", { name: "Re-rank" }).uncheck();
    await page.getByText("Sources (first-stage order, re-ranking off)").waitFor();
    await waitForTurn(1);
    const firstStage = await cardTitles(1);
    expect(firstStage).not.toEqual(reranked);
    expect(await page.locator("article.turn").count()).toBe(1);
    await page.getByRole("checkbox", { name: "Re-rank" }).check();
    await page.getByText("Sources after re-ranking with bm25").waitFor();
    await waitForTurn(1);

    // A citation jumps to its card and gives it focus.
    await page.locator("article.turn:nth-of-type(1) a.cite").first().click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toMatch(/^src-\d+-1$/);

    // A follow-up carries the conversation so far.
    const sent = page.waitForRequest((request) => request.url().endsWith("/api/ask"));
    await ask("Which scopes should the client get?", 2);
    const history = ((await sent).postDataJSON() as { history: Array<{ role: string; content: string }> }).history;
    expect(history.map((turn) => turn.role)).toEqual(["user", "assistant"]);
    expect(history[0]!.content).toBe(SEED);
    expect(await page.locator("article.turn:nth-of-type(2) .answer").textContent()).toMatch(/scope/i);
  });

  it("shows a document's <script> and <img onerror> as text and runs neither", async () => {
    await page.getByRole("button", { name: "New conversation" }).click();
    await ask("zebra webhook probe rendering", 1);
    const turn = page.locator("article.turn:nth-of-type(1)");
    const passages = await turn.locator(".chunk").allTextContents();
    expect(passages.join("\n")).toContain('<script>window.__pwned = "script";</script>');
    expect(passages.join("\n")).toContain('<img src="x" onerror="window.__pwned = \'img\'">');
    expect(await page.locator("#conversation script, #conversation img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: string }).__pwned)).toBeUndefined();
  });

  it("fits a phone's width and follows the dark setting", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.emulateMedia({ colorScheme: "dark" });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe("rgb(15, 18, 22)");
  });

  it("says plainly when nothing was found and when the server fails", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.getByRole("button", { name: "New conversation" }).click();
    await page.route("**/api/ask", (route) =>
      route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { message: "The index is damaged." } }) }),
    );
    await page.getByLabel("Your question").fill(SEED);
    await page.getByLabel("Your question").press("Enter");
    await expect.poll(() => page.getByRole("alert").textContent()).toBe("Error: The index is damaged.");
    await page.unroute("**/api/ask");
    // What the server streams when no source holds the answer: no sources, then done.
    const sources = { pipeline: "p", snapshot: null, rerank: true, reranker: "bm25", sources: [], before: [] };
    const done = { answer: "I could not find anything about this in the indexed documents.", timings: { totalMs: 1 }, noAnswer: true };
    const body = `event: sources\ndata: ${JSON.stringify(sources)}\n\nevent: done\ndata: ${JSON.stringify(done)}\n\n`;
    await page.route("**/api/ask", (route) => route.fulfill({ status: 200, contentType: "text/event-stream", body }));
    await page.getByLabel("Your question").fill("What is the airspeed of a swallow?");
    await page.getByLabel("Your question").press("Enter");
    await expect.poll(() => page.getByRole("note").first().textContent()).toMatch(/The documents don't answer this/);
    await page.unroute("**/api/ask");
  });

  it("lists a declined question's sources as related without a second refusal, leaves re-ranking out of the timings when off, and loads without a console error", async () => {
    const errors: string[] = [];
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    await page.goto(url);
    await expect.poll(() => page.locator("#pipeline").textContent()).toMatch(/rerank=bm25/);
    expect(await page.getByLabel("Your question").getAttribute("maxlength")).toBe("4000");
    expect(await page.getByLabel("Your question").getAttribute("placeholder")).toBe("Ask about the indexed documents");
    const source = {
      n: 1,
      chunkId: "c1",
      source: "a.md",
      path: "a.md",
      retrievalRank: 1,
      retrievalScore: 0.03,
      evidenceScore: 0,
      belowCutOff: true,
      text: "Unrelated.",
    };
    const sources = { pipeline: "p", snapshot: null, rerank: false, reranker: "none", sources: [source], before: [source] };
    const answer = "The indexed documents do not answer this question. The closest sources are listed as related, not as an answer.";
    const done = { answer, timings: { firstStageMs: 1, rerankMs: 0, firstTokenMs: 2, totalMs: 3 }, noAnswer: true };
    const body = `event: sources\ndata: ${JSON.stringify(sources)}\n\nevent: done\ndata: ${JSON.stringify(done)}\n\n`;
    await page.route("**/api/ask", (route) => route.fulfill({ status: 200, contentType: "text/event-stream", body }));
    await page.getByLabel("Your question").fill("What is the capital of Australia?");
    await page.getByLabel("Your question").press("Enter");
    await page.getByText("Related sources (they do not answer the question)").waitFor();
    await expect.poll(() => page.locator("article.turn .timings").last().textContent()).toBe("first stage 1 ms · first token 2 ms · total 3 ms");
    expect(await page.getByRole("note").count()).toBe(0);
    await page.unroute("**/api/ask");
    expect(errors).toEqual([]);
  });

  it('works mounted under a prefix of another app (app.route("/rag", server.app)), its assets and APIs found there', async () => {
    const host = new Hono();
    host.get("/", (c) => c.text("the host app's own page"));
    host.route("/rag", server.app);
    const mounted = await new Promise<{ close: () => void; url: string }>((resolve) => {
      const http = serve({ fetch: host.fetch, hostname: "127.0.0.1", port: 0 }, (info: AddressInfo) =>
        resolve({ close: () => http.close(), url: `http://127.0.0.1:${info.port}` }),
      );
    });
    const tab = await browser.newPage();
    try {
      const failed: string[] = [];
      tab.on("response", (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      await tab.goto(`${mounted.url}/rag`);
      await expect.poll(() => tab.locator("#pipeline").textContent()).toMatch(/rerank=bm25/);
      await tab.getByLabel("Your question").fill(SEED);
      await tab.getByLabel("Your question").press("Enter");
      await tab
        .locator("article.turn .timings")
        .filter({ hasText: /total \d+ ms/ })
        .waitFor({ timeout: 30_000 });
      expect(await tab.locator("article.turn .card-title").count()).toBeGreaterThan(0);
      expect(failed).toEqual([]);
    } finally {
      await tab.close();
      mounted.close();
    }
  });
});
