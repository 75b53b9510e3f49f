/**
 * A memo whose memory stays bounded: past `max` entries the oldest is forgotten. For values
 * that are pure functions of their key (a word's stem, a text's terms), so a miss only costs
 * the work again.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  /** The value for `key`, made by `make` on a miss. */
  get(key: K, make: (key: K) => V): V {
    let value = this.entries.get(key);
    if (value === undefined) {
      value = make(key);
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as K);
      this.entries.set(key, value);
    }
    return value;
  }
}
