import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'
import type { Metrics } from './dashboard-events.js'

export interface MetricsSources {
  sockets: () => Metrics['sockets']
  sessions: () => number
  refusedOrigins: () => number
  origins: () => Metrics['origins']
}

const NS_PER_MS = 1e6
const SAMPLE_EVERY_MS = 10

/**
 * The histogram records how long each sampling timer took to fire, which
 * includes the sampling interval itself; the delay is what exceeds it.
 */
function delayMs (nanoseconds: number): number {
  return Math.max(0, Math.round((nanoseconds / NS_PER_MS - SAMPLE_EVERY_MS) * 100) / 100)
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
    this.#histogram = monitorEventLoopDelay({ resolution: SAMPLE_EVERY_MS })
    this.#histogram.enable()
  }

  snapshot (): Metrics {
    const memory = process.memoryUsage()
    return {
      at: new Date().toISOString(),
      eventLoopDelayMs: {
        p50: delayMs(this.#histogram.percentile(50)),
        p99: delayMs(this.#histogram.percentile(99)),
        max: delayMs(this.#histogram.max)
      },
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      sockets: this.#sources.sockets(),
      sessions: this.#sources.sessions(),
      refusedOrigins: this.#sources.refusedOrigins(),
      origins: this.#sources.origins()
    }
  }

  startWindow (): void {
    this.#histogram.reset()
  }

  stop (): void {
    this.#histogram.disable()
  }
}
