/**
 * Deepest nesting a loaded file may have (HTML elements, JSON arrays and objects). Converting
 * HTML to text and printing JSON recurse once per level, and htmlparser2's open-element stack
 * costs grow with the square of the depth; real documents stay far below this.
 */
export const MAX_NESTING = 500;

export const TOO_DEEP = `nested too deeply (more than ${MAX_NESTING} levels)`;

/** Whether a parsed JSON value nests arrays and objects deeper than MAX_NESTING; iterative, so any depth is safe. */
export function nestsTooDeep(value: unknown): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (depth === MAX_NESTING) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}
