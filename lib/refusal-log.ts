import { BoundedMap } from './bounded-map.js'
import { coarseNow } from './coarse-clock.js'

/**
 * Rate limit for refusal log lines: one line per origin per interval, and at most `maxLinesPerInterval`
 * lines in all, so a flood of random Origins cannot flood the log. Memory is bounded by `maxOrigins`.
 */
interface LoggedLine {
  readonly at: number
  readonly reason: string
}

export class RefusalLog {
  readonly #intervalMs: number
  readonly #maxLinesPerInterval: number
  readonly #lastLogged: BoundedMap<string, LoggedLine>
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
   * Whether a refusal of `key` (an origin, or a kind of refusal) should be logged now: once per interval,
   * and again when its `reason` differs from the last line's (a live update can refuse one origin for
   * another reason). Returns how many refusals went unlogged since the last line (so the line can say
   * so), or `undefined` when this one is not to be logged. `now` is a coarse clock: an interval needs
   * no millisecond precision.
   */
  take (key: string, reason = '', now = coarseNow()): number | undefined {
    this.#total++
    const last = this.#lastLogged.get(key)
    if (now - this.#windowStart >= this.#intervalMs) {
      this.#windowStart = now
      this.#linesInWindow = 0
    }
    if ((last !== undefined && last.reason === reason && now - last.at < this.#intervalMs) || this.#linesInWindow >= this.#maxLinesPerInterval) {
      this.#suppressed++
      return undefined
    }
    this.#lastLogged.set(key, { at: now, reason })
    this.#linesInWindow++
    const suppressed = this.#suppressed
    this.#suppressed = 0
    return suppressed
  }
}
