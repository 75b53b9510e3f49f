/**
 * The text that is embedded and scored for a chunk: its document title and section
 * heading in front of the content, so a chunk deep in "OAuth2 client credentials" still
 * matches "OAuth2" even when its own words do not repeat it.
 */
export function contextualText(doc: { pageContent: string; metadata: Record<string, unknown> }): string {
  const { title, heading } = doc.metadata as { title?: string; heading?: string };
  const head = [title, heading !== title ? heading : undefined].filter(Boolean).join(" — ");
  return head && !doc.pageContent.startsWith(head) ? `${head}\n${doc.pageContent}` : doc.pageContent;
}
