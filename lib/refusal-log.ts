import { BoundedMap } from './bounded-map.js'

/**
 * Rate limit for refusal log lines: one line per origin per interval, and at most `maxLinesPerInterval`
 * lines in all, so a flood of random Origins cannot flood the log. Memory is bounded by `maxOrigins`.
 */
export class RefusalLog {
  readonly #intervalMs: number
  readonly #maxLinesPerInterval: number
  readonly #lastLogged: BoundedMap<string, number>
  #windowStart = 0
  #linesInWindow = 0
  #suppressed = 0
  #total = 0

  constructor ({ intervalMs = 60_000, maxOrigins = 1000, maxLinesPerInterval = 100 } = {}) {
    this.#intervalMs = intervalMs
    this.#lastLogged = new BoundedMap(maxOrigins)
    this.#maxLinesPerInterval = maxLinesPerInterval
  }

  /** Every refusal counted, logged or not (for metrics). */
  get total (): number {
    return this.#total
  }

  /**
   * Whether a refusal of `origin` should be logged now. Returns how many refusals went unlogged since
   * the last line (so the line can say so), or `undefined` when this one is not to be logged.
   */
  take (origin: string, now = Date.now()): number | undefined {
    this.#total++
    const last = this.#lastLogged.get(origin)
    if (now - this.#windowStart >= this.#intervalMs) {
      this.#windowStart = now
      this.#linesInWindow = 0
    }
    if ((last !== undefined && now - last < this.#intervalMs) || this.#linesInWindow >= this.#maxLinesPerInterval) {
      this.#suppressed++
      return undefined
    }
    this.#lastLogged.set(origin, now)
    this.#linesInWindow++
    const suppressed = this.#suppressed
    this.#suppressed = 0
    return suppressed
  }
}
