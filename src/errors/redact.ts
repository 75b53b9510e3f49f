const REDACTED = "<redacted>";

/** Settings whose whole value is a secret, and settings holding a URL that may carry credentials (ours and our dependencies'). */
const SECRET_SETTINGS = [
  "OPENAI_API_KEY",
  "COHERE_API_KEY",
  "CO_API_KEY",
  "HF_TOKEN",
  "HF_ACCESS_TOKEN",
  "TEI_API_KEY",
  "JINA_API_KEY",
  "VOYAGE_API_KEY",
  "RAG_SERVER_TOKEN",
];
const URL_SETTINGS = ["OPENAI_BASE_URL", "COHERE_BASE_URL", "RAG_PG_URL", "HF_ENDPOINT", "TEI_BASE_URL", "JINA_BASE_URL", "VOYAGE_BASE_URL"];
/** Query parameters that carry credentials: api_key, key, token, access_token, sig, X-Amz-Signature, password… */
const CREDENTIAL_PARAM = /key|token|secret|pass|pwd|sig|auth|cred|session|jwt|bearer/i;
/** A URL inside a message, e.g. in an SDK's "Request cannot be constructed from a URL that includes credentials: …". */
const URL_IN_TEXT = /\b[a-z][a-z\d+.-]*:\/\/[^\s"'<>()]+/gi;

/** Secrets worth replacing (shorter than 4 characters would hit ordinary words), longest first so none is left half-replaced. */
function worthRedacting(secrets: readonly string[]): string[] {
  return [...new Set(secrets)].filter((s) => s.length >= 4).sort((l, r) => r.length - l.length);
}

function replaceSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((out, secret) => out.split(secret).join(REDACTED), text);
}

/** `text` with every secret (API keys) replaced by `<redacted>`, and every URL in it shown as redactUrl shows it. */
export function redact(text: string, secrets: readonly string[]): string {
  return replaceSecrets(
    // Only URLs with something to hide change: others are quoted exactly, trailing slash and all.
    text.replace(URL_IN_TEXT, (url) => (/[@?]/.test(url) ? redactUrl(url, []) : url)),
    worthRedacting(secrets),
  );
}

/** A URL fit to show: no user or password, no query string (keys travel there too), secrets redacted. */
export function redactUrl(url: string, secrets: readonly string[]): string {
  if (!URL.canParse(url)) return replaceSecrets(url.replace(/\/\/[^/?#@\s]*@/, "//").replace(/[?#].*$/, ""), worthRedacting(secrets));
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  return replaceSecrets(parsed.href.replace(/\/$/, ""), worthRedacting(secrets));
}

/** The password and credential-like query values of a URL, as written and as decoded. */
function urlSecrets(url: string): string[] {
  if (!URL.canParse(url)) return [];
  const parsed = new URL(url);
  const raw = [parsed.password, ...[...new URLSearchParams(parsed.search).entries()].filter(([name]) => CREDENTIAL_PARAM.test(name)).map(([, value]) => value)];
  return raw.flatMap((value) => [value, encodeURIComponent(value), safeDecode(value)]).filter(Boolean);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Every secret in sets of settings (a RagConfig, the environment): API keys, the Hugging Face token,
 * and passwords and credential query values in the base URLs, RAG_PG_URL and HF_ENDPOINT.
 */
export function secretsOf(...sources: ReadonlyArray<Readonly<Record<string, unknown>>>): string[] {
  const found = sources.flatMap((settings) => {
    const text = (key: string) => {
      const value = settings[key];
      return typeof value === "string" ? value.trim() : "";
    };
    return [...SECRET_SETTINGS.map(text), ...URL_SETTINGS.flatMap((key) => urlSecrets(text(key)))];
  });
  return [...new Set(found.filter(Boolean))];
}

/** Redacts a text that arrives in pieces. */
export interface StreamRedactor {
  /** The part of `piece` that is safe to show now; a tail that could begin a secret waits for the next piece. */
  write(piece: string): string;
  /** What was held back, at the end of the text: no secret followed, so it is shown as is. */
  end(): string;
}

/**
 * A redactor for streamed text: a secret split across pieces ("…Bearer sk-a", "bc123…") is still
 * caught, because the longest tail of what arrived that is the start of a secret is held back until
 * the next piece shows whether the secret follows. Holds back nothing when there are no secrets.
 */
export function streamRedactor(secrets: readonly string[]): StreamRedactor {
  const usable = worthRedacting(secrets);
  let held = "";
  return {
    write(piece) {
      const text = replaceSecrets(held + piece, usable);
      const keep = secretStartAtEnd(text, usable);
      held = text.slice(text.length - keep);
      return text.slice(0, text.length - keep);
    },
    end() {
      const rest = held;
      held = "";
      return rest;
    },
  };
}

/** The length of the longest tail of `text` that is a proper prefix of a secret. */
function secretStartAtEnd(text: string, secrets: readonly string[]): number {
  let longest = 0;
  for (const secret of secrets) {
    for (let n = Math.min(secret.length - 1, text.length); n > longest; n--) {
      if (text.endsWith(secret.slice(0, n))) {
        longest = n;
        break;
      }
    }
  }
  return longest;
}
