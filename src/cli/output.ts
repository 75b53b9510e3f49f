// Colours and notes only: the CLI entry imports this, so it stays free of heavy modules.
const useColor = (stream: NodeJS.WriteStream) => Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== "dumb";

function paint(code: number, stream: NodeJS.WriteStream) {
  return (text: string) => (useColor(stream) ? `\u001b[${code}m${text}\u001b[0m` : text);
}

export const dim = paint(2, process.stderr);
export const bold = paint(1, process.stdout);
export const red = paint(31, process.stderr);
export const yellow = paint(33, process.stderr);

/** Progress and notes go to stderr so stdout stays the answer (or JSON). */
export function note(line: string): void {
  process.stderr.write(`${line}\n`);
}
