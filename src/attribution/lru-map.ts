/** A Map with a size cap: reading or writing a key makes it the newest; the oldest goes first. */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Entries dropped to stay within the capacity, since construction. */
  evictions = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer: ${capacity}`);
  }

  get size(): number {
    return this.map.size;
  }

  /** Reads and marks as recently used. */
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  /** Reads without changing the order. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) break;
      this.map.delete(oldest.value);
      this.evictions++;
    }
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }
}
