/**
 * One shared instance per key, so that a value held by thousands of connections (their
 * owner, the attribute set of their closed-connection series) is stored once. Bounded:
 * when full it starts over, which costs sharing, never correctness.
 */
export class Interner<T> {
  private readonly values = new Map<string, T>();

  constructor(private readonly maxEntries = 16_384) {}

  /** The instance already known under `key`, else `value`, which is remembered. */
  intern(key: string, value: T): T {
    const known = this.values.get(key);
    if (known !== undefined) return known;
    if (this.values.size >= this.maxEntries) this.values.clear();
    this.values.set(key, value);
    return value;
  }

  get(key: string): T | undefined {
    return this.values.get(key);
  }

  get size(): number {
    return this.values.size;
  }
}
