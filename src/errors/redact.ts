/** `text` with every secret (API keys; shorter than 4 characters is no secret) replaced by `<redacted>`. */
export function redact(text: string, secrets: readonly string[]): string {
  return secrets.filter((s) => s.length >= 4).reduce((out, secret) => out.split(secret).join("<redacted>"), text);
}

/** A URL fit to show: no user or password, no query string (keys travel there too), secrets redacted. */
export function redactUrl(url: string, secrets: readonly string[]): string {
  if (!URL.canParse(url)) return redact(url, secrets);
  const parsed = new URL(url);
  parsed.username = "";
  parsed.password = "";
  parsed.search = "";
  return redact(parsed.href.replace(/\/$/, ""), secrets);
}
