/** `dispose()` of whatever has one: local models (embedder, cross-encoder) hold native sessions; API clients hold nothing. */
export function disposeOf(part: unknown): Promise<void> {
  return (part as { dispose?: () => Promise<void> } | null)?.dispose?.() ?? Promise.resolve();
}
