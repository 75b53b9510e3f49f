import type { SkippedFile } from "./loaders.js";

/**
 * Skipped files counted by kind of reason, most first. A reason's kind is its text before any
 * detail in parentheses or after a semicolon ("unsupported file type (supported: …)").
 */
export function skippedByReason(skipped: readonly SkippedFile[]): Array<[kind: string, count: number]> {
  const byReason = new Map<string, number>();
  for (const { reason } of skipped) {
    const kind = reason.split(/ \(|;/)[0]!.trim();
    byReason.set(kind, (byReason.get(kind) ?? 0) + 1);
  }
  return [...byReason].sort((a, b) => b[1] - a[1]);
}
