// Secrets never reach the index: files named like credentials, and files whose text holds a
// high-confidence secret, are skipped with the kind and line, never the secret itself, unless
// --allow-secrets (RAG_ALLOW_SECRETS) says to ingest them.
import fs from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ingest } from "../src/ingest/ingest.js";
import { findSecret } from "../src/ingest/secrets.js";
import { openIndex } from "../src/store/open-index.js";
import { cleanEnv, startCli } from "./helpers/cli.js";
import { TOPICS } from "./helpers/corpus.js";
import { filesUnder, pseudoRandomBytes, SAMPLE_DOCS, tempDir, testConfig, writeCorpus } from "./helpers/fs.js";
import { workspace } from "./helpers/index.js";
import { recordFigures } from "./helpers/reliability.js";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64 = `${ALNUM}+/`;
const DIGITS = "0123456789";

/** A random-looking token, the same on every run; built here so the repository holds no secret-shaped literal. */
let seed = 1;
const fake = (alphabet: string, length: number) => [...pseudoRandomBytes(length, seed++)].map((b) => alphabet[b % alphabet.length]).join("");

const SECRETS = {
  pemLine1: fake(BASE64, 70),
  pemLine2: fake(BASE64, 70),
  awsId: `AKIA${fake(BASE32, 16)}`,
  awsSecret: fake(BASE64, 40),
  github: `ghp_${fake(ALNUM, 36)}`,
  githubPat: `github_pat_${fake(`${ALNUM}_`, 82)}`,
  gitlab: `glpat-${fake(ALNUM, 20)}`,
  slack: `xoxb-${fake(DIGITS, 12)}-${fake(DIGITS, 13)}-${fake(ALNUM, 24)}`,
  openai: `sk-proj-${fake(`${ALNUM}_-`, 48)}`,
  cohere: fake(ALNUM, 40),
  cohereJson: fake(ALNUM, 40),
  stripe: `sk_live_${fake(ALNUM, 24)}`,
  google: `AIza${fake(ALNUM, 35)}`,
  npm: `npm_${fake(ALNUM, 36)}`,
  password: `${fake(ALNUM, 8)}#${fake(DIGITS, 3)}!${fake(ALNUM, 5)}`,
  urlPassword: fake(ALNUM, 20),
  slackWebhook: `https://hooks.slack.com/services/T${fake(BASE32, 8)}/B${fake(BASE32, 8)}/${fake(ALNUM, 24)}`,
  serviceAccountKey: fake(BASE64, 64),
};

/** One file per kind of secret: its content, the kind and the line the reason must name. */
const SECRET_FILES: Record<string, { content: string; kind: string; line: number }> = {
  "keys/server.md": {
    content: `# Server access\n\nThe deploy key:\n\n\`\`\`\n-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRETS.pemLine1}\n${SECRETS.pemLine2}\n-----END OPENSSH PRIVATE KEY-----\n\`\`\`\n`,
    kind: "private key block",
    line: 6,
  },
  "notes/aws.md": { content: `# AWS\n\nProfile for the backups:\n\naws_access_key_id = ${SECRETS.awsId}\n`, kind: "AWS access key id", line: 5 },
  "notes/aws-secret.txt": {
    content: `backups profile\nAWS_SECRET_ACCESS_KEY=${SECRETS.awsSecret}\n`,
    kind: "high-entropy AWS_SECRET_ACCESS_KEY value",
    line: 2,
  },
  "ci/github.md": { content: `# CI\n\nexport GH_TOKEN=${SECRETS.github}\n`, kind: "GitHub token", line: 3 },
  "ci/github-fine.txt": { content: `${SECRETS.githubPat}\n`, kind: "GitHub token", line: 1 },
  "ci/gitlab.md": { content: `# Mirror\n\nPush with ${SECRETS.gitlab} from the runner.\n`, kind: "GitLab token", line: 3 },
  "chat/slack.md": { content: `# Bot\n\nThe bot posts as ${SECRETS.slack}.\n`, kind: "Slack token", line: 3 },
  "ai/openai.md": { content: `# Models\n\nOPENAI_API_KEY=${SECRETS.openai}\n`, kind: "OpenAI-style API key", line: 3 },
  "ai/cohere.txt": { content: `rerank\n\nCOHERE_API_KEY=${SECRETS.cohere}\n`, kind: "high-entropy COHERE_API_KEY value", line: 3 },
  "ai/cohere.json": { content: JSON.stringify({ service: "cohere", api_key: SECRETS.cohereJson }, null, 2), kind: "high-entropy api_key value", line: 3 },
  "pay/stripe.md": { content: `# Payments\n\nSTRIPE_KEY = ${SECRETS.stripe}\n`, kind: "Stripe live key", line: 3 },
  "web/maps.html": {
    content: `<html><head><title>Map</title></head>\n<body><h1>Map</h1>\n<p>Embed key <code>${SECRETS.google}</code></p></body></html>\n`,
    kind: "Google API key",
    line: 3,
  },
  "registry/npm.txt": { content: `//registry.npmjs.org/:_authToken=${SECRETS.npm}\n`, kind: "npm token", line: 1 },
  "ops/db.md": { content: `# Database\n\nadmin user\npassword: ${SECRETS.password}\n`, kind: "high-entropy password value", line: 4 },
  "chat/webhook.txt": { content: `alerts go to\n${SECRETS.slackWebhook}\n`, kind: "Slack webhook URL", line: 2 },
  "gcp/key.json": {
    content: JSON.stringify(
      { type: "service_account", private_key: `-----BEGIN PRIVATE KEY-----\n${SECRETS.serviceAccountKey}\n-----END PRIVATE KEY-----\n` },
      null,
      2,
    ),
    kind: "private key block",
    line: 3,
  },
  "ops/db-url.txt": { content: `DATABASE_URL=postgres://app:${SECRETS.urlPassword}@db.internal:5432/app\n`, kind: "password in a URL", line: 1 },
};

/** Files that are secret by their name alone (content harmless), and the kind the reason names. */
const SECRET_NAMES: Record<string, string> = {
  "credentials.json": "credentials file",
  "deploy_key.txt": "deploy key file",
  "gcp/service-account-prod.json": "service account key file",
  "gcp/client_secret_1234-abcd.apps.googleusercontent.com.json": "OAuth client secret file",
  "ssh/id_ed25519.txt": "SSH private key file",
  "tls/server.key.txt": "private key file",
  "config/secrets.json": "secrets file",
  "infra/terraform.tfstate.json": "Terraform state file",
  "home/npmrc.txt": "credentials file",
};

/** Documentation named after credentials is still documentation: only data-shaped files are judged by name. */
const DOCS_ABOUT_SECRETS: Record<string, string> = {
  "docs/credentials.md": "# Credentials\n\nCreate credentials in the console and keep them out of version control.\n",
  "docs/deploy-keys.md": "# Deploy keys\n\nA deploy key grants one repository read access.\n",
  "docs/service-accounts.json": JSON.stringify([{ title: "Service accounts", text: "A service account acts for an application, not a person." }]),
};

/** Documentation that talks about keys with placeholders and published examples: none of it is a secret. */
const PLACEHOLDER_DOC = `# Authenticating

Set your key with \`export OPENAI_API_KEY=sk-...\` or OPENAI_API_KEY=<your-openai-key>.

api_key = "YOUR_API_KEY_GOES_HERE_1234"
password=changeme
password: "P@ssw0rd!2024"
token: \${GITHUB_TOKEN}
secret = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
AWS's own examples: AKIAIOSFODNN7EXAMPLE and aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
client_secret: process.env.LUMEN_CLIENT_SECRET!
api_key=os.environ["LUMEN_SECRET_KEY"]
curl -d refresh_token=lmn_rt_Q2h8Zc0pYt -d client_secret=lmn_cs_REPLACE_ME_0123456789
"access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
"access_token": "eyJhbGciOiJFUzI1NiIsImtpZCI6Imx1bWVuLTIwMjQifQ..."
A key file starts with -----BEGIN RSA PRIVATE KEY----- and then MIIEpAIBAAKCAQEA... (elided).
-----BEGIN PUBLIC KEY-----
${"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo".repeat(1)}
-----END PUBLIC KEY-----
Slack tokens look like xoxb-your-bot-token; GitHub ones like ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.
Stripe keys: sk_live_... in production, sk_test_4eC39HqLyjWDarjtT1zdp7dc in the sandbox.
DATABASE_URL=postgres://user:password@localhost:5432/app and postgres://rag:rag@127.0.0.1/rag
max_tokens: 4096
tokenizer: bert-base-uncased
commit: 3f786850e387550fdab836ed7e6dc881de23001b
`;

const REASON_TAIL = "; add it to .ragignore or pass --allow-secrets";

function secretCorpus(): Record<string, string> {
  return {
    ...TOPICS,
    "docs/authenticating.md": PLACEHOLDER_DOC,
    ...DOCS_ABOUT_SECRETS,
    ...Object.fromEntries(Object.entries(SECRET_FILES).map(([file, { content }]) => [file, content])),
    ...Object.fromEntries(Object.keys(SECRET_NAMES).map((file) => [file, '{"note": "harmless by content"}\n'])),
  };
}

function expectedSkips(files: Record<string, string>): Array<{ path: string; reason: string }> {
  return [
    ...Object.entries(SECRET_FILES).map(([relative, { kind, line }]) => ({
      path: files[relative]!,
      reason: `looks like it contains a secret (${kind} at line ${line})${REASON_TAIL}`,
    })),
    ...Object.entries(SECRET_NAMES).map(([relative, kind]) => ({
      path: files[relative]!,
      reason: `looks like it contains a secret (${kind}, by its name)${REASON_TAIL}`,
    })),
  ].sort((a, b) => a.path.localeCompare(b.path));
}

const allSecrets = Object.values(SECRETS);

describe("secrets in files", () => {
  it("skips each kind of secret with its kind and line, ingests every ordinary file and the placeholder docs, and stores no secret", async () => {
    const ws = await workspace(secretCorpus());
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect([...report.skipped].sort((a, b) => a.path.localeCompare(b.path))).toEqual(expectedSkips(ws.files));
    const ordinary = [...Object.keys(TOPICS), "docs/authenticating.md", ...Object.keys(DOCS_ABOUT_SECRETS)].map((f) => ws.files[f]!).sort();
    expect(report.added).toEqual(ordinary);
    const stored = await filesUnder(ws.indexDir);
    for (const secret of allSecrets) for (const { file, bytes } of stored) expect(bytes.includes(secret), `${file} holds a secret`).toBe(false);
    const text = stored.map((f) => f.bytes.toString("utf8")).join("\n");
    expect(text).toContain("lmn_rt_Q2h8Zc0pYt");
  });

  it("ingests them all with RAG_ALLOW_SECRETS", async () => {
    const ws = await workspace(secretCorpus(), { RAG_ALLOW_SECRETS: "true" });
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    expect(report.skipped).toEqual([]);
    expect(report.added).toHaveLength(Object.keys(secretCorpus()).length);
    const text = (await filesUnder(ws.indexDir)).map((f) => f.bytes.toString("utf8")).join("\n");
    expect(text).toContain(SECRETS.awsSecret);
  });

  it("removes a previously indexed file that gains a secret, rather than keeping its old version", async () => {
    const ws = await workspace();
    await ingest({ paths: [ws.docs], config: ws.config });
    const victim = ws.files["baking/sourdough.md"]!;
    await fs.appendFile(victim, `\nAWS_SECRET_ACCESS_KEY=${SECRETS.awsSecret}\n`);
    const report = await ingest({ paths: [ws.docs], config: ws.config });
    const line = TOPICS["baking/sourdough.md"].split("\n").length + 1;
    expect(report.skipped).toEqual([
      {
        path: victim,
        reason: `looks like it contains a secret (high-entropy AWS_SECRET_ACCESS_KEY value at line ${line})${REASON_TAIL} (removed its previously indexed version)`,
      },
    ]);
    expect(report.removed).toEqual([victim]);
    const index = await openIndex(ws.config);
    expect(Object.keys(index.manifest.files)).not.toContain(victim);
    const sources = (await index.vectorStore.similaritySearch("sourdough starter rye flour", 50)).map((d) => d.metadata.source);
    expect(sources).not.toContain(victim);
  });

  it("ingests the bundled sample docs exactly as before: all 44 files, none skipped", async () => {
    const root = await tempDir();
    const report = await ingest({ paths: [SAMPLE_DOCS], config: testConfig(path.join(root, "index")) });
    expect(report.skipped).toEqual([]);
    expect(report.added).toHaveLength(44);
  });
});

describe("secrets from the CLI", () => {
  it("reports the reason on stderr and in --json without printing a secret, keeps them out of the index, and ingests them with --allow-secrets", async () => {
    const root = await tempDir("rerank-rag-secrets-");
    const docs = path.join(root, "docs");
    const index = path.join(root, "index");
    const files = await writeCorpus(docs, secretCorpus());
    const env = cleanEnv({ RAG_EMBEDDINGS: "offline" });

    const run = await startCli(["ingest", docs, "--index", index, "--json"], { env }).done;
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as { skipped: Array<{ path: string; reason: string }>; added: string[] };
    expect([...json.skipped].sort((a, b) => a.path.localeCompare(b.path))).toEqual(expectedSkips(files));
    expect(run.stderr).toContain(
      `skipped ${files["notes/aws-secret.txt"]}: looks like it contains a secret (high-entropy AWS_SECRET_ACCESS_KEY value at line 2)${REASON_TAIL}`,
    );
    for (const secret of allSecrets) expect(run.stdout + run.stderr).not.toContain(secret);
    for (const secret of allSecrets)
      for (const { file, bytes } of await filesUnder(index)) expect(bytes.includes(secret), `${file} holds a secret`).toBe(false);

    const allowed = await startCli(["ingest", docs, "--index", index, "--json", "--allow-secrets"], { env }).done;
    expect(allowed.code, allowed.stderr).toBe(0);
    const allowedJson = JSON.parse(allowed.stdout) as { skipped: unknown[]; added: string[] };
    expect(allowedJson.skipped).toEqual([]);
    expect([...allowedJson.added].sort((a, b) => a.localeCompare(b))).toEqual(expectedSkips(files).map((s) => s.path));
    const text = (await filesUnder(index)).map((f) => f.bytes.toString("utf8")).join("\n");
    expect(text).toContain(SECRETS.github);
  }, 120_000);

  it("documents --allow-secrets in ingest --help", async () => {
    const run = await startCli(["ingest", "--help"]).done;
    expect(run.stdout).toMatch(/--allow-secrets\s+ingest files that look like they contain a secret/);
  });
});

describe("secret detection cost", () => {
  /** Inputs built to make a backtracking pattern slow: long runs of what the patterns look for. */
  const adversarial = (chars: number): string[] => [
    "a".repeat(chars),
    "=".repeat(chars),
    "a=".repeat(chars / 2),
    "password=".repeat(chars / 9),
    "-----BEGIN ".repeat(chars / 11),
    `sk-${"a".repeat(chars)}`,
    "xoxb-1".repeat(chars / 6),
    "ab://u:".repeat(chars / 7),
    '"a": "'.repeat(chars / 6),
    fake(BASE64, chars),
  ];
  const time = (inputs: string[]) => {
    const started = performance.now();
    for (const input of inputs) expect(findSecret(input)).toBeUndefined();
    return performance.now() - started;
  };

  it("is linear in the text's length, on prose and on inputs built to make a regex backtrack", async () => {
    const prose = Object.values(TOPICS).join("\n\n");
    const big = prose.repeat(Math.ceil((8 * 1024 * 1024) / prose.length));
    const proseMs = time([big]);
    time(adversarial(1 << 16)); // warm up
    const small = time(adversarial(1 << 18));
    const large = time(adversarial(1 << 20));
    // Four times the input: a linear scan takes about four times as long, a quadratic one sixteen.
    expect(large / small).toBeLessThan(8);
    expect(proseMs).toBeLessThan(10_000);
    await recordFigures("secret-scan", { proseMB: +(big.length / 2 ** 20).toFixed(1), proseMs: Math.round(proseMs), adversarial1MBms: Math.round(large) });
  }, 120_000);
});
