/**
 * Milliseconds since the epoch, refreshed every `COARSE_CLOCK_MS`: for checks on every request (memo
 * TTLs, log-line intervals) that need no millisecond precision, `Date.now()` would cost more than the
 * rest of the check. One unref'd interval per process, started by the first read.
 */
const COARSE_CLOCK_MS = 50
let now = 0
let ticking = false

export function coarseNow (): number {
  if (!ticking) {
    ticking = true
    now = Date.now()
    setInterval(() => { now = Date.now() }, COARSE_CLOCK_MS).unref()
  }
  return now
}
