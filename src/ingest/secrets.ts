import path from "node:path";
import type { Document } from "@langchain/core/documents";

// High-confidence secrets only: files conventionally named for credentials, token formats with a
// fixed prefix (after gitleaks' default rules and GitHub secret scanning's formats), and keyword
// assignments whose value looks random. Documentation talks about keys all the time, so
// placeholders, elided values and published examples pass. JWTs are not flagged: docs and OAuth
// tutorials are full of real-looking ones, and they expire. Every pattern starts at a literal
// prefix or an identifier's start and has bounded repeats, so a scan is linear in the text.

const TAIL = "; add it to .ragignore or pass --allow-secrets";

/** A secret found in a file: what kind and where; the secret itself is never kept or shown. */
export interface SecretFinding {
  kind: string;
  /** "at line 3", or "on page 2" of a PDF. */
  where: string;
}

export const secretReason = ({ kind, where }: SecretFinding) => `looks like it contains a secret (${kind} ${where})${TAIL}`;
export const secretFileReason = (kind: string) => `looks like it contains a secret (${kind}, by its name)${TAIL}`;

/**
 * Names that are credentials whatever their content, matched on the name without its extension.
 * Only for data-shaped files (.txt, .json, .jsonl): a page named credentials.md is documentation,
 * and its content is checked like any other.
 */
const SECRET_FILE_NAMES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^id_(?:rsa|dsa|ecdsa|ed25519)(?:_sk)?$/, "SSH private key file"],
  [/\.(?:pem|key|p12|pfx|pkcs12|jks|keystore|ppk|kdbx|keytab)$|^(?:private[-_]?key|privkey)(?:[-_.].*)?$/, "private key file"],
  [/^deploy[-_]key(?:[-_.].*)?$/, "deploy key file"],
  [/^client_secret/, "OAuth client secret file"],
  [/(?:^|[-_.])service[-_]?account(?:[-_.].*)?$/, "service account key file"],
  [/(?:^|[-_.])credentials$|^[._]?(?:npmrc|pypirc|netrc|pgpass|dockercfg|htpasswd|s3cfg|boto|vault-token)$/, "credentials file"],
  [/(?:^|\.)tfstate(?:\.backup)?$/, "Terraform state file"],
  [/^secrets?$/, "secrets file"],
];
const NAME_CHECKED = new Set([".txt", ".json", ".jsonl"]);

/** The kind of secret file `file` is by its name, if it is one. */
export function secretFileKind(file: string): string | undefined {
  const extension = path.extname(file).toLowerCase();
  if (!NAME_CHECKED.has(extension)) return undefined;
  const stem = path.basename(file, path.extname(file)).toLowerCase();
  return SECRET_FILE_NAMES.find(([pattern]) => pattern.test(stem))?.[1];
}

/** Shannon entropy in bits per character. */
function entropy(value: string): number {
  const counts = new Map<string, number>();
  for (const char of value) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits -= (count / value.length) * Math.log2(count / value.length);
  return bits;
}

/**
 * Template syntax, elisions, runs of one character (xxxxx), and test-mode keys (sk_test_…, which
 * API docs publish and which reach no real data): values that are examples, not secrets.
 */
const PLACEHOLDER_SHAPE = /<[^>]*>|\$\{|\{\{|%[A-Z_]+%|^\$[A-Za-z_]|\.\.\.|…|\*{3}|(.)\1{4}|(?:^|[_-])(?:test|sandbox)[_-]/;
/** Words of example values, also spelled with digits and symbols (P@ssw0rd). */
const PLACEHOLDER_WORD = /example|sample|dummy|fake|placeholder|redacted|changeme|change_me|replace|insert|your|secret|password/;
const LEET: Record<string, string> = { "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", $: "s" };

function isPlaceholder(value: string): boolean {
  if (PLACEHOLDER_SHAPE.test(value)) return true;
  return PLACEHOLDER_WORD.test(value.toLowerCase().replace(/[013457@$]/g, (c) => LEET[c]!));
}

/** Random-looking: letters and at least two digits, and enough entropy for its length. */
function looksRandom(value: string): boolean {
  const digits = value.replace(/\D/g, "").length;
  if (digits < 2 || !/[A-Za-z]/.test(value)) return false;
  return entropy(value) >= Math.min(3.5, Math.log2(value.length) - 0.5);
}

/** Names whose value is a credential: password, secret, token, api_key, access_key, … */
const SECRET_NAME =
  /(?:passw(?:or)?d|pwd|passphrase|secret|token|api[_.-]?key|apikey|access[_.-]?key|secret[_.-]?key|private[_.-]?key|auth[_.-]?key|credentials?)(?:[_.-]?(?:base|value|b64|hex))?s?$/i;
const PASSWORD_NAME = /passw|pwd|passphrase/i;

/** Whether the value assigned to a secret-named key is a real secret rather than an example or code. */
function isSecretValue(name: string, value: string, quoted: boolean): boolean {
  // Passwords are shorter than generated tokens (20+: the sample docs' 18-character example token passes).
  if (value.length < (PASSWORD_NAME.test(name) ? 12 : 20)) return false;
  if (isPlaceholder(value)) return false;
  // Code, not a value: a call, an index, or a property path (process.env.KEY).
  if (!quoted && /[([{]/.test(value)) return false;
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+[!?]?$/.test(value)) return false;
  if (value.startsWith("eyJ")) return false;
  return looksRandom(value);
}

interface Hit {
  kind: string;
  index: number;
  /** The matched text, only to find its line in the file. */
  text: string;
}

interface Rule {
  pattern: RegExp;
  /** The kind of secret a match is, or undefined for a placeholder or a value that is not random. */
  judge: (match: RegExpMatchArray) => Hit | undefined;
}

/** A fixed-format token; the secret part checked for placeholders is the first group, else the match. */
const token = (kind: string, pattern: RegExp, mustLookRandom = false): Rule => ({
  pattern,
  judge: (m) => {
    const secret = m[1] ?? m[0];
    return isPlaceholder(secret) || (mustLookRandom && !looksRandom(secret)) ? undefined : { kind, index: m.index!, text: m[0] };
  },
});

/** In order of precedence: on the same spot a named format beats a generic assignment. */
const RULES: readonly Rule[] = [
  // The header must be followed by key material (after optional armor headers), not "…" or prose.
  token(
    "private key block",
    /-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[nr]){0,8}(?:[A-Za-z-]{1,40}: [^\n]{0,200}\n\s{0,8}){0,8}([A-Za-z0-9+/]{40})/g,
  ),
  token("AWS access key id", /\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}\b/g),
  token("GitHub token", /\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b/g),
  token("GitLab token", /\bglpat-[A-Za-z0-9_-]{20}(?![A-Za-z0-9_-])/g),
  token("Slack token", /\bxox[abeoprs]-\d{8,13}-[A-Za-z0-9-]{10,250}/g),
  token("Slack webhook URL", /hooks\.slack\.com\/(?:services|workflows)\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{20,32}/g),
  token("OpenAI-style API key", /\bsk-(?:proj-|svcacct-|admin-|ant-[a-z]{3,5}\d{2}-)?[A-Za-z0-9_-]{32,250}(?![A-Za-z0-9_-])/g, true),
  token("Stripe live key", /\b[rs]k_live_[A-Za-z0-9]{20,250}\b/g),
  token("Google API key", /\bAIza[A-Za-z0-9_-]{35}(?![A-Za-z0-9_-])/g),
  token("npm token", /\bnpm_[A-Za-z0-9]{36}\b/g),
  {
    pattern: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@"'<>]{1,64}:([^\s/@"'<>]{1,128})@/g,
    judge: (m) =>
      isSecretValue("password", m[1]!, false) ? { kind: "password in a URL", index: m.index! + m[0].length - m[1]!.length - 1, text: m[1]! } : undefined,
  },
  {
    // name = value, name: value, "name": "value", name := value, name => value
    pattern: /(?<![\w.-])["']?([A-Za-z_][\w.-]{0,63})["']?[ \t]*(?::=|=>|=|:)[ \t]*(?:"([^"\n]{1,256})"|'([^'\n]{1,256})'|([^\s"'`,;]{1,256}))/g,
    judge: (m) => {
      const [whole, name, double, single, bare] = m;
      const value = (double ?? single ?? bare)!;
      if (!SECRET_NAME.test(name!) || !isSecretValue(name!, value, bare === undefined)) return undefined;
      // Where the value starts, so a named token on the same spot takes precedence.
      const index = m.index! + whole.length - value.length - (bare === undefined ? 1 : 0);
      return { kind: `high-entropy ${name} value`, index, text: value };
    },
  },
];

/** The first secret in `text` by position (rule order breaks ties), or undefined. */
export function findSecret(text: string): Hit | undefined {
  let first: Hit | undefined;
  for (const { pattern, judge } of RULES) {
    // matchAll works on a copy of the pattern: no lastIndex shared between calls.
    for (const match of text.matchAll(pattern)) {
      if (first && match.index > first.index) break;
      const hit = judge(match);
      if (hit && (!first || hit.index < first.index)) first = hit;
      if (hit) break;
    }
  }
  return first;
}

/**
 * The first secret in the text a file's documents would index, located in the file: the line of
 * its first occurrence in the file's bytes, else its line in the extracted text (or page of a PDF).
 */
export function findSecretIn(documents: readonly Document[], bytes: Buffer): SecretFinding | undefined {
  for (const doc of documents) {
    const hit = findSecret(doc.pageContent);
    if (!hit) continue;
    const raw = bytes.toString("utf8");
    const exact = raw.indexOf(hit.text);
    // A key block's text may be escaped differently in the file (JSON "\n"): its first line is not.
    const at = exact >= 0 ? exact : raw.indexOf(hit.text.split(/\n|\\n/)[0]!);
    if (at >= 0) return { kind: hit.kind, where: `at line ${lineOf(raw, at)}` };
    const pageStarts = doc.metadata.pageStarts as number[] | undefined;
    if (pageStarts) return { kind: hit.kind, where: `on page ${pageStarts.filter((start) => start <= hit.index).length}` };
    return { kind: hit.kind, where: `at line ${lineOf(doc.pageContent, hit.index)} of its text` };
  }
  return undefined;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf("\n"); at !== -1 && at < index; at = text.indexOf("\n", at + 1)) line++;
  return line;
}
