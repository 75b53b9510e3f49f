import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createStuffDocumentsChain } from "@langchain/classic/chains/combine_documents";
import { HumanMessage } from "@langchain/core/messages";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { UsageError } from "../src/errors/index.js";
import { Document } from "@langchain/core/documents";
import { ANSWER_PROMPT, formatQuestion, formatSources } from "../src/llms/prompt.js";
import { splitDocuments } from "../src/ingest/chunker.js";
import { loadFile } from "../src/ingest/loaders.js";
import { MARKDOWN_FIXTURES } from "./helpers/fs.js";
import { EXTRACTIVE_LABEL, ExtractiveChatModel, NO_ANSWER } from "../src/llms/extractive-chat-model.js";
import { questionWeights, splitSentences } from "../src/text/sentences.js";

const SOURCES = [
  new Document({
    pageContent:
      "## Configuring OAuth2 client credentials\n\n1. Create an OAuth2 client in the Dashboard under Settings, API access.\n2. Request a token with POST /oauth2/token and grant_type=client_credentials.\n3. Send the token as a bearer token.",
    metadata: { relativePath: "auth/oauth2.md", heading: "Configuring OAuth2 client credentials" },
  }),
  new Document({
    pageContent: "Webhooks are retried eight times over about 66 hours in live mode.",
    metadata: { relativePath: "webhooks/retries.md", heading: "Automatic retry schedule" },
  }),
];

async function promptFor(question: string) {
  return ANSWER_PROMPT.formatMessages({ question: formatQuestion(question), sources: formatSources(SOURCES) });
}

describe("ExtractiveChatModel", () => {
  it("answers with the sentences of the best source, cited and labelled as extractive", async () => {
    const model = new ExtractiveChatModel();
    const reply = await model.invoke(await promptFor("How do I configure OAuth2 client credentials?"));
    const text = reply.text;
    expect(text).toContain("Create an OAuth2 client in the Dashboard under Settings, API access. [1]");
    expect(text).not.toContain("[2]");
    expect(text.endsWith(EXTRACTIVE_LABEL)).toBe(true);
  });

  it("keeps the picked sentences in reading order", async () => {
    const text = (await new ExtractiveChatModel().invoke(await promptFor("How to configure OAuth2 and request a token with client_credentials?"))).text;
    expect(text.indexOf("Create an OAuth2 client")).toBeLessThan(text.indexOf("Request a token"));
  });

  it("cites the source that holds the answer, not always the first", async () => {
    const text = (await new ExtractiveChatModel().invoke(await promptFor("How often are webhooks retried in live mode?"))).text;
    expect(text).toContain("Webhooks are retried eight times over about 66 hours in live mode. [2]");
  });

  it("says the documents do not answer when nothing covers the question", async () => {
    const reply = await new ExtractiveChatModel().invoke(await promptFor("What colour is the company logo?"));
    expect(reply.content).toBe(NO_ANSWER);
  });

  it("streams the answer a cited sentence a chunk, then the label, adding up to the whole", async () => {
    const model = new ExtractiveChatModel();
    const messages = await promptFor("How do I configure OAuth2 client credentials?");
    const whole = (await model.invoke(messages)).text;
    const chunks: string[] = [];
    for await (const chunk of await model.stream(messages)) chunks.push(chunk.text);
    expect(chunks.length).toBeGreaterThan(2);
    for (const sentence of chunks.slice(0, -1)) expect(sentence).toMatch(/^ ?\S.*[.!?:)]["')]? \[\d\]$/s);
    expect(chunks.at(-1)).toMatch(/^\n\n\(Extractive answer/);
    expect(chunks.join("")).toBe(whole);
  });

  it("answers in a chain with its own prompt (context in the system message, the question last), quoting without [n]", async () => {
    const prompt = ChatPromptTemplate.fromMessages([
      ["system", "Answer using only this context:\n\n{context}"],
      ["human", "{input}"],
    ]);
    const chain = await createStuffDocumentsChain({ llm: new ExtractiveChatModel(), prompt });
    const answer = await chain.invoke({ input: "How often are webhooks retried in live mode?", context: SOURCES });
    expect(answer).toMatch(/^Webhooks are retried eight times over about 66 hours in live mode\.\n\n/);
    expect(answer).not.toMatch(/\[\d\]/);
  });

  it("reads a one-message prompt's question from its last line that is no label ('Question: …', then 'Answer:')", async () => {
    const prompt = ChatPromptTemplate.fromTemplate("Use the context to answer.\n\nContext:\n{context}\n\nQuestion: {input}\nHelpful answer:");
    const chain = await createStuffDocumentsChain({ llm: new ExtractiveChatModel(), prompt });
    const answer = await chain.invoke({ input: "How often are webhooks retried in live mode?", context: SOURCES });
    expect(answer).toMatch(/^Webhooks are retried eight times over about 66 hours in live mode\./);
  });

  it.each([
    [
      "a system rule, then context and question in one message",
      [
        ["system", "Answer from the context only."],
        ["human", "Context:\n{context}\n\nQuestion: {input}"],
      ],
    ],
    ["the question before the context", [["human", "Question: {input}\n\nContext:\n{context}\n\nAnswer:"]]],
    [
      "the question on the line after its label",
      [
        ["system", "Be brief."],
        ["human", "{context}\n\nQuestion:\n{input}"],
      ],
    ],
  ] as const)("finds a labelled question wherever the prompt puts it: %s", async (_name, messages) => {
    const prompt = ChatPromptTemplate.fromMessages(messages.map(([role, text]) => [role, text] as [string, string]));
    const chain = await createStuffDocumentsChain({ llm: new ExtractiveChatModel(), prompt });
    const answer = await chain.invoke({ input: "How often are webhooks retried in live mode?", context: SOURCES });
    expect(answer).toMatch(/^Webhooks are retried eight times over about 66 hours in live mode\./);
  });

  it("refuses an empty prompt with a UsageError saying where the question goes", async () => {
    const error = await new ExtractiveChatModel().invoke([new HumanMessage("  ")]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).hint).toMatch(/last message/);
  });
});

describe("ExtractiveChatModel: sentences that announce steps", () => {
  it("brings the steps a picked sentence announces, in order, instead of the announcement alone", async () => {
    const doc = new Document({
      pageContent:
        "## Registering a webhook endpoint\n\nFollow these steps to register a webhook endpoint.\n\n1. Open Developers in the Dashboard.\n2. Click Add endpoint and enter its HTTPS address.\n3. Pick the event types it receives.\n\nEndpoints in test mode receive test events only.",
      metadata: { relativePath: "webhooks.md", heading: "Registering a webhook endpoint" },
    });
    const messages = await ANSWER_PROMPT.formatMessages({ question: formatQuestion("How do I register a webhook endpoint?"), sources: formatSources([doc]) });
    const text = (await new ExtractiveChatModel().invoke(messages)).text;
    expect(text.split("\n\n")[0]).toBe(
      "Follow these steps to register a webhook endpoint. [1] Open Developers in the Dashboard. [1] Click Add endpoint and enter its HTTPS address. [1] Pick the event types it receives. [1]",
    );
  });

  it.each([
    ["The following retry settings are supported by every client.", "Which retry settings are supported by every client?"],
    ["The retry settings every client supports are listed below.", "Which retry settings does every client support?"],
  ])("brings the items of a list announced without a colon: %s", async (announcement, question) => {
    const doc = new Document({
      pageContent: `## Retries\n\n${announcement}\n\n- maxRetries sets how many times a request is retried.\n- retryDelay sets the first wait in milliseconds.\n\nRetries never apply to POST requests without an idempotency key.`,
      metadata: { relativePath: "client.md", heading: "Retries" },
    });
    const messages = await ANSWER_PROMPT.formatMessages({ question: formatQuestion(question), sources: formatSources([doc]) });
    const text = (await new ExtractiveChatModel().invoke(messages)).text;
    expect(text.split("\n\n")[0]).toBe(
      `${announcement} [1] maxRetries sets how many times a request is retried. [1] retryDelay sets the first wait in milliseconds. [1]`,
    );
  });
});

describe("ExtractiveChatModel formatting", () => {
  it("keeps identifiers such as grant_type intact while dropping bold and code marks", async () => {
    const doc = new Document({
      pageContent: "4. **Request an access token.** Call `POST /oauth2/token` with `grant_type=client_credentials` and your `client_id`.",
      metadata: { relativePath: "auth.md" },
    });
    const messages = await ANSWER_PROMPT.formatMessages({
      question: formatQuestion("How do I request an access token with grant_type?"),
      sources: formatSources([doc]),
    });
    const text = (await new ExtractiveChatModel().invoke(messages)).text;
    expect(text).toContain("grant_type=client_credentials");
    expect(text).toContain("client_id");
    expect(text).not.toContain("**");
    expect(text).not.toContain("`");
  });
});

describe("ExtractiveChatModel on hard-wrapped Markdown", () => {
  const QUESTION = "How long does the server wait for more incoming data with keepAliveTimeout before a socket is destroyed?";

  async function answerOver(docs: Document[]): Promise<string> {
    const messages = await ANSWER_PROMPT.formatMessages({ question: formatQuestion(QUESTION), sources: formatSources(docs) });
    return (await new ExtractiveChatModel().invoke(messages)).text;
  }

  /** The answer's sentences, each with its citation: [text, source] pairs. */
  const cited = (answer: string) => [...answer.split("\n\n")[0]!.matchAll(/(.+?) \[(\d+)\]\s*/g)].map((m) => [m[1]!, m[2]!] as const);

  it("answers in whole sentences, each cited, free of markup, from the ingested chunks", async () => {
    const file = path.join(MARKDOWN_FIXTURES, "http-server.md");
    const { documents } = await loadFile(file, await fs.readFile(file));
    const chunks = await splitDocuments(documents, { chunkSize: 400, chunkOverlap: 80 }, "f".repeat(64));
    const answer = await answerOver(chunks.filter((c) => c.pageContent.includes("keep-alive")).slice(0, 5));
    expect(answer).toContain(
      "The number of milliseconds of inactivity a server needs to wait for additional incoming data, after it has finished writing the last response, before a socket will be destroyed. [",
    );
    const sentences = cited(answer);
    expect(sentences.length).toBeGreaterThan(0);
    for (const [sentence] of sentences) {
      expect(sentence, sentence).toMatch(/^[\p{Lu}{]/u);
      expect(sentence, sentence).toMatch(/[.!?:)]$/);
      for (const markup of ["<!--", "YAML", "**", "`", "][", "]: "]) expect(sentence).not.toContain(markup);
    }
  });

  it("starts and ends every quoted sentence on a sentence boundary of the hard-wrapped fixture", async () => {
    const file = path.join(MARKDOWN_FIXTURES, "http-server.md");
    const { documents } = await loadFile(file, await fs.readFile(file));
    const chunks = await splitDocuments(documents, { chunkSize: 600, chunkOverlap: 0 }, "f".repeat(64));
    const messages = await ANSWER_PROMPT.formatMessages({
      question: formatQuestion("What happens when the server receives new data before the keep-alive timeout has fired?"),
      sources: formatSources(chunks),
    });
    const answer = (await new ExtractiveChatModel().invoke(messages)).text;
    // The fixture's paragraphs with their wrapped lines joined: where a sentence may start and end.
    const paragraphs = documents.flatMap((d) => d.pageContent.split(/\n{2,}/).map((p) => p.replace(/\s*\n\s*/g, " ")));
    const sentences = cited(answer);
    expect(sentences.map(([s]) => s)).toContain(
      "If the server receives new data before the keep-alive timeout has fired, it will reset the regular inactivity timeout, i.e., server.timeout.",
    );
    for (const [sentence] of sentences) {
      const home = paragraphs.find((p) => p.includes(sentence));
      expect(home, sentence).toBeDefined();
      const at = home!.indexOf(sentence);
      expect(at === 0 || /[.!?:]["')\]]? $/.test(home!.slice(0, at)), `starts mid-sentence: ${sentence}`).toBe(true);
      expect(/^(\s|$)/.test(home!.slice(at + sentence.length)), `ends mid-sentence: ${sentence}`).toBe(true);
    }
  });

  it("joins the hard-wrapped lines of raw Markdown and never quotes a sentence cut by the chunk's edges", async () => {
    const raw = [
      "socket is presumed to have timed out. See the timeout section.",
      "",
      "The number of milliseconds of inactivity a server needs to wait for additional",
      "incoming data, after it has finished writing the last response, before a socket",
      "will be destroyed. If the server receives new data before the keep-alive timeout",
      "has fired, it will reset the regular inactivity timeout, and the keep-alive socket",
    ].join("\n");
    const answer = await answerOver([new Document({ pageContent: raw, metadata: { relativePath: "http.md" } })]);
    expect(cited(answer).map(([s]) => s)).toEqual([
      "The number of milliseconds of inactivity a server needs to wait for additional incoming data, after it has finished writing the last response, before a socket will be destroyed.",
    ]);
  });
});

describe("ExtractiveChatModel: lists and question words", () => {
  async function answerTo(question: string, pageContent: string): Promise<string> {
    const source = new Document({ pageContent, metadata: { relativePath: "webhooks/retries.md" } });
    const messages = await ANSWER_PROMPT.formatMessages({ question: formatQuestion(question), sources: formatSources([source]) });
    return (await new ExtractiveChatModel().invoke(messages)).text.split("\n\n")[0]!;
  }

  it("quotes a list whose items go on in lower case as the one sentence it is, not an item alone", async () => {
    const list = [
      "## What counts as a failure",
      "",
      "A delivery attempt fails if your endpoint:",
      "",
      "- returns any status code outside the 2xx range,",
      "- does not respond within 10 seconds,",
      "- cannot be reached (DNS failure, connection refused).",
      "",
      "A 2xx response means success.",
    ].join("\n");
    expect(await answerTo("When does a webhook endpoint that does not respond count as failed?", list)).toBe(
      "A delivery attempt fails if your endpoint: returns any status code outside the 2xx range, does not respond within 10 seconds, cannot be reached (DNS failure, connection refused). [1]",
    );
  });

  it("brings the sentence that refers back to the best one ('Its value is…'), which says what the question asks of it", async () => {
    const text = [
      "## Handling 429 responses",
      "",
      "Rate-limited responses include a Retry-After header. Its value is always a whole number of seconds, never an HTTP date. Clients should back off exponentially.",
    ].join("\n");
    expect(await answerTo("In what format is the Retry-After header returned on a 429?", text)).toBe(
      "Rate-limited responses include a Retry-After header. [1] Its value is always a whole number of seconds, never an HTTP date. [1]",
    );
    // A next sentence that starts afresh is no part of the answer.
    expect(await answerTo("In what format is the Retry-After header returned on a 429?", text.replace("Its value is", "A value is"))).toBe(
      "Rate-limited responses include a Retry-After header. [1]",
    );
  });

  it("keeps a list of definitions ('keyword: the validation keyword.') as items of their own, not run into the line that introduces them", () => {
    const text = [
      "Each error is an object with the following properties:",
      "",
      "- keyword: validation keyword.",
      "- dataPath: the path to the part of the data that was validated.",
    ].join("\n");
    expect(splitSentences(text).map((s) => s.text)).toEqual([
      "Each error is an object with the following properties:",
      "keyword: validation keyword.",
      "dataPath: the path to the part of the data that was validated.",
    ]);
  });

  it("reads a short line without punctuation in a PDF's text as the heading of what follows, not a sentence", async () => {
    const page = [
      "Application servers never receive key material.",
      "Key rotation",
      "- Data encryption keys are rotated every 90 days.",
      "Requests are limited per key; see the",
      "Rate limits page",
      "for details.",
    ].join("\n");
    const sentences = splitSentences(page);
    expect(sentences.map((s) => [s.text, s.heading])).toEqual([
      ["Application servers never receive key material.", ""],
      ["Data encryption keys are rotated every 90 days.", "Key rotation"],
      // A short line inside a hard-wrapped sentence (lower case follows) is no heading.
      ["Requests are limited per key; see the Rate limits page for details.", "Key rotation"],
    ]);
    // "Key rotation" alone held every word of the question, and was the whole answer.
    expect(await answerTo("How do I rotate a key?", page)).toBe("Data encryption keys are rotated every 90 days. [1]");
  });

  it("drops Markdown's bold and code marks but keeps C's `**` and reads tabs and runs of spaces as one space", () => {
    const text = ["Pass **avalues** as `void **avalues`, a vector of pointers.", "", "Release\trc1\t 1-2 weeks, bug  fixes   only."].join("\n");
    expect(splitSentences(text).map((s) => s.text)).toEqual([
      "Pass avalues as void **avalues, a vector of pointers.",
      "Release rc1 1-2 weeks, bug fixes only.",
    ]);
  });

  it("ends no sentence after an abbreviation such as 'e.g.' or 'cf.', which Intl.Segmenter does before a capital", () => {
    const text = "Store keys in a manager, e.g. Vault or AWS Secrets Manager. Compare A vs. B first (cf. Section 2).";
    expect(splitSentences(text).map((s) => s.text)).toEqual([
      "Store keys in a manager, e.g. Vault or AWS Secrets Manager.",
      "Compare A vs. B first (cf. Section 2).",
    ]);
  });

  it("quotes a table row with its column names, and a lone line with a pipe in it as it reads", () => {
    const text = [
      "Option | Type | Default | Description",
      "dot | boolean | false | Enable dotfile matching.",
      "nocase | boolean | false | Match case-insensitively.",
      "",
      "Run cat log | grep error to filter.",
    ].join("\n");
    expect(splitSentences(text).map((s) => s.text)).toEqual([
      "Option: dot; Type: boolean; Default: false; Description: Enable dotfile matching.",
      "Option: nocase; Type: boolean; Default: false; Description: Match case-insensitively.",
      "Run cat log | grep error to filter.",
    ]);
  });

  it("reads bare list items as one list after the sentence that announces them, cited once", async () => {
    const list = [
      "## Browser session isolation",
      "",
      "Each browser session has independent:",
      "",
      "- HTTP cookies",
      "- LocalStorage / SessionStorage",
      "- Open tabs",
      "",
      "Sessions share nothing else.",
    ].join("\n");
    expect(await answerTo("What does each browser session keep independent?", list)).toBe(
      "Each browser session has independent: HTTP cookies; LocalStorage / SessionStorage; Open tabs [1]",
    );
  });

  it("never leads with a bare list item such as a table of contents' entry", async () => {
    const text = [
      "## Contents",
      "",
      "- Bundling yargs",
      "- Supported platforms",
      "",
      "## Bundling",
      "",
      "To bundle yargs with esbuild, mark its locale files as external.",
    ].join("\n");
    expect(await answerTo("How do I bundle yargs?", text)).toBe("To bundle yargs with esbuild, mark its locale files as external. [1]");
  });

  it("answers from the table row that holds the answer, quoted with its column names", async () => {
    const text = [
      "## Options",
      "",
      "Option | Type | Default",
      "dot | boolean | false",
      "nocase | boolean | true",
      "",
      "Options are passed as the second argument.",
    ].join("\n");
    expect(await answerTo("What is the default of the nocase option?", text)).toBe("Option: nocase; Type: boolean; Default: true [1]");
  });

  it("names the section a quoted sentence stands in when its source is labelled with another, once a run", async () => {
    const chunk = new Document({
      pageContent: [
        "name is derived from its namespace name. Every debug instance has a color derived from its namespace name.",
        "Colors help to tell the output of several instances apart.",
        "",
        "## Millisecond diff",
        "",
        "When actively developing an application it can be useful to see the time spent between one debug call and the next.",
        "Suppose for example you invoke debug before requesting a resource, and after as well: the +NNNms will show you how much time was spent between calls.",
      ].join("\n"),
      metadata: { relativePath: "debug/README.md", heading: "Millisecond diff", headings: ["debug", "Millisecond diff"], startHeading: "Namespace Colors" },
    });
    const messages = await ANSWER_PROMPT.formatMessages({
      question: formatQuestion("Which color does a debug instance get, and how do colors help?"),
      sources: formatSources([chunk]),
    });
    expect((await new ExtractiveChatModel().invoke(messages)).text.split("\n\n")[0]).toBe(
      "Every debug instance has a color derived from its namespace name. (§ Namespace Colors) [1] Colors help to tell the output of several instances apart. [1]",
    );
    const own = await ANSWER_PROMPT.formatMessages({
      question: formatQuestion("How is the time spent between debug calls shown?"),
      sources: formatSources([chunk]),
    });
    expect((await new ExtractiveChatModel().invoke(own)).text).not.toContain("(§");
  });

  it("weighs the thing asked about, not the 'many' of 'how many' (rare in documentation, it would weigh most)", () => {
    const weights = questionWeights("How many OAuth2 clients can an account have?", () => 1);
    expect([...weights.keys()].sort()).toEqual(["account", "client", "oauth2"]);
    expect([...questionWeights("How long is a refresh token valid?", () => 1).keys()].sort()).toEqual(["refresh", "token", "valid"]);
  });

  it("leaves out of the question's content what an apostrophe leaves behind ('s, n't, 're)", () => {
    expect([...questionWeights("Lumen's API doesn't say we’re throttled", () => 1).keys()].sort()).toEqual(["lumen", "sai", "throttl"]);
  });
});
