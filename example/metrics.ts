import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Metrics } from './dashboard-events.js'

export interface MetricsSources {
  sockets: () => Metrics['sockets']
  sessions: () => number
  refusedOrigins: () => number
}

const NS_PER_MS = 1e6

function roundMs (nanoseconds: number): number {
  return Math.round(nanoseconds / NS_PER_MS * 100) / 100
}

/**
 * Samples the process and the app's counters. Event-loop delay covers the
 * window since the last `startWindow()`, so each broadcast shows the last second
 * rather than an average since boot.
 */
export class MetricsSampler {
  readonly #histogram: IntervalHistogram
  readonly #sources: MetricsSources

  constructor (sources: MetricsSources) {
    this.#sources = sources
    this.#histogram = monitorEventLoopDelay({ resolution: 10 })
    this.#histogram.enable()
  }

  snapshot (): Metrics {
    const memory = process.memoryUsage()
    // An empty histogram reports NaN percentiles; show no delay rather than NaN.
    const hasSamples = this.#histogram.count > 0
    return {
      at: new Date().toISOString(),
      eventLoopDelayMs: {
        p50: hasSamples ? roundMs(this.#histogram.percentile(50)) : 0,
        p99: hasSamples ? roundMs(this.#histogram.percentile(99)) : 0,
        max: hasSamples ? roundMs(this.#histogram.max) : 0
      },
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      sockets: this.#sources.sockets(),
      sessions: this.#sources.sessions(),
      refusedOrigins: this.#sources.refusedOrigins()
    }
  }

  startWindow (): void {
    this.#histogram.reset()
  }

  stop (): void {
    this.#histogram.disable()
  }
}
