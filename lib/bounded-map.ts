/**
 * A Map that forgets its oldest entry when full, so no stream of distinct keys (a flood of random
 * Origins) can grow it past `limit`. A limit of 0 stores nothing.
 */
export class BoundedMap<K, V> {
  readonly limit: number
  readonly #entries = new Map<K, V>()

  constructor (limit: number) {
    this.limit = limit
  }

  get size (): number {
    return this.#entries.size
  }

  values (): MapIterator<V> {
    return this.#entries.values()
  }

  get (key: K): V | undefined {
    return this.#entries.get(key)
  }

  /** Stores `value` as the newest entry (re-setting a key makes it the newest again). */
  set (key: K, value: V): void {
    if (this.limit === 0) return
    this.#entries.delete(key)
    if (this.#entries.size >= this.limit) this.#entries.delete(this.#entries.keys().next().value as K)
    this.#entries.set(key, value)
  }
}
