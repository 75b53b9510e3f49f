// Colours and notes only: the CLI entry imports this, so it stays free of heavy modules.
const useColor = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";

// C0 controls, DEL and C1 controls: ESC starts sequences that set the window title, clear the screen
// or move the cursor, CR and backspace overwrite what was printed, and 0x9b is an 8-bit ESC [.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b" };

/**
 * Text from documents, file names, servers or errors, fit for a terminal: every control character
 * shown as an escape (`\x1b`, `\n`) instead of acting. `multiline` lets newline and tab through (an
 * answer, a message), otherwise a newline in a file name would split its line. Each character is
 * escaped on its own, so a sequence split across streamed tokens cannot form either.
 */
export function printable(text: string, { multiline = false } = {}): string {
  return text.replace(CONTROL, (c) => (multiline && (c === "\n" || c === "\t") ? c : (NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)));
}

/** Painted text is made printable first: only our own colour codes reach the terminal. */
function paint(code: number, stream: NodeJS.WriteStream) {
  return (raw: string) => {
    const text = printable(raw, { multiline: true });
    return useColor(stream) ? `\u001b[${code}m${text}\u001b[0m` : text;
  };
}

export const dim = paint(2, process.stderr);
export const bold = paint(1, process.stdout);
export const red = paint(31, process.stderr);
export const yellow = paint(33, process.stderr);

/** Progress and notes go to stderr so stdout stays the answer (or JSON). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** "1 file", "3 files": a count with its noun. */
export function counted(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
