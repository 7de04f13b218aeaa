// Small statistics helpers and a fixed-resolution latency histogram.

export function median (xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

export function max (xs) {
  let m = -Infinity
  for (const x of xs) if (x > m) m = x
  return m
}

// Latency histogram with 1 microsecond buckets up to `maxMs`; beyond that the
// values are kept in a plain array. Values are recorded in milliseconds.
export class LatencyHistogram {
  constructor (maxMs = 1000) {
    this.limit = Math.round(maxMs * 1000)
    this.buckets = new Uint32Array(this.limit)
    this.overflow = []
    this.count = 0
  }

  reset () {
    this.buckets.fill(0)
    this.overflow = []
    this.count = 0
  }

  record (ms) {
    const us = Math.round(ms * 1000)
    this.count++
    if (us < 0) this.buckets[0]++
    else if (us < this.limit) this.buckets[us]++
    else this.overflow.push(ms)
  }

  // percentile p in [0, 100], result in milliseconds
  percentile (p) {
    if (this.count === 0) return NaN
    const rank = Math.max(1, Math.ceil((p / 100) * this.count))
    let seen = 0
    for (let i = 0; i < this.limit; i++) {
      seen += this.buckets[i]
      if (seen >= rank) return i / 1000
    }
    const o = this.overflow.slice().sort((a, b) => a - b)
    return o[Math.min(o.length - 1, rank - seen - 1)]
  }

  summary () {
    return { count: this.count, p50: this.percentile(50), p90: this.percentile(90), p99: this.percentile(99), max: this.percentile(100) }
  }
}

// wall clock in ms with sub-ms resolution, comparable across processes on one machine
export function nowMs () {
  return performance.timeOrigin + performance.now()
}
