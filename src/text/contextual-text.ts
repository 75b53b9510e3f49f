import { CONTINUED_HEADING } from "./sentences.js";

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

/**
 * A chunk's text as sentences and prompts should read it. A chunk the splitter cut mid-section
 * (`startHeading`, set by the chunker) starts with its section's heading marked as continued, so
 * its first lines are known to belong there (and are not taken for the section's opening). One
 * cut inside a fenced code block (`startsInCode`) gets back the opening fence it lost, so its
 * first lines read as code rather than prose and its closing fence does not open a block of the
 * prose after it.
 */
export function readableText(doc: { pageContent: string; metadata: Record<string, unknown> }): string {
  const { startHeading, startsInCode } = doc.metadata;
  const heading = typeof startHeading === "string" ? `# ${startHeading}${CONTINUED_HEADING}\n` : "";
  return `${heading}${startsInCode === true ? "```\n" : ""}${doc.pageContent}`;
}
